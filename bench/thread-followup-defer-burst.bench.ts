/**
 * Issue 13: 50 members send `/followup` at once in one result thread → how long each waits for
 * its acknowledgement (the deferred reply). Target: p99 ≤ 250 ms. This is the slash-command way
 * to address the bot; an interaction callback is outside Discord's global request limit, which
 * holds the @mention path's 👀 (thread-follow-up-burst.bench.ts).
 */
import type { InteractionHandle } from '../test/fakes/fake-discord/index.ts';
import type { World } from '../test/support/bot-world.ts';
import { withBotWorld } from './lib/bot-world.ts';
import { burstWorldOptions, leadMembers, openResultThread } from './lib/result-thread.ts';
import { runScenario } from './lib/scenario.ts';
import { median, percentile } from './lib/stats.ts';

const BURST = 50;
const ROUNDS = 3;
const AGENT_MS = 20;
const WAIT_MS = 120_000;

/** Resolves once webster's gateway has seen `count` more handoffs: the round's runs have all ended. */
function handoffs(world: World, count: number): Promise<void> {
  const gateway = world.gateways.webster;
  let seen = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${seen} of ${count} follow-ups ran`)), WAIT_MS);
    const onHandoff = (): void => {
      seen += 1;
      if (seen < count) return;
      clearTimeout(timer);
      gateway.off('handoff', onHandoff);
      resolve();
    };
    gateway.on('handoff', onHandoff);
  });
}

await runScenario({
  id: 'thread followup defer burst',
  issue: 13,
  title: `${BURST} /followup at once in one result thread → deferred`,
  method: `the real bot (discord.js + engine) against the fake Discord and 3 fake gateways, all in this process; each round opens a result thread with a /delegate, then ${BURST} members (role leads) each send /followup in it, INTERACTION_CREATE dispatched back to back; time from each dispatch to its type-5 callback at the fake; the follow-ups then run one at a time (one turn per thread), agents answering after ${AGENT_MS} ms, and the round waits for every one; ${ROUNDS} rounds after one warm-up round, median of the rounds' nearest-rank p50/p99`,
  limitMs: 400_000,
  async run() {
    return withBotWorld(burstWorldOptions(BURST, AGENT_MS), async (world) => {
      const members = leadMembers(world, BURST);
      const round = async (n: number): Promise<number[]> => {
        const threadId = await openResultThread(world, `round ${n}`, WAIT_MS);
        const ended = handoffs(world, BURST);
        const handles: InteractionHandle[] = members.map((userId, i) =>
          world.fake.sendSlashCommand({
            channelId: threadId,
            userId,
            name: 'followup',
            options: { task: `follow-up ${i}` },
          }),
        );
        const acks = await Promise.all(handles.map((handle) => handle.acknowledged(10_000)));
        await ended;
        return acks.map((ack) => ack.elapsedMs);
      };
      await round(0);
      const p50s: number[] = [];
      const p99s: number[] = [];
      for (let n = 1; n <= ROUNDS; n += 1) {
        const samples = await round(n);
        p50s.push(percentile(samples, 50));
        p99s.push(percentile(samples, 99));
      }
      return [
        { metric: '/followup deferred p50', value: median(p50s), unit: 'ms' },
        { metric: '/followup deferred p99', value: median(p99s), unit: 'ms', target: { max: 250 } },
      ];
    });
  },
});
