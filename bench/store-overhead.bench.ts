/**
 * What the sqlite run store costs the engine. Since each verb is one plain commit, the targets
 * are on the figures with the store (handoff → resolved p50 ≤ 5 ms, p99 ≤ 20 ms; 500 at once
 * ≤ 500 ms after the agent's delay); the overhead is printed beside them for context. The
 * engine's figures measured twice, with no journal and with the store as the journal
 * (createEngine({ settings, log, journal: store })), so that drift in the machine hits both alike:
 * the latency samples alternate between the two worlds one by one, the bursts go in ABBA order;
 * fresh workspace, engine and store per round.
 *
 * - rename → resolved: as in handoff-to-resolved.bench.ts (issue 3): the fake agent never
 *   writes; after the `waiting` event the bench renames a complete handoff into the dir and
 *   times rename(2) → delegate() settled. The store adds two commits on this path: the
 *   accepted attempt's end and the run's finish.
 * - 500 runs at once: as in fan-out-500-runs.bench.ts (issue 3): 500 delegations over 8
 *   agents started in one tick, none queued, each agent writing a valid handoff 200 ms after
 *   the POST; the figure is first call → last run resolved, minus that 200 ms. The store adds
 *   five commits per run (accepted, attempt started, sent, attempt ended, finished).
 *
 * The fake gateways run in their own process (bench/lib/gateway-host.ts), so the measured
 * process pays only for the engine and the store.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../src/config.ts';
import { createEngine } from '../src/engine/engine.ts';
import { engineSettingsOf } from '../src/engine-settings.ts';
import { createEventLog } from '../src/engine/event-log.ts';
import type { Engine, RunProgress, RunResult } from '../src/engine/types.ts';
import { createLogger } from '../src/log.ts';
import { createRunStore, type RunStore } from '../src/store/run-store.ts';
import { handoffText } from '../test/fakes/fake-gateway.ts';
import { startGatewayHost, type GatewayHost } from './lib/gateway-host.ts';
import type { Figure } from './lib/report.ts';
import { runScenario } from './lib/scenario.ts';
import { median, percentile } from './lib/stats.ts';
import { createWorkspace, type Workspace } from './lib/workspace.ts';
import { asAsyncStore } from '../src/store/sqlite-async.ts';

const AGENTS = ['manager', 'tech-lead', 'secretary', 'auditor', 'optimizer', 'study-builder', 'nx-expert', 'webster'];
const AGENT = 'webster';
const AGENT_DELAY_MS = 200;
const ROUNDS = 5;
const WARM_UP = 20;
/**
 * Warm-up also lasts this long, in both modes: long enough for sqlite to have checkpointed the
 * store's WAL, so the samples see it as a long-running bot does (recycled after a checkpoint,
 * frames written over earlier ones) rather than a brand-new file growing by every frame, and the
 * engine's code is optimised in the first round as in the others.
 */
const WARM_UP_MS = 1_200;
const SAMPLES_PER_ROUND = 100;
const FAN_OUT_RUNS = 500;
const FAN_OUT_BURSTS_PER_ROUND = 3;
const RUN_LIMIT_MS = 30_000;

const MODES = ['no store', 'store'] as const;
type Mode = (typeof MODES)[number];

interface World {
  readonly workspace: Workspace;
  readonly config: Config;
  readonly engine: Engine;
  readonly store: RunStore | undefined;
  dispose(): Promise<void>;
}

function createWorld(host: GatewayHost, mode: Mode, engineSettings: Record<string, unknown>): World {
  const workspace = createWorkspace(mode === 'store' ? 'store' : 'memory', {
    agents: host.ports,
    engine: engineSettings,
  });
  const config = loadConfig({ ...workspace.env });
  const store = mode === 'store' ? createRunStore(path.join(workspace.stateDir, 'runs.sqlite')) : undefined;
  const engine = createEngine({
    settings: engineSettingsOf(config),
    log: createLogger({ level: 'warn' }),
    eventLog: createEventLog({ dir: config.paths.logDir }),
    journal: store && asAsyncStore(store),
  });
  return {
    workspace,
    config,
    engine,
    store,
    async dispose() {
      await engine.close();
      store?.close();
      workspace.dispose();
    },
  };
}

