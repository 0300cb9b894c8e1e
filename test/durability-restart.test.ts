import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredMessage } from './fakes/fake-discord/index.ts';
import { startProcessWorld, type ProcessWorld } from './support/bot-process.ts';
import { assertNoPings } from './support/bot-world.ts';
import { delegate, hookPostsFor } from './support/process-runs.ts';

const LONG = 30_000;

function embedsIn(world: ProcessWorld, channel: string): StoredMessage[] {
  return world.fake.messagesIn(world.channels[channel]!).filter((m) => m.embeds.length > 0);
}

test(
  'SIGTERM mid-run exits 0 within 10 s keeping the run; a handoff written while it is down is taken by the restarted bot and delivered once',
  { timeout: 90_000 },
  async (t) => {
    const world = await startProcessWorld(t, { script: { respond: 'admit', agent: { write: 'none' } } });
    const first = await world.start();
    const { handle, runId } = await delegate(world, 'survive a restart');
    await handle.original((m) => /waiting for webster/.test(m.content), LONG);

    first.kill('SIGTERM');
    const exit = await first.exited;
    assert.equal(exit.code, 0, first.stderr());
    assert.ok(exit.msAfterSignal! < 10_000, `exited ${Math.round(exit.msAfterSignal!)} ms after SIGTERM`);
    const paused = world.fake.originalResponse(handle.record.token);
    assert.match(paused?.content ?? '', /restarting: run `[^`]+` is kept and continues/);
    assert.equal(paused?.interactiveComponents.length, 0, 'no Cancel button while nobody can cancel');
    const stored = world.openStore().getRun(runId);
    assert.equal(stored?.status, 'running', 'the run stays open in the journal, not cancelled');

    // The agent answers while the bot is down; the restarted bot takes the file at once.
    await world.writeHandoff(runId, 'webster');
    const second = await world.start();
    const embed = await world.fake.waitForMessage(world.channels['dl-webster']!, (m) => m.embeds.length > 0, {
      timeoutMs: LONG,
    });
    const final = await handle.original((m) => m.content.includes(embed.id), LONG);
    assert.ok(
      final.history.some((version) => /resumed after restart/.test(version.content)),
      'the paused reply was corrected on the way',
    );
    assert.equal(final.interactiveComponents.length, 0);
    assert.equal(embedsIn(world, 'dl-webster').length, 1, 'one embed');
    assert.equal(
      hookPostsFor(world, runId),
      1,
      'the agent was sent the task once: the resumed attempt took its file without sending again',
    );
    await second.stop();
    const store = world.openStore();
    assert.equal(store.getRun(runId)?.status, 'complete');
    assert.equal(store.getDelivery(runId, 'result-embed')?.messageId, embed.id);
    assert.ok(store.getDelivery(runId, 'requester-reply')?.deliveredAt);
    assertNoPings(world);
  },
);

test(
  'SIGKILL while waiting for the agent: the restarted bot corrects the reply, keeps the original deadline and delivers once',
  { timeout: 90_000 },
  async (t) => {
    const world = await startProcessWorld(t, { script: { respond: 'admit', agent: { write: 'none' } } });
    const first = await world.start();
    const { handle, runId } = await delegate(world, 'wait for me');
    await handle.original((m) => /waiting for webster/.test(m.content), LONG);
    const before = world.openStore().getRun(runId)?.attempts[0];
    assert.ok(before?.sent && before.deadline !== undefined, 'attempt 1 sent with a deadline');

    first.kill('SIGKILL');
    assert.equal((await first.exited).signal, 'SIGKILL');
    const spinning = world.fake.originalResponse(handle.record.token);
    assert.ok(
      spinning?.interactiveComponents.some((c) => String(c.custom_id).startsWith('cancel:')),
      'killed: the reply was left spinning',
    );

    const second = await world.start();
    const corrected = await handle.original((m) => /resumed after restart/.test(m.content), LONG);
    assert.match(corrected.content, /waiting for webster/);
    const after = world.openStore().getRun(runId)?.attempts;
    assert.equal(after?.length, 1, 'still attempt 1');
    assert.equal(after?.[0]?.deadline, before.deadline, 'the original deadline');

    await world.writeHandoff(runId, 'webster');
    const embed = await world.fake.waitForMessage(world.channels['dl-webster']!, (m) => m.embeds.length > 0, {
      timeoutMs: LONG,
    });
    await handle.original((m) => m.content.includes(embed.id), LONG);
    assert.equal(embedsIn(world, 'dl-webster').length, 1);
    assert.equal(hookPostsFor(world, runId), 1, 'not sent again');
    await second.stop();
    assertNoPings(world);
  },
);

test(
  'SIGKILL after the handoff, while Discord fails the embed: the restarted bot delivers it once',
  { timeout: 90_000 },
  async (t) => {
    const world = await startProcessWorld(t, { script: { respond: 'admit', agent: { write: 'valid' } } });
    const dl = world.channels['dl-webster']!;
    const outage = world.fake.failNext(`POST /channels/${dl}/messages`, { status: 503, times: Infinity });
    const first = await world.start();
    const failed = world.fake.waitFor(
      'request_failed',
      (entry) => entry.method === 'POST' && entry.path === `/channels/${dl}/messages`,
      { timeoutMs: LONG },
    );
    const { handle, runId } = await delegate(world, 'finish, then wait');
    await failed;
    const store = world.openStore();
    assert.equal(store.getRun(runId)?.status, 'complete', 'the run finished');
    assert.equal(
      store.getDelivery(runId, 'result-embed')?.deliveredAt,
      undefined,
      'its embed is in the outbox, not delivered',
    );

    first.kill('SIGKILL');
    await first.exited;
    outage.cancel();
    const second = await world.start();
    const embed = await world.fake.waitForMessage(dl, (m) => m.embeds.length > 0, { timeoutMs: LONG });
    await handle.original((m) => m.content.includes(embed.id), LONG);
    await second.stop();
    assert.equal(embedsIn(world, 'dl-webster').length, 1);
    assert.equal(world.openStore().getDelivery(runId, 'result-embed')?.messageId, embed.id);
    assertNoPings(world);
  },
);

test(
  'SIGKILL while the embed is being created: the restart repeats the create with its nonce and Discord returns the first message',
  { timeout: 90_000 },
  async (t) => {
    const world = await startProcessWorld(t, { script: { respond: 'admit', agent: { write: 'valid' } } });
    const dl = world.channels['dl-webster']!;
    const first = await world.start();
    // Killed the moment Discord has stored the message, before the bot can read the answer.
    const created = new Promise<StoredMessage>((resolve) => {
      const off = world.fake.on('message_create', (message) => {
        if (message.channelId !== dl || message.embeds.length === 0) return;
        first.kill('SIGKILL');
        off();
        resolve(message);
      });
    });
    const { handle, runId } = await delegate(world, 'post it twice, see it once');
    const embed = await created;
    await first.exited;
    assert.equal(
      world.openStore().getDelivery(runId, 'result-embed')?.deliveredAt,
      undefined,
      'the dead process never learnt it was posted',
    );

    const second = await world.start();
    await handle.original((m) => m.content.includes(embed.id), LONG);
    await second.stop();
    const creates = world.fake.requests(`POST /channels/${dl}/messages`);
    assert.equal(creates.length, 2, 'the create was sent again after the restart');
    assert.deepEqual(
      creates.map((request) => (request.body as { nonce?: unknown; enforce_nonce?: unknown }).enforce_nonce),
      [true, true],
    );
    assert.equal(
      (creates[0]!.body as { nonce?: unknown }).nonce,
      (creates[1]!.body as { nonce?: unknown }).nonce,
      'with the same nonce',
    );
    assert.equal(embedsIn(world, 'dl-webster').length, 1, 'no duplicate embed');
    assert.equal(
      world.openStore().getDelivery(runId, 'result-embed')?.messageId,
      embed.id,
      'the first message is the one recorded',
    );
    assertNoPings(world);
  },
);
