import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { createRunStore, deliveryNonce, JOURNAL_SIZE_LIMIT_BYTES, NONCE_LENGTH, type RunStore, type RunStoreOptions } from '../src/store/run-store.ts';
import { SCHEMA_VERSION } from '../src/store/schema.ts';
import { ErrorCode, HqError } from '../src/errors.ts';
import type { JournalRun, RunResult } from '../src/engine/types.ts';

async function tempFile(t: TestContext, name = 'runs.sqlite'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hq-run-store-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return path.join(dir, 'state', name);
}

function open(t: TestContext, file: string, options?: RunStoreOptions): RunStore {
  const store = createRunStore(file, options);
  t.after(() => store.close());
  return store;
}

function journalRun(runId: string, overrides: Partial<JournalRun['request']> = {}, acceptedAt = 1_000): JournalRun {
  return {
    runId,
    acceptedAt,
    request: {
      runId,
      agent: 'tech-lead',
      task: `task of ${runId}`,
      principals: ['manager'],
      maxAttempts: 3,
      timeoutSeconds: 300,
      origin: { kind: 'slash', requesterId: '111111111111111111', channelId: '222222222222222222' },
      ...overrides,
    },
  };
}

function result(runId: string, status: RunResult['status'], agent = 'tech-lead'): RunResult {
  return { status, result: { summary: `done ${runId}` }, runId, agent, latencyMs: 1_234, attempts: 1 };
}

test('a new file is created in WAL mode with the current schema version', async (t) => {
  const file = await tempFile(t);
  open(t, file).close();
  const raw = new DatabaseSync(file);
  t.after(() => raw.close());
  assert.equal(raw.prepare('PRAGMA journal_mode').get()?.journal_mode, 'wal');
  assert.equal(raw.prepare('PRAGMA user_version').get()?.user_version, SCHEMA_VERSION);
  assert.equal((await stat(file)).mode & 0o777, 0o600, 'only the owner may read the interaction tokens inside');
});

test('a sent run survives a restart with its attempt, original deadline and origin', async (t) => {
  const file = await tempFile(t);
  const first = createRunStore(file);
  const run = journalRun('run-sent');
  first.runAccepted(run);
  first.attemptStarted('run-sent', 1, 2_000, 302_000);
  first.attemptSent('run-sent', 1, 'gw-1');
  first.close();

  const second = open(t, file);
  const [resumable, ...rest] = second.listResumable();
  assert.equal(rest.length, 0);
  assert.deepEqual(resumable, {
    runId: 'run-sent',
    request: run.request,
    acceptedAt: 1_000,
    attempt: 1,
    sent: true,
    attemptStartedAt: 2_000,
    deadline: 302_000,
  });
  assert.equal(second.getRun('run-sent')?.attempts[0]?.gatewayRunId, 'gw-1');
});

test('an attempt started but not sent resumes unsent and without a deadline', async (t) => {
  const store = open(t, await tempFile(t));
  store.runAccepted(journalRun('run-unsent'));
  store.attemptStarted('run-unsent', 1, 2_000, 302_000);
  const [resumable] = store.listResumable();
  assert.equal(resumable?.attempt, 1);
  assert.equal(resumable?.sent, false);
  assert.equal(resumable?.deadline, undefined);
  assert.equal(resumable?.attemptStartedAt, 2_000);
});

test('a run accepted before any attempt resumes at attempt 1', async (t) => {
  const store = open(t, await tempFile(t));
  store.runAccepted(journalRun('run-new'));
  const [resumable] = store.listResumable();
  assert.equal(resumable?.attempt, 1);
  assert.equal(resumable?.sent, false);
  assert.equal(resumable?.retryNote, undefined);
});

test('a run whose attempt ended resumes at the next attempt with the retry note', async (t) => {
  const file = await tempFile(t);
  const first = createRunStore(file);
  first.runAccepted(journalRun('run-retry'));
  first.attemptStarted('run-retry', 1, 2_000, 302_000);
  first.attemptSent('run-retry', 1, undefined);
  first.attemptEnded('run-retry', 1, 'timeout', 'timeout');
  first.close();

  const second = open(t, file);
  const [afterEnd] = second.listResumable();
  assert.equal(afterEnd?.attempt, 2);
  assert.equal(afterEnd?.sent, false);
  assert.equal(afterEnd?.retryNote, 'timeout');
  assert.equal(afterEnd?.lastOutcome, 'timeout');

  second.attemptStarted('run-retry', 2, 310_000, 610_000);
  second.attemptSent('run-retry', 2, 'gw-2');
  const [inSecond] = second.listResumable();
  assert.equal(inSecond?.attempt, 2);
  assert.equal(inSecond?.sent, true);
  assert.equal(inSecond?.deadline, 610_000);
  assert.equal(inSecond?.retryNote, 'timeout', 'the note the second attempt was sent with');
});

