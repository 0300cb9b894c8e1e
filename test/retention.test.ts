import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { createLogger } from '../src/log.ts';
import { startRetention, type RetentionOptions } from '../src/store/retention.ts';
import { createRunStore } from '../src/store/run-store.ts';
import type { AsyncRunStore } from '../src/store/store-api.ts';
import { ErrorCode, HqError } from '../src/errors.ts';
import { journalRun, result } from './support/run-store-fixtures.ts';
import { sqliteBackend, storeBackends, type StoreBackend, type StorePlace } from './support/store-backends.ts';

const DAY = 24 * 60 * 60_000;
const TODAY = 1_000 * DAY;

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly runs?: number;
  readonly retentionDays?: number;
}

async function world(t: TestContext, backend: StoreBackend) {
  const clock = { now: TODAY };
  const store = await (await backend.fresh(t)).open({ now: () => clock.now });
  const lines: LogLine[] = [];
  const log = createLogger({
    level: 'info',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  });
  const finished = async (runId: string, daysAgo: number): Promise<void> => {
    clock.now = TODAY - daysAgo * DAY;
    await store.runAccepted({
      runId,
      acceptedAt: clock.now,
      request: { runId, agent: 'webster', task: 't', principals: ['operator'], maxAttempts: 1, timeoutSeconds: 60 },
    });
    await store.runFinished({
      status: 'complete',
      result: { summary: 'ok' },
      runId,
      agent: 'webster',
      latencyMs: 0,
      attempts: 1,
    });
    await store.enqueueDelivery({ runId, kind: 'result-embed', target: {} });
    await store.markDelivered(runId, 'result-embed', { channelId: '1', messageId: '2' });
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
    runIds: async () => (await store.recentRuns({ limit: 100 })).map((run) => run.runId).sort(),
  };
}

const PRUNED_TABLES = ['runs', 'attempts', 'deliveries', 'progress_messages'] as const;

/** A run accepted at `at`, sent, answered a minute later, with its deliveries enqueued and (unless told otherwise) delivered. */
async function finishRun(
  store: AsyncRunStore,
  clock: { now: number },
  runId: string,
  at: number,
  options: { delivered?: boolean; progress?: boolean } = {},
): Promise<void> {
  clock.now = at;
  await store.runAccepted(journalRun(runId, {}, at));
  if (options.progress !== false)
    await store.recordProgressMessage(runId, {
      channelId: '1',
      messageId: '2',
      interactionToken: 'tok',
      tokenExpiresAt: at + 900_000,
    });
  await store.attemptStarted(runId, 1, at, at + 300_000);
  await store.attemptSent(runId, 1, `gw-${runId}`);
  clock.now = at + 60_000;
  await store.attemptEnded(runId, 1, 'accepted', 'complete');
  await store.runFinished(result(runId, 'complete'));
  for (const kind of ['result-embed', 'requester-reply']) {
    await store.enqueueDelivery({ runId, kind, target: { channelId: '1' } });
    if (options.delivered !== false || kind === 'result-embed')
      await store.markDelivered(runId, kind, { channelId: '1', messageId: '3' });
  }
}

async function rowsOf(place: StorePlace, runId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of PRUNED_TABLES) counts[table] = await place.countRows(table, runId);
  return counts;
}

