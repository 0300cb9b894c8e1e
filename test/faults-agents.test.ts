/**
 * Agent faults through the whole bot: the real engine and bot in-process against the fake
 * Discord, with an agent's fake OpenClaw gateway that crashes mid-run, answers 500 to its health
 * check, or never answers it. Each must end in a clear status in #dl-<agent>, never a hang.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredMessage } from './fakes/fake-discord/index.ts';
import { startWorld, type World } from './support/bot-world.ts';

/** The result embed's field, by name. */
function field(message: StoredMessage, name: string): string | undefined {
  return message.embeds[0]?.fields?.find((candidate) => candidate.name === name)?.value;
}

function delegate(world: World, task: string, options: Record<string, unknown> = {}) {
  const { fake, channels, users } = world;
  return fake.sendSlashCommand({
    channelId: channels.general!,
    userId: users.alice,
    name: 'delegate',
    options: { agent: 'webster', task, ...options },
  });
}

async function resultIn(world: World, channel: string): Promise<StoredMessage> {
  return world.fake.waitForMessage(world.channels[channel]!, (message) => message.embeds.length > 0, {
    timeoutMs: 15_000,
  });
}

test('a gateway that crashes while the run waits for completion fails the run at once, naming the agent', async (t) => {
  const world = await startWorld(t, {
    engine: { waitForCompletion: true },
    script: { respond: 'admit', agent: { write: 'none', finishAfterMs: 3_600_000 } },
  });
  const handle = delegate(world, 'work until the crash', { timeout: 600, retries: 2 });
  await world.gateways.webster.next('run');
  await handle.original((message) => /waiting for webster/.test(message.content), 10_000);

  const crashedAt = Date.now();
  await world.gateways.webster.close();
  const posted = await resultIn(world, 'dl-webster');
  const elapsedMs = Date.now() - crashedAt;

  assert.match(posted.embeds[0]?.title ?? '', /Error: webster/);
  assert.match(
    field(posted, 'What went wrong') ?? '',
    /Failed to send task after 2 attempts: connection refused \(is the gateway running\?\)/,
  );
  assert.equal(field(posted, 'Attempts'), '2');
  // The attempt was allowed 600 s; the crash ended it within moments.
  assert.ok(elapsedMs < 10_000, `the crash was noticed after ${elapsedMs} ms`);
  await handle.original((message) => message.content.includes(posted.id), 10_000);
});

test('a gateway that crashes after admitting the run is found out at the deadline and on the next attempt', async (t) => {
  const world = await startWorld(t, {
    engine: { waitForCompletion: false, defaultTimeoutSeconds: 1 },
    script: { respond: 'admit', agent: { write: 'none', finishAfterMs: 3_600_000 } },
  });
  const handle = delegate(world, 'admitted, then the gateway died', { retries: 2 });
  await world.gateways.webster.next('run');
  await world.gateways.webster.close();

  const posted = await resultIn(world, 'dl-webster');
  assert.match(posted.embeds[0]?.title ?? '', /Error: webster/);
  assert.match(field(posted, 'What went wrong') ?? '', /Failed to send task after 2 attempts: connection refused/);
  assert.equal(field(posted, 'Attempts'), '2', 'the first attempt ran to its deadline; the second could not be sent');
  const final = await handle.original((message) => message.content.includes(posted.id), 10_000);
  assert.match(final.content, /webster/);
});

test('a gateway answering 500 to its health check gets HQ_ERR_GATEWAY_UNHEALTHY with the reason, and no task is sent', async (t) => {
  const world = await startWorld(t);
  world.gateways.webster.setHealth('status-500');
  const handle = delegate(world, 'are you there?');

  const posted = await resultIn(world, 'dl-webster');
  assert.match(posted.embeds[0]?.title ?? '', /Error: webster/);
  assert.equal(field(posted, 'Error code'), '`HQ_ERR_GATEWAY_UNHEALTHY`');
  assert.match(
    field(posted, 'What went wrong') ?? '',
    /Agent 'webster' unhealthy at 127\.0\.0\.1:\d+: \/healthz answered HTTP 500/,
  );
  assert.equal(world.gateways.webster.hookRequests.length, 0, 'nothing was sent to an unhealthy gateway');
  assert.ok(world.gateways.webster.healthRequests >= 1);
  await handle.original((message) => message.content.includes(posted.id), 10_000);
});

test('a gateway whose health check never answers is given up on after healthTimeoutMs', async (t) => {
  const healthTimeoutMs = 400;
  const world = await startWorld(t, { engine: { healthTimeoutMs } });
  world.gateways.webster.setHealth('hang');
  const probed = world.gateways.webster.next('health');
  const handle = delegate(world, 'hello?');
  await probed;
  const probedAt = Date.now();

  const posted = await resultIn(world, 'dl-webster');
  const elapsedMs = Date.now() - probedAt;
  assert.equal(field(posted, 'Error code'), '`HQ_ERR_GATEWAY_UNHEALTHY`');
  assert.match(
    field(posted, 'What went wrong') ?? '',
    new RegExp(`unhealthy at 127\\.0\\.0\\.1:\\d+: no answer within ${healthTimeoutMs} ms`),
  );
  // Bounded by the probe's own timeout: well under the 3 s default and the run's timeout.
  assert.ok(elapsedMs >= healthTimeoutMs - 50 && elapsedMs < healthTimeoutMs + 2_500, `gave up after ${elapsedMs} ms`);
  assert.equal(world.gateways.webster.hookRequests.length, 0);
  await handle.original((message) => message.content.includes(posted.id), 10_000);
});
