import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgentQueue } from '../src/engine/agent-queue.ts';

test('up to the limit runs start at once; the rest wait in FIFO order and see their position', async () => {
  const queue = createAgentQueue({ limit: 2 });
  const a = await queue.acquire('webster');
  const b = await queue.acquire('webster');
  assert.deepEqual([a.waited, b.waited], [false, false]);
  const positions: Record<string, number[]> = { c: [], d: [] };
  const c = queue.acquire('webster', { onPosition: (p) => positions.c?.push(p) });
  const d = queue.acquire('webster', { onPosition: (p) => positions.d?.push(p) });
  assert.deepEqual([queue.active('webster'), queue.waiting('webster')], [2, 2]);
  a.release();
  const slotC = await c;
  assert.equal(slotC.waited, true);
  b.release();
  b.release();
  const slotD = await d;
  assert.deepEqual(positions, { c: [1], d: [2, 1] });
  slotC.release();
  slotD.release();
  assert.deepEqual([queue.active('webster'), queue.waiting('webster')], [0, 0]);
});

test('agents are queued separately', async () => {
  const queue = createAgentQueue({ limit: 1 });
  await queue.acquire('webster');
  const other = await queue.acquire('auditor');
  assert.equal(other.waited, false);
});

test('aborting a waiting run removes it and moves those behind it up', async () => {
  const queue = createAgentQueue({ limit: 1 });
  const first = await queue.acquire('webster');
  const controller = new AbortController();
  const positions: number[] = [];
  const second = queue.acquire('webster', { signal: controller.signal });
  const third = queue.acquire('webster', { onPosition: (p) => positions.push(p) });
  controller.abort(new Error('gone'));
  await assert.rejects(second, /gone/);
  assert.equal(queue.waiting('webster'), 1);
  first.release();
  assert.equal((await third).waited, true);
  assert.deepEqual(positions, [2, 1]);
});

test('an already aborted signal is refused before queueing', async () => {
  const queue = createAgentQueue({ limit: 1 });
  await assert.rejects(queue.acquire('webster', { signal: AbortSignal.abort(new Error('late')) }), /late/);
  assert.equal(queue.active('webster'), 0);
});
