/**
 * Issue 13: 50 members @mention the bot at once in a result thread → how long each follow-up
 * waits for its 👀. Target: p99 ≤ 250 ms, as for the deferred `/delegate` (issue 4). Unlike a
 * defer, a reaction counts against the bot's global request limit, which discord.js enforces
 * and which each follow-up's other requests share.
 */
import { withBotWorld } from './lib/bot-world.ts';
import { burstWorldOptions, leadMembers, openResultThread } from './lib/result-thread.ts';
import { runScenario } from './lib/scenario.ts';
import { max, median, percentile } from './lib/stats.ts';
import type { World } from '../test/support/bot-world.ts';

const BURST = 50;
const ROUNDS = 5;
const SPREAD_ROUNDS = 3;
const AGENT_MS = 20;
const WAIT_MS = 60_000;
const TAKEN_WAIT_MS = 30_000;
/** Every follow-up's run must end before the next round; on this busy host that can take a while. */
const VERDICT_WAIT_MS = 150_000;
const TAKEN = '👀';
const SUCCEEDED = '✅';
const FAILED = '❌';

/** Resolves, once every message has one of `emojis` from the bot at the fake's REST, with when and which. */
function reactionTimes(
  world: World,
  emojis: readonly string[],
  messageIds: () => ReadonlySet<string>,
  waitMs: number,
): Promise<Map<string, { at: number; emoji: string }>> {
  const times = new Map<string, { at: number; emoji: string }>();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`${times.size} of ${messageIds().size} follow-ups got ${emojis.join('/')} within ${waitMs} ms`));
    }, waitMs);
    const off = world.fake.on('reaction_add', (event) => {
      if (!emojis.includes(event.emoji) || event.userId !== world.fake.botUser.id) return;
      if (!messageIds().has(event.messageId) || times.has(event.messageId)) return;
      times.set(event.messageId, { at: performance.now(), emoji: event.emoji });
      if (times.size < BURST) return;
      clearTimeout(timer);
      off();
      resolve(times);
    });
  });
}

/** Each member's follow-up in `threadOf(member)`, all at once: the time from each dispatch to its 👀. */
async function burst(
  world: World,
  members: readonly string[],
  threadOf: (i: number) => string,
): Promise<{ samples: number[]; failed: number }> {
  const { fake } = world;
  const sentAt = new Map<string, number>();
  const ids = (): ReadonlySet<string> => new Set(sentAt.keys());
  const taken = reactionTimes(world, [TAKEN], ids, TAKEN_WAIT_MS);
  const verdicts = reactionTimes(world, [SUCCEEDED, FAILED], ids, VERDICT_WAIT_MS);
  for (const [i, authorId] of members.entries()) {
    const started = performance.now();
    const content = `<@${fake.botUser.id}> follow-up ${i}`;
    sentAt.set(fake.postMessage({ channelId: threadOf(i), authorId, content }).id, started);
  }
  const takenAt = await taken;
  const failed = [...(await verdicts).values()].filter((verdict) => verdict.emoji === FAILED).length;
  return { samples: [...sentAt].map(([id, started]) => takenAt.get(id)!.at - started), failed };
}

/** Median of the rounds' p50 and p99, and the max over every sample, after one warm-up round. */
async function measure(rounds: number, round: (n: number) => Promise<{ samples: number[]; failed: number }>) {
  let failed = (await round(0)).failed;
  const p50s: number[] = [];
  const p99s: number[] = [];
  const all: number[] = [];
  for (let n = 1; n <= rounds; n += 1) {
    const result = await round(n);
    const samples = result.samples;
    failed += result.failed;
    p50s.push(percentile(samples, 50));
    p99s.push(percentile(samples, 99));
    all.push(...samples);
  }
  return { p50: median(p50s), p99: median(p99s), max: max(all), failed };
}

await runScenario({
  id: 'thread follow-up burst',
  issue: 13,
  title: `${BURST} follow-up @mentions at once in one result thread → 👀`,
  method: `the real bot (discord.js + engine) against the fake Discord and 3 fake gateways, all in this process; each round opens a result thread with a /delegate, then ${BURST} members (role leads) each post one @mention follow-up in it, MESSAGE_CREATE dispatched back to back; time from each dispatch to the bot's 👀 PUT handled at the fake; agents answer after ${AGENT_MS} ms and each round waits for every verdict (✅ or ❌, the ❌ counted); ${ROUNDS} rounds after one warm-up round, median of the rounds' nearest-rank p50/p99, max over all rounds. For comparison, the same with each follow-up in a thread of its own (${SPREAD_ROUNDS} rounds after one warm-up): discord.js sends one channel's reactions one at a time, and holds every request but an interaction callback to Discord's global 50 a second`,
  limitMs: 235_000,
  async run() {
    return withBotWorld(burstWorldOptions(BURST, AGENT_MS), async (world) => {
      const members = leadMembers(world, BURST);
      const oneThread = await measure(ROUNDS, async (n) => {
        const threadId = await openResultThread(world, `round ${n}`, WAIT_MS);
        return burst(world, members, () => threadId);
      });
      const ownThreads = await measure(SPREAD_ROUNDS, async (n) => {
        const threads = await Promise.all(
          members.map((_, i) => openResultThread(world, `round ${n}, thread ${i}`, WAIT_MS)),
        );
        return burst(world, members, (i) => threads[i]!);
      });
      return [
        { metric: 'follow-up → 👀 p50', value: oneThread.p50, unit: 'ms' },
        { metric: 'follow-up → 👀 p99', value: oneThread.p99, unit: 'ms', target: { max: 250 } },
        { metric: 'follow-up → 👀 max', value: oneThread.max, unit: 'ms' },
        { metric: `p50, ${BURST} threads`, value: ownThreads.p50, unit: 'ms' },
        { metric: `p99, ${BURST} threads`, value: ownThreads.p99, unit: 'ms' },
        { metric: 'follow-ups ended ❌', value: oneThread.failed + ownThreads.failed, unit: 'count' },
      ];
    });
  },
});
