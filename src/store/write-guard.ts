/**
 * What a full disk (or a read-only or broken state directory) does to the store: every write
 * that fails for such a reason becomes one HqError, HQ_ERR_STORE_UNWRITABLE, whose message is
 * true for whoever asked, and the store remembers the failure so /healthz says 503 and new runs
 * are refused before anything is sent. A probe decides when it is over: it allocates pages for
 * a run-sized row and rolls back, so it also fails when the file may not grow.
 */
import type { DatabaseSync } from 'node:sqlite';
import { ErrorCode, HqError } from '../errors.ts';

/** SQLite primary result codes that mean "this store cannot take writes now". */
const UNWRITABLE_CODES: ReadonlySet<number> = new Set([
  8, // SQLITE_READONLY
  10, // SQLITE_IOERR
  13, // SQLITE_FULL
  14, // SQLITE_CANTOPEN
]);
/** A run's request with a task at the length /delegate allows, in bytes of text. */
const PROBE_ROW_BYTES = 8_192;

export const STORE_UNWRITABLE_MESSAGE =
  'hq-delegate cannot record runs right now: its run store cannot be written (the disk may be full). ' +
  'Nothing was sent to the agent. Try again once an admin has fixed it.';

export interface WriteFailure {
  readonly at: number;
  readonly detail: string;
}

export interface WriteGuard {
  /** Runs a write; a failure of the kind above is remembered and thrown as HQ_ERR_STORE_UNWRITABLE. */
  write<T>(fn: () => T): T;
  /** Undefined when writes work (probed again while a failure is remembered). */
  failure(): WriteFailure | undefined;
  /** Throws HQ_ERR_STORE_UNWRITABLE while writes fail. */
  assertWritable(): void;
}

function isUnwritable(error: unknown): error is Error & { errcode: number; errstr?: string } {
  const errcode = (error as { errcode?: unknown } | null)?.errcode;
  return typeof errcode === 'number' && UNWRITABLE_CODES.has(errcode & 0xff);
}

export function createWriteGuard(db: DatabaseSync, now: () => number): WriteGuard {
  let failed: WriteFailure | undefined;
  const probe = db.prepare(`
    INSERT INTO runs (run_id, agent, status, accepted_at, request_json)
    VALUES ('hq-write-probe', 'probe', 'running', 0, hex(zeroblob(${PROBE_ROW_BYTES / 2})))`);

  function remember(error: Error & { errcode: number; errstr?: string }): HqError {
    failed ??= { at: now(), detail: error.errstr ?? error.message };
    return new HqError(ErrorCode.STORE_UNWRITABLE, STORE_UNWRITABLE_MESSAGE, { cause: error });
  }

  function probeNow(): void {
    if (!db.isOpen || db.isTransaction) return;
    try {
      db.exec('BEGIN IMMEDIATE');
      probe.run();
      failed = undefined;
    } catch (error) {
      if (!isUnwritable(error)) throw error;
      failed = { at: failed?.at ?? now(), detail: error.errstr ?? error.message };
    } finally {
      if (db.isTransaction) db.exec('ROLLBACK');
    }
  }

  return {
    write(fn) {
      try {
        return fn();
      } catch (error) {
        throw isUnwritable(error) ? remember(error) : error;
      }
    },
    failure() {
      if (failed !== undefined) probeNow();
      return failed;
    },
    assertWritable() {
      if (failed === undefined) return;
      probeNow();
      if (failed !== undefined) throw new HqError(ErrorCode.STORE_UNWRITABLE, STORE_UNWRITABLE_MESSAGE);
    },
  };
}

/** The same verbs, each run through the guard. */
export function guardVerbs<T extends object>(verbs: T, guard: WriteGuard): T {
  const guarded: Record<string, unknown> = {};
  for (const [name, verb] of Object.entries(verbs)) {
    guarded[name] =
      typeof verb === 'function' ? (...args: unknown[]) => guard.write(() => verb(...args) as unknown) : verb;
  }
  return guarded as T;
}
