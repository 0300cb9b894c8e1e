/**
 * The durable record of every run, on node:sqlite: one connection (open-database.ts) shared by one
 * module per aggregate (journal, queries, outbox, progress messages, channel cursors, retention),
 * composed here into the one object the bot and the tests use. Writes are synchronous on purpose:
 * when a verb returns its change is committed, so a process killed the next instant restarts
 * knowing what it had sent.
 */
import type { HandoffTokenStore } from '../engine/handoff-tokens.ts';
import type { RunJournal } from '../engine/types.ts';
import { createApprovalBook, type ApprovalBook } from './approvals.ts';
import { createChannelCursors, type ChannelCursors } from './channel-cursors.ts';
import { createHandoffTokenBook } from './handoff-tokens.ts';
import { openDatabase } from './open-database.ts';
import { createOutbox, type Outbox } from './outbox.ts';
import { createProgressMessageBook, type ProgressMessageBook } from './progress-messages.ts';
import { createQueuedRunBook, type QueuedRunBook } from './queued-runs.ts';
import { createRunPruner, type RunPruner } from './retention.ts';
import { createRunJournal } from './run-journal.ts';
import { createRunQueries, type RunQueries } from './run-queries.ts';
import type { Synchronous } from './store-api.ts';
import { createWriteGuard, guardVerbs } from './write-guard.ts';

export { JOURNAL_SIZE_LIMIT_BYTES } from './open-database.ts';
export { deliveryNonce, NONCE_LENGTH } from './outbox.ts';
export type { ProgressMessage } from './progress-messages.ts';
export { MAX_RECENT_RUNS, type RunRecord } from './run-queries.ts';
export { QUEUED, RUNNING, type StoredRunStatus } from './schema.ts';
export type { QueuedRun } from './queued-runs.ts';

export interface RunStoreOptions {
  readonly busyTimeoutMs?: number;
  readonly now?: () => number;
}

export type RunStore = Synchronous<RunJournal> &
  RunQueries &
  Outbox &
  ProgressMessageBook &
  ChannelCursors &
  Synchronous<HandoffTokenStore> &
  ApprovalBook &
  RunPruner &
  QueuedRunBook & {
    readonly file: string;
    healthCheck(): { ok: boolean; detail?: string };
    /** Throws HQ_ERR_STORE_UNWRITABLE while the store cannot take writes (a full disk…). */
    assertWritable(): void;
    /** Being the last connection, the close checkpoints and removes the WAL. Idempotent. */
    close(): void;
  };

/**
 * Opens (creating if need be) the run store at `file`. Refuses, with an HqError naming the file,
 * a file of a newer schema version, another program's database, or something that is not sqlite.
 */
export function createRunStore(file: string, options: RunStoreOptions = {}): RunStore {
  const db = openDatabase(file, options.busyTimeoutMs);
  const now = options.now ?? Date.now;
  const ping = db.prepare('SELECT count(*) AS n FROM sqlite_schema');
  const guard = createWriteGuard(db, now);
  // Every verb goes through the guard; one that only reads never trips it.
  return {
    file,
    ...guardVerbs(createRunJournal(db, now), guard),
    ...createRunQueries(db),
    ...guardVerbs(createOutbox(db, now), guard),
    ...guardVerbs(createProgressMessageBook(db, now), guard),
    ...guardVerbs(createChannelCursors(db, now), guard),
    ...guardVerbs(createHandoffTokenBook(db, now), guard),
    ...guardVerbs(createApprovalBook(db, now), guard),
    ...guardVerbs(createRunPruner(db), guard),
    ...guardVerbs(createQueuedRunBook(db), guard),
    assertWritable: () => guard.assertWritable(),
    healthCheck() {
      if (!db.isOpen) return { ok: false, detail: 'run store is closed' };
      try {
        ping.get();
        const failure = guard.failure();
        if (failure !== undefined) {
          const since = new Date(failure.at).toISOString();
          return { ok: false, detail: `run store cannot be written since ${since}: ${failure.detail}; no new runs` };
        }
        return { ok: true };
      } catch (error) {
        return { ok: false, detail: `run store: ${(error as Error).message}` };
      }
    },
    close(): void {
      if (db.isOpen) db.close();
    },
  };
}