test('a sent attempt keeps its original deadline when started again', async (t) => {
  const store = open(t, await tempFile(t));
  store.runAccepted(journalRun('run-deadline'));
  store.attemptStarted('run-deadline', 1, 2_000, 302_000);
  store.attemptSent('run-deadline', 1, 'gw');
  store.attemptStarted('run-deadline', 1, 9_000, 909_000);
  assert.equal(store.listResumable()[0]?.deadline, 302_000);
});

test('a finished run leaves the resumable list and keeps its result, attempts and history', async (t) => {
  let now = 5_000;
  const file = await tempFile(t);
  const first = createRunStore(file, { now: () => now });
  first.runAccepted(journalRun('run-done'));
  first.attemptStarted('run-done', 1, 2_000, 302_000);
  first.attemptSent('run-done', 1, 'gw');
  now = 6_000;
  first.attemptEnded('run-done', 1, 'complete', '');
  first.runFinished(result('run-done', 'complete'));
  first.close();

  const store = open(t, file);
  assert.deepEqual(store.listResumable(), []);
  const run = store.getRun('run-done');
  assert.equal(run?.status, 'complete');
  assert.equal(run?.finishedAt, 6_000);
  assert.deepEqual(run?.result, result('run-done', 'complete'));
  assert.equal(run?.requesterId, '111111111111111111');
  assert.deepEqual(run?.attempts, [
    { attempt: 1, startedAt: 2_000, deadline: 302_000, sent: true, sentAt: 5_000, gatewayRunId: 'gw', outcome: 'complete', detail: '', endedAt: 6_000 },
  ]);
  assert.deepEqual(
    store.runEvents('run-done').map((event) => [event.type, event.attempt]),
    [
      ['accepted', undefined],
      ['attempt_started', 1],
      ['attempt_sent', 1],
      ['attempt_ended', 1],
      ['finished', undefined],
    ],
  );
});

test("a run's history is read from its rows, in the order things happened, even within one millisecond", async (t) => {
  const store = open(t, await tempFile(t), { now: () => 7_000 });
  store.runAccepted(journalRun('run-history', {}, 7_000));
  store.attemptStarted('run-history', 1, 7_000, 8_000);
  store.attemptSent('run-history', 1, 'gw-1');
  store.attemptEnded('run-history', 1, 'timeout', 'no answer');
  store.attemptStarted('run-history', 2, 7_000, 9_000);
  store.attemptSent('run-history', 2, undefined);
  store.attemptEnded('run-history', 2, 'accepted', 'complete');
  store.runFinished({ ...result('run-history', 'failed'), code: 'HQ_ERR_HANDOFF_INVALID' });
  store.enqueueDelivery({ runId: 'run-history', kind: 'result-embed', target: { channelId: '1' } });
  store.markDelivered('run-history', 'result-embed', { channelId: '1', messageId: '2' });
  store.markDelivered('run-history', 'requester-reply', { channelId: '1', messageId: '3' });

  assert.deepEqual(
    store.runEvents('run-history').map(({ id, type, attempt, data }) => [id, type, attempt, data]),
    [
      [1, 'accepted', undefined, { agent: 'tech-lead', at: 7_000 }],
      [2, 'attempt_started', 1, { startedAt: 7_000, deadline: 8_000 }],
      [3, 'attempt_sent', 1, { gatewayRunId: 'gw-1' }],
      [4, 'attempt_ended', 1, { outcome: 'timeout', detail: 'no answer' }],
      [5, 'attempt_started', 2, { startedAt: 7_000, deadline: 9_000 }],
      [6, 'attempt_sent', 2, undefined],
      [7, 'attempt_ended', 2, { outcome: 'accepted', detail: 'complete' }],
      [8, 'finished', undefined, { status: 'failed', code: 'HQ_ERR_HANDOFF_INVALID' }],
      [9, 'delivery_enqueued', undefined, { kind: 'result-embed' }],
      [10, 'delivered', undefined, { kind: 'requester-reply', channelId: '1', messageId: '3' }],
      [11, 'delivered', undefined, { kind: 'result-embed', channelId: '1', messageId: '2' }],
    ],
  );
  assert.deepEqual(store.runEvents('run-nobody-knows'), []);
});

