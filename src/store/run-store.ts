/**
 * The durable record of every run, on node:sqlite (the shape of undici's sqlite cache store):
 * open the file once (open-database.ts), then one module per aggregate, each preparing its own
 * statements on that connection and exposing a few verbs:
 *
 * - run-journal.ts        what the engine records as a run goes (its RunJournal)
 * - run-queries.ts        what /runs, /agents and a restart read back
 * - outbox.ts             Discord messages owed, sent exactly once across restarts
 * - progress-messages.ts  messages that may be left spinning, with their interaction tokens
 * - channel-cursors.ts    the last message seen per channel
 * - retention.ts          deleting finished, delivered runs past the retention
 *
 * createRunStore composes them into the one object the bot, the CLI and the tests use. Writes
 * are synchronous on purpose: when a verb returns, its change is committed, so a process killed
 * the next instant restarts knowing what it had sent. A state change is one statement committed
 * on its own (a write statement takes the write lock before it reads, so a second connection
 * waits on busy_timeout); the few multi-statement writes take the lock up front (sqlite-rows.ts).
 */
import type { RunJournal } from '../engine/types.ts';
import { createChannelCursors, type ChannelCursors } from './channel-cursors.ts';
import { openDatabase } from './open-database.ts';
import { createOutbox, type Outbox } from './outbox.ts';
import { createProgressMessageBook, type ProgressMessageBook } from './progress-messages.ts';
import { createRunPruner, type RunPruner } from './retention.ts';
import { createRunJournal } from './run-journal.ts';
import { createRunQueries, type RunQueries } from './run-queries.ts';

export type { ChannelCursor } from './channel-cursors.ts';
export { DEFAULT_BUSY_TIMEOUT_MS, JOURNAL_SIZE_LIMIT_BYTES } from './open-database.ts';
export { deliveryNonce, NONCE_LENGTH, type DeliveredMessage, type Delivery, type DeliveryKind } from './outbox.ts';
export type { ProgressMessage, ProgressMessageInput } from './progress-messages.ts';
export { DEFAULT_PRUNE_BATCH, MAX_PRUNE_BATCH, type PruneQuery } from './retention.ts';
export {
  MAX_RECENT_RUNS,
  type AttemptRecord,
  type PendingRun,
  type RecentRunsQuery,
  type RunDetail,
  type RunEvent,
  type RunRecord,
} from './run-queries.ts';
export { RUNNING, type StoredRunStatus } from './schema.ts';

export interface HealthResult {
  readonly ok: boolean;
  readonly detail?: string;
}

export interface RunStoreOptions {
  readonly busyTimeoutMs?: number;
  /** Epoch ms; tests pass a fixed clock. */
  readonly now?: () => number;
}

export type RunStore = RunJournal &
  RunQueries &
  Outbox &
  ProgressMessageBook &
  ChannelCursors &
  RunPruner & {
    readonly file: string;
    healthCheck(): HealthResult;
    /** Being the last connection, the close checkpoints and removes the WAL. Idempotent. */
    close(): void;
    [Symbol.dispose](): void;
  };

/**
 * Opens (creating if need be) the run store at `file`. Refuses, with an HqError naming the file,
 * a file of a newer schema version, another program's database, or something that is not sqlite.
 */
export function createRunStore(file: string, options: RunStoreOptions = {}): RunStore {
  const db = openDatabase(file, options.busyTimeoutMs);
  const now = options.now ?? Date.now;
  const ping = db.prepare('SELECT count(*) AS n FROM sqlite_schema');
  const close = (): void => {
    if (db.isOpen) db.close();
  };
  return {
    file,
    ...createRunJournal(db, now),
    ...createRunQueries(db),
    ...createOutbox(db, now),
    ...createProgressMessageBook(db, now),
    ...createChannelCursors(db, now),
    ...createRunPruner(db),
    healthCheck(): HealthResult {
      if (!db.isOpen) return { ok: false, detail: 'run store is closed' };
      try {
        ping.get();
        return { ok: true };
      } catch (error) {
        return { ok: false, detail: `run store: ${(error as Error).message}` };
      }
    },
    close,
    [Symbol.dispose]: close,
  };
}
