/**
 * A message in any thread asks the store which run opened it, and a follow-up reads its thread's
 * runs: both queries go through an index (migration step 3), checked with EXPLAIN QUERY PLAN.
 */
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { test, type TestContext } from 'node:test';
import { RUN_BY_RESULT_THREAD_SQL } from '../src/store/outbox.ts';
import { THREAD_RUNS_SQL } from '../src/store/run-queries.ts';
import { SCHEMA_VERSION } from '../src/store/schema.ts';
import { journalRun, open, tempFile } from './support/run-store-fixtures.ts';

const THREAD = '333333333333333333';

function planOf(db: DatabaseSync, sql: string): string {
  return db
    .prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .all()
    .map((row) => String(row.detail))
    .join('\n');
}

function raw(t: TestContext, file: string): DatabaseSync {
  const db = new DatabaseSync(file);
  t.after(() => db.close());
  return db;
}

async function storeWithThread(t: TestContext): Promise<string> {
  const file = await tempFile(t);
  const store = open(t, file);
  store.runAccepted(journalRun('root'));
  store.markDelivered('root', 'result-thread', { channelId: '222222222222222222', messageId: THREAD });
  const followUp = journalRun('follow', { origin: { kind: 'mention', threadId: THREAD } }, 2_000);
  store.runAccepted(followUp);
  assert.equal(store.runIdByResultThread(THREAD), 'root');
  assert.deepEqual(
    store.runsOfThread({ rootRunId: 'root', threadId: THREAD, limit: 5 }).map((run) => run.runId),
    ['follow', 'root'],
  );
  return file;
}

test('the thread lookups of a new store use their indexes', async (t) => {
  const db = raw(t, await storeWithThread(t));
  assert.match(planOf(db, RUN_BY_RESULT_THREAD_SQL), /SEARCH deliveries USING (COVERING )?INDEX deliveries_by_message/);
  const threadRuns = planOf(db, THREAD_RUNS_SQL);
  assert.match(threadRuns, /SEARCH runs USING INDEX runs_by_thread/);
  assert.doesNotMatch(threadRuns, /SCAN runs/);
});

test('a version 3 store gains the thread indexes when opened', async (t) => {
  const file = await storeWithThread(t);
  const old = new DatabaseSync(file);
  old.exec('DROP INDEX deliveries_by_message; DROP INDEX runs_by_thread; PRAGMA user_version = 3');
  assert.match(planOf(old, RUN_BY_RESULT_THREAD_SQL), /SCAN deliveries|USING (COVERING )?INDEX (?!deliveries_by)/);
  old.close();

  const store = open(t, file);
  assert.equal(store.runIdByResultThread(THREAD), 'root', 'the rows are kept');
  const db = raw(t, file);
  assert.equal(db.prepare('PRAGMA user_version').get()?.user_version, SCHEMA_VERSION);
  assert.match(planOf(db, RUN_BY_RESULT_THREAD_SQL), /INDEX deliveries_by_message/);
  assert.match(planOf(db, THREAD_RUNS_SQL), /INDEX runs_by_thread/);
});