test('announcing an open run again changes nothing, and a finished run id cannot be reused', async (t) => {
  const store = open(t, await tempFile(t));
  store.runAccepted(journalRun('run-again'));
  store.attemptStarted('run-again', 1, 2_000, 302_000);
  store.runAccepted(journalRun('run-again', { task: 'another task' }));
  assert.equal(store.getRun('run-again')?.task, 'task of run-again');
  assert.equal(store.listResumable()[0]?.attemptStartedAt, 2_000);

  store.runFinished(result('run-again', 'failed'));
  assert.throws(
    () => store.runAccepted(journalRun('run-again')),
    (error: unknown) => error instanceof HqError && error.code === ErrorCode.RUN_ID_INVALID && /run-again/.test(error.message),
  );
});

test('a result for a run never accepted is still recorded', async (t) => {
  const store = open(t, await tempFile(t));
  store.runFinished(result('run-orphan', 'invalid', 'webster'));
  assert.equal(store.getRun('run-orphan')?.status, 'invalid');
  assert.equal(store.lastResult('webster')?.runId, 'run-orphan');
  assert.deepEqual(store.listResumable(), []);
});

test('an enqueued delivery is pending once, however often it is enqueued, until it is marked delivered', async (t) => {
  let now = 1_000;
  const file = await tempFile(t);
  const first = createRunStore(file, { now: () => now });
  first.runAccepted(journalRun('run-out'));
  const enqueued = first.enqueueDelivery({ runId: 'run-out', kind: 'result-embed', target: { channelId: '1', n: 1 } });
  now = 2_000;
  const again = first.enqueueDelivery({ runId: 'run-out', kind: 'result-embed', target: { channelId: '1', n: 2 } });
  assert.deepEqual(again, enqueued, 'the first enqueue wins');
  first.enqueueDelivery({ runId: 'run-out', kind: 'requester-reply', target: { userId: '9' } });
  assert.deepEqual(
    first.pendingDeliveries().map((d) => [d.kind, d.enqueuedAt]),
    [
      ['result-embed', 1_000],
      ['requester-reply', 2_000],
    ],
    'oldest first',
  );
  first.close();

  const second = open(t, file);
  const pending = second.pendingDeliveries();
  assert.equal(pending.length, 2, 'pending deliveries survive a restart');
  assert.deepEqual(pending.find((d) => d.kind === 'result-embed')?.target, { channelId: '1', n: 1 });

  assert.equal(second.markDelivered('run-out', 'result-embed', { channelId: '1', messageId: '100' }), true);
  assert.equal(second.markDelivered('run-out', 'result-embed', { channelId: '1', messageId: '200' }), false);
  const delivered = second.getDelivery('run-out', 'result-embed');
  assert.equal(delivered?.messageId, '100', 'the first delivery is the one kept');
  assert.equal(delivered?.channelId, '1');
  assert.equal(typeof delivered?.deliveredAt, 'number');
  assert.deepEqual(
    second.pendingDeliveries().map((d) => d.kind),
    ['requester-reply'],
  );
  assert.equal(second.enqueueDelivery({ runId: 'run-out', kind: 'result-embed', target: {} }).messageId, '100');
  assert.deepEqual(
    second.pendingDeliveries().map((d) => d.kind),
    ['requester-reply'],
    're-enqueueing a delivered message does not send it again',
  );
  assert.equal(second.getDelivery('run-out', 'mention-reply'), undefined);
});

