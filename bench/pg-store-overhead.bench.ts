/**
 * What the run store on PostgreSQL costs a run (issue 14), beside SQLite, through the engine: the
 * engine in this process journals every run to the store and keeps its handoff tokens there, as a
 * leader does (leader-services.ts), against fake gateways in their own process. PostgreSQL runs
 * in a durable throwaway cluster (fsync on) on loopback; this process takes the leader lease with
 * the product's Leadership, and every write is fenced by its epoch as a leader's are.
 *
 * Two measurements per backend, each on a fresh engine over the same store:
 * - handoff → resolved: one run at a time, the agent never writes; once the run waits, the bench
 *   renames its handoff in and times rename(2) → delegate() settled (the attempt's end and the
 *   run's finish are journaled before it settles);
 * - 500 runs at once over 8 agents, each agent writing its handoff 200 ms after the POST: first
 *   call → last run settled, minus that delay.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../src/config.ts';
import { createEngine } from '../src/engine/engine.ts';
import { createEventLog } from '../src/engine/event-log.ts';
import type { DelegateOptions, Engine, RunProgress } from '../src/engine/types.ts';
import { engineSettingsOf } from '../src/engine-settings.ts';
import { createLogger } from '../src/log.ts';
import { startLeadership, type Leadership } from '../src/ops/leadership.ts';
import { openRunStore, type AsyncRunStore } from '../src/store/store-api.ts';
import { handoffText } from '../test/fakes/fake-gateway.ts';
import { startPgCluster, type PgCluster } from '../test/support/pg-cluster.ts';
import { startGatewayHost, type GatewayHost } from './lib/gateway-host.ts';
import type { Figure } from './lib/report.ts';
import { runScenario } from './lib/scenario.ts';
import { median, percentile } from './lib/stats.ts';
import { createWorkspace, type Workspace } from './lib/workspace.ts';

const AGENT = 'webster';
const AGENTS = ['manager', 'tech-lead', 'secretary', 'auditor', 'optimizer', 'study-builder', 'nx-expert', 'webster'];
const WARM_UP = 20;
const ROUNDS = 5;
const SAMPLES_PER_ROUND = 100;
const FAN_OUT = 500;
const FAN_OUT_ROUNDS = 3;
const AGENT_DELAY_MS = 200;
const RUN_LIMIT_MS = 20_000;

const log = createLogger({ level: 'warn' });

interface Gateways {
  /** One agent that never writes: the bench writes its handoff. */
  readonly silent: GatewayHost;
  readonly silentSpace: Workspace;
  /** Every agent writes its handoff after AGENT_DELAY_MS. */
  readonly writing: GatewayHost;
  readonly writingSpace: Workspace;
}

interface Measured {
  readonly handoffP50s: number[];
  readonly handoffP99s: number[];
  /** Per round: last settled after the agent delay. */
  readonly fanOutMs: number[];
  /** Per round: first call → the last run's POST sent (accepted, started and sent journaled). */
  readonly lastSentMs: number[];
}

function engineOver(config: Config, store: AsyncRunStore): Engine {
  return createEngine({
    settings: engineSettingsOf(config),
    log,
    eventLog: createEventLog({ dir: config.paths.logDir }),
    journal: store,
    handoffTokens: store,
  });
}

