/** Interaction tokens forgotten, result threads found and free text kept whole, on both backends. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { journalRun, result } from './support/run-store-fixtures.ts';
import { storeBackends } from './support/store-backends.ts';

const ORIGIN = { kind: 'slash', requesterId: '1', channelId: '2' } as const;

for (const backend of storeBackends()) {
  describe(backend.name, { skip: backend.skip }, () => {
    test('a delivered run forgets its interaction token in every row that keeps a copy, and only its own', async (t) => {
      const store = await (await backend.fresh(t)).open({ now: () => 1_000 });
      const origin = { ...ORIGIN, interactionToken: 'tok-a', tokenExpiresAt: 900_000 };
      await store.runAccepted(journalRun('run-tok', { origin, task: 'a task with a \u0000 in it' }));
      await store.runAccepted(journalRun('run-other', { origin: { ...origin, interactionToken: 'tok-b' } }));
      await store.recordProgressMessage('run-tok', {
        channelId: '2',
        messageId: '3',
        interactionToken: 'tok-a',
        tokenExpiresAt: 900_000,
      });
      await store.enqueueDelivery({ runId: 'run-tok', kind: 'result-embed', target: { origin, channelId: '2' } });

      assert.equal(await store.forgetInteractionToken('run-tok'), true);
      assert.equal(await store.forgetInteractionToken('run-tok'), false, 'nothing left to forget');
      const run = await store.getRun('run-tok');
      const { interactionToken: _token, ...rest } = origin;
      assert.deepEqual(run?.origin, rest);
      assert.deepEqual(run?.request?.origin, rest);
      assert.equal(run?.task, 'a task with a \u0000 in it');
      assert.equal(run?.request?.task, 'a task with a \u0000 in it');
      assert.deepEqual((await store.getDelivery('run-tok', 'result-embed'))?.target, { origin: rest, channelId: '2' });
      const [progress] = await store.progressMessages();
      assert.deepEqual([progress?.runId, progress?.interactionToken], ['run-tok', undefined]);
      assert.equal((await store.getRun('run-other'))?.origin?.['interactionToken'], 'tok-b');
      assert.equal(await store.forgetInteractionToken('run-nobody'), false);
    });

    test('tokens past their expiry are forgotten everywhere; live ones stay', async (t) => {
      const store = await (await backend.fresh(t)).open({ now: () => 1_000 });
      const expiring = (token: string, tokenExpiresAt?: number) => ({
        ...ORIGIN,
        interactionToken: token,
        ...(tokenExpiresAt === undefined ? {} : { tokenExpiresAt }),
      });
      await store.runAccepted(journalRun('run-old', { origin: expiring('tok-old', 5_000) }));
      await store.runAccepted(journalRun('run-new', { origin: expiring('tok-new', 50_000) }));
      await store.runAccepted(journalRun('run-no-expiry', { origin: expiring('tok-forever') }));
      await store.recordProgressMessage('run-old', {
        channelId: '2',
        messageId: '3',
        interactionToken: 'tok-old',
        tokenExpiresAt: 5_000,
      });
      await store.recordProgressMessage('run-new', {
        channelId: '2',
        messageId: '4',
        interactionToken: 'tok-new',
        tokenExpiresAt: 50_000,
      });
      await store.enqueueDelivery({
        runId: 'run-old',
        kind: 'result-embed',
        target: { origin: expiring('tok-old', 5_000) },
      });
      await store.enqueueDelivery({
        runId: 'run-new',
        kind: 'result-embed',
        target: { origin: expiring('tok-new', 50_000) },
      });

      // progress of run-old; origins of run-old and run-no-expiry (no expiry counts as 0); run-old's target
      assert.equal(await store.forgetExpiredTokens(10_000), 4);
      assert.equal(await store.forgetExpiredTokens(10_000), 0);
      assert.equal((await store.getRun('run-old'))?.origin?.['interactionToken'], undefined);
      assert.equal((await store.getRun('run-old'))?.origin?.['tokenExpiresAt'], 5_000);
      assert.equal((await store.getRun('run-no-expiry'))?.request?.origin?.['interactionToken'], undefined);
      assert.equal((await store.getRun('run-new'))?.origin?.['interactionToken'], 'tok-new');
      assert.equal((await store.getRun('run-new'))?.request?.origin?.['interactionToken'], 'tok-new');
      const targetOf = async (runId: string) => (await store.getDelivery(runId, 'result-embed'))?.target;
      assert.deepEqual(await targetOf('run-old'), { origin: { ...ORIGIN, tokenExpiresAt: 5_000 } });
      assert.deepEqual(await targetOf('run-new'), { origin: expiring('tok-new', 50_000) });
      const stored = await store.progressMessages();
      assert.deepEqual(
        stored.map((p) => [p.runId, p.interactionToken]),
        [
          ['run-new', 'tok-new'],
          ['run-old', undefined],
        ],
      );
      assert.equal(
        await store.forgetExpiredTokens(60_000),
        3,
        'run-new: progress, origin (two copies, one row), target',
      );
    });

    test("a result thread's runs are its root and the follow-ups whose origin names it, newest first", async (t) => {
      const store = await (await backend.fresh(t)).open({ now: () => 1_000 });
      await store.runAccepted(journalRun('root', {}, 1_000));
      await store.runAccepted(journalRun('follow-1', { origin: { ...ORIGIN, threadId: '77' } }, 2_000));
      await store.runAccepted(journalRun('elsewhere', { origin: { ...ORIGIN, threadId: '88' } }, 3_000));
      await store.runAccepted(journalRun('follow-2', { origin: { ...ORIGIN, threadId: '77' } }, 4_000));
      await store.runAccepted(journalRun('same-ms-a', { origin: { ...ORIGIN, threadId: '77' } }, 5_000));
      await store.runAccepted(journalRun('same-ms-b', { origin: { ...ORIGIN, threadId: '77' } }, 5_000));
      const ids = async (limit: number) =>
        (await store.runsOfThread({ rootRunId: 'root', threadId: '77', limit })).map((run) => run.runId);
      assert.deepEqual(await ids(10), ['same-ms-b', 'same-ms-a', 'follow-2', 'follow-1', 'root']);
      assert.deepEqual(await ids(2), ['same-ms-b', 'same-ms-a']);
      assert.deepEqual(await ids(0), ['same-ms-b'], 'the limit is at least 1');

      assert.equal(await store.runIdByResultThread('77'), undefined, 'no thread recorded yet');
      await store.enqueueDelivery({ runId: 'root', kind: 'result-thread', target: {} });
      assert.equal(await store.runIdByResultThread('77'), undefined, 'enqueued is not yet opened');
      assert.equal(await store.markDelivered('root', 'result-thread', { channelId: '2', messageId: '77' }), true);
      assert.equal(await store.runIdByResultThread('77'), 'root');
      assert.equal(await store.runIdByResultThread('88'), undefined);
    });

    test('a task, a detail and a result holding any character come back as they went in', async (t) => {
      const store = await (await backend.fresh(t)).open({ now: () => 2_000 });
      const odd = 'nul \u0000, quote ", backslash \\, emoji \u{1F600}';
      await store.runAccepted(journalRun('run-odd', { task: odd }));
      await store.attemptStarted('run-odd', 1, 1_000, 2_000);
      await store.attemptEnded('run-odd', 1, 'timeout', odd);
      assert.equal((await store.listResumable())[0]?.retryNote, odd);
      await store.runFinished({ ...result('run-odd', 'failed'), result: { summary: odd }, code: 'HQ_ERR_X' });
      const run = await store.getRun('run-odd');
      assert.equal(run?.task, odd);
      assert.equal(run?.attempts[0]?.detail, odd);
      assert.deepEqual(run?.result?.result, { summary: odd });
      const events = await store.runEvents('run-odd');
      assert.deepEqual(events.at(-2)?.data, { outcome: 'timeout', detail: odd });
      assert.deepEqual(events.at(-1)?.data, { status: 'failed', code: 'HQ_ERR_X' });
    });
  });
}
