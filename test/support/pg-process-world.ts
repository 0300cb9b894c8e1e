/**
 * Several real bot processes sharing one PostgreSQL database (issue 14): the process world of
 * bot-process.ts with the store on a fresh database of a throwaway cluster and a short lease, so
 * a test can start a leader and standbys, kill one, and watch another take over. File handoffs go
 * to the world's one handoff directory, which every process shares as replicas on shared storage
 * would.
 */
import assert from 'node:assert/strict';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after } from 'node:test';
import { openRunStore, type AsyncRunStore } from '../../src/store/store-api.ts';
import type { StoredMessage } from '../fakes/fake-discord/index.ts';
import { handoffText, type HandoffKind } from '../fakes/fake-gateway.ts';
import { startProcessWorld, type BotProcess, type ProcessWorld, type ProcessWorldOptions } from './bot-process.ts';
import { startPgCluster, type PgCluster } from './pg-cluster.ts';
import { hookPostsFor, LONG, websterEmbeds } from './process-runs.ts';
import type { Scope } from './bot-world.ts';

export const STANDING_BY = 'standing by for the leader lease';
export const RUNNING = 'hq-delegate is running';

/** One cluster for a test file, started by the first test that asks and stopped after the last. */
export function fileCluster(): () => Promise<PgCluster> {
  let started: Promise<PgCluster> | undefined;
  after(async () => {
    if (started !== undefined) await (await started).stop();
  });
  return () => (started ??= startPgCluster());
}

export interface PgProcessWorldOptions extends ProcessWorldOptions {
  /** Default 3 s, so a takeover after a SIGKILL fits a test; the product's default is 10 s. */
  readonly ttlSeconds?: number;
  /** Default 100 ms. */
  readonly retryMs?: number;
}

export interface PgProcessWorld extends Omit<ProcessWorld, 'openStore' | 'writeHandoff' | 'storePath'> {
  readonly cluster: PgCluster;
  readonly url: string;
  /** The shared store, opened unfenced in the test process: for reading. */
  readonly store: AsyncRunStore;
  /** A process that leads once started. */
  startLeader(): Promise<BotProcess>;
  /** A process that stands by once started. */
  startStandby(): Promise<BotProcess>;
  /** A leader, then a standby. */
  startPair(): Promise<{ readonly leader: BotProcess; readonly standby: BotProcess }>;
  /** Cuts the process's lease connection from the server's side, as a network failure would. */
  cutLeaseConnection(bot: BotProcess): Promise<number>;
  /** Writes the run's handoff as its agent would, at the path its prompt named. */
  writeHandoff(runId: string, agent: string, kind?: HandoffKind): Promise<void>;
}

export async function startPgProcessWorld(
  t: Scope,
  cluster: PgCluster,
  options: PgProcessWorldOptions = {},
): Promise<PgProcessWorld> {
  const { ttlSeconds = 3, retryMs = 100, ...processOptions } = options;
  const url = await cluster.createDatabase();
  const world = await startProcessWorld(t, {
    ...processOptions,
    file: { ...processOptions.file, store: { kind: 'postgres', url }, lease: { ttlSeconds, retryMs } },
    env: { ...processOptions.env, HQ_STORE_PASSWORD: cluster.password },
  });
  const store = await openRunStore({ kind: 'postgres', url, password: cluster.password, poolSize: 2 });
  t.after(() => store.close());
  const { openStore: _openStore, writeHandoff: _writeHandoff, storePath: _storePath, ...shared } = world;
  return {
    ...shared,
    cluster,
    url,
    store,
    startLeader: () => world.start(),
    startStandby: () => world.start({ until: STANDING_BY }),
    async startPair() {
      const leader = await world.start();
      return { leader, standby: await world.start({ until: STANDING_BY }) };
    },
    async cutLeaseConnection(bot) {
      const { rows } = await cluster.query(
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
          WHERE application_name = 'hq-delegate lease pid ${bot.child.pid}'`,
        new URL(url).pathname.slice(1),
      );
      return Number(rows[0].n);
    },
    async writeHandoff(runId, agent, kind = 'valid') {
      const run = (await store.listResumable()).find((open) => open.runId === runId);
      if (run === undefined) throw new Error(`run ${runId} is not open in the store`);
      const target = path.join(world.handoffDir, agent, `${runId}.${run.handoffSecret}.json`);
      await writeFile(`${target}.tmp`, handoffText(kind, runId, agent));
      await rename(`${target}.tmp`, target);
    },
  };
}

/** Every failover test's verdict: the run finished, was sent to the agent once and delivered once. */
export async function assertFinishedOnce(world: PgProcessWorld, runId: string, embed: StoredMessage): Promise<void> {
  assert.equal((await world.store.getRun(runId))?.status, 'complete', 'the run finished');
  assert.equal(hookPostsFor(world, runId), 1, 'the run was sent to the agent once');
  assert.deepEqual(
    websterEmbeds(world).map((m) => m.id),
    [embed.id],
    'one embed',
  );
  assert.equal((await world.store.getDelivery(runId, 'result-embed'))?.messageId, embed.id, 'the embed recorded');
}

/** Resolves with the first of `bots` to log `msg`, and its index. */
export function firstToLog(
  bots: readonly BotProcess[],
  msg: string,
  timeoutMs = LONG,
): Promise<{ readonly bot: BotProcess; readonly index: number }> {
  return Promise.any(
    bots.map(async (bot, index) => {
      await bot.waitForLog((line) => line.msg === msg, { timeoutMs });
      return { bot, index };
    }),
  );
}

/** GET on the process's ops server: status and body text. */
export async function opsGet(
  bot: BotProcess,
  route: '/healthz' | '/metrics',
): Promise<{ status: number; text: string }> {
  const response = await fetch(bot.opsUrl + route);
  return { status: response.status, text: await response.text() };
}
