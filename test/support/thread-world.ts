/** Result threads and follow-ups in a bot world: shared by the thread tests. */
import assert from 'node:assert/strict';
import type { StoredMessage } from '../fakes/fake-discord/index.ts';
import type { World } from './bot-world.ts';

const JUMP_LINK = /discord\.com\/channels\/\d+\/\d+\/\d+/;

/** A /delegate to webster by alice, finished, and the id of the thread its result opened. */
export async function resultThread(world: World, task: string): Promise<string> {
  const { fake, channels, users } = world;
  const before = fake.threadsIn(channels['dl-webster']!).length;
  const handle = fake.sendSlashCommand({
    channelId: channels.general!,
    userId: users.alice,
    name: 'delegate',
    options: { agent: 'webster', task },
  });
  await handle.original((m) => JUMP_LINK.test(m.content) && m.content.includes('<#'), 10_000);
  const thread = fake.threadsIn(channels['dl-webster']!)[before] as { id: string } | undefined;
  assert.ok(thread, 'the result opened a thread');
  return thread.id;
}

/** Something that must happen soon: a missing one fails the test instead of hanging it. */
export function within<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

export function followUp(world: World, threadId: string, authorId: string, text: string): StoredMessage {
  return world.fake.postMessage({ channelId: threadId, authorId, content: `<@${world.fake.botUser.id}> ${text}` });
}

/** The bot's reply (created or edited) to `message` in the thread that matches. */
export function botReplyTo(
  world: World,
  threadId: string,
  message: StoredMessage,
  predicate: (m: StoredMessage) => boolean,
): Promise<StoredMessage> {
  return world.fake.waitForMessage(
    threadId,
    (m) => m.messageReference?.message_id === message.id && m.authorId === world.fake.botUser.id && predicate(m),
    { timeoutMs: 10_000 },
  );
}

/** The run a follow-up message started (or queued). */
export function runOfMessage(world: World, message: StoredMessage) {
  const run = world.store!.recentRuns({ limit: 50 }).find((r) => r.origin?.['messageId'] === message.id);
  assert.ok(run, `a run for message ${message.id}`);
  return run;
}

/** An agent that writes its handoff only when the test says so. */
export function holdNextRun(world: World): () => void {
  let release!: () => void;
  const until = new Promise<void>((resolve) => (release = resolve));
  world.gateways.webster.enqueue({ respond: 'admit', agent: { until } });
  return release;
}
