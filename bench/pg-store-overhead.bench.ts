/**
 * What the run store costs a run on PostgreSQL (issue 14), beside SQLite: the verbs a run does
 * from accepted to finished (accepted, attempt started, sent, attempt ended, finished), timed per
 * run on the async store interface, one run after another. "handoff → resolved" is the part after
 * the handoff: the attempt's end and the run's finish. PostgreSQL runs in a durable throwaway
 * cluster (fsync on) on loopback, with the writes fenced by a leader lease as a leader's are.
 * The engine does not await an async journal yet, so the verbs are driven directly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openRunStore, type AsyncRunStore } from '../src/store/store-api.ts';
import { startPgCluster } from '../test/support/pg-cluster.ts';
import type { Figure } from './lib/report.ts';
import { runScenario } from './lib/scenario.ts';
import { percentile } from './lib/stats.ts';

const WARM_UP = 100;
const SAMPLES = 1_000;
const AGENT = 'webster';
const AGENTS = ['manager', 'tech-lead', 'secretary', 'auditor', 'optimizer', 'study-builder', 'nx-expert', 'webster'];
const FAN_OUT = 500;

interface Samples {
  readonly run: number[];
  readonly handoff: number[];
}

async function timeRuns(store: AsyncRunStore, prefix: string, count: number): Promise<Samples> {
  const samples: Samples = { run: [], handoff: [] };
  for (let i = 0; i < count; i++) {
    const runId = `${prefix}-${i}`;
    const request = { runId, agent: AGENT, task: 'bench task', principals: ['manager'], maxAttempts: 1 };
    const started = performance.now();
    await store.runAccepted({ runId, acceptedAt: Date.now(), request });
    await store.attemptStarted(runId, 1, Date.now(), Date.now() + 300_000);
    await store.attemptSent(runId, 1, `gw-${i}`);
    const handoff = performance.now();
    await store.attemptEnded(runId, 1, 'accepted', 'complete');
    await store.runFinished({ status: 'complete', result: 'ok', runId, agent: AGENT, latencyMs: 1, attempts: 1 });
    const finished = performance.now();
    samples.run.push(finished - started);
    samples.handoff.push(finished - handoff);
  }
  return samples;
}

/**
 * FAN_OUT runs over the agents, all sent; then every handoff arrives at once (as when the agents
 * answer together after their delay), timed from there to the last run resolved (its attempt's
 * end and its finish written).
 */
async function fanOut(store: AsyncRunStore, prefix: string): Promise<number> {
  const runs = Array.from({ length: FAN_OUT }, (_, i) => ({
    runId: `${prefix}-${i}`,
    agent: AGENTS[i % AGENTS.length]!,
  }));
  await Promise.all(
    runs.map(async ({ runId, agent }, i) => {
      const request = { runId, agent, task: 'bench task', principals: ['manager'] };
      await store.runAccepted({ runId, acceptedAt: Date.now(), request });
      await store.attemptStarted(runId, 1, Date.now(), Date.now() + 300_000);
      await store.attemptSent(runId, 1, `gw-${i}`);
    }),
  );
  const started = performance.now();
  await Promise.all(
    runs.map(async ({ runId, agent }) => {
      await store.attemptEnded(runId, 1, 'accepted', 'complete');
      await store.runFinished({ status: 'complete', result: 'ok', runId, agent, latencyMs: 1, attempts: 1 });
    }),
  );
  return performance.now() - started;
}

async function measure(store: AsyncRunStore): Promise<Samples & { fanOut: number }> {
  await timeRuns(store, 'warm', WARM_UP);
  const samples = await timeRuns(store, 'run', SAMPLES);
  return { ...samples, fanOut: await fanOut(store, 'burst') };
}

function figures(name: string, samples: Samples & { fanOut: number }, target: boolean): Figure[] {
  const limits = (max: number) => (target ? { target: { max } } : {});
  const figure = (metric: string, values: number[], p: number, max: number): Figure => ({
    metric: `${name}: ${metric} p${p}`,
    value: percentile(values, p),
    unit: 'ms',
    ...limits(max),
  });
  return [
    figure('accepted → finished (5 verbs)', samples.run, 50, 5),
    figure('accepted → finished (5 verbs)', samples.run, 99, 20),
    figure('handoff → resolved (2 verbs)', samples.handoff, 50, 5),
    figure('handoff → resolved (2 verbs)', samples.handoff, 99, 20),
    {
      metric: `${name}: ${FAN_OUT} handoffs at once → last resolved`,
      value: samples.fanOut,
      unit: 'ms',
      ...limits(600),
    },
  ];
}

await runScenario({
  id: 'pg-store-overhead',
  issue: 14,
  title: 'Run store verbs per run on PostgreSQL (loopback, fsync on, fenced) beside SQLite',
  method:
    `${SAMPLES} runs one after another after ${WARM_UP} warm-up runs, each timed from runAccepted to runFinished ` +
    'and from the handoff (attemptEnded) to runFinished; nearest-rank percentiles; PostgreSQL: a throwaway durable ' +
    'cluster on 127.0.0.1, pool of 10, every write a transaction checking the leader lease (FOR SHARE); SQLite: ' +
    `the same verbs through the async adapter; then ${FAN_OUT} runs over ${AGENTS.length} agents accepted and sent, ` +
    'and their handoffs all at once → last resolved (store only: the engine does not await this store yet); ' +
    `load average ${os.loadavg()[0]!.toFixed(1)} on ` +
    `${os.availableParallelism()} CPUs at the start`,
  limitMs: 200_000,
  async run(): Promise<readonly Figure[]> {
    const cluster = await startPgCluster({ durable: true });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hq-bench-store-'));
    try {
      const url = await cluster.createDatabase('bench');
      const epoch = 1;
      // The store creates hq_lease; the lease row, as the leader's, comes once it exists.
      const pgStore = await openRunStore({ kind: 'postgres', url, password: cluster.password, fence: () => epoch });
      await cluster.query(
        `INSERT INTO hq_lease VALUES ('leader', 'bench', ${epoch}, now() + interval '1 hour')`,
        'bench',
      );
      const postgres = await measure(pgStore);
      await pgStore.close();
      const sqliteStore = await openRunStore({ kind: 'sqlite', file: path.join(dir, 'runs.sqlite') });
      const sqlite = await measure(sqliteStore);
      await sqliteStore.close();
      const all = [...figures('postgres', postgres, true), ...figures('sqlite', sqlite, false)];
      for (const figure of all.filter((f) => f.target !== undefined)) {
        const pass = figure.value <= (figure.target?.max ?? Infinity);
        process.stderr.write(`${pass ? 'PASS' : 'MISS'} ${figure.metric} ${figure.value.toFixed(2)} ms\n`);
      }
      return all;
    } finally {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
