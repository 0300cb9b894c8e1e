/**
 * Several real bot processes sharing one PostgreSQL database (issue 14): the process world of
 * bot-process.ts with the store on a fresh database of a throwaway cluster and a short lease, so
 * a test can start a leader and standbys, kill one, and watch another take over. File handoffs go
 * to the world's one handoff directory, which every process shares as replicas on shared storage
 * would.
 */
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { openRunStore, type AsyncRunStore } from '../../src/store/store-api.ts';
import { handoffText, type HandoffKind } from '../fakes/fake-gateway.ts';
import { startProcessWorld, type BotProcess, type ProcessWorld, type ProcessWorldOptions } from './bot-process.ts';
import type { PgCluster } from './pg-cluster.ts';
import type { Scope } from './bot-world.ts';

export const STANDING_BY = 'standing by for the leader lease';

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
