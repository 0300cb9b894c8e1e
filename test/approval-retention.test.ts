import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRunStore } from '../src/store/run-store.ts';

const DAY = 86_400_000;

test('retention removes approvals decided before the cut-off and keeps those still waiting', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hq-approval-retention-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let clock = Date.UTC(2026, 0, 1);
  const store = createRunStore(join(dir, 'runs.sqlite'), { now: () => clock });
  t.after(() => store.close());
  const ask = (runId: string): void => {
    store.approvalRequested({
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
  ask('old-rejected');
  assert.equal(store.decideApproval('old-rejected', { state: 'rejected', by: '2' }), true);
  ask('old-waiting');
  clock += 40 * DAY;
  ask('new-rejected');
  assert.equal(store.decideApproval('new-rejected', { state: 'rejected', by: '2' }), true);

  store.pruneFinished({ olderThan: clock - 30 * DAY });

  assert.equal(store.getApproval('old-rejected'), undefined, 'decided 40 days ago: pruned');
  assert.equal(store.getApproval('old-waiting')?.state, 'awaiting_approval', 'still waiting: kept');
  assert.equal(store.getApproval('new-rejected')?.state, 'rejected', 'decided today: kept');
});
