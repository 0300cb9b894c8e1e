import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredMessage } from './fakes/fake-discord/index.ts';
import { assertNoPings, startWorld, type World } from './support/bot-world.ts';

const WITH_ALL_DL = ['dl-webster', 'dl-tech-lead', 'dl-secretary'];

function mention(world: World, authorId: string, text: string, extra: { replyTo?: string } = {}): StoredMessage {
  return world.fake.postMessage({
    channelId: world.channels.general!,
    authorId,
    content: `<@${world.fake.botUser.id}> ${text}`,
    ...extra,
  });
}

function replyTo(
  world: World,
  message: StoredMessage,
  predicate: (m: StoredMessage) => boolean = () => true,
): Promise<StoredMessage> {
  return world.fake.waitForMessage(
    world.channels.general!,
    (m) => m.messageReference?.message_id === message.id && m.authorId === world.fake.botUser.id && predicate(m),
    {
      timeoutMs: 10_000,
    },
  );
}

async function reactedWith(world: World, message: StoredMessage, emoji: string): Promise<void> {
  const bot = world.fake.botUser.id;
  if (world.fake.message(message.id)?.reactionUsers.get(emoji)?.has(bot)) return;
  await world.fake.waitFor(
    'reaction_add',
    (event) => event.messageId === message.id && event.emoji === emoji && event.userId === bot,
  );
}

function machineBlock(content: string): Record<string, unknown> {
  const match = /```json\n([\s\S]*?)\n```/.exec(content);
  assert.ok(match, `a fenced json block in: ${content}`);
  return JSON.parse(match[1]!) as Record<string, unknown>;
}

test("an agent bot's @mention delegates with the agent's principal and ends with the JSON block and a link", async (t) => {
  const world = await startWorld(t, { channels: WITH_ALL_DL });
  const asked = mention(world, world.users.websterBot, 'secretary [retries=2]: draft the release memo');
  await reactedWith(world, asked, '👀');
  const [run] = await world.gateways.secretary.next('run');
  assert.match(String(run.request.body?.message), /draft the release memo/);

  const reply = await replyTo(world, asked, (m) => m.content.includes('```json'));
  const block = machineBlock(reply.content);
  assert.equal(block.status, 'complete');
  assert.equal(block.agent, 'secretary');
  const posted = world.fake.messagesIn(world.channels['dl-secretary']!).find((m) => m.embeds.length > 0);
  assert.ok(posted, 'the embed is in #dl-secretary');
  assert.ok(String(block.resultUrl).endsWith(`/${world.channels['dl-secretary']}/${posted.id}`));
  assert.ok(reply.history.length >= 1, 'the reply was edited from progress to the result');
  await reactedWith(world, asked, '✅');
  assertNoPings(world);
});

test('mentions are refused with a reason: webhook posing as an agent, unregistered bot, self-delegation, bad grammar', async (t) => {
  const world = await startWorld(t, { channels: WITH_ALL_DL });
  const bot = world.fake.botUser.id;
  const general = world.channels.general!;

  const webhook = world.fake.postMessage({
    channelId: general,
    webhook: { username: 'webster-bot' },
    content: `<@${bot}> secretary: do it`,
  });
  assert.match((await replyTo(world, webhook)).content, /Webhooks cannot delegate/);

  const stranger = mention(world, world.users.strangerBot, 'secretary: do it');
  assert.match((await replyTo(world, stranger)).content, /this bot account is not registered as an agent/);

  const self = mention(world, world.users.websterBot, 'webster: do it yourself');
  assert.match((await replyTo(world, self)).content, /'webster' cannot delegate to itself/);

  const garbled = mention(world, world.users.websterBot, 'secretary do it');
  assert.match((await replyTo(world, garbled)).content, /Put a colon after "secretary".*\n.*Usage:/);

  for (const gateway of Object.values(world.gateways)) assert.equal(gateway.runCount, 0);
  assertNoPings(world);
});

test('no loops: the bot ignores its own messages and a bot reply to it that carries no new task', async (t) => {
  const world = await startWorld(t, { channels: WITH_ALL_DL });
  const bot = world.fake.botUser.id;
  const own = world.fake.postMessage({
    channelId: world.channels.general!,
    authorId: bot,
    content: `<@${bot}> secretary: talk to myself`,
  });
  const refusal = await replyTo(world, mention(world, world.users.websterBot, 'secretary without a colon'));
  const thanks = mention(world, world.users.websterBot, 'thanks, got it!', { replyTo: refusal.id });
  // A later message that is answered proves the earlier ones were handled (events arrive in order).
  const sentinel = mention(world, world.users.strangerBot, 'secretary: anything');
  await replyTo(world, sentinel);

  const answered = world.fake.botMessages().map((m) => m.messageReference?.message_id);
  assert.ok(!answered.includes(own.id), 'its own message is not answered');
  assert.ok(!answered.includes(thanks.id), 'a bot reply without a task is not answered');
  assert.equal(world.gateways.secretary.runCount, 0);
});

test('each bot may start only so many delegations a minute', async (t) => {
  const world = await startWorld(t, { channels: WITH_ALL_DL, discord: { mentionsPerBotPerMinute: 2 } });
  const first = mention(world, world.users.websterBot, 'secretary: one');
  const second = mention(world, world.users.websterBot, 'secretary: two');
  const third = mention(world, world.users.websterBot, 'secretary: three');
  assert.match(
    (await replyTo(world, third, (m) => m.content.startsWith('❌'))).content,
    /at most 2 per minute per author\. Try again in \d+ s/,
  );
  await replyTo(world, first, (m) => m.content.includes('```json'));
  await replyTo(world, second, (m) => m.content.includes('```json'));
  assert.equal(world.gateways.secretary.runCount, 2);
  await reactedWith(world, third, '❌');
});

test('a chain deeper than discord.maxChainDepth is refused', async (t) => {
  const world = await startWorld(t, { channels: WITH_ALL_DL, discord: { maxChainDepth: 1 } });
  world.gateways.webster.setDefault({ respond: 'admit', agent: { write: 'none' } });
  // alice's run delegated TO webster is active while webster's bot delegates onwards: level 2.
  const handle = world.fake.sendSlashCommand({
    channelId: world.channels.general!,
    userId: world.users.alice,
    name: 'delegate',
    options: { agent: 'webster', task: 'research', timeout: 60 },
  });
  await handle.original((m) => /waiting for webster/.test(m.content), 10_000);
  const onwards = mention(world, world.users.websterBot, 'secretary: help me with the research');
  assert.match((await replyTo(world, onwards)).content, /chain too deep: this would be level 2, the limit is 1\. /);
  assert.equal(world.gateways.secretary.runCount, 0);
});
