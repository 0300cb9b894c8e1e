/**
 * A follow-up waiting its turn in a result thread survives a SIGKILL: the restarted bot resumes
 * the run ahead of it, then starts it once, after that run, and delivers it once in the thread.
 * The real process (node src/main.ts) against the fake Discord; the agent writes only when the
 * test writes its handoff.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredMessage } from './fakes/fake-discord/index.ts';
import { startProcessWorld, type ProcessWorld } from './support/bot-process.ts';
import { assertNoPings } from './support/bot-world.ts';

const LONG = 30_000;
const JUMP_LINK = /discord\.com\/channels\/\d+\/\d+\/\d+/;

function followUp(world: ProcessWorld, threadId: string, text: string): StoredMessage {
  return world.fake.postMessage({
    channelId: threadId,
    authorId: world.users.alice,
    content: `<@${world.fake.botUser.id}> ${text}`,
  });
}

function replyTo(
  world: ProcessWorld,
  threadId: string,
  message: StoredMessage,
  predicate: (m: StoredMessage) => boolean,
) {
  return world.fake.waitForMessage(
    threadId,
    (m) => m.messageReference?.message_id === message.id && m.authorId === world.fake.botUser.id && predicate(m),
    { timeoutMs: LONG },
  );
}

/** A gateway run for the task, answered by writing its handoff. */
async function sentAndAnswered(world: ProcessWorld, text: string, answer: boolean): Promise<string> {
  const [run] = await world.gateways.webster.next('run', (r) => String(r.request.body?.message).includes(text));
  assert.ok(run.runId);
  if (answer) await world.writeHandoff(run.runId, 'webster');
  return run.runId;
}

test(
  'SIGKILL while a follow-up waits its turn: after the restart it runs once, after the run ahead, delivered once',
  { timeout: 120_000 },
  async (t) => {
    const world = await startProcessWorld(t, { script: { respond: 'admit', agent: { write: 'none' } } });
    const { fake, channels, users } = world;
    const first = await world.start();

    const root = fake.sendSlashCommand({
      channelId: channels.general!,
      userId: users.alice,
      name: 'delegate',
      options: { agent: 'webster', task: 'summarise the open PRs', timeout: 120 },
    });
    await sentAndAnswered(world, 'summarise the open PRs', true);
    await root.original((m) => JUMP_LINK.test(m.content) && m.content.includes('<#'), LONG);
    const threadId = (fake.threadsIn(channels['dl-webster']!)[0] as { id: string }).id;

    const aheadSent = sentAndAnswered(world, 'now the closed ones', false);
    followUp(world, threadId, 'now the closed ones');
    const aheadId = await aheadSent;
    const queued = followUp(world, threadId, 'and the drafts');
    const waiting = await replyTo(world, threadId, queued, (m) => /waits behind run/.test(m.content));
    first.kill('SIGKILL');
    await first.exited;
    const queuedRun = world
      .openStore()
      .recentRuns({ limit: 10 })
      .find((run) => run.origin?.['messageId'] === queued.id);
    assert.equal(queuedRun?.status, 'queued', 'journaled as queued before the kill');

    const queuedSent = sentAndAnswered(world, 'and the drafts', true);
    const second = await world.start();
    await world.writeHandoff(aheadId, 'webster');
    const queuedId = await queuedSent;
    assert.equal(queuedId, queuedRun.runId);
    const done = await replyTo(world, threadId, queued, (m) => m.content.startsWith('✅'));
    assert.equal(done.id, waiting.id, 'the waiting note became its answer');
    await second.stop();

    const store = world.openStore();
    const aheadEnd = store.getRun(aheadId)?.finishedAt ?? Infinity;
    const hooks = world.gateways.webster.hookRequests.filter((r) => r.idempotencyKey?.startsWith(`${queuedId}:`));
    assert.equal(hooks.length, 1, 'sent to the agent once');
    assert.ok(hooks[0]!.receivedAt >= aheadEnd, 'after the run ahead had ended');
    assert.equal(store.getRun(queuedId)?.status, 'complete');
    const embeds = fake.messagesIn(threadId).filter((m) => m.embeds.length > 0);
    assert.equal(embeds.length, 2, 'one result embed each for the run ahead and the queued one');
    assert.equal(store.getDelivery(queuedId, 'result-embed')?.channelId, threadId);
    assertNoPings(world);
  },
);
