import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deliveryNonce, NONCE_LENGTH } from '../src/store/run-store.ts';
import { HqError } from '../src/errors.ts';
import { journalRun, result } from './support/run-store-fixtures.ts';
import { storeBackends } from './support/store-backends.ts';

for (const backend of storeBackends()) {
  describe(backend.name, { skip: backend.skip }, () => {
    test('an enqueued delivery is pending once, however often it is enqueued, until it is marked delivered', async (t) => {
      let now = 1_000;
      const place = await backend.fresh(t);
      const first = await place.open({ now: () => now });
      await first.runAccepted(journalRun('run-out'));
      const enqueued = await first.enqueueDelivery({
        runId: 'run-out',
        kind: 'result-embed',
        target: { channelId: '1', n: 1 },
      });
      now = 2_000;
      const again = await first.enqueueDelivery({
        runId: 'run-out',
        kind: 'result-embed',
        target: { channelId: '1', n: 2 },
      });
      assert.deepEqual(again, enqueued, 'the first enqueue wins');
      await first.enqueueDelivery({ runId: 'run-out', kind: 'requester-reply', target: { userId: '9' } });
      assert.deepEqual(
        (await first.pendingDeliveries()).map((d) => [d.kind, d.enqueuedAt]),
        [
          ['result-embed', 1_000],
          ['requester-reply', 2_000],
        ],
        'oldest first',
      );
      await first.close();

      const second = await place.open();
      const pending = await second.pendingDeliveries();
      assert.equal(pending.length, 2, 'pending deliveries survive a restart');
      assert.deepEqual(pending.find((d) => d.kind === 'result-embed')?.target, { channelId: '1', n: 1 });

      assert.equal(await second.markDelivered('run-out', 'result-embed', { channelId: '1', messageId: '100' }), true);
      assert.equal(await second.markDelivered('run-out', 'result-embed', { channelId: '1', messageId: '200' }), false);
      const delivered = await second.getDelivery('run-out', 'result-embed');
      assert.equal(delivered?.messageId, '100', 'the first delivery is the one kept');
      assert.equal(delivered?.channelId, '1');
      assert.equal(typeof delivered?.deliveredAt, 'number');
      assert.deepEqual(
        (await second.pendingDeliveries()).map((d) => d.kind),
        ['requester-reply'],
      );
      assert.equal(
        (await second.enqueueDelivery({ runId: 'run-out', kind: 'result-embed', target: {} })).messageId,
        '100',
      );
      assert.deepEqual(
        (await second.pendingDeliveries()).map((d) => d.kind),
        ['requester-reply'],
        're-enqueueing a delivered message does not send it again',
      );
      assert.equal(await second.getDelivery('run-out', 'mention-reply'), undefined);
    });

    test('a delivery nonce is short, stable across restarts and distinct per run and kind', async (t) => {
      const place = await backend.fresh(t);
      const first = await place.open();
      const nonce = first.deliveryNonce('orch-1700000000-deadbeef', 'result-embed');
      const enqueued = await first.enqueueDelivery({
        runId: 'orch-1700000000-deadbeef',
        kind: 'result-embed',
        target: null,
      });
      await first.close();
      const second = await place.open();
      assert.ok(nonce.length <= NONCE_LENGTH);
      assert.equal(enqueued.nonce, nonce);
      assert.equal(second.deliveryNonce('orch-1700000000-deadbeef', 'result-embed'), nonce);
      assert.equal(deliveryNonce('orch-1700000000-deadbeef', 'result-embed'), nonce);
      assert.notEqual(second.deliveryNonce('orch-1700000000-deadbeef', 'requester-reply'), nonce);
      assert.notEqual(second.deliveryNonce('orch-1700000000-deadbeee', 'result-embed'), nonce);
    });

    test('two connections racing to mark one delivery see exactly one success', async (t) => {
      const place = await backend.fresh(t);
      const a = await place.open();
      const b = await place.open();
      await a.enqueueDelivery({ runId: 'run-race', kind: 'mention-reply', target: {} });
      const outcomes = [
        await b.markDelivered('run-race', 'mention-reply', { channelId: '1', messageId: '2' }),
        await a.markDelivered('run-race', 'mention-reply', { channelId: '1', messageId: '3' }),
      ];
      assert.deepEqual(outcomes, [true, false]);
      assert.equal((await a.getDelivery('run-race', 'mention-reply'))?.messageId, '2');

      // In flight together (PostgreSQL runs them at once): still one success.
      await a.enqueueDelivery({ runId: 'run-race', kind: 'result-embed', target: {} });
      const together = await Promise.all(
        [a, b, a, b].map((store, i) =>
          store.markDelivered('run-race', 'result-embed', { channelId: '1', messageId: String(10 + i) }),
        ),
      );
      assert.equal(together.filter(Boolean).length, 1);
    });

    test('progress messages are listed with their run status until cleared, and expired tokens are withheld', async (t) => {
      let now = 10_000;
      const place = await backend.fresh(t);
      const store = await place.open({ now: () => now });
      await store.runAccepted(journalRun('run-progress'));
      await store.recordProgressMessage('run-progress', {
        channelId: '1',
        messageId: '2',
        interactionToken: 'tok',
        tokenExpiresAt: 20_000,
      });
      await store.recordProgressMessage('run-unknown', { channelId: '3', messageId: '4' });

      assert.deepEqual(await store.progressMessages(), [
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
      await store.runFinished(result('run-progress', 'timeout'));
      const [progress] = await store.progressMessages();
      assert.equal(progress?.interactionToken, undefined);
      assert.equal(progress?.runStatus, 'timeout');

      assert.equal(await store.clearProgressMessage('run-progress'), true);
      assert.equal(await store.clearProgressMessage('run-progress'), false);
      assert.deepEqual(
        (await store.progressMessages()).map((p) => p.runId),
        ['run-unknown'],
      );
    });

    test('a channel cursor only moves forward, comparing snowflakes as numbers', async (t) => {
      const place = await backend.fresh(t);
      const first = await place.open();
      assert.equal(await first.lastSeen('555555555555555555'), undefined);
      assert.equal(await first.setLastSeen('555555555555555555', '99999999999999999'), true);
      assert.equal(
        await first.setLastSeen('555555555555555555', '100000000000000000'),
        true,
        'longer is later, though it sorts first as text',
      );
      assert.equal(await first.setLastSeen('555555555555555555', '99999999999999999'), false);
      assert.equal(await first.setLastSeen('555555555555555555', '100000000000000000'), false);
      await first.setLastSeen('666666666666666666', '123456789012345678');
      await first.close();

      const second = await place.open();
      assert.equal(await second.lastSeen('555555555555555555'), '100000000000000000');
      assert.deepEqual(
        (await second.allCursors()).map(({ channelId, messageId }) => [channelId, messageId]),
        [
          ['555555555555555555', '100000000000000000'],
          ['666666666666666666', '123456789012345678'],
        ],
      );
      await assert.rejects(second.setLastSeen('555555555555555555', 'not-a-snowflake'), HqError);
      await assert.rejects(second.setLastSeen('555555555555555555', '-1'), HqError);
    });
  });
}
