/**
 * Pending approvals survive a crash (issue 13): the real bot process is SIGKILLed while a run
 * waits for approval; the restarted one re-arms the expiry from the request time, and the old
 * card's Approve starts the run once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredMessage } from './fakes/fake-discord/index.ts';
import { startProcessWorld, type ProcessWorld } from './support/bot-process.ts';
import { assertNoPings } from './support/bot-world.ts';

const LONG = 30_000;
const TTL_MINUTES = 1;

async function approvalProcessWorld(t: Parameters<typeof startProcessWorld>[0]): Promise<ProcessWorld> {
  const world = await startProcessWorld(t, {
    channels: ['dl-webster', 'dl-tech-lead', 'approvals'],
    script: { respond: 'admit', agent: { write: 'valid' } },
  });
  // Channel ids exist only once the guild is seeded: the rule is written into the config after.
  const file = world.configFile() as { discord: Record<string, unknown> };
  file.discord.approval = {
    agents: {
      webster: { approverUserIds: [world.users.dana], channel: world.channels.approvals, ttlMinutes: TTL_MINUTES },
    },
  };
  await world.writeConfig(JSON.stringify(file, null, 2));
  return world;
}

async function askAndKill(world: ProcessWorld) {
  const first = await world.start();
  const handle = world.fake.sendSlashCommand({
    channelId: world.channels.general!,
    userId: world.users.alice,
    name: 'delegate',
    options: { agent: 'webster', task: 'rotate the deploy keys' },
  });
  await handle.original((m) => /Waiting for approval/.test(m.content), LONG);
  const card = await world.fake.waitForMessage(world.channels.approvals!, (m) => m.embeds.length > 0, {
    timeoutMs: LONG,
  });
  first.kill('SIGKILL');
  await first.exited;
  return { handle, card };
}

function decision(message: StoredMessage | undefined): string {
  return message?.embeds[0]?.fields?.find((f) => f.name === 'Decision')?.value ?? '';
}

test(
  'a run waiting for approval survives SIGKILL: Approve on the old card starts it once',
  { timeout: 120_000 },
  async (t) => {
    const world = await approvalProcessWorld(t);
    const { handle, card } = await askAndKill(world);
    assert.equal(world.gateways.webster.runCount, 0);

    const second = await world.start();
    const approveId = card.interactiveComponents
      .map((c) => String(c.custom_id))
      .find((id) => id.startsWith('approve:'))!;
    const posted = world.gateways.webster.next('request');
    world.fake.clickButton({ messageId: card.id, customId: approveId, userId: world.users.dana });
    const again = world.fake.clickButton({ messageId: card.id, customId: approveId, userId: world.users.dana });
    await posted;
    const embed = await world.fake.waitForMessage(world.channels['dl-webster']!, (m) => m.embeds.length > 0, {
      timeoutMs: LONG,
    });
    await handle.original((m) => m.content.includes(embed.id), LONG);
    await again.acknowledged(LONG);
    assert.equal(world.gateways.webster.runCount, 1, 'one run after the restart, however many presses');
    assert.match(decision(world.fake.message(card.id)), /Approved by/);
    await second.stop();
    const store = world.openStore();
    assert.equal(store.getApproval(approveId.slice('approve:'.length))?.state, 'approved');
    assertNoPings(world);
  },
);

for (const [name, offsetMs] of [
  ['expiry is counted from the request, not from the restart', TTL_MINUTES * 60_000 - 3_000],
  ['an approval that expired while the bot was down is expired at once', TTL_MINUTES * 60_000 + 60_000],
] as const) {
  test(name, { timeout: 120_000 }, async (t) => {
    const world = await approvalProcessWorld(t);
    const { handle, card } = await askAndKill(world);
    // The restarted clock is near (or past) the request's expiry: a timer counted from the
    // restart would wait a whole ttl more than the wait below allows.
    const second = await world.start({ clockOffsetMs: offsetMs });
    await world.fake.waitForMessage(world.channels.approvals!, (m) => m.id === card.id && /Expired/.test(decision(m)), {
      timeoutMs: LONG,
    });
    await handle.original((m) => /not approved before/.test(m.content), LONG);
    assert.equal(world.gateways.webster.runCount, 0);
    await second.stop();
  });
}
