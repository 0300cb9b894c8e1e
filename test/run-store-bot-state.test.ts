import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRunStore, deliveryNonce, NONCE_LENGTH } from '../src/store/run-store.ts';
import { HqError } from '../src/errors.ts';
import { journalRun, open, result, tempFile } from './support/run-store-fixtures.ts';

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
  store.recordProgressMessage('run-progress', {
    channelId: '1',
    messageId: '2',
    interactionToken: 'tok',
    tokenExpiresAt: 20_000,
  });
  store.recordProgressMessage('run-unknown', { channelId: '3', messageId: '4' });

  assert.deepEqual(store.progressMessages(), [
    {
      runId: 'run-progress',
      channelId: '1',
      messageId: '2',
      recordedAt: 10_000,
      interactionToken: 'tok',
      tokenExpiresAt: 20_000,
      runStatus: 'running',
    },
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
  assert.equal(
    first.setLastSeen('555555555555555555', '100000000000000000'),
    true,
    'longer is later, though it sorts first as text',
  );
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
