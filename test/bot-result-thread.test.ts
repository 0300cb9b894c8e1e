/**
 * A thread per result: the embed in #dl-<agent> opens a thread named after the task, once, and the
 * requester's reply links to it. The real discord.js client against the fake Discord.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RESULT_THREAD_DELIVERY_KIND } from '../src/discord/delivery/result-thread.ts';
import { assertNoPings, startWorld, type World } from './support/bot-world.ts';

function delegate(world: World, task: string, agent = 'webster') {
  const { fake, channels, users } = world;
  return fake.sendSlashCommand({
    channelId: channels.general!,
    userId: users.alice,
    name: 'delegate',
    options: { agent, task },
  });
}

const JUMP_LINK = /discord\.com\/channels\/\d+\/\d+\/\d+/;

test('a /delegate result opens a thread named after the task and the reply links it', async (t) => {
  const world = await startWorld(t);
  const { fake, channels } = world;
  const handle = delegate(world, 'summarise the open PRs');
  const final = await handle.original((m) => JUMP_LINK.test(m.content), 10_000);

  const threads = fake.threadsIn(channels['dl-webster']!);
  assert.equal(threads.length, 1, 'one thread');
  const thread = threads[0]! as { id: string; name: string; type: number; parent_id: string };
  assert.equal(thread.type, 11, 'a public thread');
  assert.equal(thread.name, 'summarise the open PRs');
  const embed = fake.messagesIn(channels['dl-webster']!).find((m) => m.embeds.length > 0)!;
  assert.equal(thread.id, embed.id, 'opened on the result embed');
  assert.ok(final.content.includes(embed.id), 'the reply links the embed');
  assert.ok(final.content.includes(`<#${thread.id}>`), `the reply links the thread: ${final.content}`);
  assert.equal(final.data.mentions.length, 0, 'nobody pinged');
  assertNoPings(world);
});

test('an agent configured without result threads gets none', async (t) => {
  const world = await startWorld(t, { discord: { noResultThreadAgents: ['webster'] } });
  const { fake, channels } = world;
  const handle = delegate(world, 'no thread please');
  const final = await handle.original((m) => JUMP_LINK.test(m.content), 10_000);
  assert.equal(fake.threadsIn(channels['dl-webster']!).length, 0);
  assert.equal(fake.requests('POST /channels/:channel_id/messages/:message_id/threads').length, 0);
  assert.doesNotMatch(final.content, /Thread:/);
});

test('a thread create failing with 5xx is retried by the outbox and exactly one thread exists', async (t) => {
  const world = await startWorld(t);
  const { fake, channels } = world;
  const create = 'POST /channels/:channel_id/messages/:message_id/threads';
  // Five in a row outlast discord.js's own three retries, so the outbox must try again; the sixth
  // opens the thread but its answer is lost, so the next try meets 160004 and takes that thread.
  fake.failNext(create, { status: 502, times: 5 });
  fake.failNext(create, { status: 502, times: 1, afterHandling: true });
  const handle = delegate(world, 'survive the outage');
  const final = await handle.original((m) => JUMP_LINK.test(m.content), 30_000);

  const threads = fake.threadsIn(channels['dl-webster']!);
  assert.equal(threads.length, 1, `exactly one thread (got ${threads.length})`);
  const tries = fake.requests(create);
  assert.ok(tries.length >= 7, `retried past the storm (${tries.length} tries)`);
  assert.equal(tries.at(-1)?.status, 400, 'the last try met "already created"');
  assert.ok(final.content.includes(`<#${threads[0]!.id}>`), 'the reply links the one thread');
  assertNoPings(world);
});

test('a long task with mention syntax names the thread truncated and defused', async (t) => {
  const world = await startWorld(t);
  const { fake, channels, users } = world;
  const task = `<@${users.carol}> and @everyone: ${'review the whole backlog '.repeat(10)}`;
  const handle = delegate(world, task);
  await handle.original((m) => JUMP_LINK.test(m.content), 10_000);

  const thread = fake.threadsIn(channels['dl-webster']!)[0] as { name: string } | undefined;
  assert.ok(thread, 'a thread');
  assert.ok(thread.name.length >= 1 && thread.name.length <= 100, `1-100 chars (${thread.name.length})`);
  assert.ok(!thread.name.includes(`<@${users.carol}>`), 'no user mention syntax');
  assert.ok(!thread.name.includes('@everyone'), 'no @everyone');
  assert.match(thread.name, /review the whole backlog/);
  assert.match(thread.name, /…$/, 'marked as cut');
});

test('the fake Discord refuses a bad thread name and a second thread for one message', async (t) => {
  const world = await startWorld(t);
  const { fake, channels } = world;
  const handle = delegate(world, 'one thread only');
  await handle.original((m) => JUMP_LINK.test(m.content), 10_000);
  const embed = fake.messagesIn(channels['dl-webster']!).find((m) => m.embeds.length > 0)!;
  const url = `${fake.apiBase}/v10/channels/${channels['dl-webster']}/messages/${embed.id}/threads`;
  const post = async (body: unknown) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bot ${fake.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as { code?: number } };
  };
  assert.equal((await post({ name: 'x'.repeat(101) })).body.code, 50035);
  assert.equal((await post({ name: '' })).body.code, 50035);
  const second = await post({ name: 'again' });
  assert.deepEqual([second.status, second.body.code], [400, 160004]);
});

test('a thread opened just before a restart is found, not opened again, and recorded', async (t) => {
  const world = await startWorld(t);
  const { fake, channels } = world;
  const create = 'POST /channels/:channel_id/messages/:message_id/threads';
  // The first try opens the thread but its answer is lost; Discord then stays down for threads.
  fake.failNext(create, { status: 502, times: 1, afterHandling: true });
  const outage = fake.failNext(create, { status: 502, times: Infinity });
  delegate(world, 'across a restart');
  await world.waitForLog((entry) => entry.msg === 'the result thread could not be opened now; it stays in the outbox');

  await world.restart();
  outage.cancel();
  const embed = fake.messagesIn(channels['dl-webster']!).find((m) => m.embeds.length > 0)!;
  const reply = await fake.waitForMessage(channels.general!, (m) => m.content.includes(`<#${embed.id}>`), {
    timeoutMs: 15_000,
  });
  assert.ok(reply.content.includes(embed.id), 'the reply links the embed and its thread');
  assert.equal(fake.threadsIn(channels['dl-webster']!).length, 1, 'one thread');
  assert.equal(fake.messagesIn(channels['dl-webster']!).filter((m) => m.embeds.length > 0).length, 1, 'one embed');
  const [run] = world.store!.recentRuns({ limit: 1 });
  assert.equal(world.store!.getDelivery(run!.runId, RESULT_THREAD_DELIVERY_KIND)?.messageId, embed.id);
  assertNoPings(world);
});