async function handoffSamples(
  gateways: Gateways,
  store: AsyncRunStore,
  name: string,
): Promise<Pick<Measured, 'handoffP50s' | 'handoffP99s'>> {
  const { silent, silentSpace: space } = gateways;
  const config = loadConfig({ ...space.env });
  const engine = engineOver(config, store);
  const staging = path.join(space.root, 'staging');
  mkdirSync(staging, { recursive: true });
  const limit = AbortSignal.timeout(RUN_LIMIT_MS * 10);
  const once = async (runId: string): Promise<number> => {
    const from = path.join(staging, `${runId}.json`);
    writeFileSync(from, handoffText('valid', runId, AGENT));
    const { promise: isWaiting, resolve: waiting } = Promise.withResolvers<void>();
    const onProgress = (progress: RunProgress): void => {
      if (progress.type === 'waiting') waiting();
    };
    const running = engine.delegate(
      {
        runId,
        agent: AGENT,
        task: 'bench',
        principals: [config.operatorPrincipal],
        timeoutSeconds: 30,
        deliver: false,
      },
      { onProgress, signal: limit },
    );
    await Promise.race([isWaiting, running]);
    const to = await silent.nextRun(runId);
    if (to === undefined) throw new Error(`run ${runId}: no handoff path in its prompt`);
    const started = performance.now();
    renameSync(from, to);
    const result = await running;
    const elapsed = performance.now() - started;
    if (result.status !== 'complete') throw new Error(`run ${runId} ended ${result.status}: ${String(result.notes)}`);
    return elapsed;
  };
  const p50s: number[] = [];
  const p99s: number[] = [];
  try {
    for (let i = 0; i < WARM_UP; i++) await once(`${name}-warm-${i}`);
    for (let round = 0; round < ROUNDS; round++) {
      const samples: number[] = [];
      for (let i = 0; i < SAMPLES_PER_ROUND; i++) samples.push(await once(`${name}-${round}-${i}`));
      p50s.push(percentile(samples, 50));
      p99s.push(percentile(samples, 99));
    }
  } finally {
    await engine.close();
  }
  return { handoffP50s: p50s, handoffP99s: p99s };
}

async function fanOut(
  gateways: Gateways,
  store: AsyncRunStore,
  name: string,
): Promise<Pick<Measured, 'fanOutMs' | 'lastSentMs'>> {
  const config = loadConfig({ ...gateways.writingSpace.env });
  const engine = engineOver(config, store);
  const run = (runId: string, agent: string, options: DelegateOptions = {}) =>
    engine.delegate(
      { runId, agent, task: 'bench', principals: [config.operatorPrincipal], timeoutSeconds: 30, deliver: false },
      options,
    );
  const measured = { fanOutMs: [] as number[], lastSentMs: [] as number[] };
  try {
    // One run per agent first: their directories, watches and connections exist before the clock.
    await Promise.all(AGENTS.map((agent) => run(`${name}-warm-${agent}`, agent)));
    for (let round = 0; round < FAN_OUT_ROUNDS; round++) {
      const signal = AbortSignal.timeout(RUN_LIMIT_MS);
      let lastSent = 0;
      const onProgress = (progress: RunProgress): void => {
        if (progress.type === 'waiting') lastSent = performance.now();
      };
      const started = performance.now();
      const results = await Promise.all(
        Array.from({ length: FAN_OUT }, (_, i) =>
          run(`${name}-${round}-${i}`, AGENTS[i % AGENTS.length]!, { signal, onProgress }),
        ),
      );
      measured.fanOutMs.push(performance.now() - started - AGENT_DELAY_MS);
      measured.lastSentMs.push(lastSent - started);
      const failed = results.filter((result) => result.status !== 'complete');
      if (failed.length > 0)
        throw new Error(`${failed.length} of ${FAN_OUT} runs ended ${failed[0]!.status}: ${String(failed[0]!.notes)}`);
    }
  } finally {
    await engine.close();
  }
  return measured;
}

async function measure(gateways: Gateways, store: AsyncRunStore): Promise<Measured> {
  const handoffs = await handoffSamples(gateways, store, `${store.kind}-handoff`);
  return { ...handoffs, ...(await fanOut(gateways, store, store.kind)) };
}

