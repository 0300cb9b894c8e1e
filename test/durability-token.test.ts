import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startProcessWorld } from './support/bot-process.ts';
import { assertNoPings } from './support/bot-world.ts';

const LONG = 30_000;

test(
  'a run whose interaction token expires while the bot is down goes on in a channel message that pings nobody',
  { timeout: 90_000 },
  async (t) => {
    const ttlMs = 60_000;
    const world = await startProcessWorld(t, {
      script: { respond: 'admit', agent: { write: 'none' } },
      discord: { interactionTokenTtlMs: ttlMs },
    });
    const { fake, channels, users, gateways } = world;
    const first = await world.start();
    const sent = gateways.webster.next('run');
    const handle = fake.sendSlashCommand({
      channelId: channels.general!,
      userId: users.alice,
      name: 'delegate',
      options: { agent: 'webster', task: 'outlive the token', timeout: 600 },
    });
    const [{ runId }] = await sent;
    const original = await handle.original((m) => /waiting for webster/.test(m.content), LONG);
    assert.equal(
      fake.messagesIn(channels.general!).filter((m) => m.source === 'channel').length,
      0,
      'still in the interaction reply',
    );
    first.kill('SIGKILL');
    await first.exited;

    // The restarted bot lives past the token's configured lifetime (Discord would still take it: the config's margin decides).
    const restartedAt = fake.lastRequestSeq;
    const second = await world.start({ clockOffsetMs: ttlMs + 1_000 });
    const inChannel = await fake.waitForMessage(
      channels.general!,
      (m) => m.source === 'channel' && /resumed after restart/.test(m.content),
      { timeoutMs: LONG },
    );
    assert.match(
      inChannel.content,
      new RegExp(`<@${users.alice}>: your /delegate outlived its interaction token, so it continues here`),
    );
    const corrected = await handle.original((m) => /continued in a message below/.test(m.content), LONG);
    assert.equal(corrected.id, original.id);
    assert.equal(corrected.interactiveComponents.length, 0, 'the original is no longer spinning');

    await world.writeHandoff(runId!, 'webster');
    const embed = await fake.waitForMessage(channels['dl-webster']!, (m) => m.embeds.length > 0, { timeoutMs: LONG });
    const final = await fake.waitForMessage(
      channels.general!,
      (m) => m.id === inChannel.id && m.content.includes(embed.id),
      { timeoutMs: LONG },
    );
    assert.match(
      final.content,
      new RegExp(`<@${users.alice}>: your /delegate outlived`),
      'the final answer still names the requester',
    );
    assert.equal(final.interactiveComponents.length, 0);
    const tokenUses = fake.requests((request) => request.seq > restartedAt && request.path.startsWith('/webhooks/'));
    assert.deepEqual(
      tokenUses.map((request) => `${request.method} ${request.path}`),
      [],
      'the expired token was not used',
    );
    await second.stop();
    assertNoPings(world);
  },
);
