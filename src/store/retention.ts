/**
 * Keeps the run store from growing for as long as the bot runs: once at start and then every
 * interval, runs that finished more than `store.retentionDays` ago with nothing left to deliver
 * are deleted (RunStore.pruneFinished). The days are read at each prune, so an edit to the config
 * file applies at the next one without a restart.
 *
 * A backlog is cleared in batches, each its own short transaction, with a turn of the event loop
 * between them: the first prune of a store that has kept everything for months holds neither the
 * write lock nor the engine for long.
 */
import type { Logger } from '../log.ts';
import { DEFAULT_PRUNE_BATCH, type RunStore } from './run-store.ts';

export const DEFAULT_RETENTION_INTERVAL_MS = 60 * 60_000;
const DAY_MS = 24 * 60 * 60_000;

export interface RetentionOptions {
  readonly store: Pick<RunStore, 'pruneFinished'>;
  /** Read at each prune; 0 keeps every run. */
  readonly retentionDays: () => number;
  readonly log: Logger;
  readonly intervalMs?: number;
  /** Runs deleted in one transaction. */
  readonly batchSize?: number;
  /** Epoch ms; tests pass a fixed clock. */
  readonly now?: () => number;
}

export interface Retention {
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
        const batch = store.pruneFinished({ olderThan, limit });
        removed += batch;
        if (batch < limit || stopped) break;
        // Whatever else this process has to write goes between two batches.
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
