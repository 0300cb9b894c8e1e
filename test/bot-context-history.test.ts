/**
 * Channel context the bot may not read (issue 12, item 10): without Read Message History Discord
 * answers the message list with nothing, so the task used to go without context in silence. The
 * requester is told, or, with context_required, the task is refused before anything is sent.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PermissionBits } from './fakes/fake-discord/index.ts';
import { assertNoPings, privateAnswer, startWorld, type World } from './support/bot-world.ts';

/** A channel where members talk but the bot's role is denied Read Message History. */
function channelWithoutHistory(world: World): string {
  const { fake, guild, users } = world;
  const id = fake.createChannel({
    guildId: guild.id,
    name: 'no-history',
    permissionOverwrites: [
      { id: guild.botRoleId, type: 0, allow: '0', deny: PermissionBits.ReadMessageHistory.toString() },
    ],
  }).id;
  fake.postMessage({ channelId: id, authorId: users.carol, content: 'the deadline moved to Friday' });
  return id;
}

test('context the bot cannot read is reported on the reply, and the task goes without it', async (t) => {
  const world = await startWorld(t);
  const channelId = channelWithoutHistory(world);
  const handle = world.fake.sendSlashCommand({
    channelId,
    userId: world.users.alice,
    name: 'delegate',
    options: { agent: 'webster', task: 'summarise the discussion', context_messages: 5 },
  });
  const [run] = await world.gateways.webster.next('run');
  assert.doesNotMatch(String(run.request.body?.message), /UNTRUSTED CHANNEL CONTEXT|deadline moved/);
  const final = await handle.original((m) => m.content.includes('→'), 10_000);
  assert.match(final.content, /Sent without channel context\. The bot cannot read the message history of #no-history/);
  assert.match(final.content, /Read Message History/);
  assert.match(final.content, /context_required/);
  assertNoPings(world);
});

test('with context_required, context the bot cannot read refuses the task privately before it is sent', async (t) => {
  const world = await startWorld(t);
  const channelId = channelWithoutHistory(world);
  const handle = world.fake.sendSlashCommand({
    channelId,
    userId: world.users.alice,
    name: 'delegate',
    options: { agent: 'webster', task: 'summarise the discussion', context_messages: 5, context_required: true },
  });
  const answer = await privateAnswer(world, handle.id);
  assert.match(
    answer.content,
    /The bot cannot read the message history of #no-history \(it lacks Read Message History/,
  );
  assert.equal(world.gateways.webster.runCount, 0, 'nothing was sent to the agent');
});

test('an agent bot’s @mention with context=N where the bot cannot read the history is refused, not sent bare', async (t) => {
  const world = await startWorld(t, { channels: ['dl-webster', 'dl-tech-lead', 'dl-secretary'] });
  const { fake, users } = world;
  const channelId = channelWithoutHistory(world);
  const asked = fake.postMessage({
    channelId,
    authorId: users.websterBot,
    content: `<@${fake.botUser.id}> secretary [context=5]: summarise the discussion`,
  });
  const refusal = await fake.waitForMessage(
    channelId,
    (m) => m.authorId === fake.botUser.id && m.content.startsWith('❌'),
    { timeoutMs: 10_000 },
  );
  assert.match(refusal.content, /The bot cannot read the message history of #no-history/);
  assert.match(refusal.content, /context=0/);
  assert.equal(refusal.messageReference, undefined, 'not a reply: Discord refuses those without the history');
  assert.equal(world.gateways.secretary.runCount, 0, 'nothing was sent to the agent');
  assert.equal(fake.message(asked.id)?.reactionUsers.get('👀')?.has(fake.botUser.id) ?? false, false, 'never taken');
  assertNoPings(world);
});