function expectComplete(result: RunResult): void {
  if (result.status !== 'complete')
    throw new Error(`run ${result.runId} ended ${result.status}: ${String(result.notes ?? '')}`);
}

/**
 * One round of rename → resolved samples in both modes at once: the two worlds live side by
 * side and every sample alternates between them (the order flips each time), so a machine that
 * speeds up or slows down within the round hits both modes alike. Returns each mode's
 * nearest-rank p50 and p99.
 */
async function latencyRound(host: GatewayHost, round: number): Promise<Record<Mode, { p50: number; p99: number }>> {
  await host.setScript({ respond: 'admit', agent: { write: 'none', finishAfterMs: 3_600_000 } });
  const worlds = MODES.map((mode) => ({ mode, world: createWorld(host, mode, { waitForCompletion: false }) }));
  const once = async (world: World, runId: string): Promise<number> => {
    const staging = path.join(world.workspace.root, 'staging');
    mkdirSync(staging, { recursive: true });
    const from = path.join(staging, `${runId}.json`);
    writeFileSync(from, handoffText('valid', runId, AGENT));
    let waiting!: () => void;
    const isWaiting = new Promise<void>((resolve) => (waiting = resolve));
    const onProgress = (progress: RunProgress): void => {
      if (progress.type === 'waiting') waiting();
    };
    const running = world.engine.delegate(
      {
        runId,
        agent: AGENT,
        task: 'bench: rename latency',
        principals: [world.config.operatorPrincipal],
        timeoutSeconds: 30,
        deliver: false,
      },
      { onProgress, signal: AbortSignal.timeout(RUN_LIMIT_MS) },
    );
    await Promise.race([isWaiting, running]);
    const to = await host.nextRun(runId);
    if (to === undefined) throw new Error(`run ${runId}: no handoff path in its prompt`);
    const started = performance.now();
    renameSync(from, to);
    const result = await running;
    const elapsed = performance.now() - started;
    expectComplete(result);
    return elapsed;
  };
  const both = async (i: number, label: string): Promise<Array<{ mode: Mode; elapsed: number }>> => {
    const order = i % 2 === 0 ? worlds : [...worlds].reverse();
    const out: Array<{ mode: Mode; elapsed: number }> = [];
    for (const { mode, world } of order)
      out.push({ mode, elapsed: await once(world, `bench-store-${label}-${round}-${i}-${mode.replace(' ', '-')}`) });
    return out;
  };
  try {
    const warmUntil = performance.now() + WARM_UP_MS;
    for (let i = 0; i < WARM_UP || performance.now() < warmUntil; i += 1) await both(i, 'warm');
    const samples: Record<Mode, number[]> = { 'no store': [], store: [] };
    for (let i = 0; i < SAMPLES_PER_ROUND; i += 1)
      for (const { mode, elapsed } of await both(i, 'sample')) samples[mode].push(elapsed);
    const stats = (values: number[]) => ({ p50: percentile(values, 50), p99: percentile(values, 99) });
    return { 'no store': stats(samples['no store']), store: stats(samples.store) };
  } finally {
    for (const { world } of worlds) await world.dispose();
  }
}

async function fanOutRound(host: GatewayHost, mode: Mode, round: number): Promise<number> {
  await host.setScript({ respond: 'admit', agent: { write: 'valid', afterMs: AGENT_DELAY_MS } });
  const world = createWorld(host, mode, { maxConcurrentPerAgent: 1_000 });
  const delegate = (runId: string, agent: string): Promise<RunResult> =>
    world.engine.delegate(
      {
        runId,
        agent,
        task: `bench: fan-out ${runId}`,
        principals: [world.config.operatorPrincipal],
        timeoutSeconds: 30,
        deliver: false,
      },
      { signal: AbortSignal.timeout(RUN_LIMIT_MS) },
    );
  try {
    // The watcher, the HTTP pools and the prepared statements exist before the clock starts.
    expectComplete(await delegate(`bench-fan-warm-${round}`, AGENTS[0]!));
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: FAN_OUT_RUNS }, (_, i) => delegate(`bench-fan-${round}-${i}`, AGENTS[i % AGENTS.length]!)),
    );
    const elapsed = performance.now() - started - AGENT_DELAY_MS;
    results.forEach(expectComplete);
    if (
      world.store &&
      world.store.recentRuns({ status: 'complete', limit: FAN_OUT_RUNS + 1 }).length !== FAN_OUT_RUNS + 1
    ) {
      throw new Error('the store did not record every run as complete');
    }
    return elapsed;
  } finally {
    await world.dispose();
  }
}

