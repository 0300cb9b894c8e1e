/**
 * The ways a member addresses the bot in a result thread besides the @mention: /followup (no
 * intent needed, refusals private) and, when the operator turns the Message Content intent on,
 * a plain message. The real discord.js client against the fake Discord.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { Events, GatewayIntentBits, type Message } from 'discord.js';
import type { StoredMessage } from './fakes/fake-discord/index.ts';
import { assertNoPings, privateAnswer, startWorld, type World } from './support/bot-world.ts';
import { resultThread, within } from './support/thread-world.ts';

function embedsIn(world: World, channelId: string): StoredMessage[] {
  return world.fake.messagesIn(channelId).filter((m) => m.authorId === world.fake.botUser.id && m.embeds.length > 0);
}

function botReplyTo(world: World, threadId: string, message: StoredMessage, predicate: (m: StoredMessage) => boolean) {
  return world.fake.waitForMessage(
    threadId,
    (m) => m.messageReference?.message_id === message.id && m.authorId === world.fake.botUser.id && predicate(m),
    { timeoutMs: 10_000 },
  );
}

/** The refusal came as a private message at once: no public "thinking…", no run. */
async function assertRefusedPrivately(world: World, handle: ReturnType<World['fake']['sendSlashCommand']>) {
  const ack = await handle.acknowledged();
  assert.equal(ack.type, 4, `answered with a message (type 4), not deferred (type ${ack.type})`);
  const answer = await privateAnswer(world, handle.id);
  assert.ok(answer.ephemeral, 'the refusal is ephemeral');
  const shown = world.fake.allMessages().filter((m) => m.interactionId === handle.id && !m.ephemeral);
  assert.deepEqual(shown, [], 'nothing public was shown');
  return answer;
}

test('/followup in a result thread runs its agent with the thread as context and answers in the thread', async (t) => {
  const world = await startWorld(t);
  const { fake, channels, users } = world;
  const threadId = await resultThread(world, 'summarise the open PRs');
  const nextRun = world.gateways.webster.next('run');
  const handle = fake.sendSlashCommand({
    channelId: threadId,
    userId: users.alice,
    name: 'followup',
    options: { task: 'now list the closed ones too' },
  });
  const [run] = await within(nextRun, 'the follow-up run');
  const prompt = String(run.request.body?.message);
  assert.match(prompt, /now list the closed ones too/);
  const fenced = prompt.slice(prompt.indexOf('<<<BEGIN UNTRUSTED'), prompt.indexOf('<<<END UNTRUSTED'));
  assert.match(fenced, /from this result thread with webster/);
  assert.ok(fenced.includes('Task: summarise the open PRs'), 'the earlier task is inside the fence');

  const answer = await handle.original((m) => m.content.startsWith('✅'), 10_000);
  assert.equal(answer.channelId, threadId, 'the answer is in the thread');
  assert.ok(!answer.ephemeral, 'the follow-up is public in the thread');
  const inThread = embedsIn(world, threadId);
  assert.equal(inThread.length, 1, 'the result embed is in the thread');
  assert.ok(answer.content.includes(`/${threadId}/${inThread[0]!.id}`), `links the embed: ${answer.content}`);
  assert.equal(embedsIn(world, channels['dl-webster']!).length, 1, '#dl-webster holds only the first result');
  const [latest] = world.store!.recentRuns({ limit: 1 });
  assert.equal(latest!.task, 'now list the closed ones too');
  assert.equal(latest!.origin?.['threadId'], threadId, 'the thread is in the run origin');
  assert.equal(latest!.origin?.['kind'], 'slash');
  assertNoPings(world);
});

test('/followup outside a result thread is refused privately, pointing to a result thread or /delegate', async (t) => {
  const world = await startWorld(t);
  const { fake, channels, users } = world;
  for (const channelId of [channels.general!, channels['dl-webster']!]) {
    const handle = fake.sendSlashCommand({
      channelId,
      userId: users.alice,
      name: 'followup',
      options: { task: 'anything' },
    });
    const answer = await assertRefusedPrivately(world, handle);
    assert.match(answer.content, /result thread/);
    assert.match(answer.content, /\/delegate/);
  }
  assert.equal(world.gateways.webster.runCount, 0, 'no run');
});