/** The store a leader writes through: the lease taken by the product's Leadership, its epoch the fence. */
async function measurePostgres(cluster: PgCluster, gateways: Gateways): Promise<Measured> {
  const url = await cluster.createDatabase('bench');
  let leadership: Leadership | undefined;
  // Opened first, as its migration creates the lease table; no write is taken before the lease is held.
  const store = await openRunStore({
    kind: 'postgres',
    url,
    password: cluster.password,
    fence: () => leadership?.state().epoch,
  });
  try {
    leadership = startLeadership({ url, password: cluster.password, log });
    await leadership.whenLeader();
    return await measure(gateways, store);
  } finally {
    await leadership?.release();
    await store.close();
  }
}

async function measureSqlite(gateways: Gateways): Promise<Measured> {
  const store = await openRunStore({ kind: 'sqlite', file: path.join(gateways.writingSpace.stateDir, 'runs.sqlite') });
  try {
    return await measure(gateways, store);
  } finally {
    await store.close();
  }
}

function figures(postgres: Measured, sqlite: Measured): Figure[] {
  const pair = (metric: string, pick: (m: Measured) => number[], max?: number): Figure[] => [
    { metric: `${metric}, postgres`, value: median(pick(postgres)), unit: 'ms', ...(max ? { target: { max } } : {}) },
    { metric: `${metric}, sqlite`, value: median(pick(sqlite)), unit: 'ms' },
  ];
  return [
    ...pair('handoff → resolved p50', (m) => m.handoffP50s, 5),
    ...pair('handoff → resolved p99', (m) => m.handoffP99s, 20),
    ...pair(`${FAN_OUT} at once: last resolved after delay`, (m) => m.fanOutMs, 600),
    ...pair(`${FAN_OUT} at once: last POST sent`, (m) => m.lastSentMs),
  ];
}

await runScenario({
  id: 'pg-store-overhead',
  issue: 14,
  title: 'The engine journaling to PostgreSQL (loopback, fsync on, fenced by the lease) beside SQLite',
  method:
    'engine in-process with the store as journal and handoff-token store, fake gateways in another process; ' +
    `handoff → resolved: rename(2) of the handoff once the run waits → delegate() settled, ${ROUNDS} rounds x ` +
    `${SAMPLES_PER_ROUND} sequential runs after ${WARM_UP} warm-up, median of the rounds' nearest-rank p50/p99; ` +
    `${FAN_OUT} runs over ${AGENTS.length} agents in one tick, agents write ${AGENT_DELAY_MS} ms after the POST, ` +
    `first call → last settled minus the delay (and → the last POST sent), median of ${FAN_OUT_ROUNDS} rounds; PostgreSQL: throwaway durable ` +
    'cluster on 127.0.0.1, pool of 10, lease held by Leadership and every write checking its epoch; SQLite: the ' +
    "same engine over the async adapter; targets are issue 14's, on PostgreSQL; " +
    `load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} CPUs at the start`,
  limitMs: 200_000,
  async run(): Promise<readonly Figure[]> {
    const silent = await startGatewayHost({
      agents: [AGENT],
      script: { respond: 'admit', agent: { write: 'none', finishAfterMs: 3_600_000 } },
    });
    const writing = await startGatewayHost({
      agents: AGENTS,
      script: { respond: 'admit', agent: { write: 'valid', afterMs: AGENT_DELAY_MS } },
      announceRuns: false,
    });
    const gateways: Gateways = {
      silent,
      silentSpace: createWorkspace('pg-a', { agents: silent.ports, engine: { waitForCompletion: false } }),
      writing,
      writingSpace: createWorkspace('pg-c', { agents: writing.ports, engine: { maxConcurrentPerAgent: 1_000 } }),
    };
    const cluster = await startPgCluster({ durable: true });
    try {
      const postgres = await measurePostgres(cluster, gateways);
      const sqlite = await measureSqlite(gateways);
      return figures(postgres, sqlite);
    } finally {
      await cluster.stop();
      await Promise.all([silent.stop(), writing.stop()]);
      gateways.silentSpace.dispose();
      gateways.writingSpace.dispose();
    }
  },
});
