/**
 * Opens the run store's sqlite file as undici's sqlite cache store does: WAL, synchronous =
 * NORMAL (a commit survives the process dying; only a power cut may take the last few), then the
 * schema (migrate.ts).
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
  // SQLite gives the -wal and -shm files the main file's permissions.
  try {
    writeFileSync(file, '', { flag: 'wx', mode: 0o600 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST')
      throw new HqError(ErrorCode.CONFIG_INVALID, `${file}: cannot create the run store (${code})`, { cause: error });
  }
}

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