test('/followup by a member without a grant for the thread agent is refused privately in the thread', async (t) => {
  const world = await startWorld(t);
  const threadId = await resultThread(world, 'collect the metrics');
  const runsBefore = world.store!.recentRuns({ limit: 10 }).length;
  const inThreadBefore = world.fake.messagesIn(threadId, { includeEphemeral: false }).length;
  const handle = world.fake.sendSlashCommand({
    channelId: threadId,
    userId: world.users.erin,
    name: 'followup',
    options: { task: 'and the error rates' },
  });
  const answer = await assertRefusedPrivately(world, handle);
  assert.match(answer.content, /webster/);
  assert.doesNotMatch(answer.content, /discord\.|acl|config/i, 'no config keys named');
  assert.equal(world.store!.recentRuns({ limit: 10 }).length, runsBefore, 'no run started');
  assert.equal(world.fake.messagesIn(threadId, { includeEphemeral: false }).length, inThreadBefore, 'nothing public');
});

test('/followup and the @mention share the per-author limit', async (t) => {
  const world = await startWorld(t, { discord: { mentionsPerBotPerMinute: 1 } });
  const threadId = await resultThread(world, 'draft the notes');
  const mention = world.fake.postMessage({
    channelId: threadId,
    authorId: world.users.alice,
    content: `<@${world.fake.botUser.id}> tighten the wording`,
  });
  await botReplyTo(world, threadId, mention, (m) => m.content.startsWith('✅'));
  const handle = world.fake.sendSlashCommand({
    channelId: threadId,
    userId: world.users.alice,
    name: 'followup',
    options: { task: 'and shorten it' },
  });
  const answer = await assertRefusedPrivately(world, handle);
  assert.match(answer.content, /1 .*minute/i);
  assert.equal(world.gateways.webster.runCount, 2, 'the first run and the mention follow-up only');
});

test('without the Message Content intent a plain message in a result thread arrives empty and starts nothing', async (t) => {
  const world = await startWorld(t);
  const { fake, users } = world;
  assert.equal((fake.lastIdentifyIntents ?? 0) & GatewayIntentBits.MessageContent, 0, 'the intent is not asked for');
  const threadId = await resultThread(world, 'summarise the open PRs');
  const ids = { plain: '' };
  const seen = within(
    (async () => {
      for (;;) {
        const [message] = (await once(world.bot.client, Events.MessageCreate)) as [Message];
        if (message.author.id === users.alice && message.channelId === threadId) return message.content;
      }
    })(),
    'the plain message at the bot',
  );
  ids.plain = fake.postMessage({ channelId: threadId, authorId: users.alice, content: 'and the closed ones?' }).id;
  assert.equal(await seen, '', 'Discord sends no content for a message that does not mention the bot');
  const asked = fake.postMessage({
    channelId: threadId,
    authorId: users.alice,
    content: `<@${fake.botUser.id}> list the closed ones`,
  });
  await botReplyTo(world, threadId, asked, (m) => m.content.startsWith('✅'));
  assert.equal(world.gateways.webster.runCount, 2, 'the first run and the mention follow-up, not the plain message');
  assert.equal(fake.messagesIn(threadId).filter((m) => m.messageReference?.message_id === ids.plain).length, 0);
});

test('with the Message Content intent a member’s plain message in a result thread is a follow-up', async (t) => {
  const world = await startWorld(t, { discord: { messageContentIntent: true } });
  const { fake, users } = world;
  const intents = fake.lastIdentifyIntents ?? 0;
  assert.equal(intents & GatewayIntentBits.MessageContent, GatewayIntentBits.MessageContent, 'the intent is asked for');
  const threadId = await resultThread(world, 'summarise the open PRs');
  const nextRun = world.gateways.webster.next('run');
  const asked = fake.postMessage({ channelId: threadId, authorId: users.alice, content: 'and the closed ones?' });
  const [run] = await within(nextRun, 'the follow-up run');
  assert.match(String(run.request.body?.message), /and the closed ones\?/);
  assert.match(String(run.request.body?.message), /Task: summarise the open PRs/);
  await botReplyTo(world, threadId, asked, (m) => m.content.startsWith('✅'));
  assert.equal(embedsIn(world, threadId).length, 1, 'the result embed is in the thread');

  // The mention keeps working as before.
  const mentioned = fake.postMessage({
    channelId: threadId,
    authorId: users.alice,
    content: `<@${fake.botUser.id}> webster: and the drafts`,
  });
  await botReplyTo(world, threadId, mentioned, (m) => m.content.startsWith('✅'));
  const [latest] = world.store!.recentRuns({ limit: 1 });
  assert.equal(latest!.task, 'and the drafts');
  assert.equal(world.gateways.webster.runCount, 3, 'the first run and two follow-ups; the bot’s own posts start none');
  assertNoPings(world);
});

