/**
 * A follow-up survives a crash like any run: the real bot process, SIGKILLed while the agent
 * works on a follow-up, restarted after the agent wrote its handoff. The result lands once, in
 * the thread, and the run keeps its thread and its thread context.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredMessage } from './fakes/fake-discord/index.ts';
import { startProcessWorld, type ProcessWorld } from './support/bot-process.ts';
import { assertNoPings } from './support/bot-world.ts';

const LONG = 30_000;

function embedsIn(world: ProcessWorld, channelId: string): StoredMessage[] {
  return world.fake.messagesIn(channelId).filter((m) => m.embeds.length > 0);
}

function hookPostsFor(world: ProcessWorld, runId: string): number {
  return world.gateways.webster.hookRequests.filter((request) => request.idempotencyKey?.startsWith(`${runId}:`))
    .length;
}

/** A /delegate to webster answered (the agent's handoff written by the test); the thread its result opened. */
async function resultThread(world: ProcessWorld, task: string): Promise<string> {
  const { fake, channels, users, gateways } = world;
  const sent = gateways.webster.next('run');
  const handle = fake.sendSlashCommand({
    channelId: channels.general!,
    userId: users.alice,
    name: 'delegate',
    options: { agent: 'webster', task },
  });
  const [run] = await sent;
  assert.ok(run.runId, 'the agent was told its run id');
  await world.writeHandoff(run.runId, 'webster');
  await handle.original((m) => m.content.includes('<#'), LONG);
  const thread = fake.threadsIn(channels['dl-webster']!)[0] as { id: string } | undefined;
  assert.ok(thread, 'the result opened a thread');
  return thread.id;
}

/** How the follow-up is asked, and the message the bot's final answer is. */
interface Asker {
  readonly how: string;
  ask(world: ProcessWorld, threadId: string, task: string): { answer(): Promise<StoredMessage> };
}

const BY_MENTION: Asker = {
  how: 'an @mention',
  ask(world, threadId, task) {
    const { fake, users } = world;
    const asked = fake.postMessage({
      channelId: threadId,
      authorId: users.alice,
      content: `<@${fake.botUser.id}> ${task}`,
    });
    const replyWith = (pattern: RegExp) =>
      fake.waitForMessage(threadId, (m) => m.messageReference?.message_id === asked.id && pattern.test(m.content), {
        timeoutMs: LONG,
      });
    return { answer: () => replyWith(/^✅/) };
  },
};

const BY_COMMAND: Asker = {
  how: '/followup',
  ask(world, threadId, task) {
    const handle = world.fake.sendSlashCommand({
      channelId: threadId,
      userId: world.users.alice,
      name: 'followup',
      options: { task },
    });
    return { answer: () => handle.original((m) => m.content.startsWith('✅'), LONG) };
  },
};

for (const asker of [BY_MENTION, BY_COMMAND]) {
  test(
    `SIGKILL while the agent works on a follow-up by ${asker.how}: after the restart its result is posted once, in the thread`,
    { timeout: 90_000 },
    async (t) => {
      const world = await startProcessWorld(t, { script: { respond: 'admit', agent: { write: 'none' } } });
      const { fake, gateways } = world;
      const first = await world.start();
      const threadId = await resultThread(world, 'summarise the open PRs');

      const sent = gateways.webster.next('run');
      const asked = asker.ask(world, threadId, 'now list the closed ones too');
      const [run] = await sent;
      const runId = run.runId;
      assert.ok(runId, 'the agent was told the follow-up run id');
      assert.match(String(run.request.body?.message), /Task: summarise the open PRs/, 'sent with the thread context');
      // The POST is answered and the bot waits for the handoff: killed there.
      await fake.waitForMessage(threadId, (m) => /waiting for webster/.test(m.content), { timeoutMs: LONG });
      first.kill('SIGKILL');
      assert.equal((await first.exited).signal, 'SIGKILL');
      assert.equal(world.openStore().getRun(runId)?.status, 'running', 'the follow-up is open in the journal');

      await world.writeHandoff(runId, 'webster');
      const second = await world.start();
      const reply = await asked.answer();
      await second.stop();

      assert.equal(reply.channelId, threadId, 'answered in the thread');
      const inThread = embedsIn(world, threadId);
      assert.equal(inThread.length, 1, 'one result embed, in the thread');
      assert.ok(reply.content.includes(inThread[0]!.id), `the reply links it: ${reply.content}`);
      assert.equal(embedsIn(world, world.channels['dl-webster']!).length, 1, '#dl-webster holds only the first result');
      assert.equal(fake.threadsIn(world.channels['dl-webster']!).length, 1, 'no second thread');
      assert.equal(hookPostsFor(world, runId), 1, 'the agent was sent the follow-up once');
      const store = world.openStore();
      const stored = store.getRun(runId);
      assert.equal(stored?.status, 'complete');
      assert.equal(stored?.origin?.['threadId'], threadId, 'the run kept its thread');
      assert.match(String(stored?.request?.context), /Task: summarise the open PRs/, 'and its thread context');
      assert.equal(store.getDelivery(runId, 'result-embed')?.channelId, threadId);
      assertNoPings(world);
    },
  );
}