test('a delivery nonce is short, stable across restarts and distinct per run and kind', async (t) => {
  const file = await tempFile(t);
  const first = createRunStore(file);
  const nonce = first.deliveryNonce('orch-1700000000-deadbeef', 'result-embed');
  const enqueued = first.enqueueDelivery({ runId: 'orch-1700000000-deadbeef', kind: 'result-embed', target: null });
  first.close();
  const second = open(t, file);
  assert.ok(nonce.length <= NONCE_LENGTH);
  assert.equal(enqueued.nonce, nonce);
  assert.equal(second.deliveryNonce('orch-1700000000-deadbeef', 'result-embed'), nonce);
  assert.equal(deliveryNonce('orch-1700000000-deadbeef', 'result-embed'), nonce);
  assert.notEqual(second.deliveryNonce('orch-1700000000-deadbeef', 'requester-reply'), nonce);
  assert.notEqual(second.deliveryNonce('orch-1700000000-deadbeee', 'result-embed'), nonce);
});

test('two connections racing to mark one delivery see exactly one success', async (t) => {
  const file = await tempFile(t);
  const a = open(t, file);
  const b = open(t, file);
  a.enqueueDelivery({ runId: 'run-race', kind: 'mention-reply', target: {} });
  const outcomes = [
    b.markDelivered('run-race', 'mention-reply', { channelId: '1', messageId: '2' }),
    a.markDelivered('run-race', 'mention-reply', { channelId: '1', messageId: '3' }),
  ];
  assert.deepEqual(outcomes, [true, false]);
  assert.equal(a.getDelivery('run-race', 'mention-reply')?.messageId, '2');
});

test('progress messages are listed with their run status until cleared, and expired tokens are withheld', async (t) => {
  let now = 10_000;
  const file = await tempFile(t);
  const store = open(t, file, { now: () => now });
  store.runAccepted(journalRun('run-progress'));
  store.recordProgressMessage('run-progress', { channelId: '1', messageId: '2', interactionToken: 'tok', tokenExpiresAt: 20_000 });
  store.recordProgressMessage('run-unknown', { channelId: '3', messageId: '4' });

  assert.deepEqual(store.progressMessages(), [
    { runId: 'run-progress', channelId: '1', messageId: '2', recordedAt: 10_000, interactionToken: 'tok', tokenExpiresAt: 20_000, runStatus: 'running' },
    { runId: 'run-unknown', channelId: '3', messageId: '4', recordedAt: 10_000 },
  ]);

  now = 20_000;
  store.runFinished(result('run-progress', 'timeout'));
  const [progress] = store.progressMessages();
  assert.equal(progress?.interactionToken, undefined);
  assert.equal(progress?.runStatus, 'timeout');

  assert.equal(store.clearProgressMessage('run-progress'), true);
  assert.equal(store.clearProgressMessage('run-progress'), false);
  assert.deepEqual(
    store.progressMessages().map((p) => p.runId),
    ['run-unknown'],
  );
});

test('a channel cursor only moves forward, comparing snowflakes as numbers', async (t) => {
  const file = await tempFile(t);
  const first = createRunStore(file);
  assert.equal(first.lastSeen('555555555555555555'), undefined);
  assert.equal(first.setLastSeen('555555555555555555', '99999999999999999'), true);
  assert.equal(first.setLastSeen('555555555555555555', '100000000000000000'), true, 'longer is later, though it sorts first as text');
  assert.equal(first.setLastSeen('555555555555555555', '99999999999999999'), false);
  assert.equal(first.setLastSeen('555555555555555555', '100000000000000000'), false);
  first.setLastSeen('666666666666666666', '123456789012345678');
  first.close();

  const second = open(t, file);
  assert.equal(second.lastSeen('555555555555555555'), '100000000000000000');
  assert.deepEqual(
    second.allCursors().map(({ channelId, messageId }) => [channelId, messageId]),
    [
      ['555555555555555555', '100000000000000000'],
      ['666666666666666666', '123456789012345678'],
    ],
  );
  assert.throws(() => second.setLastSeen('555555555555555555', 'not-a-snowflake'), HqError);
  assert.throws(() => second.setLastSeen('555555555555555555', '-1'), HqError);
});

