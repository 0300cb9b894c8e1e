/**
 * The bot as members meet it (issue 12, items 11–13): refusals that are private and say what to
 * ask for, lists that show only what a member may use, answers for people in words, mentions in
 * a DM, through the bot's managed role, and corrected by an edit.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredMessage } from './fakes/fake-discord/index.ts';
import { assertNoPings, privateAnswer, startWorld, type World } from './support/bot-world.ts';

function replyTo(world: World, message: StoredMessage, channelId = world.channels.general!): Promise<StoredMessage> {
  return world.fake.waitForMessage(
    channelId,
    (m) => m.messageReference?.message_id === message.id && m.authorId === world.fake.botUser.id,
    { timeoutMs: 10_000 },
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

test('a refused /delegate is answered privately at once, never with a public "thinking…"', async (t) => {
  const world = await startWorld(t);
  const { fake, channels, users } = world;
  const handle = fake.sendSlashCommand({
    channelId: channels.general!,
    userId: users.carol,
    name: 'delegate',
    options: { agent: 'webster', task: 'anything' },
  });
  const ack = await handle.acknowledged();
  assert.equal(ack.type, 4, `answered with a message (type 4), not deferred (type ${ack.type})`);
  const answer = await privateAnswer(world, handle.id);
  assert.ok(answer.ephemeral, 'the refusal is ephemeral');
  assert.match(answer.content, /not mapped to any principal/);
  const publicLoading = fake.allMessages().filter((m) => m.interactionId === handle.id && !m.ephemeral);
  assert.deepEqual(publicLoading, [], 'nothing public was ever shown for the refused command');
  assert.equal(world.gateways.webster.runCount, 0);
});

test('/agents and /runs autocomplete list only the agents a member may delegate to; an admin sees all', async (t) => {
  const world = await startWorld(t);
  const { fake, channels, users } = world;
  const agentsOf = async (userId: string): Promise<string[]> => {
    const handle = fake.sendSlashCommand({ channelId: channels.general!, userId, name: 'agents' });
    const answer = await handle.original((m) => m.embeds.length > 0, 10_000);
    return (answer.embeds[0]?.fields ?? []).map((f) => f.name.split(' ').at(-1)!).sort();
  };
  assert.deepEqual(await agentsOf(users.bob), ['secretary', 'webster'], 'tech-lead reaches webster and secretary');
  assert.deepEqual(await agentsOf(users.dana), ['secretary', 'tech-lead', 'webster'], 'an admin sees every agent');
  const carols = fake.sendSlashCommand({ channelId: channels.general!, userId: users.carol, name: 'agents' });
  const none = await carols.original((m) => m.embeds.length > 0, 10_000);
  assert.match(none.embeds[0]?.description ?? '', /no agent you may delegate to: ask an admin/);

  const suggest = async (userId: string): Promise<string[]> =>
    (
      await fake.sendAutocomplete({
        channelId: channels.general!,
        userId,
        name: 'runs',
        options: { agent: '' },
        focused: 'agent',
      })
    )
      .map((choice) => String(choice.value))
      .sort();
  assert.deepEqual(await suggest(users.erin), [], 'secretary may delegate to nobody');
  assert.deepEqual(await suggest(users.bob), ['secretary', 'webster']);
  assert.deepEqual(await suggest(users.dana), ['secretary', 'tech-lead', 'webster']);
});

test('an unknown agent is answered with the agents the member may delegate to, not the whole registry', async (t) => {
  const world = await startWorld(t);
  const handle = world.fake.sendSlashCommand({
    channelId: world.channels.general!,
    userId: world.users.erin,
    name: 'delegate',
    options: { agent: 'ghost', task: 'boo' },
  });
  const answer = await privateAnswer(world, handle.id);
  assert.match(answer.content, /There is no agent called ghost that you may delegate to/);
  assert.doesNotMatch(answer.content, /webster|tech-lead/, 'agents erin may not reach are not named');
  assert.doesNotMatch(answer.content, /discord\.|config/);
});

test("a person's @mention ends with the friendly summary, and a failed run's reply says why", async (t) => {
  const world = await startWorld(t);
  world.gateways.webster.enqueue({ respond: 'admit', agent: { write: 'failed' } });
  const asked = world.fake.postMessage({
    channelId: world.channels.general!,
    authorId: world.users.alice,
    content: `<@${world.fake.botUser.id}> webster [retries=1]: find the source`,
  });
  const reply = await world.fake.waitForMessage(
    world.channels.general!,
    (m) => m.messageReference?.message_id === asked.id && /Failed/.test(m.content),
    { timeoutMs: 10_000 },
  );
  assert.doesNotMatch(reply.content, /```json/, 'no JSON block for a person');
  assert.match(reply.content, /^❌ \*\*webster\*\* — Failed/);
  assert.match(reply.content, /\nWhy: \S/, `the reason is in the reply: ${reply.content}`);
  assertNoPings(world);
});

test('an @mention in a DM is refused with a reason and ❌', async (t) => {
  const world = await startWorld(t);
  const dm = world.fake.dmChannel(world.users.alice).id;
  const asked = world.fake.postMessage({
    channelId: dm,
    authorId: world.users.alice,
    content: `<@${world.fake.botUser.id}> webster: hello`,
  });
  const reply = await replyTo(world, asked, dm);
  assert.match(reply.content, /^❌ .*not in direct messages/);
  await reactedWith(world, asked, '❌');
  assert.equal(world.gateways.webster.runCount, 0);
  assertNoPings(world);
});

test("a mention of the bot's managed role is a mention of the bot", async (t) => {
  const world = await startWorld(t, { channels: ['dl-webster', 'dl-tech-lead', 'dl-secretary'] });
  const asked = world.fake.postMessage({
    channelId: world.channels.general!,
    authorId: world.users.websterBot,
    content: `<@&${world.guild.botRoleId}> secretary: draft the memo`,
  });
  await reactedWith(world, asked, '👀');
  const [run] = await world.gateways.secretary.next('run');
  assert.match(String(run.request.body?.message), /draft the memo/);
  await reactedWith(world, asked, '✅');
});

test('a mention refused for its format gets ❌ as well as the reply, and is taken once an edit corrects it', async (t) => {
  const world = await startWorld(t);
  const bot = world.fake.botUser.id;
  const asked = world.fake.postMessage({
    channelId: world.channels.general!,
    authorId: world.users.websterBot,
    content: `<@${bot}> secretary draft the memo`,
  });
  const refusal = await replyTo(world, asked);
  assert.match(refusal.content, /^❌ Put a colon after "secretary"/);
  await reactedWith(world, asked, '❌');

  world.fake.editUserMessage(asked.id, `<@${bot}> secretary: draft the memo`);
  const [run] = await world.gateways.secretary.next('run');
  assert.match(String(run.request.body?.message), /draft the memo/);
  await reactedWith(world, asked, '👀');
  assert.equal(world.fake.message(asked.id)?.reactionUsers.get('❌')?.has(bot) ?? false, false, 'the ❌ is taken back');
});
