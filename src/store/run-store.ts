/**
 * The durable record of every run, on node:sqlite: one connection (open-database.ts) shared by one
 * module per aggregate (journal, queries, outbox, progress messages, channel cursors, retention),
 * composed here into the one object the bot and the tests use. Writes are synchronous on purpose:
 * when a verb returns its change is committed, so a process killed the next instant restarts
 * knowing what it had sent.
 */
import type { HandoffTokenStore } from '../engine/handoff-tokens.ts';
import type { RunJournal } from '../engine/types.ts';
import { createChannelCursors, type ChannelCursors } from './channel-cursors.ts';
import { createHandoffTokenBook } from './handoff-tokens.ts';
import { openDatabase } from './open-database.ts';
import { createOutbox, type Outbox } from './outbox.ts';
import { createProgressMessageBook, type ProgressMessageBook } from './progress-messages.ts';
import { createRunPruner, type RunPruner } from './retention.ts';
import { createRunJournal } from './run-journal.ts';
import { createRunQueries, type RunQueries } from './run-queries.ts';

export { JOURNAL_SIZE_LIMIT_BYTES } from './open-database.ts';
export { deliveryNonce, NONCE_LENGTH } from './outbox.ts';
export type { ProgressMessage } from './progress-messages.ts';
export { MAX_RECENT_RUNS, type RunRecord } from './run-queries.ts';
export { RUNNING, type StoredRunStatus } from './schema.ts';

export interface RunStoreOptions {
  readonly busyTimeoutMs?: number;
  readonly now?: () => number;
}

export type RunStore = RunJournal &
  RunQueries &
  Outbox &
  ProgressMessageBook &
  ChannelCursors &
  HandoffTokenStore &
  RunPruner & {
    readonly file: string;
    healthCheck(): { ok: boolean; detail?: string };
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
  return {
    file,
    ...createRunJournal(db, now),
    ...createRunQueries(db),
    ...createOutbox(db, now),
    ...createProgressMessageBook(db, now),
    ...createChannelCursors(db, now),
    ...createHandoffTokenBook(db, now),
    ...createRunPruner(db),
    healthCheck() {
      if (!db.isOpen) return { ok: false, detail: 'run store is closed' };
      try {
        ping.get();
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