test('recent runs are newest first and filter by agent, status and requester', async (t) => {
  const store = open(t, await tempFile(t));
  const spec = [
    ['r1', 'tech-lead', 'alice', 'complete'],
    ['r2', 'webster', 'alice', 'failed'],
    ['r3', 'tech-lead', 'bob', 'failed'],
    ['r4', 'tech-lead', 'alice', undefined],
    ['r5', 'webster', undefined, 'complete'],
  ] as const;
  spec.forEach(([runId, agent, requesterId, status], i) => {
    store.runAccepted(journalRun(runId, { agent, origin: requesterId === undefined ? { kind: 'cli' } : { requesterId } }, 1_000 + i));
    if (status !== undefined) store.runFinished(result(runId, status, agent));
  });
  const ids = (query: Parameters<RunStore['recentRuns']>[0]) => store.recentRuns(query).map((run) => run.runId);

  assert.deepEqual(ids({ limit: 10 }), ['r5', 'r4', 'r3', 'r2', 'r1']);
  assert.deepEqual(ids({ limit: 2 }), ['r5', 'r4']);
  assert.deepEqual(ids({ agent: 'tech-lead', limit: 10 }), ['r4', 'r3', 'r1']);
  assert.deepEqual(ids({ status: 'failed', limit: 10 }), ['r3', 'r2']);
  assert.deepEqual(ids({ status: 'running', limit: 10 }), ['r4']);
  assert.deepEqual(ids({ requesterId: 'alice', limit: 10 }), ['r4', 'r2', 'r1']);
  assert.deepEqual(ids({ agent: 'tech-lead', requesterId: 'alice', status: 'complete', limit: 10 }), ['r1']);
  assert.deepEqual(ids({ agent: 'nobody', limit: 10 }), []);
  assert.equal(store.recentRuns({ limit: 10 })[0]?.requesterId, undefined);
  assert.equal(store.recentRuns({ limit: 10 })[1]?.requesterId, 'alice');
});

test('the last result of an agent is its most recently finished run', async (t) => {
  let now = 1_000;
  const store = open(t, await tempFile(t), { now: () => now });
  store.runAccepted(journalRun('older'));
  store.runAccepted(journalRun('newer'));
  store.runFinished(result('newer', 'failed'));
  now = 2_000;
  store.runFinished(result('older', 'complete'));
  assert.equal(store.lastResult('tech-lead')?.runId, 'older');
  assert.equal(store.lastResult('webster'), undefined);
});

test('a file from a newer schema version is refused with a clear error and left as it was', async (t) => {
  const file = await tempFile(t);
  createRunStore(file).close();
  const raw = new DatabaseSync(file);
  raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
  raw.close();

  assert.throws(
    () => createRunStore(file),
    (error: unknown) =>
      error instanceof HqError &&
      error.code === ErrorCode.CONFIG_INVALID &&
      error.message.includes(file) &&
      error.message.includes(`version ${SCHEMA_VERSION + 1} is newer`),
  );
  const check = new DatabaseSync(file);
  t.after(() => check.close());
  assert.equal(check.prepare('PRAGMA user_version').get()?.user_version, SCHEMA_VERSION + 1);
});

test('a file that is not a run store is refused', async (t) => {
  const garbage = await tempFile(t, 'garbage.sqlite');
  createRunStore(path.join(path.dirname(garbage), 'make-dir.sqlite')).close();
  await writeFile(garbage, 'this is not a database, just some text that is long enough to look like a header '.repeat(20));
  assert.throws(() => createRunStore(garbage), (error: unknown) => error instanceof HqError && error.message.includes(garbage));

  const foreign = path.join(path.dirname(garbage), 'foreign.sqlite');
  const raw = new DatabaseSync(foreign);
  raw.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY)');
  raw.close();
  assert.throws(() => createRunStore(foreign), /not an hq-delegate run store \(it has tables invoices\)/);
});

test('500 pending runs are listed after a restart quickly', async (t) => {
  const file = await tempFile(t);
  const first = createRunStore(file);
  for (let i = 0; i < 500; i++) {
    const runId = `bulk-${String(i).padStart(3, '0')}`;
    first.runAccepted(journalRun(runId, {}, 1_000 + i));
    first.attemptStarted(runId, 1, 2_000 + i, 302_000 + i);
    if (i % 2 === 0) first.attemptSent(runId, 1, `gw-${i}`);
  }
  for (let i = 0; i < 100; i++) first.runFinished(result(`done-${i}`, 'complete'));
  first.close();

  const store = open(t, file);
  const started = performance.now();
  const runs = store.listResumable();
  const elapsedMs = performance.now() - started;
  assert.equal(runs.length, 500);
  assert.equal(runs[0]?.runId, 'bulk-000');
  assert.equal(runs[499]?.runId, 'bulk-499');
  assert.equal(runs.filter((run) => run.sent).length, 250);
  assert.equal(runs[498]?.deadline, 302_498);
  assert.ok(elapsedMs < 250, `listing took ${elapsedMs.toFixed(1)} ms`);
});

