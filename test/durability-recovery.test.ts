import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SendableChannels } from 'discord.js';
import { RESULT_DELIVERY_KIND } from '../src/discord/delivery/result-link.ts';
import { METRIC_PREFIX } from '../src/ops/metrics.ts';
import type { RunOrigin } from '../src/discord/runs/run-origin.ts';
import { assertNoPings, startWorld, type World } from './support/bot-world.ts';

const LONG = 10_000;

function slashOrigin(world: World): RunOrigin {
  return {
    kind: 'slash',
    guildId: world.guild.id,
    channelId: world.channels.general!,
    requesterId: world.users.alice,
    requesterLabel: 'alice',
    depth: 1,
  };
}

test('a progress message whose run was never journaled gets a last word after the restart, not a spinner', async (t) => {
  const world = await startWorld(t);
  // What a process killed between showing the reply and journaling the run leaves behind.
  const channel = (await world.bot.client.channels.fetch(world.channels.general!)) as SendableChannels;
  const spinner = await channel.send({ content: '⏳ accepted for webster' });
  world.store!.recordProgressMessage('orch-1700000000-deadbeef', {
    channelId: world.channels.general!,
    messageId: spinner.id,
  });

  const report = await world.restart();
  assert.equal(report?.progressCleared, 1);
  const corrected = await world.fake.waitForMessage(
    world.channels.general!,
    (m) => m.id === spinner.id && /restarted before this run could start/.test(m.content),
    { timeoutMs: LONG },
  );
  assert.equal(corrected.interactiveComponents.length, 0);
  await world.waitForLog((entry) => entry.msg === 'progress message left by the previous process finished');
  assert.deepEqual(world.store!.progressMessages(), []);
});

test('a run journaled as finished with no outbox entry (killed in between) is delivered after the restart', async (t) => {
  const world = await startWorld(t);
  const runId = 'orch-1700000001-0badc0de';
  world.store!.runAccepted({
    runId,
    acceptedAt: Date.now() - 5_000,
    request: { runId, agent: 'webster', task: 'cut off', principals: ['manager'], origin: slashOrigin(world) },
  });
  world.store!.runFinished({
    status: 'complete',
    result: 'the answer',
    runId,
    agent: 'webster',
    latencyMs: 4_000,
    attempts: 1,
  });

  const report = await world.restart();
  assert.equal(report?.undelivered, 1);
  const embed = await world.fake.waitForMessage(world.channels['dl-webster']!, (m) => m.embeds.length > 0, {
    timeoutMs: LONG,
  });
  // No interaction token is known: the answer goes to the channel, naming alice without a ping.
  const answer = await world.fake.waitForMessage(world.channels.general!, (m) => m.content.includes(embed.id), {
    timeoutMs: LONG,
  });
  assert.match(answer.content, new RegExp(`<@${world.users.alice}>`));
  await world.waitForLog((entry) => entry.msg === 'result delivered' && entry.runId === runId);
  assert.equal(world.store!.getDelivery(runId, RESULT_DELIVERY_KIND)?.messageId, embed.id);
  assertNoPings(world);
});

test('an open run that can no longer be resumed (its agent left the registry) ends with that reason, delivered once', async (t) => {
  const world = await startWorld(t);
  const runId = 'orch-1700000002-feedface';
  const acceptedAt = Date.now() - 5_000;
  world.store!.runAccepted({
    runId,
    acceptedAt,
    request: { runId, agent: 'ghost', task: 'haunt', principals: ['manager'], origin: slashOrigin(world) },
  });
  world.store!.attemptStarted(runId, 1, acceptedAt, acceptedAt + 60_000);
  world.store!.attemptSent(runId, 1, undefined);

  const report = await world.restart();
  assert.equal(report?.resumed, 1);
  const answer = await world.fake.waitForMessage(
    world.channels.general!,
    (m) => /Could not be resumed after a restart: Unknown agent 'ghost'/.test(m.content + JSON.stringify(m.embeds)),
    { timeoutMs: LONG },
  );
  assert.match(answer.content, /no #dl-ghost channel/);
  await world.waitForLog((entry) => entry.msg === 'result delivered' && entry.runId === runId);
  assert.equal(world.store!.getRun(runId)?.status, 'error');
  assert.deepEqual(world.store!.listResumable(), [], 'not resumed again at the next start');
  const runsTotal = await world.metrics.registry.getSingleMetric(`${METRIC_PREFIX}engine_runs_total`)?.get();
  assert.deepEqual(
    runsTotal?.values.map(({ labels, value }) => [labels.status, value]),
    [['error', 1]],
    'counted in runs_total like any finished run',
  );
  assertNoPings(world);
});
