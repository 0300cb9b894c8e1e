import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createChannelCursors } from '../src/discord/events/channel-cursors.ts';
import { createLogger } from '../src/log.ts';
import { createRunStore } from '../src/store/run-store.ts';
import { asAsyncStore } from '../src/store/sqlite-async.ts';

const CHANNEL = '100000000000000001';
const id = (n: number): string => String(200000000000000000n + BigInt(n));

function setup(t: { after(fn: () => unknown): void }) {
  const store = createRunStore(':memory:');
  t.after(() => store.close());
  const cursors = createChannelCursors(asAsyncStore(store), createLogger({ level: 'silent' }));
  return { store, cursors, at: () => store.lastSeen(CHANNEL) };
}

test('plain messages move the channel cursor forward, never back', (t) => {
  const { cursors, at } = setup(t);
  cursors.seen(CHANNEL, id(2));
  assert.equal(at(), id(2));
  cursors.seen(CHANNEL, id(1));
  assert.equal(at(), id(2));
  cursors.seen(CHANNEL, id(5));
  assert.equal(at(), id(5));
});

test('the cursor stops before a mention until its run is journaled, then catches up with what came after', (t) => {
  const { cursors, at } = setup(t);
  cursors.seen(CHANNEL, id(1));
  const release = cursors.hold(CHANNEL, id(2));
  cursors.seen(CHANNEL, id(3));
  cursors.seen(CHANNEL, id(4));
  assert.equal(at(), id(1), 'a restart now would read the mention again');
  release();
  assert.equal(at(), id(4));
  release();
  assert.equal(at(), id(4), 'releasing twice changes nothing');
});

test('with two mentions held, finishing the later one first moves the cursor only up to the earlier one', (t) => {
  const { cursors, at } = setup(t);
  const first = cursors.hold(CHANNEL, id(1));
  cursors.seen(CHANNEL, id(2));
  const second = cursors.hold(CHANNEL, id(3));
  cursors.seen(CHANNEL, id(4));
  second();
  assert.equal(at(), undefined, 'nothing before the first mention was seen');
  first();
  assert.equal(at(), id(4));
});

test('messages that are not Discord ids are ignored', (t) => {
  const { cursors, at } = setup(t);
  cursors.seen(CHANNEL, 'not-an-id');
  cursors.hold(CHANNEL, '42; DROP TABLE')();
  assert.equal(at(), undefined);
});
