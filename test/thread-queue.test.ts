/** The per-thread turn: one run at a time, first come first served, withdrawable, dropped at shutdown. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createThreadQueue } from '../src/discord/runs/thread-queue.ts';

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

test('turns of one thread run one at a time in order; another thread is not held up', async () => {
  const queue = createThreadQueue(new AbortController().signal);
  const order: string[] = [];
  const first = gate();
  const a = queue.enter('t1', { runId: 'a', start: () => (order.push('a'), first.promise) });
  const b = queue.enter('t1', { runId: 'b', start: async () => void order.push('b') });
  const c = queue.enter('t1', { runId: 'c', start: async () => void order.push('c') });
  await queue.enter('t2', { runId: 'x', start: async () => void order.push('x') });
  assert.equal(queue.last('t1'), 'c');
  assert.ok(queue.isWaiting('b') && !queue.isWaiting('a'));
  assert.deepEqual(order, ['a', 'x']);
  first.open();
  await Promise.all([a, b, c]);
  assert.deepEqual(order, ['a', 'x', 'b', 'c']);
  assert.equal(queue.last('t1'), undefined, 'a free thread');
});

test('a withdrawn turn never starts, once; the shutdown drops the waiting turns', async () => {
  const shutdown = new AbortController();
  const queue = createThreadQueue(shutdown.signal);
  const started: string[] = [];
  const first = gate();
  const a = queue.enter('t', { runId: 'a', start: () => (started.push('a'), first.promise) });
  const b = queue.enter('t', { runId: 'b', start: async () => void started.push('b') });
  const c = queue.enter('t', { runId: 'c', start: async () => void started.push('c') });
  assert.equal(queue.withdraw('b'), true);
  assert.equal(queue.withdraw('b'), false, 'exactly once');
  await b;
  shutdown.abort();
  await c;
  first.open();
  await a;
  assert.deepEqual(started, ['a'], 'neither the withdrawn nor the dropped turn started');
});
