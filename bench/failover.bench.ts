/**
 * Issue 14: how long a finished result waits when its leader goes. Real bot processes share one
 * PostgreSQL database (test/support/pg-process-world.ts) with the product's default lease (ttl
 * 10 s, retry 1 s). Each round leaves a /delegate's result pending in the leader's outbox (the
 * fake Discord answers its embed's POST with 503), then SIGKILLs the leader or sends it SIGTERM,
 * lifts the outage, and times until the embed appears in the fake Discord, posted by the standby
 * that took over. That process leads the next round, beside a fresh standby.
 */
import { startPgCluster } from '../test/support/pg-cluster.ts';
import { startPgProcessWorld, type PgProcessWorld } from '../test/support/pg-process-world.ts';
import type { BotProcess } from '../test/support/bot-process.ts';
import type { Figure } from './lib/report.ts';
import { runScenario } from './lib/scenario.ts';
import { withScope } from './lib/scope.ts';
import { max, median } from './lib/stats.ts';

const KILL_ROUNDS = 5;
const TERM_ROUNDS = 5;
const KILL_TARGET_MS = 15_000;
const TERM_TARGET_MS = 3_000;
const LONG = 30_000;
const AGENT = 'webster';
const HELD = 'the result embed could not be posted now; it stays in the outbox';

interface Round {
  /** Signal → the result embed created in the fake Discord. */
  readonly deliveredMs: number;
  /** Signal → the standby's "hq-delegate is running" (its own clock, same host). */
  readonly leadingMs: number;
}

/** A /delegate whose run finishes while Discord refuses its embed: the result waits in the outbox. */
async function holdResult(world: PgProcessWorld, leader: BotProcess, round: string) {
  const { fake, channels, users, gateways } = world;
  const embedCreates = `POST /channels/${channels[`dl-${AGENT}`]}/messages`;
  const outage = fake.failNext(embedCreates, { status: 503, times: Infinity });
  const sent = gateways[AGENT].next('run');
  const from = leader.lines.length;
  fake.sendSlashCommand({
    channelId: channels.general!,
    userId: users.alice,
    name: 'delegate',
    options: { agent: AGENT, task: `failover ${round}`, timeout: 120 },
  });
  const [run] = await sent;
  const runId = run.runId;
  if (runId === undefined) throw new Error('the agent was not told its run id');
  await leader.waitForLog((line) => line.msg === HELD && line.runId === runId, { from, timeoutMs: LONG });
  return { runId, outage };
}

async function handOver(
  world: PgProcessWorld,
  leader: BotProcess,
  standby: BotProcess,
  signal: 'SIGKILL' | 'SIGTERM',
  round: string,
): Promise<Round> {
  const { runId, outage } = await holdResult(world, leader, round);
  const channelId = world.channels[`dl-${AGENT}`]!;
  const from = standby.lines.length;
  const signalledAt = Date.now();
  const started = performance.now();
  leader.kill(signal);
  outage.cancel();
  await world.fake.waitForMessage(channelId, (m) => m.embeds.length > 0 && JSON.stringify(m.embeds).includes(runId), {
    timeoutMs: LONG,
  });
  const deliveredMs = performance.now() - started;
  // The old leader must not be the one that posted it.
  await standby.waitForLog((line) => line.msg === 'result delivered' && line.runId === runId, {
    from,
    timeoutMs: LONG,
  });
  const running = await standby.waitForLog((line) => line.msg === 'hq-delegate is running', { from });
  const exit = await leader.exited;
  if (signal === 'SIGTERM' && exit.code !== 0) throw new Error(`the leader exited ${exit.code} on SIGTERM`);
  return { deliveredMs, leadingMs: Number(running.time) - signalledAt };
}

function figures(name: string, rounds: readonly Round[], targetMs: number): Figure[] {
  const delivered = rounds.map((round) => round.deliveredMs);
  return [
    { metric: `${name} → result posted, median`, value: median(delivered), unit: 'ms', target: { max: targetMs } },
    { metric: `${name} → result posted, max`, value: max(delivered), unit: 'ms', target: { max: targetMs } },
    { metric: `${name} → standby leading, median`, value: median(rounds.map((r) => r.leadingMs)), unit: 'ms' },
  ];
}

await runScenario({
  id: 'failover',
  issue: 14,
  title: "A leader's pending result delivered by its standby (default lease: ttl 10 s, retry 1 s)",
  method:
    'real bot processes (node src/main.ts) on one PostgreSQL database (throwaway cluster, fsync on, loopback), fake ' +
    "Discord and fake gateways in this process; each round a /delegate's result is held in the leader's outbox " +
    `(embed POST answered 503), then the leader gets the signal, the outage is lifted, and the clock runs to the ` +
    `embed created in the fake Discord by the standby (its log confirms); ${KILL_ROUNDS} SIGKILL rounds then ` +
    `${TERM_ROUNDS} SIGTERM rounds, the new leader beside a fresh standby each time; "standby leading" is the ` +
    "standby's own log time of 'hq-delegate is running'",
  limitMs: 200_000,
  async run(): Promise<readonly Figure[]> {
    const cluster = await startPgCluster({ durable: true });
    try {
      return await withScope(async (scope) => {
        const world = await startPgProcessWorld(scope, cluster, {
          ttlSeconds: 10,
          retryMs: 1_000,
          script: { respond: 'admit', agent: { write: 'valid' } },
        });
        let leader = await world.startLeader();
        const rounds = async (signal: 'SIGKILL' | 'SIGTERM', count: number): Promise<Round[]> => {
          const done: Round[] = [];
          for (let i = 0; i < count; i++) {
            const standby = await world.startStandby();
            done.push(await handOver(world, leader, standby, signal, `${signal}-${i}`));
            leader = standby;
            if (process.env.BENCH_VERBOSE) process.stderr.write(`${signal} ${i}: ${JSON.stringify(done.at(-1))}\n`);
          }
          return done;
        };
        const killed = await rounds('SIGKILL', KILL_ROUNDS);
        const terminated = await rounds('SIGTERM', TERM_ROUNDS);
        await leader.stop();
        return [...figures('SIGKILL', killed, KILL_TARGET_MS), ...figures('SIGTERM', terminated, TERM_TARGET_MS)];
      });
    } finally {
      await cluster.stop();
    }
  },
});