for (const backend of storeBackends()) {
  describe(backend.name, { skip: backend.skip }, () => {
    test('the first prune runs by itself after start and logs one line with the count', async (t) => {
      const w = await world(t, backend);
      await w.finished('run-old', 31);
      await w.finished('run-recent', 29);
      const retention = w.start({ retentionDays: () => 30 });
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(await retention.pruneNow(), 0, 'the start-up prune had already removed the old run');
      assert.deepEqual(await w.runIds(), ['run-recent']);
      assert.deepEqual(
        w.pruneLines().map((line) => [line.level, line.runs, line.retentionDays]),
        [[30, 1, 30]],
        'one info line, and none for a prune that removed nothing',
      );
    });

    test('a backlog larger than a batch is cleared in one prune, batch by batch', async (t) => {
      const w = await world(t, backend);
      for (let i = 0; i < 7; i += 1) await w.finished(`run-${i}`, 100 + i);
      await w.finished('run-recent', 1);
      const retention = w.start({ retentionDays: () => 30, batchSize: 3 });
      assert.equal(await retention.pruneNow(), 7);
      assert.deepEqual(await w.runIds(), ['run-recent']);
      assert.deepEqual(
        w.pruneLines().map((line) => line.runs),
        [7],
      );
    });

    test('retentionDays 0 keeps every run; the days are read at each prune, so an edit applies without a restart', async (t) => {
      const w = await world(t, backend);
      await w.finished('run-ancient', 300);
      let days = 0;
      const retention = w.start({ retentionDays: () => days });
      assert.equal(await retention.pruneNow(), 0);
      assert.deepEqual(await w.runIds(), ['run-ancient']);
      days = 30;
      assert.equal(await retention.pruneNow(), 1);
      assert.deepEqual(await w.runIds(), []);
    });

    test('the prune repeats every interval, and stops with stop()', async (t) => {
      t.mock.timers.enable({ apis: ['setInterval'] });
      const w = await world(t, backend);
      const retention = w.start({ retentionDays: () => 30, intervalMs: 60 * 60_000 });
      await new Promise((resolve) => setImmediate(resolve));
      await w.finished('run-a', 40);
      t.mock.timers.tick(60 * 60_000);
      await retention.pruneNow();
      assert.deepEqual(await w.runIds(), []);
      assert.deepEqual(
        w.pruneLines().map((line) => line.runs),
        [1],
        'the interval removed it, not the explicit prune',
      );

      await retention.stop();
      await w.finished('run-b', 40);
      t.mock.timers.tick(60 * 60_000);
      assert.equal(await retention.pruneNow(), 0);
      assert.deepEqual(await w.runIds(), ['run-b']);
    });

    test('pruning deletes finished, delivered runs past the cut-off with their rows in every table, and nothing else', async (t) => {
      const place = await backend.fresh(t);
      const clock = { now: 0 };
      const store = await place.open({ now: () => clock.now });
      const today = 400 * DAY;
      await finishRun(store, clock, 'run-old', today - 40 * DAY);
      await finishRun(store, clock, 'run-old-no-progress', today - 39 * DAY, { progress: false });
      await finishRun(store, clock, 'run-old-pending', today - 40 * DAY, { delivered: false });
      await finishRun(store, clock, 'run-recent', today - 2 * DAY);
      clock.now = today - 365 * DAY;
      await store.runAccepted(journalRun('run-open-ancient', {}, clock.now));
      await store.attemptStarted('run-open-ancient', 1, clock.now, clock.now + 300_000);
      await store.attemptSent('run-open-ancient', 1, 'gw');
      await store.setLastSeen('555555555555555555', '666666666666666666');
      // Finished without an attempt: old enough to go all the same.
      clock.now = today - 50 * DAY;
      await store.runAccepted(journalRun('run-old-no-attempt', {}, clock.now));
      await store.runFinished(result('run-old-no-attempt', 'complete'));
      clock.now = today;

      assert.deepEqual(await rowsOf(place, 'run-old'), { runs: 1, attempts: 1, deliveries: 2, progress_messages: 1 });
      const removed = await store.pruneFinished({ olderThan: today - 30 * DAY });
      assert.equal(removed, 3);
      for (const gone of ['run-old', 'run-old-no-progress', 'run-old-no-attempt']) {
        assert.deepEqual(
          await rowsOf(place, gone),
          { runs: 0, attempts: 0, deliveries: 0, progress_messages: 0 },
          gone,
        );
        assert.equal(await store.getRun(gone), undefined);
        assert.deepEqual(await store.runEvents(gone), []);
      }
      assert.deepEqual(
        await rowsOf(place, 'run-old-pending'),
        { runs: 1, attempts: 1, deliveries: 2, progress_messages: 1 },
        'a pending delivery keeps its run',
      );
      assert.deepEqual(
        (await store.pendingDeliveries()).map((d) => [d.runId, d.kind]),
        [['run-old-pending', 'requester-reply']],
      );
      assert.deepEqual(await rowsOf(place, 'run-recent'), {
        runs: 1,
        attempts: 1,
        deliveries: 2,
        progress_messages: 1,
      });
      assert.deepEqual(
        (await store.listResumable()).map((run) => run.runId),
        ['run-open-ancient'],
        'an open run stays, however old',
      );
      assert.equal(await store.lastSeen('555555555555555555'), '666666666666666666', 'channel cursors are kept');
      assert.equal(await store.pruneFinished({ olderThan: today - 30 * DAY }), 0, 'a second prune finds nothing');

      await store.markDelivered('run-old-pending', 'requester-reply', { channelId: '1', messageId: '4' });
      assert.equal(
        await store.pruneFinished({ olderThan: today - 30 * DAY }),
        1,
        'once delivered, the run goes at the next prune',
      );
      assert.deepEqual(await rowsOf(place, 'run-old-pending'), {
        runs: 0,
        attempts: 0,
        deliveries: 0,
        progress_messages: 0,
      });
    });

    test('pruning goes in batches of at most `limit` runs, oldest first', async (t) => {
      const place = await backend.fresh(t);
      const clock = { now: 0 };
      const store = await place.open({ now: () => clock.now });
      for (let i = 0; i < 5; i += 1) await finishRun(store, clock, `run-${i}`, (10 + i) * DAY);
      const olderThan = 100 * DAY;
      assert.equal(await store.pruneFinished({ olderThan, limit: 2 }), 2);
      assert.deepEqual(
        (await store.recentRuns()).map((run) => run.runId),
        ['run-4', 'run-3', 'run-2'],
      );
      assert.equal(await store.pruneFinished({ olderThan, limit: 2 }), 2);
      assert.equal(await store.pruneFinished({ olderThan, limit: 2 }), 1);
      assert.equal(await store.pruneFinished({ olderThan, limit: 2 }), 0);
      assert.deepEqual(await store.recentRuns(), []);
    });

    test('pruning refuses a limit or cut-off it cannot use', async (t) => {
      const store = await (await backend.fresh(t)).open();
      for (const query of [
        { olderThan: Number.NaN },
        { olderThan: 1, limit: 0 },
        { olderThan: 1, limit: 1.5 },
        { olderThan: 1, limit: 1_000_000 },
      ]) {
        await assert.rejects(
          () => store.pruneFinished(query),
          (error: unknown) => error instanceof HqError && error.code === ErrorCode.USAGE,
        );
      }
    });
  });
}

test('a prune that fails (another connection holds the write lock) is logged and tried again at the next one', async (t) => {
  const w = await world(t, sqliteBackend);
  await w.finished('run-old', 40);
  const impatient = createRunStore(w.store.location, { busyTimeoutMs: 0 });
  t.after(() => impatient.close());
  const other = new DatabaseSync(w.store.location);
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
  assert.deepEqual(await w.runIds(), []);
});
