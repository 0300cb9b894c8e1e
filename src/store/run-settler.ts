/**
 * A finished run's status, written just after its answer. The engine waits for the commit that
 * holds a run's result before it reports it, so that commit touches as few pages as it can: the
 * run's own row only (result, finished_at, attempts, answer_attempt: columns no index reads while
 * the status is still 'running'). Changing the status moves the run between index entries
 * (runs_by_status, runs_finished_by_agent: two or three more WAL frames), so it is committed
 * a moment later, off the engine's path: on the next turn of the event loop (all runs answered
 * in the meantime in one transaction), or before anything reads a run's status.
 *
 * Nothing is lost if the process dies in between: the answer is committed, and the next open
 * settles every row that has finished_at but still says 'running' (settleLeftovers).
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';

/** The status a run is stored with until its result is known (run-store.ts RUNNING). */
const RUNNING = 'running';

/** Settles rows a process answered and then died before settling. One indexed UPDATE. */
export function settleLeftovers(db: DatabaseSync): number {
  const { changes } = db
    .prepare(
      `UPDATE runs SET status = coalesce(json_extract(result_json, '$.status'), 'error')
       WHERE status = '${RUNNING}' AND finished_at IS NOT NULL`,
    )
    .run();
  return Number(changes);
}

export class RunSettler {
  #db: DatabaseSync;
  #onWrite: () => void;
  #settle: StatementSync;
  #begin: StatementSync;
  #commit: StatementSync;
  #rollback: StatementSync;
  /** run id → the status its answer committed; settled in this order. */
  #pending = new Map<string, string>();
  #scheduled: NodeJS.Immediate | undefined;

  constructor(db: DatabaseSync, onWrite: () => void) {
    this.#db = db;
    this.#onWrite = onWrite;
    this.#settle = db.prepare('UPDATE runs SET status = ? WHERE run_id = ?');
    this.#begin = db.prepare('BEGIN IMMEDIATE');
    this.#commit = db.prepare('COMMIT');
    this.#rollback = db.prepare('ROLLBACK');
  }

  /** The run's answer is committed with status still 'running': settle it to `status` soon. */
  answered(runId: string, status: string): void {
    this.#pending.delete(runId);
    this.#pending.set(runId, status);
    // setImmediate, not a microtask: a microtask would run before the engine's caller hears the result.
    this.#scheduled ??= setImmediate(this.#settleLater);
  }

  /**
   * Commits every pending status now. Inside a caller's transaction the statements join it. On
   * failure the statuses stay pending (the next read tries again; a restart settles them).
   */
  flush(): void {
    if (this.#pending.size === 0 || !this.#db.isOpen) return;
    const own = this.#pending.size > 1 && !this.#db.isTransaction;
    if (own) this.#begin.run();
    try {
      for (const [runId, status] of this.#pending) this.#settle.run(status, runId);
      if (own) this.#commit.run();
    } catch (error) {
      if (own && this.#db.isTransaction) this.#rollback.run();
      throw error;
    }
    this.#pending.clear();
    this.#onWrite();
  }

  /** Stops the scheduled settle (the caller flushes or accepts leaving the rest to the next open). */
  cancel(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
  }

  readonly #settleLater = (): void => {
    this.#scheduled = undefined;
    try {
      this.flush();
    } catch {
      // No caller to tell; the statuses stay pending for the next read, or the next open.
    }
  };
}
