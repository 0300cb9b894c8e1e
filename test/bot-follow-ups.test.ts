/**
 * Follow-ups: an @mention of the bot in a result thread asks that thread's agent again, with the
 * thread's earlier task and result as fenced context, under the ACL of any mention. The real
 * discord.js client against the fake Discord.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredMessage } from './fakes/fake-discord/index.ts';
import { assertNoPings, startWorld, type World } from './support/bot-world.ts';
import { resultThread, within } from './support/thread-world.ts';

function followUp(world: World, threadId: string, authorId: string, text: string): StoredMessage {
  return world.fake.postMessage({ channelId: threadId, authorId, content: `<@${world.fake.botUser.id}> ${text}` });
}

function botReplyTo(world: World, threadId: string, message: StoredMessage, predicate: (m: StoredMessage) => boolean) {
  return world.fake
    .waitForMessage(
      threadId,
      (m) => m.messageReference?.message_id === message.id && m.authorId === world.fake.botUser.id && predicate(m),
      { timeoutMs: 10_000 },
    )
    .catch((error: unknown) => {
      const seen = world.fake
        .messagesIn(threadId)
        .map(
          (m) =>
            `${m.authorId} ${m.source} ref=${JSON.stringify(m.messageReference)} h=${m.history.length}: ${m.content.slice(0, 200)}`,
        );
      throw new Error(`no reply in the thread; it holds:\n${seen.join('\n')}`, { cause: error });
    });
}

test('a follow-up @mention in a result thread runs the same agent with the earlier task and result', async (t) => {
  const world = await startWorld(t);
  const threadId = await resultThread(world, 'summarise the open PRs');
  const [first] = world.store!.recentRuns({ limit: 1 });
  const earlierResult = String(first!.result?.result);
  assert.ok(earlierResult.length > 0, 'the first run has a result');

  const nextRun = world.gateways.webster.next('run');
  const asked = followUp(world, threadId, world.users.alice, 'now list the closed ones too');
  const [run] = await within(nextRun, 'the follow-up run');
  const prompt = String(run.request.body?.message);
  assert.match(prompt, /now list the closed ones too/);
  assert.match(prompt, /<<<BEGIN UNTRUSTED CHANNEL CONTEXT [0-9a-f]{12}>>> \(from this result thread with webster/);
  const fenced = prompt.slice(prompt.indexOf('<<<BEGIN UNTRUSTED'), prompt.indexOf('<<<END UNTRUSTED'));
  assert.ok(fenced.includes('Task: summarise the open PRs'), 'the earlier task is inside the fence');
  assert.ok(fenced.includes(earlierResult), 'the earlier result is inside the fence');

  const reply = await botReplyTo(world, threadId, asked, (m) => m.content.startsWith('✅'));
  assert.match(reply.content, /webster/);
  const runs = world.store!.recentRuns({ limit: 2 });
  assert.equal(runs[0]!.agent, 'webster');
  assert.equal(runs[0]!.origin?.['threadId'], threadId, 'the thread is in the run origin');
  assert.equal(runs[0]!.task, 'now list the closed ones too');
  assertNoPings(world);
});

test('naming the thread agent is accepted and naming another agent is refused in the thread', async (t) => {
  const world = await startWorld(t);
  const threadId = await resultThread(world, 'draft the notes');
  const nextRun = world.gateways.webster.next('run');
  followUp(world, threadId, world.users.alice, 'webster: tighten the wording');
  const [run] = await within(nextRun, 'the follow-up run');
  assert.match(String(run.request.body?.message), /tighten the wording/);

  const other = followUp(world, threadId, world.users.alice, 'tech-lead: review this');
  const refusal = await botReplyTo(world, threadId, other, (m) => m.content.startsWith('❌'));
  assert.match(refusal.content, /This thread is webster's/);
  assert.equal(refusal.data.mentions.length, 0, 'nobody pinged');
  assert.equal(world.gateways['tech-lead'].runCount, 0, 'no run to tech-lead');
  assertNoPings(world);
});

test('a member without a grant for the agent is refused in the thread', async (t) => {
  const world = await startWorld(t);
  const threadId = await resultThread(world, 'collect the metrics');
  const runsBefore = world.store!.recentRuns({ limit: 10 }).length;
  const asked = followUp(world, threadId, world.users.erin, 'and the error rates');
  const refusal = await botReplyTo(world, threadId, asked, (m) => m.content.startsWith('❌'));
  assert.doesNotMatch(refusal.content, /discord\.|acl|config/i, 'no config keys named');
  assert.equal(refusal.data.mentions.length, 0, 'nobody pinged');
  assert.equal(world.store!.recentRuns({ limit: 10 }).length, runsBefore, 'no run started');
  assertNoPings(world);
});

function embedsIn(world: World, channelId: string): StoredMessage[] {
  return world.fake.messagesIn(channelId).filter((m) => m.authorId === world.fake.botUser.id && m.embeds.length > 0);
}

test("a follow-up's result embed is posted in its thread, and no second thread is opened", async (t) => {
  const world = await startWorld(t);
  const { fake, channels } = world;
  const threadId = await resultThread(world, 'summarise the open PRs');
  const asked = followUp(world, threadId, world.users.alice, 'now list the closed ones too');
  const reply = await botReplyTo(world, threadId, asked, (m) => m.content.startsWith('✅'));

  const inThread = embedsIn(world, threadId);
  assert.equal(inThread.length, 1, 'the follow-up result embed is in the thread');
  assert.ok(reply.content.includes(`/${threadId}/${inThread[0]!.id}`), `the reply links the embed: ${reply.content}`);
  assert.equal(embedsIn(world, channels['dl-webster']!).length, 1, '#dl-webster holds only the first result');
  assert.equal(fake.threadsIn(channels['dl-webster']!).length, 1, 'no second thread in #dl-webster');
  assert.equal(fake.threadsIn(threadId).length, 0, 'no thread opened on the follow-up embed');
  assert.equal(fake.requests('POST /channels/:channel_id/messages/:message_id/threads').length, 1, 'one thread create');
  assertNoPings(world);
});

test('a thread that refuses the follow-up result (archived) sends it to #dl-webster with its own thread', async (t) => {
  const world = await startWorld(t);
  const { fake, channels } = world;
  const threadId = await resultThread(world, 'summarise the open PRs');
  const embedPost = (req: { method: string; path: string; body: unknown }) =>
    req.method === 'POST' &&
    req.path === `/channels/${threadId}/messages` &&
    Array.isArray((req.body as { embeds?: unknown } | null)?.embeds);
  fake.failNext(embedPost, { status: 400, body: { code: 50083, message: 'Thread is archived' } });
  const asked = followUp(world, threadId, world.users.alice, 'now list the closed ones too');
  const reply = await botReplyTo(world, threadId, asked, (m) => m.content.startsWith('✅'));

  const tries = fake.requests(embedPost);
  assert.equal(tries.length, 1, 'the thread was tried once');
  assert.equal(tries[0]!.injected, true, 'and refused');
  assert.equal(embedsIn(world, threadId).length, 0, 'nothing landed in the refusing thread');
  const inChannel = embedsIn(world, channels['dl-webster']!);
  assert.equal(inChannel.length, 2, 'the result fell back to #dl-webster');
  assert.ok(reply.content.includes(inChannel[1]!.id), `the reply links the fallback embed: ${reply.content}`);
  assert.equal(fake.threadsIn(channels['dl-webster']!).length, 2, 'the fallback embed opened its own thread');
  assertNoPings(world);
});
