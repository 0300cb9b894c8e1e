import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import type { RecentRunsQuery } from '../src/store/run-queries.ts';
import { ErrorCode, HqError } from '../src/errors.ts';
import { journalRun, open, result, tempFile } from './support/run-store-fixtures.ts';
import { storeBackends } from './support/store-backends.ts';

for (const backend of storeBackends()) {
  describe(backend.name, { skip: backend.skip }, () => {
    test('a sent run survives a restart with its attempt, original deadline and origin', async (t) => {
      const place = await backend.fresh(t);
      const first = await place.open();
      const run = journalRun('run-sent');
      await first.runAccepted(run);
      await first.attemptStarted('run-sent', 1, 2_000, 302_000);
      await first.attemptSent('run-sent', 1, 'gw-1');
      await first.close();

      const second = await place.open();
      const [resumable, ...rest] = await second.listResumable();
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
      assert.equal((await second.getRun('run-sent'))?.attempts[0]?.gatewayRunId, 'gw-1');
    });

    test('an attempt started but not sent resumes unsent and without a deadline', async (t) => {
      const store = await (await backend.fresh(t)).open();
      await store.runAccepted(journalRun('run-unsent'));
      await store.attemptStarted('run-unsent', 1, 2_000, 302_000);
      const [resumable] = await store.listResumable();
      assert.equal(resumable?.attempt, 1);
      assert.equal(resumable?.sent, false);
      assert.equal(resumable?.deadline, undefined);
      assert.equal(resumable?.attemptStartedAt, 2_000);
    });

    test('a run accepted before any attempt resumes at attempt 1', async (t) => {
      const store = await (await backend.fresh(t)).open();
      await store.runAccepted(journalRun('run-new'));
      const [resumable] = await store.listResumable();
      assert.equal(resumable?.attempt, 1);
      assert.equal(resumable?.sent, false);
      assert.equal(resumable?.retryNote, undefined);
    });

    test('a run whose attempt ended resumes at the next attempt with the retry note', async (t) => {
      const place = await backend.fresh(t);
      const first = await place.open();
      await first.runAccepted(journalRun('run-retry'));
      await first.attemptStarted('run-retry', 1, 2_000, 302_000);
      await first.attemptSent('run-retry', 1, undefined);
      await first.attemptEnded('run-retry', 1, 'timeout', 'timeout');
      await first.close();

      const second = await place.open();
      const [afterEnd] = await second.listResumable();
      assert.equal(afterEnd?.attempt, 2);
      assert.equal(afterEnd?.sent, false);
      assert.equal(afterEnd?.retryNote, 'timeout');
      assert.equal(afterEnd?.lastOutcome, 'timeout');

      await second.attemptStarted('run-retry', 2, 310_000, 610_000);
      await second.attemptSent('run-retry', 2, 'gw-2');
      const [inSecond] = await second.listResumable();
      assert.equal(inSecond?.attempt, 2);
      assert.equal(inSecond?.sent, true);
      assert.equal(inSecond?.deadline, 610_000);
      assert.equal(inSecond?.retryNote, 'timeout', 'the note the second attempt was sent with');
    });

    test('a sent attempt keeps its original deadline when started again', async (t) => {
      const store = await (await backend.fresh(t)).open();
      await store.runAccepted(journalRun('run-deadline'));
      await store.attemptStarted('run-deadline', 1, 2_000, 302_000);
      await store.attemptSent('run-deadline', 1, 'gw');
      await store.attemptStarted('run-deadline', 1, 9_000, 909_000);
      assert.equal((await store.listResumable())[0]?.deadline, 302_000);
    });

    test('a finished run leaves the resumable list and keeps its result, attempts and history', async (t) => {
      let now = 5_000;
      const place = await backend.fresh(t);
      const first = await place.open({ now: () => now });
      await first.runAccepted(journalRun('run-done'));
      await first.attemptStarted('run-done', 1, 2_000, 302_000);
      await first.attemptSent('run-done', 1, 'gw');
      now = 6_000;
      await first.attemptEnded('run-done', 1, 'complete', '');
      await first.runFinished(result('run-done', 'complete'));
      await first.close();

      const store = await place.open();
      assert.deepEqual(await store.listResumable(), []);
      const run = await store.getRun('run-done');
      assert.equal(run?.status, 'complete');
      assert.equal(run?.finishedAt, 6_000);
      assert.deepEqual(run?.result, result('run-done', 'complete'));
      assert.equal(run?.requesterId, '111111111111111111');
      assert.deepEqual(run?.attempts, [
        {
          attempt: 1,
          startedAt: 2_000,
          deadline: 302_000,
          sent: true,
          sentAt: 5_000,
          gatewayRunId: 'gw',
          outcome: 'complete',
          detail: '',
          endedAt: 6_000,
        },
      ]);
      assert.deepEqual(
        (await store.runEvents('run-done')).map((event) => [event.type, event.attempt]),
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
      const store = await (await backend.fresh(t)).open({ now: () => 7_000 });
      await store.runAccepted(journalRun('run-history', {}, 7_000));
      await store.attemptStarted('run-history', 1, 7_000, 8_000);
      await store.attemptSent('run-history', 1, 'gw-1');
      await store.attemptEnded('run-history', 1, 'timeout', 'no answer');
      await store.attemptStarted('run-history', 2, 7_000, 9_000);
      await store.attemptSent('run-history', 2, undefined);
      await store.attemptEnded('run-history', 2, 'accepted', 'complete');
      await store.runFinished({ ...result('run-history', 'failed'), code: 'HQ_ERR_HANDOFF_INVALID' });
      await store.enqueueDelivery({ runId: 'run-history', kind: 'result-embed', target: { channelId: '1' } });
      await store.markDelivered('run-history', 'result-embed', { channelId: '1', messageId: '2' });
      await store.markDelivered('run-history', 'requester-reply', { channelId: '1', messageId: '3' });

      assert.deepEqual(
        (await store.runEvents('run-history')).map(({ id, type, attempt, data }) => [id, type, attempt, data]),
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
      assert.deepEqual(await store.runEvents('run-nobody-knows'), []);
    });

    test('announcing an open run again changes nothing, and a finished run id cannot be reused', async (t) => {
      const store = await (await backend.fresh(t)).open();
      await store.runAccepted(journalRun('run-again'));
      await store.attemptStarted('run-again', 1, 2_000, 302_000);
      await store.runAccepted(journalRun('run-again', { task: 'another task' }));
      assert.equal((await store.getRun('run-again'))?.task, 'task of run-again');
      assert.equal((await store.listResumable())[0]?.attemptStartedAt, 2_000);

      await store.runFinished(result('run-again', 'failed'));
      await assert.rejects(
        store.runAccepted(journalRun('run-again')),
        (error: unknown) =>
          error instanceof HqError && error.code === ErrorCode.RUN_ID_INVALID && /run-again/.test(error.message),
      );
    });

    test('a result for a run never accepted is still recorded', async (t) => {
      const store = await (await backend.fresh(t)).open();
      await store.runFinished(result('run-orphan', 'invalid', 'webster'));
      assert.equal((await store.getRun('run-orphan'))?.status, 'invalid');
      assert.equal((await store.lastResult('webster'))?.runId, 'run-orphan');
      assert.deepEqual(await store.listResumable(), []);
    });

    test('recent runs are newest first and filter by agent, status and requester', async (t) => {
      const store = await (await backend.fresh(t)).open();
      const spec = [
        ['r1', 'tech-lead', 'alice', 'complete'],
        ['r2', 'webster', 'alice', 'failed'],
        ['r3', 'tech-lead', 'bob', 'failed'],
        ['r4', 'tech-lead', 'alice', undefined],
        ['r5', 'webster', undefined, 'complete'],
      ] as const;
      for (const [i, [runId, agent, requesterId, status]] of spec.entries()) {
        await store.runAccepted(
          journalRun(
            runId,
            { agent, origin: requesterId === undefined ? { kind: 'cli' } : { requesterId } },
            1_000 + i,
          ),
        );
        if (status !== undefined) await store.runFinished(result(runId, status, agent));
      }
      const ids = async (query: RecentRunsQuery) => (await store.recentRuns(query)).map((run) => run.runId);

      assert.deepEqual(await ids({ limit: 10 }), ['r5', 'r4', 'r3', 'r2', 'r1']);
      assert.deepEqual(await ids({ limit: 2 }), ['r5', 'r4']);
      assert.deepEqual(await ids({ agent: 'tech-lead', limit: 10 }), ['r4', 'r3', 'r1']);
      assert.deepEqual(await ids({ status: 'failed', limit: 10 }), ['r3', 'r2']);
      assert.deepEqual(await ids({ status: 'running', limit: 10 }), ['r4']);
      assert.deepEqual(await ids({ requesterId: 'alice', limit: 10 }), ['r4', 'r2', 'r1']);
      assert.deepEqual(await ids({ agent: 'tech-lead', requesterId: 'alice', status: 'complete', limit: 10 }), ['r1']);
      assert.deepEqual(await ids({ agent: 'nobody', limit: 10 }), []);
      assert.equal((await store.recentRuns({ limit: 10 }))[0]?.requesterId, undefined);
      assert.equal((await store.recentRuns({ limit: 10 }))[1]?.requesterId, 'alice');
    });

    test('the last result of an agent is its most recently finished run', async (t) => {
      let now = 1_000;
      const store = await (await backend.fresh(t)).open({ now: () => now });
      await store.runAccepted(journalRun('older'));
      await store.runAccepted(journalRun('newer'));
      await store.runFinished(result('newer', 'failed'));
      now = 2_000;
      await store.runFinished(result('older', 'complete'));
      assert.equal((await store.lastResult('tech-lead'))?.runId, 'older');
      assert.equal(await store.lastResult('webster'), undefined);
    });

    test('500 pending runs are listed after a restart quickly', async (t) => {
      const place = await backend.fresh(t);
      const first = await place.open();
      for (let i = 0; i < 500; i++) {
        const runId = `bulk-${String(i).padStart(3, '0')}`;
        await first.runAccepted(journalRun(runId, {}, 1_000 + i));
        await first.attemptStarted(runId, 1, 2_000 + i, 302_000 + i);
        if (i % 2 === 0) await first.attemptSent(runId, 1, `gw-${i}`);
      }
      for (let i = 0; i < 100; i++) await first.runFinished(result(`done-${i}`, 'complete'));
      await first.close();

      const store = await place.open();
      const started = performance.now();
      const runs = await store.listResumable();
      const elapsedMs = performance.now() - started;
      assert.equal(runs.length, 500);
      assert.equal(runs[0]?.runId, 'bulk-000');
      assert.equal(runs[499]?.runId, 'bulk-499');
      assert.equal(runs.filter((run) => run.sent).length, 250);
      assert.equal(runs[498]?.deadline, 302_498);
      assert.ok(elapsedMs < 250, `listing took ${elapsedMs.toFixed(1)} ms`);
    });
  });
}

test("an accepted attempt's end and the run's result are each committed before the verb returns", async (t) => {
  const file = await tempFile(t);
  const store = open(t, file, { now: () => 9_000 });
  const raw = new DatabaseSync(file, { timeout: 1_000 });
  t.after(() => raw.close());
  const outcomeOf = (runId: string) =>
    raw.prepare('SELECT outcome FROM attempts WHERE run_id = ? AND attempt = 1').get(runId)?.outcome ?? null;
  const statusOf = (runId: string) => raw.prepare('SELECT status FROM runs WHERE run_id = ?').get(runId)?.status;

  store.runAccepted(journalRun('run-together'));
  store.attemptStarted('run-together', 1, 2_000, 302_000);
  store.attemptSent('run-together', 1, 'gw');
  store.attemptEnded('run-together', 1, 'accepted', 'complete');
  assert.equal(outcomeOf('run-together'), 'accepted');
  store.runFinished(result('run-together', 'complete'));
  assert.equal(statusOf('run-together'), 'complete');
  assert.deepEqual(store.getRun('run-together')?.attempts[0], {
    attempt: 1,
    startedAt: 2_000,
    deadline: 302_000,
    sent: true,
    sentAt: 9_000,
    gatewayRunId: 'gw',
    outcome: 'accepted',
    detail: 'complete',
    endedAt: 9_000,
  });
  assert.deepEqual(
    store
      .runEvents('run-together')
      .map((event) => [event.type, event.data])
      .slice(3, 5),
    [
      ['attempt_ended', { outcome: 'accepted', detail: 'complete' }],
      ['finished', { status: 'complete' }],
    ],
  );

  // Any other outcome likewise: the engine acts on it at once.
  store.runAccepted(journalRun('run-alone'));
  store.attemptStarted('run-alone', 1, 2_000, 302_000);
  store.attemptEnded('run-alone', 1, 'timeout', 'timeout');
  assert.equal(outcomeOf('run-alone'), 'timeout');
});
