/**
 * A finished run's row, written on the next turn of the event loop instead of before the engine
 * reports the result: the one sqlite commit on the path from a handoff to its answer was most of
 * what the store cost the engine there (a cold commit is ~30–50 µs against a ~0.2 ms path).
 *
 * Nothing that matters can get ahead of it. Every other verb of the store, read or write, first
 * commits what is queued here, and anything the bot does in Discord with a result starts with a
 * store write (the outbox entry), so no message is ever posted for a run whose result is not
 * committed. Runs answered in the same turn share one transaction.
 *
 * Nothing is lost if the process dies in between: the run is still open in the journal with its
 * attempt sent, so the next start resumes it, finds the handoff it had accepted (handoff files
 * stay where the agent wrote them) and answers it again, exactly as for a kill a moment before
 * the handoff was read.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';

export class RunSettler {
  #db: DatabaseSync;
  #onDropped: (runId: string, error: unknown) => void;
  #begin: StatementSync;
  #commit: StatementSync;
  #savepoint: StatementSync;
  #release: StatementSync;
  #undo: StatementSync;
  #rollback: StatementSync;
  /** run id → the statements that finish it; written in this order. */
  #pending = new Map<string, () => void>();
  #scheduled: NodeJS.Immediate | undefined;

  constructor(db: DatabaseSync, onDropped: (runId: string, error: unknown) => void) {
    this.#db = db;
    this.#onDropped = onDropped;
    this.#begin = db.prepare('BEGIN IMMEDIATE');
    this.#commit = db.prepare('COMMIT');
    this.#savepoint = db.prepare('SAVEPOINT finish_run');
    this.#release = db.prepare('RELEASE finish_run');
    this.#undo = db.prepare('ROLLBACK TO finish_run');
    this.#rollback = db.prepare('ROLLBACK');
  }

  /** Queues `write` (statements, no transaction of its own) to finish the run soon. */
  defer(runId: string, write: () => void): void {
    this.#pending.delete(runId);
    this.#pending.set(runId, write);
    // setImmediate, not a microtask: a microtask would run before the engine's caller hears the result.
    this.#scheduled ??= setImmediate(this.#flushLater);
  }

  /**
   * Commits everything queued now, in one transaction (inside a caller's, the statements join
   * it). Each run's write stands alone (a savepoint): one that fails is undone, reported and
   * dropped, so it holds back neither the others nor every later verb; its run stays open in
   * the journal and the next start resumes it, as after a kill. If the transaction itself
   * cannot begin or commit, the writes stay queued and the error goes to the caller.
   */
  flush(): void {
    if (this.#pending.size === 0 || !this.#db.isOpen) return;
    const own = !this.#db.isTransaction;
    if (own) this.#begin.run();
    try {
      for (const [runId, write] of this.#pending) {
        this.#savepoint.run();
        try {
          write();
        } catch (error) {
          this.#undo.run();
          this.#onDropped(runId, error);
        }
        this.#release.run();
      }
      if (own) this.#commit.run();
    } catch (error) {
      if (own && this.#db.isTransaction) this.#rollback.run();
      throw error;
    }
    this.#pending.clear();
  }

  /** Stops the scheduled flush (the caller flushes, or accepts that the runs resume at the next start). */
  cancel(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
  }

  readonly #flushLater = (): void => {
    this.#scheduled = undefined;
    try {
      this.flush();
    } catch {
      // No caller to tell; the writes stay queued for the next verb, and a restart resumes the runs.
    }
  };
}