function overhead(withStore: number, without: number): number {
  return ((withStore - without) / without) * 100;
}

await runScenario({
  id: 'store-overhead',
  issue: 5,
  title: 'Engine figures without and with the sqlite run store as journal',
  method:
    `fake gateway in its own process; ${ROUNDS} rounds, each measuring both modes, fresh workspace, engine and store file each; ` +
    `rename → resolved: the two worlds side by side, ${SAMPLES_PER_ROUND} samples each, alternating world every sample (order flipped each time), after a warm-up of ${WARM_UP} runs and ≥ ${WARM_UP_MS} ms per round (past a WAL checkpoint), median of the rounds' p50/p99; ` +
    `${FAN_OUT_RUNS} at once: ${AGENTS.length} agents, none queued, handoff ${AGENT_DELAY_MS} ms after each POST, first call → last resolved minus ${AGENT_DELAY_MS} ms, ${FAN_OUT_BURSTS_PER_ROUND} bursts per mode per round (ABBA order), median of all bursts; ` +
    `overhead = (store − no store) / no store; load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} CPUs at the start`,
  limitMs: 230_000,
  async run(): Promise<readonly Figure[]> {
    const host = await startGatewayHost({ agents: AGENTS, script: { respond: 'admit' } });
    try {
      const p50: Record<Mode, number[]> = { 'no store': [], store: [] };
      const p99: Record<Mode, number[]> = { 'no store': [], store: [] };
      const wall: Record<Mode, number[]> = { 'no store': [], store: [] };
      for (let round = 0; round < ROUNDS; round++) {
        const latency = await latencyRound(host, round);
        for (const mode of MODES) {
          p50[mode].push(latency[mode].p50);
          p99[mode].push(latency[mode].p99);
        }
        // A burst is too long to interleave sample by sample: several per round instead, in ABBA order.
        for (let burst = 0; burst < FAN_OUT_BURSTS_PER_ROUND; burst += 1) {
          const order = (round + burst) % 2 === 0 ? MODES : [...MODES].reverse();
          for (const mode of order)
            wall[mode].push(await fanOutRound(host, mode, round * FAN_OUT_BURSTS_PER_ROUND + burst));
        }
        if (process.env.BENCH_VERBOSE) {
          process.stderr.write(
            `round ${round}: p50 ${p50['no store'].at(-1)?.toFixed(2)} / ${p50.store.at(-1)?.toFixed(2)} ms, 500 at once ${wall['no store'].at(-1)?.toFixed(0)} / ${wall.store.at(-1)?.toFixed(0)} ms\n`,
          );
        }
      }
      const figures = (name: string, samples: Record<Mode, number[]>, maxMs: number): Figure[] => {
        const without = median(samples['no store']);
        const withStore = median(samples.store);
        return [
          { metric: `${name}, no store`, value: without, unit: 'ms' },
          { metric: `${name}, with store`, value: withStore, unit: 'ms', target: { max: maxMs } },
          { metric: `${name}, store overhead`, value: overhead(withStore, without), unit: '%' },
        ];
      };
      return [
        ...figures('rename → resolved p50', p50, 5),
        ...figures('rename → resolved p99', p99, 20),
        ...figures(`${FAN_OUT_RUNS} at once, last resolved after agent delay`, wall, 500),
      ];
    } finally {
      await host.stop();
    }
  },
});
