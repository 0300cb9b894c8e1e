/**
 * One run at a time per result thread: a follow-up sent while a run of its thread goes on is
 * journaled as queued, answered with whom it waits behind and a Cancel button for its author,
 * and started after that run has ended, in order. The real discord.js client against the fake
 * Discord; the fake gateway holds the running agent until the test releases it.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import type { StoredMessage } from './fakes/fake-discord/index.ts';
import { assertNoPings, privateAnswer, startWorld, type World } from './support/bot-world.ts';
import { botReplyTo, followUp, holdNextRun, resultThread, runOfMessage, within } from './support/thread-world.ts';

const WAITS = /waits behind run/;

function cancelIdOf(message: StoredMessage): string {
  const id = message.interactiveComponents.find((c) => String(c.custom_id).startsWith('cancel-queued:'))?.custom_id;
  assert.ok(id, 'the waiting note has a Cancel button');
  return String(id);
}

async function eventsOf(world: World, runId: string): Promise<string[]> {
  const dir = world.config.paths.logDir;
  const lines = (await Promise.all((await readdir(dir)).map((file) => readFile(path.join(dir, file), 'utf8'))))
    .join('\n')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { runId?: string; event?: string });
  return lines.filter((line) => line.runId === runId).map((line) => String(line.event));
}

/** A thread with one follow-up held at the gateway and a second one waiting behind it. */
async function queuedBehindHeld(world: World) {
  const threadId = await resultThread(world, 'summarise the open PRs');
  const release = holdNextRun(world);
  const firstSent = world.gateways.webster.next('run');
  const first = followUp(world, threadId, world.users.alice, 'now the closed ones');
  await within(firstSent, 'the first follow-up at the gateway');
  const second = followUp(world, threadId, world.users.alice, 'and the drafts');
  const waiting = await botReplyTo(world, threadId, second, (m) => WAITS.test(m.content));
  return { threadId, release, first, second, waiting };
}

test('a follow-up sent while its thread has a run going waits behind it, then runs after it', async (t) => {
  const world = await startWorld(t);
  const { gateways, store } = world;
  const { threadId, release, first, second, waiting } = await queuedBehindHeld(world);
  const firstRun = runOfMessage(world, first);
  const secondRun = runOfMessage(world, second);
  assert.ok(waiting.content.includes(`behind run \`${firstRun.runId}\``), waiting.content);
  cancelIdOf(waiting);
  assert.equal(secondRun.status, 'queued', 'journaled as queued, visible in /runs');
  assert.equal(gateways.webster.runCount, 2, 'the first result and the running follow-up only');

  const secondSent = gateways.webster.next('run');
  release();
  const [sent] = await within(secondSent, 'the queued follow-up at the gateway');
  const prompt = String(sent.request.body?.message);
  assert.match(prompt, /and the drafts/);
  const finished = store!.getRun(firstRun.runId);
  assert.ok(finished?.finishedAt !== undefined && finished.finishedAt <= sent.startedAt, 'started after the first');
  assert.ok(prompt.includes(`findings for ${firstRun.runId}`), "the first follow-up's result is in its context");

  const done = await botReplyTo(world, threadId, second, (m) => m.content.startsWith('✅'));
  assert.equal(done.id, waiting.id, 'the waiting note became its progress and answer');
  assert.equal(store!.getRun(secondRun.runId)?.status, 'complete');
  assert.deepEqual(await eventsOf(world, secondRun.runId), ['queued', 'attempt_start', 'complete']);
  assertNoPings(world);
});

test('only its author may cancel a waiting follow-up; it ends cancelled once and is never sent', async (t) => {
  const world = await startWorld(t);
  const { fake, gateways, store, users } = world;
  const { threadId, release, first, second, waiting } = await queuedBehindHeld(world);
  const runId = runOfMessage(world, second).runId;
  const customId = cancelIdOf(waiting);

  const byOther = fake.clickButton({ messageId: waiting.id, customId, userId: users.bob });
  const refusal = await privateAnswer(world, byOther.id);
  assert.ok(refusal.ephemeral, 'refused privately');
  assert.match(refusal.content, new RegExp(`Only <@${users.alice}>, who sent this follow-up, can cancel it`));
  assert.equal(store!.getRun(runId)?.status, 'queued', 'still waiting');

  const delivered = world.waitForLog((entry) => entry.msg === 'result delivered' && entry.runId === runId);
  const byAuthor = fake.clickButton({ messageId: waiting.id, customId, userId: users.alice });
  assert.match((await privateAnswer(world, byAuthor.id)).content, /is cancelled; it never started/);
  const again = fake.clickButton({ messageId: waiting.id, customId, userId: users.alice });
  assert.match((await privateAnswer(world, again.id)).content, /no longer waiting/);
  await delivered;

  assert.equal(store!.getRun(runId)?.status, 'cancelled');
  const answered = fake.message(waiting.id)!;
  assert.match(answered.content, /Cancelled/);
  assert.equal(answered.interactiveComponents.length, 0, 'the Cancel button is gone');
  const marks = fake.message(second.id)!.reactionUsers;
  assert.ok(marks.get('❌')?.has(fake.botUser.id), '❌ on the follow-up');
  assert.ok(!marks.get('👀')?.has(fake.botUser.id), 'in place of 👀');
  assert.deepEqual(await eventsOf(world, runId), ['queued', 'cancelled']);

  const firstDone = botReplyTo(world, threadId, first, (m) => m.content.startsWith('✅'));
  release();
  await firstDone;
  assert.equal(gateways.webster.runCount, 2, 'the cancelled follow-up never reached the agent');
  assertNoPings(world);
});

test('a follow-up still waiting after a restart keeps its note, and its author can cancel it there', async (t) => {
  const world = await startWorld(t);
  const { fake, gateways, store, users } = world;
  const { threadId, release, first, second, waiting } = await queuedBehindHeld(world);
  const runId = runOfMessage(world, second).runId;
  await world.restart();
  assert.equal(store!.getRun(runId)?.status, 'queued', 'still waiting after the restart');

  const delivered = world.waitForLog((entry) => entry.msg === 'result delivered' && entry.runId === runId);
  const press = fake.clickButton({ messageId: waiting.id, customId: cancelIdOf(waiting), userId: users.alice });
  assert.match((await privateAnswer(world, press.id)).content, /is cancelled; it never started/);
  await delivered;
  assert.match(fake.message(waiting.id)!.content, /Cancelled/, 'the waiting note itself is answered');
  const replies = fake
    .messagesIn(threadId)
    .filter((m) => m.messageReference?.message_id === second.id && m.authorId === fake.botUser.id);
  assert.deepEqual(
    replies.map((m) => m.id),
    [waiting.id],
    'no second reply',
  );

  const firstDone = botReplyTo(world, threadId, first, (m) => m.content.startsWith('✅'));
  release();
  await firstDone;
  assert.equal(gateways.webster.runCount, 2, 'the cancelled follow-up never reached the agent');
  assertNoPings(world);
});
