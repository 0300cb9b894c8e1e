/**
 * The run store on PostgreSQL: one pool shared by one module per aggregate, as run-store.ts composes
 * the SQLite ones. Every write is one transaction, committed when its promise resolves.
 */
import { createPgApprovalBook } from './approvals.ts';
import { createPgChannelCursors } from './channel-cursors.ts';
import { createPgHandoffTokenBook } from './handoff-tokens.ts';
import { migratePostgres } from './migrate.ts';
import { describePgError, openPool, redactedUrl } from './open-pool.ts';
import { createPgOutbox } from './outbox.ts';
import { createPgProgressMessageBook } from './progress-messages.ts';
import { createPgQueuedRunBook } from './queued-runs.ts';
import { createPgRunPruner } from './retention.ts';
import { createPgRunJournal } from './run-journal.ts';
import { createPgRunQueries } from './run-queries.ts';
import { createSession, type Fence } from './session.ts';
import { ErrorCode, HqError, isHqError } from '../../errors.ts';
import type { AsyncRunStore } from '../store-api.ts';

export interface PgRunStoreOptions {
  readonly url: string;
  readonly password?: string;
  readonly fence?: Fence;
  readonly now?: () => number;
  readonly poolSize?: number;
}

/** Connects, migrates (once, however many processes start together) and composes the verbs. */
export async function openPgRunStore(options: PgRunStoreOptions): Promise<AsyncRunStore> {
  const location = redactedUrl(options.url);
  const pool = openPool({
    url: options.url,
    ...(options.password === undefined ? {} : { password: options.password }),
    ...(options.poolSize === undefined ? {} : { max: options.poolSize }),
  });
  try {
    await migratePostgres(pool, location);
  } catch (error) {
    await pool.end().catch(() => {});
    if (isHqError(error)) throw error;
    throw new HqError(
      ErrorCode.CONFIG_INVALID,
      `${location}: cannot be opened as a run store (${describePgError(error)})`,
      {
        cause: error,
      },
    );
  }
  const now = options.now ?? Date.now;
  const session = createSession(pool, now, options.fence);
  let closed = false;
  return {
    kind: 'postgres',
    location,
    ...createPgRunJournal(session, now),
    ...createPgRunQueries(session),
    ...createPgOutbox(session, now),
    ...createPgProgressMessageBook(session, now),
    ...createPgChannelCursors(session, now),
    ...createPgHandoffTokenBook(session, now),
    ...createPgApprovalBook(session, now),
    ...createPgRunPruner(session),
    ...createPgQueuedRunBook(session),
    assertWritable: () => session.assertWritable(),
    async healthCheck() {
      if (closed) return { ok: false, detail: 'run store is closed' };
      try {
        await session.read('SELECT 1');
        const failure = await session.failure();
        if (failure !== undefined) {
          const since = new Date(failure.at).toISOString();
          return { ok: false, detail: `run store cannot be written since ${since}: ${failure.detail}; no new runs` };
        }
        return { ok: true };
      } catch (error) {
        return { ok: false, detail: `run store: ${describePgError(error)}` };
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
