/** Queued follow-ups and approvals, the verbs added after the PostgreSQL store, on both backends. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ApprovalRequestInput } from '../src/store/approvals.ts';
import { journalRun } from './support/run-store-fixtures.ts';
import { storeBackends } from './support/store-backends.ts';

const asked = (runId: string, requestedAt: number, expiresAt: number): ApprovalRequestInput => ({
  runId,
  agent: 'webster',
  request: { task: `task of ${runId}`, principals: ['member'] },
  origin: { kind: 'mention', requesterId: '1', channelId: '2' },
  rule: { approvers: ['3'], ttlMinutes: 60 },
  requesterId: '1',
  requestedAt,
  expiresAt,
});

for (const backend of storeBackends()) {
  describe(backend.name, { skip: backend.skip }, () => {
    test('a queued run is listed oldest first, refused twice, and started by runAccepted', async (t) => {
      const store = await (await backend.fresh(t)).open({ now: () => 5_000 });
      const later = journalRun('run-later', { task: 'a follow-up with a \u0000 in it' }, 2_000);
      const sooner = journalRun('run-sooner', {}, 1_000);
      assert.equal(await store.runQueued(later), true);
      assert.equal(await store.runQueued(sooner), true);
      assert.equal(await store.runQueued(sooner), false, 'the same run id queued twice');
      assert.deepEqual(await store.queuedRuns(), [sooner, later]);
      assert.equal((await store.getRun('run-later'))?.status, 'queued');
      assert.equal((await store.getRun('run-later'))?.task, 'a follow-up with a \u0000 in it');

      await store.runAccepted({ ...sooner, acceptedAt: 3_000, handoffSecret: 'secret' });
      const started = await store.getRun('run-sooner');
      assert.deepEqual([started?.status, started?.acceptedAt], ['running', 3_000]);
      assert.deepEqual(await store.queuedRuns(), [later]);
      await store.runAccepted({ ...sooner, acceptedAt: 4_000 });
      assert.equal((await store.getRun('run-sooner'))?.acceptedAt, 3_000, 'a running run announced again: no-op');
    });

    test('an approval asked twice is recorded once; of two decisions one wins', async (t) => {
      const store = await (await backend.fresh(t)).open({ now: () => 10_000 });
      assert.equal(await store.approvalRequested(asked('run-a', 1_000, 60_000)), true);
      assert.equal(await store.approvalRequested(asked('run-a', 2_000, 90_000)), false);
      await store.approvalCardPosted('run-a', { channelId: '4', messageId: '5' });
      await store.approvalReplyMoved('run-a', { channelId: '2', messageId: '6' });

      const decisions = await Promise.all([
        store.decideApproval('run-a', { state: 'approved', by: '3' }),
        store.decideApproval('run-a', { state: 'rejected', by: '7', reason: 'not now \u0000' }),
      ]);
      assert.equal(decisions.filter(Boolean).length, 1, 'exactly one decision is recorded');
      const record = await store.getApproval('run-a');
      assert.deepEqual(record, {
        ...asked('run-a', 1_000, 60_000),
        state: decisions[0] ? 'approved' : 'rejected',
        reply: { channelId: '2', messageId: '6' },
        card: { channelId: '4', messageId: '5' },
        decidedBy: decisions[0] ? '3' : '7',
        decidedAt: 10_000,
        ...(decisions[0] ? {} : { reason: 'not now \u0000' }),
      });
      assert.equal(await store.decideApproval('run-a', { state: 'expired' }), false, 'decided already');
      assert.equal(await store.getApproval('run-nobody'), undefined);
    });

    test('an approval after the expiry is refused, the expiry itself is not', async (t) => {
      const store = await (await backend.fresh(t)).open({ now: () => 10_000 });
      await store.approvalRequested(asked('run-late', 1_000, 10_000));
      assert.equal(await store.decideApproval('run-late', { state: 'approved', by: '3' }), false);
      assert.equal((await store.getApproval('run-late'))?.state, 'awaiting_approval');
      assert.equal(await store.decideApproval('run-late', { state: 'expired' }), true);
      const record = await store.getApproval('run-late');
      assert.deepEqual([record?.state, record?.decidedBy, record?.decidedAt], ['expired', undefined, 10_000]);
    });

    test('awaiting approvals come soonest expiry first, and only those still waiting', async (t) => {
      const store = await (await backend.fresh(t)).open({ now: () => 1_000 });
      await store.approvalRequested(asked('run-late', 100, 90_000));
      await store.approvalRequested(asked('run-b', 200, 30_000));
      await store.approvalRequested(asked('run-a', 300, 30_000));
      await store.approvalRequested(asked('run-done', 400, 10_000));
      await store.decideApproval('run-done', { state: 'rejected', by: '3' });
      const awaiting = await store.awaitingApprovals();
      assert.deepEqual(
        awaiting.map((record) => record.runId),
        ['run-a', 'run-b', 'run-late'],
      );
      assert.deepEqual(awaiting[0], { ...asked('run-a', 300, 30_000), state: 'awaiting_approval' });
    });
  });
}
