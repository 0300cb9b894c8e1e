/**
 * Brings a PostgreSQL database to PG_SCHEMA_VERSION, or refuses it, as ../migrate.ts does for a
 * file. The whole migration is one transaction holding a transaction-scoped advisory lock, so of
 * several processes starting at once one migrates and the others, once it commits, find the
 * version current and do nothing.
 */
import type pg from 'pg';
import { ErrorCode, HqError } from '../../errors.ts';
import { MIGRATION_LOCK_KEY, PG_SCHEMA_V1, PG_SCHEMA_V2, PG_SCHEMA_V3, PG_SCHEMA_VERSION } from './schema.ts';

/** SQL taking a database from version N (the key) to N + 1. */
const MIGRATIONS: Readonly<Record<number, string>> = {
  // Approvals and the thread indexes (schema.ts).
  1: PG_SCHEMA_V2,
  // The handoff relay between replicas (handoff-relay.ts).
  2: PG_SCHEMA_V3,
};

function refuse(where: string, why: string): HqError {
  return new HqError(ErrorCode.CONFIG_INVALID, `${where}: ${why}`);
}

async function currentVersion(client: pg.PoolClient, where: string): Promise<number> {
  const table = await client.query<{ found: string | null }>("SELECT to_regclass('schema_version')::text AS found");
  if (table.rows[0]?.found === null || table.rows[0]?.found === undefined) {
    const { rows } = await client.query<{ name: string }>(
      "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() AND tablename IN ('runs', 'attempts')",
    );
    if (rows.length > 0) {
      const names = rows.map((row) => row.name).join(', ');
      throw refuse(where, `is not an hq-delegate run store (it has tables ${names} but no schema_version)`);
    }
    return 0;
  }
  const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_version');
  return rows[0]?.version ?? 0;
}

export async function migratePostgres(pool: pg.Pool, where: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    let version = await currentVersion(client, where);
    if (version > PG_SCHEMA_VERSION) {
      throw refuse(
        where,
        `run store schema version ${version} is newer than this build understands (${PG_SCHEMA_VERSION}); ` +
          'run the build that wrote it, or point store.url at another database',
      );
    }
    if (version === 0) {
      await client.query(PG_SCHEMA_V1);
      await client.query('INSERT INTO schema_version (version) VALUES (1)');
      version = 1;
    }
    for (; version < PG_SCHEMA_VERSION; version++) {
      const step = MIGRATIONS[version];
      if (step === undefined) throw refuse(where, `no migration from run store schema version ${version}`);
      await client.query(step);
    }
    await client.query('UPDATE schema_version SET version = $1', [PG_SCHEMA_VERSION]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
