/**
 * The handoff relay against a real PostgreSQL: a replica relays, the leader's consumer hears it
 * by NOTIFY and delivers each row once; tokens are consumed in the relaying statement; two
 * consumers share the rows; a cut connection is re-made; the v2 → v3 migration; retention.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test, type TestContext } from 'node:test';
import { hashToken } from '../src/engine/handoff-tokens.ts';
import { createLogger } from '../src/log.ts';
import { openRunStore } from '../src/store/store-api.ts';
import {
  relayHandoff,
  startHandoffRelayConsumer,
  type DeliverRelayed,
  type HandoffRelayConsumer,
  type RelayDrain,
} from '../src/store/postgres/handoff-relay.ts';
import { RELAY_APPLICATION_NAME } from '../src/store/postgres/handoff-relay-consumer.ts';
import { openPool } from '../src/store/postgres/open-pool.ts';
import { PG_SCHEMA_V1, PG_SCHEMA_V2, PG_SCHEMA_VERSION } from '../src/store/postgres/schema.ts';
import { journalRun } from './support/run-store-fixtures.ts';
import { postgresBackend } from './support/store-backends.ts';

const backend = postgresBackend();

interface Delivery {
  readonly runId: string;
  readonly text: string;
  readonly id: number;
  readonly receivedBy?: string;
}

/** Every delivery, and a wait for the n-th. */
function deliveries(answer: (delivery: Delivery, call: number) => boolean = () => true) {
  const seen: Delivery[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const deliver: DeliverRelayed = (runId, text, row) => {
    const delivery = {
      runId,
      text,
      id: row.id,
      ...(row.receivedBy === undefined ? {} : { receivedBy: row.receivedBy }),
    };
    seen.push(delivery);
    try {
      return answer(delivery, seen.length);
    } finally {
      for (const waiter of waiters.filter((w) => seen.length >= w.n)) waiter.resolve();
    }
  };
  const count = (n: number): Promise<void> =>
    seen.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }));
  return { seen, deliver, count };
}

async function place(t: TestContext) {
  const cluster = await backend.cluster();
  const url = await cluster.createDatabase();
  const database = new URL(url).pathname.slice(1);
  const store = await openRunStore({ kind: 'postgres', url, password: cluster.password });
  t.after(() => store.close());
  const pool = openPool({ url, password: cluster.password });
  t.after(() => pool.end());
  const logged: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (line: string) => void logged.push(line) } });
  const consumer = (deliver: DeliverRelayed, options: { retryMs?: number } = {}): HandoffRelayConsumer => {
    const started = startHandoffRelayConsumer({
      url,
      password: cluster.password,
      log,
      deliver,
      reconnectMs: 20,
      ...options,
    });
    t.after(() => started.close());
    return started;
  };
  const relayRows = async (): Promise<number> =>
    Number((await cluster.query('SELECT count(*)::int AS n FROM handoff_relay', database)).rows[0].n);
  return { cluster, url, database, store, pool, logged, consumer, relayRows };
}

/** Resolves at the first 'drained' after which `done()` holds. */
function drainedUntil(consumer: HandoffRelayConsumer, done: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (!done()) return;
      consumer.off('drained', check);
      resolve();
    };
    consumer.on('drained', check);
  });
}

