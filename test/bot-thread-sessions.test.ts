/**
 * One OpenClaw session per result thread: where the agent allows caller session keys, the run
 * that opened the thread and every follow-up in it are sent with the same key and
 * `sessionMode: persistent`; an agent without that permission gets no key and still gets the
 * thread's context. The real discord.js client against the fake Discord, fake gateways.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RecordedRequest } from './fakes/fake-gateway.ts';
import { assertNoPings, startWorld, type World } from './support/bot-world.ts';
import { followUp, resultThread, within } from './support/thread-world.ts';

function sessionsOf(requests: readonly RecordedRequest[]): { key: unknown; mode: unknown }[] {
  return requests.map((request) => ({ key: request.body?.sessionKey, mode: request.body?.sessionMode }));
}

async function twoFollowUps(world: World, threadId: string): Promise<void> {
  for (const text of ['now the closed ones', 'and the drafts']) {
    const settled = world.waitForLog((entry) => entry.msg === 'result delivered' && entry.agent === 'webster');
    const ran = world.gateways.webster.next('run', (run) => String(run.request.body?.message).includes(text));
    followUp(world, threadId, world.users.alice, text);
    await within(ran, `the follow-up "${text}"`);
    await settled;
  }
}

test("a thread's runs share one persistent session key where the agent allows caller keys", async (t) => {
  const world = await startWorld(t, { agents: { webster: { sessionKey: true } } });
  const threadId = await resultThread(world, 'summarise the open PRs');
  const [root] = world.store!.recentRuns({ limit: 1 });
  await twoFollowUps(world, threadId);

  const sessions = sessionsOf(world.gateways.webster.hookRequests);
  assert.equal(sessions.length, 3, 'the first run and two follow-ups');
  const expected = { key: `hook:hq:thread:${root!.runId}`, mode: 'persistent' };
  assert.deepEqual(sessions, [expected, expected, expected]);
  for (const run of world.store!.recentRuns({ limit: 3 }))
    assert.deepEqual(run.request?.session, { key: expected.key, persistent: true }, 'journaled with its run');
  assertNoPings(world);
});

test('an agent without caller session keys gets no key, and its follow-up still carries the context', async (t) => {
  const world = await startWorld(t);
  const threadId = await resultThread(world, 'summarise the open PRs');
  await twoFollowUps(world, threadId);

  const requests = world.gateways.webster.hookRequests;
  assert.deepEqual(sessionsOf(requests), Array(3).fill({ key: undefined, mode: undefined }));
  assert.ok(String(requests[2]!.body?.message).includes('Task: now the closed ones'), 'the thread context is sent');
  for (const run of world.store!.recentRuns({ limit: 3 })) assert.equal(run.request?.session, undefined);
});
