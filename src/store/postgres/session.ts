/**
 * How every PostgreSQL store module talks to the database: reads straight from the pool, writes in
 * transactions (several together under load: write-batcher.ts), fenced when the store is given a
 * fence, and guarded as ../write-guard.ts guards SQLite's: a database that cannot take writes
 * becomes HQ_ERR_STORE_UNWRITABLE, remembered until a probe write succeeds, so /healthz reports it
 * and new runs are refused.
 */
import type pg from 'pg';
import { ErrorCode, HqError } from '../../errors.ts';
import { STORE_UNWRITABLE_MESSAGE, type WriteFailure } from '../write-guard.ts';
import { describePgError } from './open-pool.ts';
import { createWriteBatcher } from './write-batcher.ts';

export type Query = <R extends pg.QueryResultRow = pg.QueryResultRow>(
  sql: string,
  params?: readonly unknown[],
) => Promise<pg.QueryResult<R>>;

/** The leader lease's current epoch, or undefined once this process no longer holds it. */
export type Fence = () => number | undefined;

export interface PgSession {
  readonly read: Query;
  /**
   * Runs `fn` in a transaction (after the fence check, when fenced), perhaps with other writes;
   * committed when it resolves.
   */
  write<T>(fn: (query: Query) => Promise<T>): Promise<T>;
  failure(): Promise<WriteFailure | undefined>;
  assertWritable(): Promise<void>;
}

export const STORE_FENCED_MESSAGE = 'This process no longer leads; another replica took over, so it writes nothing.';

// The lease row is read FOR SHARE: a takeover's UPDATE of it waits until every write that saw the
// old epoch has committed, so no write of a deposed leader lands after the new leader starts.
// Sent with BEGIN in one round trip (a simple query takes no parameters: the epoch, an integer, is inlined).
const beginFenced = (epoch: number): string =>
  `BEGIN; SELECT 1 FROM hq_lease WHERE name = 'leader' AND epoch = ${epoch} AND expires_at > now() FOR SHARE`;

const PROBE = `INSERT INTO runs (run_id, agent, status, accepted_at, request_json)
  VALUES ('hq-write-probe', 'probe', 'running', 0, repeat('0', 8192))`;

/** Server classes and socket errors that mean "the database cannot take writes now". */
const UNWRITABLE_CLASSES = ['08', '53', '57P', '25006', '58'];
const UNWRITABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

function isUnwritable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    return UNWRITABLE_SOCKET_CODES.has(code) || UNWRITABLE_CLASSES.some((prefix) => code.startsWith(prefix));
  }
  const message = String((error as Error | null)?.message ?? '');
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(
    message,
  );
}

/**
 * Each write statement is prepared once per connection under a name of its own, so the server
 * parses and plans a verb's statement once rather than at every write.
 */
const names = new Map<string, string>();
function statementName(sql: string): string {
  let name = names.get(sql);
  if (name === undefined) names.set(sql, (name = `hq_${names.size}`));
  return name;
}

export function fencedError(): HqError {
  return new HqError(ErrorCode.STORE_FENCED, STORE_FENCED_MESSAGE);
}

export function createSession(pool: pg.Pool, now: () => number, fence: Fence | undefined): PgSession {
  let failed: WriteFailure | undefined;
  const read: Query = (sql, params) => pool.query(sql, params as unknown[]);

  /** Several writes in one transaction: one fence check and one commit for all. */
  async function batch(fns: ReadonlyArray<(query: Query) => Promise<unknown>>): Promise<unknown[]> {
    const client = await pool.connect();
    let broken: unknown;
    try {
      const epoch = fence?.();
      if (fence === undefined) await client.query('BEGIN');
      else if (epoch === undefined || !Number.isSafeInteger(epoch)) throw fencedError();
      else {
        const [, lease] = (await client.query(beginFenced(epoch))) as unknown as pg.QueryResult[];
        if (lease?.rowCount !== 1) throw fencedError();
      }
      const query: Query = (sql, params) =>
        client.query({ name: statementName(sql), text: sql, values: params as unknown[] });
      const values: unknown[] = [];
      for (const fn of fns) values.push(await fn(query));
      await client.query('COMMIT');
      return values;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => (broken = rollbackError));
      throw error;
    } finally {
      // A connection whose rollback failed is not given to the next writer.
      client.release(broken === undefined ? undefined : (broken as Error));
    }
  }

  async function probe(): Promise<void> {
    try {
      // A row is written and rolled back: a database that still answers reads may refuse writes.
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(PROBE);
      } finally {
        await client.query('ROLLBACK').catch(() => {});
        client.release();
      }
      failed = undefined;
    } catch (error) {
      if (!isUnwritable(error)) throw error;
      failed = { at: failed?.at ?? now(), detail: describePgError(error) };
    }
  }

  const batcher = createWriteBatcher({
    batch,
    isolate: (error) => !isUnwritable(error) && !(error instanceof HqError && error.code === ErrorCode.STORE_FENCED),
  });

  return {
    read,
    async write(fn) {
      try {
        return await batcher.write(fn);
      } catch (error) {
        if (!isUnwritable(error)) throw error;
        failed ??= { at: now(), detail: describePgError(error) };
        throw new HqError(ErrorCode.STORE_UNWRITABLE, STORE_UNWRITABLE_MESSAGE, { cause: error });
      }
    },
    async failure() {
      if (failed !== undefined) await probe();
      return failed;
    },
    async assertWritable() {
      if (failed === undefined) return;
      await probe();
      if (failed !== undefined) throw new HqError(ErrorCode.STORE_UNWRITABLE, STORE_UNWRITABLE_MESSAGE);
    },
  };
}