test('writers on other threads share one file without losing a write', async (t) => {
  const file = await tempFile(t);
  const store = open(t, file);
  const storeUrl = new URL('../src/store/run-store.ts', import.meta.url).href;
  const source = `
    const { workerData, parentPort } = require('node:worker_threads');
    import(workerData.storeUrl).then(({ createRunStore }) => {
      const store = createRunStore(workerData.file);
      for (let i = 0; i < 200; i++) {
        const runId = workerData.prefix + i;
        store.runAccepted({ runId, acceptedAt: i, request: { runId, agent: 'webster', task: 't', principals: ['manager'] } });
        store.attemptStarted(runId, 1, i, i + 1000);
        store.setLastSeen('1000000000000000', String(1000000000000000n + BigInt(i)));
      }
      store.close();
      parentPort.postMessage('done');
    });`;
  const workers = ['a-', 'b-'].map((prefix) => new Worker(source, { eval: true, workerData: { storeUrl, file, prefix } }));
  for (const worker of workers) t.after(() => worker.terminate());
  for (let i = 0; i < 200; i++) store.runAccepted(journalRun(`main-${i}`, {}, i));
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve, reject) => {
          worker.once('message', () => resolve());
          worker.once('error', reject);
        }),
    ),
  );
  assert.equal(store.listResumable().length, 600);
  assert.equal(store.lastSeen('1000000000000000'), '1000000000000199');
});

test('the health check passes on an open store and fails once it is closed', async (t) => {
  const store = open(t, await tempFile(t));
  assert.deepEqual(store.healthCheck(), { ok: true });
  store.close();
  assert.equal(store.healthCheck().ok, false);
  store.close();
});

test('sqlite checkpoints the WAL as it grows, so it stays within its size limit', async (t) => {
  const file = await tempFile(t);
  const store = open(t, file);
  const bulky = 'x'.repeat(20_000);
  for (let i = 0; i < 1_200; i++) store.runAccepted(journalRun(`big-${i}`, { task: bulky }, i));
  assert.ok((await stat(file)).size > JOURNAL_SIZE_LIMIT_BYTES, 'the database holds more than the WAL may');
  assert.ok((await stat(`${file}-wal`)).size <= JOURNAL_SIZE_LIMIT_BYTES);
  assert.equal(store.getRun('big-1199')?.task, bulky);
});

test('the last close removes the WAL', async (t) => {
  const file = await tempFile(t);
  const store = createRunStore(file);
  for (let i = 0; i < 50; i++) store.runAccepted(journalRun(`close-${i}`, {}, i));
  store.close();
  await assert.rejects(stat(`${file}-wal`), { code: 'ENOENT' });
  const again = open(t, file);
  assert.equal(again.listResumable().length, 50);
});

