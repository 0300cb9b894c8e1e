/**
 * The lease table, made here until the PostgreSQL store's migrations exist to make it: the merger
 * swaps this for running those migrations. The DDL is the contract shared with the store.
 */
import pg from 'pg';
import { parsePgUrl } from '../../src/store/postgres/leader-lease.ts';

const LEASE_TABLE_DDL =
  'CREATE TABLE hq_lease (name text PRIMARY KEY, holder text NOT NULL, epoch bigint NOT NULL, expires_at timestamptz NOT NULL)';

export async function createLeaseTable(url: string, password: string): Promise<void> {
  const client = new pg.Client({ ...parsePgUrl(url), password });
  await client.connect();
  try {
    await client.query(LEASE_TABLE_DDL);
  } finally {
    await client.end();
  }
}
