/**
 * Discord faults through the whole bot: the real engine and bot in-process against the fake
 * Discord, which answers 429 or 5xx to chosen routes or drops the gateway mid-run. Whatever
 * Discord does, each result lands once in #dl-<agent>, the reply links it, and a command
 * arriving meanwhile is still deferred in time. countDiscordErrors is attached to the bot's
 * client, so each case also proves what /metrics would show.
 */
import assert from 'node:assert/strict';
import { rename, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import type { Metrics } from '../src/ops/metrics.ts';
import type { RequestLogEntry, StoredMessage } from './fakes/fake-discord/index.ts';
import { handoffText } from './fakes/fake-gateway.ts';
import { startWorld, type World } from './support/bot-world.ts';

/** Discord gives three seconds to acknowledge an interaction. */
const ACK_DEADLINE_MS = 3_000;

function delegate(world: World, task: string) {
  const { fake, channels, users } = world;
  return fake.sendSlashCommand({
    channelId: channels.general!,
    userId: users.alice,
    name: 'delegate',
    options: { agent: 'webster', task },
  });
}

async function errorCount(metrics: Metrics, kind: string): Promise<number> {
  const line = (await metrics.text())
    .split('\n')
    .find((candidate) => candidate.startsWith(`hq_delegate_discord_errors_total{kind="${kind}"} `));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

function embedsIn(world: World, channel: string): StoredMessage[] {
  return world.fake.messagesIn(world.channels[channel]!).filter((message) => message.embeds.length > 0);
}

/**
 * Every request that got a 429 was sent again (the same body), and no sooner than retry_after.
 * (Another request on the same route may go out meanwhile: discord.js moves a route to the
 * bucket Discord names in its answer, and that bucket is not yet known to be exhausted.)
 */
function assertRetryAfterHonoured(requests: readonly RequestLogEntry[], retryAfterMs: number): void {
  const limited = requests.filter((request) => request.status === 429);
  assert.ok(limited.length > 0, 'the storm hit');
  for (const hit of limited) {
    const body = JSON.stringify(hit.body);
    const retry = requests.find((request) => request.seq > hit.seq && JSON.stringify(request.body) === body);
    assert.ok(retry, `the request refused at seq ${hit.seq} was sent again`);
    assert.ok(
      retry.time - hit.time >= retryAfterMs,
      `retried ${(retry.time - hit.time).toFixed(0)} ms after a 429 asking for ${retryAfterMs} ms`,
    );
  }
}

test('a 429 storm on message create: retry_after honoured, each result posted once, a command meanwhile deferred in time', async (t) => {
  const world = await startWorld(t, { script: { respond: 'admit', agent: { write: 'valid', afterMs: 100 } } });
  const { metrics } = world;
  const { fake } = world;
  const create = `POST /channels/${world.channels['dl-webster']}/messages`;
  fake.failNext(create, { status: 429, retryAfter: 0.4, times: 4 });

  const first = delegate(world, 'first, into the storm');
  await fake.waitForRequest(
    (request) => request.route === 'POST /channels/:channel_id/messages' && request.status === 429,
    { timeoutMs: 10_000 },
  );
  const second = delegate(world, 'second, while the first is held back');
  const ack = await second.acknowledged();
  assert.equal(ack.type, 5);
  assert.ok(ack.elapsedMs < ACK_DEADLINE_MS, `deferred after ${ack.elapsedMs} ms`);

  const replies = await Promise.all(
    [first, second].map(
      async (handle) =>
        (await handle.original((message) => /discord\.com\/channels\/\d+\/\d+\/\d+/.test(message.content), 15_000))
          .content,
    ),
  );
  const posted = embedsIn(world, 'dl-webster');
  assert.equal(posted.length, 2, 'one embed per run');
  for (const message of posted)
    assert.equal(replies.filter((reply) => reply.includes(message.id)).length, 1, `one reply links ${message.id}`);
  assertRetryAfterHonoured(fake.requests(create), 400);
  assert.equal(await errorCount(metrics, 'rest_429'), 4);
});

test('a 429 storm on the interaction webhook: the reply is edited in place once the limit passes, the result posted once', async (t) => {
  const world = await startWorld(t, { script: { respond: 'admit', agent: { write: 'valid', afterMs: 300 } } });
  const { metrics } = world;
  const { fake } = world;
  const edits = /^PATCH \/webhooks\/\d+\/[^/]+\/messages\/[^/]+$/;
  fake.failNext(edits, { status: 429, retryAfter: 0.3, times: 3 });

  const handle = delegate(world, 'answer through a throttled reply');
  const ack = await handle.acknowledged();
  assert.ok(ack.elapsedMs < ACK_DEADLINE_MS, `deferred after ${ack.elapsedMs} ms`);
  const posted = await fake.waitForMessage(world.channels['dl-webster']!, (message) => message.embeds.length > 0, {
    timeoutMs: 15_000,
  });
  const final = await handle.original((message) => message.content.includes(posted.id), 15_000);

  assert.equal(embedsIn(world, 'dl-webster').length, 1);
  assert.equal(handle.followups.length, 0, 'no second message instead of the edit');
  assert.equal(final.id, handle.originalMessage?.id);
  assertRetryAfterHonoured(fake.requests(edits), 300);
  assert.equal(await errorCount(metrics, 'rest_429'), 3);
});

test('a 5xx storm on the result message, some after Discord had created it, still leaves exactly one embed', async (t) => {
  const world = await startWorld(t, { script: { respond: 'admit', agent: { write: 'valid', afterMs: 100 } } });
  const { metrics } = world;
  const { fake } = world;
  const create = `POST /channels/${world.channels['dl-webster']}/messages`;
  // Five in a row outlast discord.js's own three retries, so the outbox must try again; each
  // of them created the message before the 502, so only the nonce keeps it to one.
  fake.failNext(create, { status: 502, times: 5, afterHandling: true });

  const handle = delegate(world, 'survive the outage');
  const final = await handle.original(
    (message) => /discord\.com\/channels\/\d+\/\d+\/\d+/.test(message.content),
    30_000,
  );
  const posted = embedsIn(world, 'dl-webster');
  assert.equal(posted.length, 1, `exactly one embed (got ${posted.length})`);
  assert.ok(final.content.includes(posted[0]!.id), 'the reply links the one embed');
  const creates = fake.requests(create);
  assert.ok(creates.length >= 6, `retried past the storm (${creates.length} creates)`);
  assert.ok(
    creates.every(
      (request) =>
        typeof (request.body as { nonce?: unknown }).nonce === 'string' &&
        (request.body as { enforce_nonce?: unknown }).enforce_nonce === true,
    ),
    'every create carries the nonce, enforced',
  );
  assert.equal(
    new Set(creates.map((request) => (request.body as { nonce?: unknown }).nonce)).size,
    1,
    'the same nonce each time',
  );
  assert.equal(await errorCount(metrics, 'rest_5xx'), 5);
});

test('the gateway dropping mid-run is resumed and the run goes on, delivered once', async (t) => {
  const world = await startWorld(t, {
    script: { respond: 'admit', agent: { write: 'none', finishAfterMs: 3_600_000 } },
  });
  const { metrics } = world;
  const { fake, gateways } = world;
  const handle = delegate(world, 'outlast a gateway drop');
  const [run] = await gateways.webster.next('run');
  await handle.original((message) => /waiting for webster/.test(message.content), 10_000);

  const resumed = fake.waitForResume({ timeoutMs: 15_000 });
  assert.equal(fake.dropConnection({ terminate: true }), 1);
  await resumed;
  assert.equal(fake.identifies.length, 1, 'resumed, not identified again');

  // The agent answers after the drop, through the same run.
  const temporary = `${run.handoffPath}.tmp`;
  await writeFile(temporary, handoffText('valid', run.runId!, 'webster'));
  await rename(temporary, run.handoffPath!);
  const posted = await fake.waitForMessage(world.channels['dl-webster']!, (message) => message.embeds.length > 0, {
    timeoutMs: 15_000,
  });
  assert.ok(posted.embeds[0]?.fields?.some((field) => field.name === 'Status' && /Complete/.test(field.value)));
  await handle.original((message) => message.content.includes(posted.id), 10_000);
  assert.equal(embedsIn(world, 'dl-webster').length, 1);
  assert.equal(gateways.webster.runCount, 1, 'the agent was not asked twice');
  assert.equal(await errorCount(metrics, 'gateway_reconnect'), 1);
});