test('with the intent, a bot’s plain message in the thread and plain messages elsewhere start nothing', async (t) => {
  // stranger-bot acts for tech-lead, who may delegate to webster.
  const world = await startWorld(t, {
    discord: (users) => ({
      messageContentIntent: true,
      agentBots: { [users.websterBot]: 'webster', [users.strangerBot]: 'tech-lead' },
    }),
  });
  const { fake, channels, users } = world;
  const threadId = await resultThread(world, 'summarise the open PRs');
  const botPlain = fake.postMessage({ channelId: threadId, authorId: users.strangerBot, content: 'here is more' });
  const elsewhere = fake.postMessage({ channelId: channels.general!, authorId: users.alice, content: 'lunch?' });
  const refused = fake.postMessage({ channelId: threadId, authorId: users.erin, content: 'and the error rates' });
  const refusal = await botReplyTo(world, threadId, refused, (m) => m.content.startsWith('❌'));
  assert.equal(refusal.data.mentions.length, 0, 'the refusal pings nobody');
  // An agent bot still reaches the thread by @mention.
  const botMention = fake.postMessage({
    channelId: threadId,
    authorId: users.strangerBot,
    content: `<@${fake.botUser.id}> check the links`,
  });
  const settled = (): boolean => fake.message(botMention.id)?.reactionUsers.get('✅')?.has(fake.botUser.id) === true;
  if (!settled()) await fake.waitFor('reaction_add', settled, { timeoutMs: 10_000 });
  assert.equal(world.gateways.webster.runCount, 2, 'the first run and the bot’s @mention only');
  for (const message of [botPlain, elsewhere]) {
    const answers = fake.allMessages().filter((m) => m.messageReference?.message_id === message.id);
    assert.deepEqual(answers, [], 'no answer to a message that is not a follow-up');
  }
  assertNoPings(world);
});

test('/runs lists a follow-up as a run of its own, and each run of a thread links the thread', async (t) => {
  const world = await startWorld(t);
  const { fake, channels, users } = world;
  const threadId = await resultThread(world, 'summarise the open PRs');
  const asked = fake.postMessage({
    channelId: threadId,
    authorId: users.alice,
    content: `<@${fake.botUser.id}> now list the closed ones too`,
  });
  await botReplyTo(world, threadId, asked, (m) => m.content.startsWith('✅'));
  const other = fake.sendSlashCommand({
    channelId: channels.general!,
    userId: users.alice,
    name: 'delegate',
    options: { agent: 'secretary', task: 'book the room' },
  });
  await other.original((m) => m.content.startsWith('✅') || m.content.startsWith('❌'), 10_000);

  const runs = fake.sendSlashCommand({
    channelId: threadId,
    userId: users.alice,
    name: 'runs',
    options: { mine: true },
  });
  const list = await runs.original((m) => m.embeds.length > 0, 10_000);
  const lines = (list.embeds[0]?.description ?? '').split('\n');
  const lineOf = (task: string): string => {
    const index = lines.findIndex((line) => line.includes(`\`${task}\``));
    assert.ok(index > 0, `listed: ${task}\n${lines.join('\n')}`);
    return lines[index - 1]!;
  };
  assert.ok(lineOf('now list the closed ones too').includes(`thread <#${threadId}>`), 'the follow-up shows its thread');
  assert.ok(
    lineOf('summarise the open PRs').includes(`thread <#${threadId}>`),
    'the first run shows the thread it opened',
  );
  assert.ok(!lineOf('book the room').includes('thread <#'), 'a run without a thread shows none');
});
