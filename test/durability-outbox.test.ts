import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RESULT_DELIVERY_KIND } from '../src/discord/delivery/result-link.ts';
import { assertNoPings, privateAnswer, startWorld, type World } from './support/bot-world.ts';

const LONG = 10_000;

function createsIn(world: World, channel: string) {
  return world.fake.requests(`POST /channels/${world.channels[channel]}/messages`);
}

function runIdOf(world: World): string {
  const [run] = world.store!.recentRuns({ limit: 1 });
  assert.ok(run, 'a run in the store');
  return run.runId;
}

/** The outbox has recorded every delivery of the run (its last step, after the messages are out). */
async function delivered(world: World): Promise<string> {
  const runId = runIdOf(world);
  await world.waitForLog((entry) => entry.msg === 'result delivered' && entry.runId === runId);
  return runId;
}

test('a 5xx storm on the embed create is retried with backoff and still posts exactly one embed, recorded in the store', async (t) => {
  const world = await startWorld(t);
  const { fake, channels, users } = world;
  // discord.js tries 4 times at once; the outbox's own pause then lets the storm pass.
  const storm = fake.failNext(`POST /channels/${channels['dl-webster']}/messages`, { status: 502, times: 6 });
  const handle = fake.sendSlashCommand({
    channelId: channels.general!,
    userId: users.alice,
    name: 'delegate',
    options: { agent: 'webster', task: 'through the storm' },
  });
  const embed = await fake.waitForMessage(channels['dl-webster']!, (m) => m.embeds.length > 0, { timeoutMs: LONG });
  await handle.original((m) => m.content.includes(embed.id), LONG);
  assert.equal(storm.hits.length, 6);
  const creates = createsIn(world, 'dl-webster');
  assert.equal(creates.length, 7, 'six failed, the seventh posted');
  assert.equal(
    new Set(creates.map((request) => (request.body as { nonce?: unknown }).nonce)).size,
    1,
    'every try carries the same nonce',
  );
  assert.ok(creates.every((request) => (request.body as { enforce_nonce?: unknown }).enforce_nonce === true));
  assert.equal(fake.messagesIn(channels['dl-webster']!).filter((m) => m.embeds.length > 0).length, 1);
  assert.equal(world.store!.getDelivery(await delivered(world), RESULT_DELIVERY_KIND)?.messageId, embed.id);
  assertNoPings(world);
});

test('a 429 on the embed create is waited out by discord.js and nothing of ours sends it twice', async (t) => {
  const world = await startWorld(t);
  const { fake, channels, users } = world;
  const limited = fake.failNext(`POST /channels/${channels['dl-webster']}/messages`, { status: 429, retryAfter: 0.3 });
  fake.sendSlashCommand({
    channelId: channels.general!,
    userId: users.alice,
    name: 'delegate',
    options: { agent: 'webster', task: 'slowly' },
  });
  const embed = await fake.waitForMessage(channels['dl-webster']!, (m) => m.embeds.length > 0, { timeoutMs: LONG });
  const runId = await delivered(world);
  assert.equal(limited.hits.length, 1);
  assert.deepEqual(
    createsIn(world, 'dl-webster').map((request) => request.status),
    [429, 200],
    'one wait, one create',
  );
  assert.equal(world.store!.getDelivery(runId, RESULT_DELIVERY_KIND)?.messageId, embed.id);
});

test('an outage longer than the retries leaves the delivery in the outbox; the next round posts it once', async (t) => {
  const world = await startWorld(t, { deliveryRetryEveryMs: 200 });
  const { fake, channels, users } = world;
  const outage = fake.failNext(`POST /channels/${channels['dl-webster']}/messages`, { status: 503, times: Infinity });
  const handle = fake.sendSlashCommand({
    channelId: channels.general!,
    userId: users.alice,
    name: 'delegate',
    options: { agent: 'webster', task: 'during the outage' },
  });
  // Every try of the first round fails (discord.js's, then the outbox's after each pause): it is left pending.
  await world.waitForLog(
    (entry) => entry.msg === 'the result embed could not be posted now; it stays in the outbox',
    LONG,
  );
  const waiting = await handle.original(
    (m) => /finished; Discord is not taking its result right now/.test(m.content),
    LONG,
  );
  assert.equal(waiting.interactiveComponents.length, 0, 'no spinner, no Cancel button meanwhile');
  const runId = runIdOf(world);
  assert.equal(world.store!.getDelivery(runId, RESULT_DELIVERY_KIND)?.deliveredAt, undefined, 'pending');
  assert.ok(world.store!.pendingDeliveries().some((delivery) => delivery.runId === runId));
  outage.cancel();
  const embed = await fake.waitForMessage(channels['dl-webster']!, (m) => m.embeds.length > 0, { timeoutMs: LONG });
  await handle.original((m) => m.content.includes(embed.id), LONG);
  await delivered(world);
  assert.equal(fake.messagesIn(channels['dl-webster']!).filter((m) => m.embeds.length > 0).length, 1);
  assert.deepEqual(world.store!.pendingDeliveries(), []);
});

test('without a dl- channel the result goes inline to the requester and the store records it there', async (t) => {
  const world = await startWorld(t);
  const { fake, channels, users } = world;
  const handle = fake.sendSlashCommand({
    channelId: channels.general!,
    userId: users.alice,
    name: 'delegate',
    options: { agent: 'secretary', task: 'no channel for me' },
  });
  const final = await handle.original((m) => m.embeds.length > 0, LONG);
  assert.match(final.content, /no #dl-secretary channel/);
  const runId = await delivered(world);
  assert.equal(world.store!.getRun(runId)?.result?.status, 'complete', 'the result is kept');
  assert.equal(
    world.store!.getDelivery(runId, RESULT_DELIVERY_KIND)?.messageId,
    final.id,
    'recorded where it went: the reply',
  );
  assert.equal(world.store!.getDelivery(runId, 'requester-reply')?.messageId, final.id);
  assert.deepEqual(world.store!.pendingDeliveries(), []);
});

test('once stopping, a /delegate is told privately to retry in a minute and a mention gets a short reply', async (t) => {
  const world = await startWorld(t, { channels: ['dl-webster', 'dl-tech-lead', 'dl-secretary'] });
  const { fake, channels, users } = world;
  world.bot.beginShutdown();
  const handle = fake.sendSlashCommand({
    channelId: channels.general!,
    userId: users.alice,
    name: 'delegate',
    options: { agent: 'webster', task: 'too late' },
  });
  const ack = await handle.acknowledged(LONG);
  assert.equal(ack.type, 4, 'answered at once, not deferred in public');
  assert.equal(((ack.body as { data?: { flags?: number } }).data?.flags ?? 0) & 64, 64, 'ephemeral');
  assert.match((await privateAnswer(world, handle.id, LONG)).content, /hq-delegate is restarting, retry in a minute/);

  const asked = fake.postMessage({
    channelId: channels.general!,
    authorId: users.websterBot,
    content: `<@${fake.botUser.id}> secretary: too late too`,
  });
  const reply = await fake.waitForMessage(channels.general!, (m) => m.messageReference?.message_id === asked.id, {
    timeoutMs: LONG,
  });
  assert.match(reply.content, /hq-delegate is restarting, retry in a minute/);
  assert.equal(
    world.gateways.webster.hookRequests.length + world.gateways.secretary.hookRequests.length,
    0,
    'no work was taken',
  );
});