describe('the handoff relay', { skip: backend.skip }, () => {
  test('a relayed handoff is delivered once, with its text and the replica that received it', async (t) => {
    const w = await place(t);
    const got = deliveries();
    const consumer = w.consumer(got.deliver);
    await consumer.start();
    const text = '{"status":"complete","result":"é \u0000 done"}';
    const first = await relayHandoff(w.pool, 'run-1', text, { receivedBy: 'replica-b' });
    assert.equal(typeof first, 'number');
    await got.count(1);
    // A second relay, delivered after it, shows the first was not delivered twice meanwhile.
    const second = await relayHandoff(w.pool, 'run-2', 'second');
    await got.count(2);
    await drainedUntil(consumer, () => true);
    assert.deepEqual(got.seen, [
      { runId: 'run-1', text, id: first, receivedBy: 'replica-b' },
      { runId: 'run-2', text: 'second', id: second },
    ]);
    assert.equal(await w.relayRows(), 0, 'delivered rows are deleted');
  });

  test('handoffs relayed while no consumer runs are delivered in order when one starts', async (t) => {
    const w = await place(t);
    const ids: Array<number | undefined> = [];
    for (let i = 0; i < 120; i++) ids.push(await relayHandoff(w.pool, `run-${i}`, `text ${i}`));
    const got = deliveries();
    await w.consumer(got.deliver).start();
    assert.deepEqual(
      got.seen.map((d) => d.id),
      ids,
      'every row, more than one batch, by start() and in id order',
    );
    assert.equal(await w.relayRows(), 0);
  });

  test('a token is consumed by the relaying statement: once, and only the run’s own', async (t) => {
    const w = await place(t);
    await w.store.runAccepted(journalRun('run-t'));
    await w.store.runAccepted(journalRun('run-other'));
    await w.store.tokenIssued('run-t', 1, hashToken('good'));
    await w.store.tokenIssued('run-other', 1, hashToken('other'));

    assert.equal(await relayHandoff(w.pool, 'run-t', 'x', { tokenHash: hashToken('wrong') }), undefined);
    assert.equal(await relayHandoff(w.pool, 'run-t', 'x', { tokenHash: hashToken('other') }), undefined);
    assert.equal(await relayHandoff(w.pool, 'run-none', 'x', { tokenHash: hashToken('good') }), undefined);
    assert.equal(await w.relayRows(), 0, 'a refused relay stores nothing');

    const raced = await Promise.all(
      [1, 2, 3].map(() => relayHandoff(w.pool, 'run-t', 'x', { tokenHash: hashToken('good') })),
    );
    assert.equal(raced.filter((id) => id !== undefined).length, 1, 'one of three racing relays wins');
    assert.equal(await relayHandoff(w.pool, 'run-t', 'x', { tokenHash: hashToken('good') }), undefined);
    assert.equal(await w.relayRows(), 1);
    assert.deepEqual(await w.store.tokenHashes('run-t'), [{ tokenHash: hashToken('good'), used: true }]);
    assert.deepEqual(await w.store.tokenHashes('run-other'), [{ tokenHash: hashToken('other'), used: false }]);
  });

  test('two consumers deliver each of 200 concurrent relays exactly once between them', async (t) => {
    const w = await place(t);
    const got = deliveries();
    const consumers = [w.consumer(got.deliver), w.consumer(got.deliver)];
    await Promise.all(consumers.map((c) => c.start()));
    const ids = await Promise.all(Array.from({ length: 200 }, (_, i) => relayHandoff(w.pool, `run-${i}`, `t${i}`)));
    await got.count(200);
    // One more, delivered after the 200: a duplicate among them would have shown by then.
    ids.push(await relayHandoff(w.pool, 'run-last', 'last'));
    await got.count(201);
    const delivered = got.seen.map((d) => d.id).sort((a, b) => a - b);
    assert.deepEqual(
      delivered,
      [...ids].sort((a, b) => a! - b!),
      'each row once, none twice',
    );
  });

  test('a consumer whose connection is cut reconnects and still delivers; its log holds no secret', async (t) => {
    const w = await place(t);
    const got = deliveries();
    const consumer = w.consumer(got.deliver);
    await consumer.start();
    const disconnected = once(consumer, 'disconnected');
    const listening = once(consumer, 'listening');
    const { rows } = await w.cluster.query(
      `SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity
       WHERE application_name = '${RELAY_APPLICATION_NAME}' AND datname = '${w.database}'`,
    );
    assert.deepEqual(rows, [{ cut: true }]);
    await disconnected;
    const secretText = 'the answer nobody may log';
    const id = await relayHandoff(w.pool, 'run-after-cut', secretText);
    await listening;
    await got.count(1);
    assert.deepEqual(got.seen, [{ runId: 'run-after-cut', text: secretText, id }]);
    const log = w.logged.join('');
    assert.match(log, /connection was lost/);
    assert.doesNotMatch(log, new RegExp(w.cluster.password));
    assert.ok(!log.includes(secretText));
  });

  test('false drops a row for good; a throw keeps it for a retry', async (t) => {
    const w = await place(t);
    const got = deliveries((delivery, call) => {
      if (delivery.runId === 'run-flaky' && call === 1) throw new Error('Discord is away');
      return delivery.runId !== 'run-closed';
    });
    const flaky = await relayHandoff(w.pool, 'run-flaky', 'late');
    const closed = await relayHandoff(w.pool, 'run-closed', 'nobody waits');
    const consumer = w.consumer(got.deliver, { retryMs: 20 });
    const drains: RelayDrain[] = [];
    consumer.on('drained', (drain: RelayDrain) => drains.push(drain));
    await consumer.start();
    await got.count(3);
    await drainedUntil(consumer, () => true);
    assert.deepEqual(
      got.seen.map((d) => [d.runId, d.id]),
      [
        ['run-flaky', flaky],
        ['run-closed', closed],
        ['run-flaky', flaky],
      ],
    );
    assert.deepEqual(drains.slice(0, 2), [
      { delivered: 0, dropped: 1, kept: 1 },
      { delivered: 1, dropped: 0, kept: 0 },
    ]);
    assert.equal(await w.relayRows(), 0);
  });

  test('retention prunes relay rows older than the window and keeps recent ones', async (t) => {
    const w = await place(t);
    const day = 24 * 60 * 60_000;
    const now = Date.now();
    await relayHandoff(w.pool, 'run-stale', 'old', { now: () => now - 40 * day });
    const recent = await relayHandoff(w.pool, 'run-recent', 'new', { now: () => now });
    await w.store.pruneFinished({ olderThan: now - 30 * day });
    const { rows } = await w.cluster.query('SELECT id FROM handoff_relay', w.database);
    assert.deepEqual(rows, [{ id: String(recent) }]);
  });

  test('a version 2 database is migrated to version 3 with its runs kept', async () => {
    const cluster = await backend.cluster();
    const url = await cluster.createDatabase();
    const database = new URL(url).pathname.slice(1);
    await cluster.query(
      `${PG_SCHEMA_V1}; ${PG_SCHEMA_V2}; INSERT INTO schema_version (version) VALUES (2);
      INSERT INTO runs (run_id, agent, status, accepted_at) VALUES ('run-v2', 'tech-lead', 'running', 1)`,
      database,
    );
    assert.equal(PG_SCHEMA_VERSION, 3);
    const store = await openRunStore({ kind: 'postgres', url, password: cluster.password });
    try {
      assert.equal((await store.getRun('run-v2'))?.status, 'running');
    } finally {
      await store.close();
    }
    const version = await cluster.query('SELECT version FROM schema_version', database);
    assert.deepEqual(version.rows, [{ version: 3 }]);
    const table = await cluster.query("SELECT to_regclass('handoff_relay')::text AS found", database);
    assert.deepEqual(table.rows, [{ found: 'handoff_relay' }]);
  });
});
