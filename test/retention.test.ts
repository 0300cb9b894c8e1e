import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { createLogger } from '../src/log.ts';
import { startRetention, type RetentionOptions } from '../src/store/retention.ts';
import { createRunStore } from '../src/store/run-store.ts';

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
  const log = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) } });
  const finished = (runId: string, daysAgo: number): void => {
    clock.now = TODAY - daysAgo * DAY;
    store.runAccepted({ runId, acceptedAt: clock.now, request: { runId, agent: 'webster', task: 't', principals: ['operator'], maxAttempts: 1, timeoutSeconds: 60 } });
    store.runFinished({ status: 'complete', result: { summary: 'ok' }, runId, agent: 'webster', latencyMs: 0, attempts: 1 });
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
  return { store, clock, finished, start, pruneLines, runIds: () => store.recentRuns({ limit: 100 }).map((run) => run.runId).sort() };
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
  assert.deepEqual(w.pruneLines().map((line) => line.runs), [7]);
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
  assert.deepEqual(w.pruneLines().map((line) => line.runs), [1], 'the interval removed it, not the explicit prune');

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
  const log = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) } });
  const retention = startRetention({ store: impatient, log, retentionDays: () => 30, now: () => w.clock.now });
  t.after(() => retention.stop());
  assert.equal(await retention.pruneNow(), 0);
  assert.deepEqual(lines.map((line) => [line.level, line.msg]), [[40, 'pruning old runs failed; trying again at the next interval']]);
  other.exec('COMMIT');
  assert.equal(await retention.pruneNow(), 1);
  assert.deepEqual(w.runIds(), []);
});
