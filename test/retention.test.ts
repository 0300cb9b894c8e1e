import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { createLogger } from '../src/log.ts';
import { startRetention, type RetentionOptions } from '../src/store/retention.ts';
import { createRunStore, type RunStore } from '../src/store/run-store.ts';
import { ErrorCode, HqError } from '../src/errors.ts';
import { journalRun, open, result, tempFile } from './support/run-store-fixtures.ts';

const DAY = 24 * 60 * 60_000;
const TODAY = 1_000 * DAY;

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly runs?: number;
  readonly retentionDays?: number;
}

async function world(t: TestContext) {
  const dir = await mkdtemp(path.join(tmpdir(), 'hq-retention-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const clock = { now: TODAY };
  const store = createRunStore(path.join(dir, 'runs.sqlite'), { now: () => clock.now });
  t.after(() => store.close());
  const lines: LogLine[] = [];
  const log = createLogger({
    level: 'info',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  });
  const finished = (runId: string, daysAgo: number): void => {
    clock.now = TODAY - daysAgo * DAY;
    store.runAccepted({
      runId,
      acceptedAt: clock.now,
      request: { runId, agent: 'webster', task: 't', principals: ['operator'], maxAttempts: 1, timeoutSeconds: 60 },
    });
    store.runFinished({
      status: 'complete',
      result: { summary: 'ok' },
      runId,
      agent: 'webster',
      latencyMs: 0,
      attempts: 1,
    });
    store.enqueueDelivery({ runId, kind: 'result-embed', target: {} });
    store.markDelivered(runId, 'result-embed', { channelId: '1', messageId: '2' });
    clock.now = TODAY;
  };
  const start = (options: Partial<RetentionOptions> & Pick<RetentionOptions, 'retentionDays'>) => {
    const retention = startRetention({ store, log, now: () => clock.now, ...options });
    t.after(() => retention.stop());
    return retention;
  };
  const pruneLines = () => lines.filter((line) => line.msg === 'pruned finished runs past the retention');
  return {
    store,
    clock,
    finished,
    start,
    pruneLines,
    runIds: () =>
      store
        .recentRuns({ limit: 100 })
        .map((run) => run.runId)
        .sort(),
  };
}

test('the first prune runs by itself after start and logs one line with the count', async (t) => {
  const w = await world(t);
  w.finished('run-old', 31);
  w.finished('run-recent', 29);
  const retention = w.start({ retentionDays: () => 30 });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(await retention.pruneNow(), 0, 'the start-up prune had already removed the old run');
  assert.deepEqual(w.runIds(), ['run-recent']);
  assert.deepEqual(
    w.pruneLines().map((line) => [line.level, line.runs, line.retentionDays]),
    [[30, 1, 30]],
    'one info line, and none for a prune that removed nothing',
  );
});

test('a backlog larger than a batch is cleared in one prune, batch by batch', async (t) => {
  const w = await world(t);
  for (let i = 0; i < 7; i += 1) w.finished(`run-${i}`, 100 + i);
  w.finished('run-recent', 1);
  const retention = w.start({ retentionDays: () => 30, batchSize: 3 });
  assert.equal(await retention.pruneNow(), 7);
  assert.deepEqual(w.runIds(), ['run-recent']);
  assert.deepEqual(
    w.pruneLines().map((line) => line.runs),
    [7],
  );
});

test('retentionDays 0 keeps every run; the days are read at each prune, so an edit applies without a restart', async (t) => {
  const w = await world(t);
  w.finished('run-ancient', 300);
  let days = 0;
  const retention = w.start({ retentionDays: () => days });
  assert.equal(await retention.pruneNow(), 0);
  assert.deepEqual(w.runIds(), ['run-ancient']);
  days = 30;
  assert.equal(await retention.pruneNow(), 1);
  assert.deepEqual(w.runIds(), []);
});

test('the prune repeats every interval, and stops with stop()', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const w = await world(t);
  const retention = w.start({ retentionDays: () => 30, intervalMs: 60 * 60_000 });
  await new Promise((resolve) => setImmediate(resolve));
  w.finished('run-a', 40);
  t.mock.timers.tick(60 * 60_000);
  await retention.pruneNow();
  assert.deepEqual(w.runIds(), []);
  assert.deepEqual(
    w.pruneLines().map((line) => line.runs),
    [1],
    'the interval removed it, not the explicit prune',
  );

  await retention.stop();
  w.finished('run-b', 40);
  t.mock.timers.tick(60 * 60_000);
  assert.equal(await retention.pruneNow(), 0);
  assert.deepEqual(w.runIds(), ['run-b']);
});

test('a prune that fails (another connection holds the write lock) is logged and tried again at the next one', async (t) => {
  const w = await world(t);
  w.finished('run-old', 40);
  const impatient = createRunStore(w.store.file, { busyTimeoutMs: 0 });
  t.after(() => impatient.close());
  const other = new DatabaseSync(w.store.file);
  t.after(() => other.close());
  other.exec('BEGIN IMMEDIATE');
  const lines: LogLine[] = [];
  const log = createLogger({
    level: 'info',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  });
  const retention = startRetention({ store: impatient, log, retentionDays: () => 30, now: () => w.clock.now });
  t.after(() => retention.stop());
  assert.equal(await retention.pruneNow(), 0);
  assert.deepEqual(
    lines.map((line) => [line.level, line.msg]),
    [[40, 'pruning old runs failed; trying again at the next interval']],
  );
  other.exec('COMMIT');
  assert.equal(await retention.pruneNow(), 1);
  assert.deepEqual(w.runIds(), []);
});

const PRUNED_TABLES = ['runs', 'attempts', 'deliveries', 'progress_messages'] as const;

/** A run accepted at `at`, sent, answered a minute later, with its deliveries enqueued and (unless told otherwise) delivered. */
function finishRun(
  store: RunStore,
  clock: { now: number },
  runId: string,
  at: number,
  options: { delivered?: boolean; progress?: boolean } = {},
): void {
  clock.now = at;
  store.runAccepted(journalRun(runId, {}, at));
  if (options.progress !== false)
    store.recordProgressMessage(runId, {
      channelId: '1',
      messageId: '2',
      interactionToken: 'tok',
      tokenExpiresAt: at + 900_000,
    });
  store.attemptStarted(runId, 1, at, at + 300_000);
  store.attemptSent(runId, 1, `gw-${runId}`);
  clock.now = at + 60_000;
  store.attemptEnded(runId, 1, 'accepted', 'complete');
  store.runFinished(result(runId, 'complete'));
  for (const kind of ['result-embed', 'requester-reply']) {
    store.enqueueDelivery({ runId, kind, target: { channelId: '1' } });
    if (options.delivered !== false || kind === 'result-embed')
      store.markDelivered(runId, kind, { channelId: '1', messageId: '3' });
  }
}

function rowsOf(file: string, runId: string): Record<string, number> {
  const raw = new DatabaseSync(file, { readOnly: true });
  try {
    return Object.fromEntries(
      PRUNED_TABLES.map((table) => [
        table,
        Number(raw.prepare(`SELECT count(*) AS n FROM ${table} WHERE run_id = ?`).get(runId)?.n),
      ]),
    );
  } finally {
    raw.close();
  }
}

test('pruning deletes finished, delivered runs past the cut-off with their rows in every table, and nothing else', async (t) => {
  const file = await tempFile(t);
  const clock = { now: 0 };
  const store = open(t, file, { now: () => clock.now });
  const today = 400 * DAY;
  finishRun(store, clock, 'run-old', today - 40 * DAY);
  finishRun(store, clock, 'run-old-no-progress', today - 39 * DAY, { progress: false });
  finishRun(store, clock, 'run-old-pending', today - 40 * DAY, { delivered: false });
  finishRun(store, clock, 'run-recent', today - 2 * DAY);
  clock.now = today - 365 * DAY;
  store.runAccepted(journalRun('run-open-ancient', {}, clock.now));
  store.attemptStarted('run-open-ancient', 1, clock.now, clock.now + 300_000);
  store.attemptSent('run-open-ancient', 1, 'gw');
  store.setLastSeen('555555555555555555', '666666666666666666');
  // Finished without an attempt: old enough to go all the same.
  clock.now = today - 50 * DAY;
  store.runAccepted(journalRun('run-old-no-attempt', {}, clock.now));
  store.runFinished(result('run-old-no-attempt', 'complete'));
  clock.now = today;

  assert.deepEqual(rowsOf(file, 'run-old'), { runs: 1, attempts: 1, deliveries: 2, progress_messages: 1 });
  const removed = store.pruneFinished({ olderThan: today - 30 * DAY });
  assert.equal(removed, 3);
  for (const gone of ['run-old', 'run-old-no-progress', 'run-old-no-attempt']) {
    assert.deepEqual(rowsOf(file, gone), { runs: 0, attempts: 0, deliveries: 0, progress_messages: 0 }, gone);
    assert.equal(store.getRun(gone), undefined);
    assert.deepEqual(store.runEvents(gone), []);
  }
  assert.deepEqual(
    rowsOf(file, 'run-old-pending'),
    { runs: 1, attempts: 1, deliveries: 2, progress_messages: 1 },
    'a pending delivery keeps its run',
  );
  assert.deepEqual(
    store.pendingDeliveries().map((d) => [d.runId, d.kind]),
    [['run-old-pending', 'requester-reply']],
  );
  assert.deepEqual(rowsOf(file, 'run-recent'), { runs: 1, attempts: 1, deliveries: 2, progress_messages: 1 });
  assert.deepEqual(
    store.listResumable().map((run) => run.runId),
    ['run-open-ancient'],
    'an open run stays, however old',
  );
  assert.equal(store.lastSeen('555555555555555555'), '666666666666666666', 'channel cursors are kept');
  assert.equal(store.pruneFinished({ olderThan: today - 30 * DAY }), 0, 'a second prune finds nothing');

  store.markDelivered('run-old-pending', 'requester-reply', { channelId: '1', messageId: '4' });
  assert.equal(
    store.pruneFinished({ olderThan: today - 30 * DAY }),
    1,
    'once delivered, the run goes at the next prune',
  );
  assert.deepEqual(rowsOf(file, 'run-old-pending'), { runs: 0, attempts: 0, deliveries: 0, progress_messages: 0 });
});

test('pruning goes in batches of at most `limit` runs, oldest first', async (t) => {
  const file = await tempFile(t);
  const clock = { now: 0 };
  const store = open(t, file, { now: () => clock.now });
  for (let i = 0; i < 5; i += 1) finishRun(store, clock, `run-${i}`, (10 + i) * DAY);
  const olderThan = 100 * DAY;
  assert.equal(store.pruneFinished({ olderThan, limit: 2 }), 2);
  assert.deepEqual(
    store.recentRuns().map((run) => run.runId),
    ['run-4', 'run-3', 'run-2'],
  );
  assert.equal(store.pruneFinished({ olderThan, limit: 2 }), 2);
  assert.equal(store.pruneFinished({ olderThan, limit: 2 }), 1);
  assert.equal(store.pruneFinished({ olderThan, limit: 2 }), 0);
  assert.deepEqual(store.recentRuns(), []);
});

test('pruning refuses a limit or cut-off it cannot use', async (t) => {
  const store = open(t, await tempFile(t));
  for (const query of [
    { olderThan: Number.NaN },
    { olderThan: 1, limit: 0 },
    { olderThan: 1, limit: 1.5 },
    { olderThan: 1, limit: 1_000_000 },
  ]) {
    assert.throws(
      () => store.pruneFinished(query),
      (error: unknown) => error instanceof HqError && error.code === ErrorCode.USAGE,
    );
  }
});