/** A child process with the store at `file` open (as `store`) running `body`; the test kills it. */
function storeChild(t: TestContext, file: string, body: string) {
  const storeUrl = new URL('../src/store/run-store.ts', import.meta.url).href;
  const source = `const { createRunStore } = await import(${JSON.stringify(storeUrl)});\nconst store = createRunStore(${JSON.stringify(file)});\n${body}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  return {
    lines: createInterface({ input: child.stdout }),
    async kill(): Promise<void> {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      assert.deepEqual((await exited)[1], 'SIGKILL');
    },
  };
}

test('every change a verb returned from survives the process being killed', async (t) => {
  const file = await tempFile(t);
  createRunStore(file).close();
  // The child reports each run id only after its verbs returned, then keeps writing until killed.
  const child = storeChild(t, file, `
    for (let i = 0; ; i++) {
      const runId = 'killed-' + i;
      store.runAccepted({ runId, acceptedAt: i, request: { runId, agent: 'webster', task: 't', principals: ['manager'] } });
      store.attemptStarted(runId, 1, i, i + 1000);
      store.attemptSent(runId, 1, 'gw-' + i);
      process.stdout.write(runId + '\\n');
      if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
    }`);
  const reported: string[] = [];
  for await (const line of child.lines) {
    reported.push(line);
    if (reported.length === 300) break;
  }
  await child.kill();

  const store = open(t, file);
  const resumable = new Map(store.listResumable().map((run) => [run.runId, run]));
  for (const runId of reported) {
    assert.equal(resumable.get(runId)?.sent, true, `${runId} was reported written, so it must be there, sent`);
  }
});

test("a run's finish is committed before the verb returns: a process killed just after keeps it", async (t) => {
  const file = await tempFile(t);
  createRunStore(file).close();
  // The child answers runs without ever yielding, then spins until killed.
  const child = storeChild(t, file, `
    for (let i = 0; i < 3; i++) {
      const runId = 'answered-' + i;
      store.runAccepted({ runId, acceptedAt: i, request: { runId, agent: 'webster', task: 't', principals: ['manager'] } });
      store.attemptStarted(runId, 1, i, i + 1000);
      store.attemptSent(runId, 1, 'gw-' + i);
      store.attemptEnded(runId, 1, 'accepted', 'complete');
      store.runFinished({ status: 'complete', result: 'r' + i, runId, agent: 'webster', latencyMs: 5, attempts: 1 });
    }
    process.stdout.write('answered\\n');
    for (;;);`);
  for await (const line of child.lines) if (line === 'answered') break;
  await child.kill();

  const store = open(t, file);
  assert.deepEqual(store.listResumable(), []);
  for (const runId of ['answered-0', 'answered-1', 'answered-2']) assert.equal(store.getRun(runId)?.status, 'complete');
});

test("an accepted attempt's end and the run's result are each committed before the verb returns", async (t) => {
  const file = await tempFile(t);
  const store = open(t, file, { now: () => 9_000 });
  const raw = new DatabaseSync(file, { timeout: 1_000 });
  t.after(() => raw.close());
  const outcomeOf = (runId: string) => raw.prepare('SELECT outcome FROM attempts WHERE run_id = ? AND attempt = 1').get(runId)?.outcome ?? null;
  const statusOf = (runId: string) => raw.prepare('SELECT status FROM runs WHERE run_id = ?').get(runId)?.status;

  store.runAccepted(journalRun('run-together'));
  store.attemptStarted('run-together', 1, 2_000, 302_000);
  store.attemptSent('run-together', 1, 'gw');
  store.attemptEnded('run-together', 1, 'accepted', 'complete');
  assert.equal(outcomeOf('run-together'), 'accepted');
  store.runFinished(result('run-together', 'complete'));
  assert.equal(statusOf('run-together'), 'complete');
  assert.deepEqual(store.getRun('run-together')?.attempts[0], {
    attempt: 1, startedAt: 2_000, deadline: 302_000, sent: true, sentAt: 9_000, gatewayRunId: 'gw', outcome: 'accepted', detail: 'complete', endedAt: 9_000,
  });
  assert.deepEqual(
    store.runEvents('run-together').map((event) => [event.type, event.data]).slice(3, 5),
    [['attempt_ended', { outcome: 'accepted', detail: 'complete' }], ['finished', { status: 'complete' }]],
  );

  // Any other outcome likewise: the engine acts on it at once.
  store.runAccepted(journalRun('run-alone'));
  store.attemptStarted('run-alone', 1, 2_000, 302_000);
  store.attemptEnded('run-alone', 1, 'timeout', 'timeout');
  assert.equal(outcomeOf('run-alone'), 'timeout');
});

test('a process killed between an accepted attempt and its result resumes the run as sent', async (t) => {
  const file = await tempFile(t);
  createRunStore(file).close();
  const storeUrl = new URL('../src/store/run-store.ts', import.meta.url).href;
  const source = `
    const { createRunStore } = await import(${JSON.stringify(storeUrl)});
    const store = createRunStore(${JSON.stringify(file)});
    const runId = 'killed-after-accept';
    store.runAccepted({ runId, acceptedAt: 1, request: { runId, agent: 'webster', task: 't', principals: ['manager'] } });
    store.attemptStarted(runId, 1, 2, 1002);
    store.attemptSent(runId, 1, 'gw');
    store.attemptEnded(runId, 1, 'accepted', 'complete');
    process.kill(process.pid, 'SIGKILL');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: 'inherit' });
  t.after(() => child.kill('SIGKILL'));
  assert.equal((await once(child, 'exit'))[1], 'SIGKILL');

  const [run, ...rest] = open(t, file).listResumable();
  assert.equal(rest.length, 0);
  // Resumed as sent, the engine looks for the handoff first and finds the one it had accepted.
  assert.deepEqual([run?.runId, run?.attempt, run?.sent, run?.deadline], ['killed-after-accept', 1, true, 1002]);
});

