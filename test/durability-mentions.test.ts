import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredMessage } from './fakes/fake-discord/index.ts';
import type { ProcessWorld } from './support/bot-process.ts';
import { assertNoPings } from './support/bot-world.ts';
import { killAtReaction, startMentionWorld } from './support/mention-kill.ts';

const LONG = 30_000;
const TWO_HOURS = 2 * 60 * 60_000;

function mention(world: ProcessWorld, text: string): StoredMessage {
  return world.fake.postMessage({
    channelId: world.channels.general!,
    authorId: world.users.websterBot,
    content: `<@${world.fake.botUser.id}> ${text}`,
  });
}

function replyTo(
  world: ProcessWorld,
  message: StoredMessage,
  predicate: (m: StoredMessage) => boolean,
): Promise<StoredMessage> {
  return world.fake.waitForMessage(
    world.channels.general!,
    (m) => m.messageReference?.message_id === message.id && m.authorId === world.fake.botUser.id && predicate(m),
    { timeoutMs: LONG },
  );
}

test(
  'mentions sent while the bot was down are taken after the restart, and one older than the limit is told so',
  { timeout: 90_000 },
  async (t) => {
    const world = await startMentionWorld(t, { discord: { missedMentionMaxAgeMinutes: 60 } });
    const first = await world.start();
    const seen = mention(world, 'secretary: the one before the restart');
    await replyTo(world, seen, (m) => m.content.includes('```json'));
    assert.equal((await first.stop()).code, 0);

    const old = mention(world, 'secretary: the old one');
    world.fake.postMessage({
      channelId: world.channels.general!,
      authorId: world.users.alice,
      content: 'just chatter',
    });
    // Two hours pass (for Discord and for the bot) before the next one, and the bot comes back just after it.
    world.fake.advanceClock(TWO_HOURS);
    const fresh = mention(world, 'secretary: the fresh one');

    const second = await world.start({ clockOffsetMs: TWO_HOURS });
    const tooOld = await replyTo(world, old, () => true);
    assert.match(
      tooOld.content,
      /came while hq-delegate was down, 1\d\d minutes ago: older than the 60 minutes the bot looks back after a restart/,
    );
    const answer = await replyTo(world, fresh, (m) => m.content.includes('```json'));
    assert.match(answer.content, /"status": ?"complete"/);
    const tasks = world.gateways.secretary.runs.map((run) => String(run.request.body?.message));
    assert.equal(tasks.filter((task) => task.includes('the fresh one')).length, 1, 'the fresh mention was taken once');
    assert.equal(tasks.filter((task) => task.includes('the old one')).length, 0, 'the old one was not');
    assert.equal(
      tasks.filter((task) => task.includes('the one before the restart')).length,
      1,
      'the one already taken was not taken again',
    );
    const recovered = await second.waitForLog((line) => line.msg === 'recovered after restart');
    // #general and #dl-secretary (where the bot saw its own embed) have cursors; 3 messages came while it was down.
    assert.deepEqual(recovered.missed, { channels: 2, messages: 3, mentions: 2 });
    await second.stop();
    assertNoPings(world);
  },
);

test(
  'SIGKILL right after 👀, before the run is journaled: the restarted bot takes the mention, once',
  { timeout: 90_000 },
  async (t) => {
    const world = await startMentionWorld(t);
    const first = await world.start();
    // Handled before the mention (events come in order), so #general has a cursor to read after.
    world.fake.postMessage({ channelId: world.channels.general!, authorId: world.users.alice, content: 'hello' });
    const asked = mention(world, 'secretary: survive the kill');
    // Killed the moment Discord has stored 👀, before the bot hears back and journals the run.
    await killAtReaction(world, first, (c) => c.messageId === asked.id && c.added && c.emoji === '👀');
    assert.equal(world.openStore().recentRuns({ limit: 10 }).length, 0, 'the dead process journaled nothing');
    assert.equal(world.gateways.secretary.runCount, 0, 'nor sent anything');

    const second = await world.start();
    const answer = await replyTo(world, asked, (m) => m.content.includes('```json'));
    assert.match(answer.content, /"status": ?"complete"/);
    const recovered = await second.waitForLog((line) => line.msg === 'recovered after restart');
    assert.equal((recovered.missed as { mentions: number }).mentions, 1, 'handed to the handler again');
    await second.stop();
    const tasks = world.gateways.secretary.runs.map((run) => String(run.request.body?.message));
    assert.equal(tasks.filter((task) => task.includes('survive the kill')).length, 1, 'taken exactly once');
    assertNoPings(world);
  },
);

test(
  'SIGKILL between the answer and the ✅: the restarted bot sets ✅ and takes 👀 off',
  { timeout: 90_000 },
  async (t) => {
    const world = await startMentionWorld(t);
    const first = await world.start();
    const asked = mention(world, 'secretary: mark me done');
    // Killed at the first change of marks after 👀, whichever the bot makes first.
    await killAtReaction(world, first, (c) => c.messageId === asked.id && !(c.added && c.emoji === '👀'));
    await replyTo(world, asked, (m) => m.content.includes('```json'));

    const second = await world.start();
    const bot = world.fake.botUser.id;
    const marks = () =>
      [...(world.fake.message(asked.id)?.reactionUsers ?? new Map<string, Set<string>>())]
        .filter(([, users]) => users.has(bot))
        .map(([emoji]) => emoji);
    if (!marks().includes('✅') || marks().includes('👀')) {
      await world.fake.waitFor(
        'reaction_remove',
        (event) => event.messageId === asked.id && event.emoji === '👀' && event.userId === bot,
        { timeoutMs: LONG },
      );
    }
    await second.stop();
    assert.deepEqual(marks(), ['✅'], 'the verdict alone');
    assert.equal(world.gateways.secretary.runCount, 1);
    assertNoPings(world);
  },
);

test(
  'mentions sent while the bot was down in a new channel and a new thread are taken after the restart',
  { timeout: 90_000 },
  async (t) => {
    const world = await startMentionWorld(t);
    const { fake, guild, users } = world;
    const first = await world.start();
    const seen = mention(world, 'secretary: the one before the restart');
    await replyTo(world, seen, (m) => m.content.includes('```json'));
    assert.equal((await first.stop()).code, 0);

    const ops = fake.createChannel({ guildId: guild.id, name: 'ops' }).id;
    const thread = fake.createChannel({
      guildId: guild.id,
      name: 'plan',
      type: 11,
      parentId: world.channels.general!,
    }).id;
    const asked = [ops, thread].map((channelId) =>
      fake.postMessage({
        channelId,
        authorId: users.websterBot,
        content: `<@${fake.botUser.id}> secretary: from ${channelId === ops ? 'a new channel' : 'a new thread'}`,
      }),
    );

    const second = await world.start();
    for (const message of asked) {
      const answer = await fake.waitForMessage(
        message.channelId,
        (m) => m.messageReference?.message_id === message.id && m.content.includes('```json'),
        { timeoutMs: LONG },
      );
      assert.match(answer.content, /"status": ?"complete"/);
    }
    await second.stop();
    const tasks = world.gateways.secretary.runs.map((run) => String(run.request.body?.message));
    assert.equal(tasks.filter((task) => task.includes('from a new channel')).length, 1);
    assert.equal(tasks.filter((task) => task.includes('from a new thread')).length, 1);
    assertNoPings(world);
  },
);
