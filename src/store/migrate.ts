/**
 * Brings a run store file to SCHEMA_VERSION, or refuses it. A file from a newer build is
 * refused rather than guessed at: writing rows an unknown schema does not expect would corrupt
 * the journal the newer build relies on to resume runs.
 */
import type { DatabaseSync } from 'node:sqlite';
import { ErrorCode, HqError } from '../errors.ts';
import { APPROVALS_DDL } from './approvals.ts';
import { HANDOFF_TOKENS_DDL } from './handoff-tokens.ts';
import { APPLICATION_ID, SCHEMA_DDL, SCHEMA_TABLES, SCHEMA_VERSION } from './schema.ts';

/** SQL taking a file from version N (the key) to N + 1. */
const MIGRATIONS: Readonly<Record<number, string>> = {
  1: HANDOFF_TOKENS_DDL,
  // The secret in a run's handoff file name, so a restarted process waits on the same path.
  2: 'ALTER TABLE runs ADD COLUMN handoff_secret TEXT;',
  // A message in any thread asks which run opened it (RUN_BY_RESULT_THREAD_SQL), and a follow-up
  // reads its thread's runs (THREAD_RUNS_SQL): both by index, not by scanning every row.
  3: `
    CREATE INDEX IF NOT EXISTS deliveries_by_message ON deliveries (kind, message_id) WHERE delivered_at IS NOT NULL;
    CREATE INDEX IF NOT EXISTS runs_by_thread ON runs (json_extract(origin_json, '$.threadId'))
      WHERE json_extract(origin_json, '$.threadId') IS NOT NULL;`,
  // Delegations held for approval (approvals.ts).
  4: APPROVALS_DDL,
};

function refuse(file: string, why: string, cause?: unknown): HqError {
  return new HqError(ErrorCode.CONFIG_INVALID, `${file}: ${why}`, cause === undefined ? undefined : { cause });
}

function readPragma(db: DatabaseSync, name: 'user_version' | 'application_id'): number {
  const row = db.prepare(`PRAGMA ${name}`).get();
  return Number(row?.[name] ?? 0);
}

/** Runs inside one IMMEDIATE transaction so two processes opening a new file do not both create it. */
export function migrate(db: DatabaseSync, file: string): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    const applicationId = readPragma(db, 'application_id');
    if (applicationId !== 0 && applicationId !== APPLICATION_ID) {
      throw refuse(
        file,
        `is not an hq-delegate run store (sqlite application_id ${applicationId}); point paths.stateDir elsewhere`,
      );
    }
    let version = readPragma(db, 'user_version');
    if (version > SCHEMA_VERSION) {
      throw refuse(
        file,
        `run store schema version ${version} is newer than this build understands (${SCHEMA_VERSION}); ` +
          'run the build that wrote it, or point paths.stateDir at another directory',
      );
    }
    if (version === 0) {
      const foreign = db
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .all()
        .map((row) => String(row.name))
        .filter((name) => !(SCHEMA_TABLES as readonly string[]).includes(name));
      if (foreign.length > 0) {
        throw refuse(
          file,
          `is not an hq-delegate run store (it has tables ${foreign.join(', ')}); point paths.stateDir elsewhere`,
        );
      }
      // Version 1's tables, then every step: a new file is built as an old one is migrated.
      db.exec(SCHEMA_DDL);
      version = 1;
    }
    for (; version < SCHEMA_VERSION; version++) {
      const step = MIGRATIONS[version];
      if (step === undefined) throw refuse(file, `no migration from run store schema version ${version}`);
      db.exec(step);
    }
    db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    db.exec('COMMIT');
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
