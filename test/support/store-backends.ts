/**
 * The run store tests' two backends: each test body takes a StorePlace and runs once on SQLite (a
 * file in a temp dir) and once on PostgreSQL (a fresh database in this file's throwaway cluster,
 * started on first use and stopped after the file's tests).
 */
import { DatabaseSync } from 'node:sqlite';
import { after, type TestContext } from 'node:test';
import { openRunStore, type AsyncRunStore } from '../../src/store/store-api.ts';
import type { Fence } from '../../src/store/postgres/session.ts';
import { pgSkipReason, startPgCluster, type PgCluster } from './pg-cluster.ts';
import { tempFile } from './run-store-fixtures.ts';

export interface StoreOpenOptions {
  readonly now?: () => number;
  readonly fence?: Fence;
}

/** One store's worth of state; each `open` is another process's view of it (closed after the test). */
export interface StorePlace {
  open(options?: StoreOpenOptions): Promise<AsyncRunStore>;
  /** Rows of `table` for the run, read past the store (another connection). */
  countRows(table: string, runId: string): Promise<number>;
}

export interface StoreBackend {
  readonly name: 'sqlite' | 'postgres';
  /** For `describe(name, { skip })`. */
  readonly skip?: string;
  fresh(t: TestContext): Promise<StorePlace>;
}

function place(
  t: TestContext,
  open: (options: StoreOpenOptions) => Promise<AsyncRunStore>,
  countRows: StorePlace['countRows'],
): StorePlace {
  return {
    countRows,
    async open(options = {}) {
      const store = await open(options);
      t.after(() => store.close());
      return store;
    },
  };
}

export const sqliteBackend: StoreBackend = {
  name: 'sqlite',
  async fresh(t) {
    const file = await tempFile(t);
    return place(
      t,
      ({ now }) => openRunStore({ kind: 'sqlite', file, ...(now === undefined ? {} : { now }) }),
      async (table, runId) => {
        const raw = new DatabaseSync(file, { readOnly: true });
        try {
          return Number(raw.prepare(`SELECT count(*) AS n FROM ${table} WHERE run_id = ?`).get(runId)?.n);
        } finally {
          raw.close();
        }
      },
    );
  },
};

/** The cluster of the calling test file; call at the file's top level (registers the `after`). */
export function postgresBackend(): StoreBackend & { cluster(): Promise<PgCluster> } {
  const skip = pgSkipReason();
  let started: Promise<PgCluster> | undefined;
  const cluster = (): Promise<PgCluster> => (started ??= startPgCluster());
  after(async () => {
    if (started !== undefined) await (await started).stop();
  });
  return {
    name: 'postgres',
    ...(skip === undefined ? {} : { skip }),
    cluster,
    async fresh(t) {
      const pg = await cluster();
      const url = await pg.createDatabase();
      const database = new URL(url).pathname.slice(1);
      return place(
        t,
        (options) => openRunStore({ kind: 'postgres', url, password: pg.password, ...options }),
        async (table, runId) => {
          const sql = `SELECT count(*)::int AS n FROM ${table} WHERE run_id = '${runId.replaceAll("'", "''")}'`;
          return Number((await pg.query(sql, database)).rows[0].n);
        },
      );
    },
  };
}

/** Both backends, for `for (const backend of storeBackends()) describe(backend.name, …)`. */
export function storeBackends(): StoreBackend[] {
  return [sqliteBackend, postgresBackend()];
}
