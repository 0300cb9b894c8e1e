/**
 * Opens the run store's sqlite file as undici's sqlite cache store does: WAL, synchronous =
 * NORMAL, then the schema (migrate.ts). Every store module prepares its statements on the
 * connection this returns.
 *
 * In WAL mode NORMAL syncs at checkpoints only: a commit survives the process dying; only a power
 * cut may take the last few. sqlite checkpoints by itself, on the commit that takes the WAL past
 * wal_autocheckpoint (1 000 pages by default), and journal_size_limit cuts the file back when the
 * WAL restarts after one.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { ErrorCode, HqError, isHqError } from '../errors.ts';
import { migrate } from './migrate.ts';

export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
/** The WAL is cut back to this size when it restarts after a complete checkpoint. */
export const JOURNAL_SIZE_LIMIT_BYTES = 16 * 1_024 * 1_024;

/** Interaction tokens live in the store for up to 15 minutes: a new file is its owner's alone. */
function createOwnerOnly(file: string): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  // SQLite gives the -wal and -shm files the main file's permissions. An empty file is a new database.
  try {
    writeFileSync(file, '', { flag: 'wx', mode: 0o600 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST')
      throw new HqError(ErrorCode.CONFIG_INVALID, `${file}: cannot create the run store (${code})`, { cause: error });
  }
}

/**
 * Opens (creating if need be) the run store at `file`. Refuses, with an HqError naming the file,
 * a file of a newer schema version, another program's database, or something that is not sqlite.
 */
export function openDatabase(file: string, busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS): DatabaseSync {
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new HqError(ErrorCode.CONFIG_INVALID, 'options.busyTimeoutMs must be a non-negative integer');
  }
  if (file !== ':memory:') createOwnerOnly(file);
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(file, { timeout: busyTimeoutMs, enableForeignKeyConstraints: true });
    db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      PRAGMA busy_timeout = ${busyTimeoutMs};
      PRAGMA journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES};
    `);
    migrate(db, file);
    return db;
  } catch (error) {
    if (db?.isOpen) db.close();
    if (isHqError(error)) throw error;
    throw new HqError(
      ErrorCode.CONFIG_INVALID,
      `${file}: cannot be opened as a run store (${(error as Error).message})`,
      { cause: error },
    );
  }
}
