import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredMessage } from './fakes/fake-discord/index.ts';
import { startWorld, type World } from './support/bot-world.ts';

const WITH_ALL_DL = ['dl-webster', 'dl-tech-lead', 'dl-secretary'];
/** webster and secretary may delegate to each other; stranger-bot acts as secretary's bot. */
const PING_PONG_ACL = {
  manager: ['webster', 'tech-lead', 'secretary'],
  webster: ['secretary'],
  secretary: ['webster'],
};
const LONG = 10_000;

async function pingPongWorld(t: Parameters<typeof startWorld>[0]): Promise<World> {
  return startWorld(t, {
    channels: WITH_ALL_DL,
    acl: PING_PONG_ACL,
    discord: (users) => ({ agentBots: { [users.websterBot]: 'webster', [users.strangerBot]: 'secretary' } }),
  });
}

function mention(world: World, authorId: string, text: string): StoredMessage {
  return world.fake.postMessage({
    channelId: world.channels.general!,
    authorId,
    content: `<@${world.fake.botUser.id}> ${text}`,
  });
}

function replyTo(world: World, message: StoredMessage, predicate: (m: StoredMessage) => boolean) {
  return world.fake.waitForMessage(
    world.channels.general!,
    (m) => m.messageReference?.message_id === message.id && m.authorId === world.fake.botUser.id && predicate(m),
    { timeoutMs: LONG },
  );
}

test('a ping-pong between two bots is cut at the chain limit even when each run ends before the next mention', async (t) => {
  const world = await pingPongWorld(t);
  const bots = { webster: world.users.websterBot, secretary: world.users.strangerBot } as const;
  const rounds = [
    ['webster', 'secretary'],
    ['secretary', 'webster'],
    ['webster', 'secretary'],
  ] as const;
  for (const [i, [from, to]] of rounds.entries()) {
    const asked = mention(world, bots[from], `${to}: round ${i + 1}`);
    // Answered, so the run is over before the other bot mentions.
    await replyTo(world, asked, (m) => m.content.includes('```json'));
  }
  const fourth = mention(world, bots.secretary, 'webster: round 4');
  const refusal = await replyTo(world, fourth, (m) => m.content.startsWith('❌'));
  assert.match(refusal.content, /level 4, the limit is 3/);
  assert.equal(world.gateways.secretary.runCount, 2);
  assert.equal(world.gateways.webster.runCount, 1, 'the fourth round never reached webster');
});

test('two agents delegating unrelated work to each other at once each stay at level 2 of their own chain', async (t) => {
  const world = await pingPongWorld(t);
  const { fake, channels, users, gateways } = world;
  for (const gateway of [gateways.webster, gateways.secretary])
    gateway.setDefault({ respond: 'admit', agent: { write: 'none' } });
  const startFor = async (agent: 'webster' | 'secretary', task: string): Promise<string> => {
    const sent = gateways[agent].next('run');
    fake.sendSlashCommand({
      channelId: channels.general!,
      userId: users.alice,
      name: 'delegate',
      options: { agent, task, timeout: 600 },
    });
    const [run] = await sent;
    assert.ok(run.runId);
    return run.runId;
  };
  const forWebster = await startFor('webster', 'research the market');
  const forSecretary = await startFor('secretary', 'plan the offsite');

  // Each bot names the run it works for, as its prompt's run_id gives it.
  const delegations = [
    [users.websterBot, `secretary: for ${forWebster}, draft the summary`, 'secretary'],
    [users.strangerBot, `webster: for ${forSecretary}, find a venue`, 'webster'],
    [users.websterBot, `secretary: for ${forWebster}, draft the appendix`, 'secretary'],
  ] as const;
  for (const [author, text, agent] of delegations) {
    const sent = gateways[agent].next('run');
    const asked = mention(world, author, text);
    const refused = replyTo(world, asked, (m) => m.content.startsWith('❌')).then(
      (m) => m.content,
      () => undefined,
    );
    const outcome = await Promise.race([sent.then(() => 'sent'), refused]);
    assert.equal(outcome, 'sent', `taken, not refused: ${text}`);
  }
  const depths = world
    .store!.recentRuns({ limit: 10 })
    .map((run) => (run.origin as { depth?: number } | undefined)?.depth)
    .sort();
  assert.deepEqual(depths, [1, 1, 2, 2, 2]);
});
