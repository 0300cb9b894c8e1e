/** Decided approvals go with the runs past the retention; waiting ones stay, on both backends. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { storeBackends } from './support/store-backends.ts';

const DAY = 86_400_000;

for (const backend of storeBackends()) {
  describe(backend.name, { skip: backend.skip }, () => {
    test('retention removes approvals decided before the cut-off and keeps those still waiting', async (t) => {
      let clock = Date.UTC(2026, 0, 1);
      const store = await (await backend.fresh(t)).open({ now: () => clock });
      const ask = async (runId: string): Promise<void> => {
        await store.approvalRequested({
          runId,
          agent: 'webster',
          request: { task: 'x' },
          origin: {},
          rule: {},
          requesterId: '1',
          requestedAt: clock,
          expiresAt: clock + 365 * DAY,
        });
      };
      await ask('old-rejected');
      assert.equal(await store.decideApproval('old-rejected', { state: 'rejected', by: '2' }), true);
      await ask('old-waiting');
      clock += 40 * DAY;
      await ask('new-rejected');
      assert.equal(await store.decideApproval('new-rejected', { state: 'rejected', by: '2' }), true);

      await store.pruneFinished({ olderThan: clock - 30 * DAY });

      assert.equal(await store.getApproval('old-rejected'), undefined, 'decided 40 days ago: pruned');
      assert.equal((await store.getApproval('old-waiting'))?.state, 'awaiting_approval', 'still waiting: kept');
      assert.equal((await store.getApproval('new-rejected'))?.state, 'rejected', 'decided today: kept');
    });
  });
}
