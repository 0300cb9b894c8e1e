/**
 * Keeps the run store from growing: at start and then every interval, runs that finished more
 * than `store.retentionDays` ago with nothing left to deliver are deleted, in short batches with a
 * turn of the event loop between them so a large backlog holds neither the write lock nor the
 * engine for long. The days are read at each prune, so a config edit applies without a restart.
 */
import type { DatabaseSync } from 'node:sqlite';
import { ErrorCode, HqError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { ApprovalState, RUNNING } from './schema.ts';
import { createTransaction } from './sqlite-rows.ts';

const DEFAULT_RETENTION_INTERVAL_MS = 60 * 60_000;
/** Small enough that no other writer waits long on the lock. */
export const DEFAULT_PRUNE_BATCH = 500;
export const MAX_PRUNE_BATCH = 10_000;
const DAY_MS = 24 * 60 * 60_000;

export interface PruneQuery {
  /** Epoch ms: runs that finished before it may go. */
  readonly olderThan: number;
  /** 1 to MAX_PRUNE_BATCH; default DEFAULT_PRUNE_BATCH. */
  readonly limit?: number;
}

export type RunPruner = ReturnType<typeof createRunPruner>;

/** The same refusals from both stores (postgres/retention.ts). */
export function validatePruneQuery(olderThan: number, limit: number): void {
  if (!Number.isFinite(olderThan))
    throw new HqError(ErrorCode.USAGE, `pruneFinished: olderThan must be epoch ms, not ${String(olderThan)}`);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PRUNE_BATCH) {
    throw new HqError(
      ErrorCode.USAGE,
      `pruneFinished: limit must be an integer from 1 to ${MAX_PRUNE_BATCH}, not ${String(limit)}`,
    );
  }
}

export function createRunPruner(db: DatabaseSync) {
  const transaction = createTransaction(db);
  // accepted_at <= finished_at, so the accepted_at bound lets runs_by_accepted skip every recent
  // run without an index on finished_at.
  const prunable = db.prepare(`
    SELECT run_id FROM runs r
    WHERE accepted_at < :olderThan AND status <> '${RUNNING}' AND finished_at IS NOT NULL AND finished_at < :olderThan
      AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.run_id = r.run_id AND d.delivered_at IS NULL)
    ORDER BY accepted_at LIMIT :limit`);
  // Only attempts cascade from runs; deliveries and progress messages carry no foreign key.
  const pruneDeliveries = db.prepare('DELETE FROM deliveries WHERE run_id IN (SELECT value FROM json_each(?))');
  const pruneProgress = db.prepare('DELETE FROM progress_messages WHERE run_id IN (SELECT value FROM json_each(?))');
  const pruneRuns = db.prepare('DELETE FROM runs WHERE run_id IN (SELECT value FROM json_each(?))');
  // A decided approval is history like a finished run; one still waiting is never pruned.
  const pruneApprovals = db.prepare(`
    DELETE FROM approvals WHERE run_id IN (
      SELECT run_id FROM approvals
      WHERE state <> '${ApprovalState.awaiting}' AND decided_at < :olderThan LIMIT :limit)`);

  return {
    /**
     * Deletes up to `limit` runs that finished before `olderThan` and have nothing left to deliver,
     * with their attempts, deliveries and progress message, in one transaction; returns how many.
     * Approvals decided before `olderThan` go in the same transaction (not counted).
     */
    pruneFinished(query: PruneQuery): number {
      const { olderThan } = query;
      const limit = query.limit ?? DEFAULT_PRUNE_BATCH;
      validatePruneQuery(olderThan, limit);
      return transaction(() => {
        pruneApprovals.run({ olderThan, limit });
        const ids = prunable.all({ olderThan, limit }).map((row) => String(row.run_id));
        if (ids.length === 0) return 0;
        const list = JSON.stringify(ids);
        pruneDeliveries.run(list);
        pruneProgress.run(list);
        pruneRuns.run(list);
        return ids.length;
      });
    },
  };
}

export interface RetentionOptions {
  /** Either store: the SQLite one answers at once, the PostgreSQL one with a promise. */
  readonly store: { pruneFinished(query: PruneQuery): number | Promise<number> };
  /** Read at each prune; 0 keeps every run. */
  readonly retentionDays: () => number;
  readonly log: Logger;
  readonly intervalMs?: number;
  readonly batchSize?: number;
  readonly now?: () => number;
}

interface Retention {
  /** Prunes now (after the prune under way, if any); resolves to the number of runs removed. */
  pruneNow(): Promise<number>;
  /** Stops the timer and waits for a prune under way to finish its batch, so the store can close. */
  stop(): Promise<void>;
}

export function startRetention(options: RetentionOptions): Retention {
  const { store, log } = options;
  const now = options.now ?? Date.now;
  const limit = options.batchSize ?? DEFAULT_PRUNE_BATCH;
  let stopped = false;
  let running: Promise<number> = Promise.resolve(0);

  const prune = async (): Promise<number> => {
    const days = options.retentionDays();
    if (days <= 0) return 0;
    const olderThan = now() - days * DAY_MS;
    let removed = 0;
    try {
      for (;;) {
        const batch = await store.pruneFinished({ olderThan, limit });
        removed += batch;
        if (batch < limit || stopped) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (error) {
      // Nothing is lost by skipping a prune: the next one deletes the same runs.
      log.warn({ err: error, removed }, 'pruning old runs failed; trying again at the next interval');
    }
    if (removed > 0) log.info({ runs: removed, retentionDays: days }, 'pruned finished runs past the retention');
    return removed;
  };

  const pruneNow = (): Promise<number> => {
    if (stopped) return Promise.resolve(0);
    running = running.then(prune);
    return running;
  };

  // Not on the start-up path: the first prune waits for the turn after the caller's.
  const first = setImmediate(() => void pruneNow());
  const timer = setInterval(() => void pruneNow(), options.intervalMs ?? DEFAULT_RETENTION_INTERVAL_MS);
  timer.unref();

  return {
    pruneNow,
    async stop() {
      stopped = true;
      clearImmediate(first);
      clearInterval(timer);
      await running;
    },
  };
}
