import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import pg from 'pg';
import { pgSkipReason, startPgCluster } from './support/pg-cluster.ts';

const skip = pgSkipReason();

test('the throwaway cluster takes password logins on loopback and is gone after stop', { skip }, async (t) => {
  const cluster = await startPgCluster();
  t.after(() => cluster.stop());
  const database = new URL(await cluster.createDatabase()).pathname.slice(1);
  const login = { host: cluster.host, port: cluster.port, user: cluster.user, database };

  const client = new pg.Client({ ...login, password: cluster.password });
  await client.connect();
  const { rows } = await client.query<{ one: number }>('SELECT 1 AS one');
  await client.end();
  assert.equal(rows[0]?.one, 1);

  const intruder = new pg.Client({ ...login, password: 'wrong' });
  await assert.rejects(intruder.connect(), /password authentication failed/);

  const dataDir = (await cluster.query('SHOW data_directory')).rows[0].data_directory as string;
  await cluster.stop();
  assert.equal(existsSync(dataDir), false, 'the cluster directory is removed');
});
