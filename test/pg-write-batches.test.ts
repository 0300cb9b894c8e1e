/**
 * Group commit on the PostgreSQL store (write-batcher.ts): writes that arrive together share
 * transactions, and one that cannot commit fails alone while the others land.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode } from '../src/errors.ts';
import { postgresBackend } from './support/store-backends.ts';
import { journalRun, result } from './support/run-store-fixtures.ts';

const backend = postgresBackend();
const WRITES = 200;

/** The database's next transaction id: every transaction that writes takes one. */
async function nextXid(database: string): Promise<number> {
  const cluster = await backend.cluster();
  const { rows } = await cluster.query('SELECT pg_current_xact_id()::text::bigint AS xid', database);
  return Number(rows[0].xid);
}

test(
  'writes sent together share transactions; one refused write fails alone and the others are stored',
  { skip: backend.skip },
  async (t) => {
    const place = await backend.fresh(t);
    const store = await place.open();
    await store.runAccepted(journalRun('run-done'));
    await store.runFinished(result('run-done', 'complete'));
    const database = new URL(store.location).pathname.slice(1);
    const before = await nextXid(database);

    const writes = Array.from({ length: WRITES }, (_, i) => store.runAccepted(journalRun(`run-${i}`)));
    const reused = store.runAccepted(journalRun('run-done'));
    const outcomes = await Promise.allSettled([...writes, reused]);
    const spent = (await nextXid(database)) - before - 1;

    const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
    assert.equal(refused.length, 1, 'only the reused id is refused');
    assert.equal((refused[0] as PromiseRejectedResult).reason.code, ErrorCode.RUN_ID_INVALID);
    for (let i = 0; i < WRITES; i++) assert.equal(await place.countRows('runs', `run-${i}`), 1, `run-${i} stored`);
    assert.ok(spent < WRITES / 2, `${WRITES + 1} writes took ${spent} transactions`);
  },
);