const DAY = 24 * 60 * 60_000;
const PRUNED_TABLES = ['runs', 'attempts', 'deliveries', 'progress_messages'] as const;

/** A run accepted at `at`, sent, answered a minute later, with its deliveries enqueued and (unless told otherwise) delivered. */
function finishRun(store: RunStore, clock: { now: number }, runId: string, at: number, options: { delivered?: boolean; progress?: boolean } = {}): void {
  clock.now = at;
  store.runAccepted(journalRun(runId, {}, at));
  if (options.progress !== false) store.recordProgressMessage(runId, { channelId: '1', messageId: '2', interactionToken: 'tok', tokenExpiresAt: at + 900_000 });
  store.attemptStarted(runId, 1, at, at + 300_000);
  store.attemptSent(runId, 1, `gw-${runId}`);
  clock.now = at + 60_000;
  store.attemptEnded(runId, 1, 'accepted', 'complete');
  store.runFinished(result(runId, 'complete'));
  for (const kind of ['result-embed', 'requester-reply']) {
    store.enqueueDelivery({ runId, kind, target: { channelId: '1' } });
    if (options.delivered !== false || kind === 'result-embed') store.markDelivered(runId, kind, { channelId: '1', messageId: '3' });
  }
}

function rowsOf(file: string, runId: string): Record<string, number> {
  const raw = new DatabaseSync(file, { readOnly: true });
  try {
    return Object.fromEntries(
      PRUNED_TABLES.map((table) => [table, Number(raw.prepare(`SELECT count(*) AS n FROM ${table} WHERE run_id = ?`).get(runId)?.n)]),
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
  assert.deepEqual(rowsOf(file, 'run-old-pending'), { runs: 1, attempts: 1, deliveries: 2, progress_messages: 1 }, 'a pending delivery keeps its run');
  assert.deepEqual(store.pendingDeliveries().map((d) => [d.runId, d.kind]), [['run-old-pending', 'requester-reply']]);
  assert.deepEqual(rowsOf(file, 'run-recent'), { runs: 1, attempts: 1, deliveries: 2, progress_messages: 1 });
  assert.deepEqual(store.listResumable().map((run) => run.runId), ['run-open-ancient'], 'an open run stays, however old');
  assert.equal(store.lastSeen('555555555555555555'), '666666666666666666', 'channel cursors are kept');
  assert.equal(store.pruneFinished({ olderThan: today - 30 * DAY }), 0, 'a second prune finds nothing');

  store.markDelivered('run-old-pending', 'requester-reply', { channelId: '1', messageId: '4' });
  assert.equal(store.pruneFinished({ olderThan: today - 30 * DAY }), 1, 'once delivered, the run goes at the next prune');
  assert.deepEqual(rowsOf(file, 'run-old-pending'), { runs: 0, attempts: 0, deliveries: 0, progress_messages: 0 });
});

test('pruning goes in batches of at most `limit` runs, oldest first', async (t) => {
  const file = await tempFile(t);
  const clock = { now: 0 };
  const store = open(t, file, { now: () => clock.now });
  for (let i = 0; i < 5; i += 1) finishRun(store, clock, `run-${i}`, (10 + i) * DAY);
  const olderThan = 100 * DAY;
  assert.equal(store.pruneFinished({ olderThan, limit: 2 }), 2);
  assert.deepEqual(store.recentRuns().map((run) => run.runId), ['run-4', 'run-3', 'run-2']);
  assert.equal(store.pruneFinished({ olderThan, limit: 2 }), 2);
  assert.equal(store.pruneFinished({ olderThan, limit: 2 }), 1);
  assert.equal(store.pruneFinished({ olderThan, limit: 2 }), 0);
  assert.deepEqual(store.recentRuns(), []);
});

test('pruning refuses a limit or cut-off it cannot use', async (t) => {
  const store = open(t, await tempFile(t));
  for (const query of [{ olderThan: Number.NaN }, { olderThan: 1, limit: 0 }, { olderThan: 1, limit: 1.5 }, { olderThan: 1, limit: 1_000_000 }]) {
    assert.throws(() => store.pruneFinished(query), (error: unknown) => error instanceof HqError && error.code === ErrorCode.USAGE);
  }
});
