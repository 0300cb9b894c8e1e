/**
 * The leader lease and the leadership loop against a real PostgreSQL: who leads, the epoch as a
 * fencing token, takeover after a leader stops renewing, the SIGTERM hand-over by NOTIFY, a leader
 * whose connection is cut, and the role in /healthz and /metrics. Small ttls keep it fast.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { after, before, test, type TestContext } from 'node:test';
import pg from 'pg';
import { createLogger } from '../src/log.ts';
import { countLeaseEvents, Leadership, type LeadershipOptions } from '../src/ops/leadership.ts';
import { createMetrics } from '../src/ops/metrics.ts';
import { startOpsServer, whenLeading } from '../src/ops/ops-server.ts';
import { connectLeaseClient, createLeaderLease, parsePgUrl } from '../src/store/postgres/leader-lease.ts';
import { createLeaseTable } from './support/lease-table.ts';
import { pgSkipReason, startPgCluster, type PgCluster } from './support/pg-cluster.ts';

const skip = pgSkipReason();
let cluster: PgCluster;

before(async () => {
  if (skip === undefined) cluster = await startPgCluster();
});
after(async () => {
  await cluster?.stop();
});

interface LogLine {
  readonly level: number;
  readonly msg: string;
}

interface CapturedLog {
  readonly log: ReturnType<typeof createLogger>;
  readonly text: string[];
  /** Resolves once a line whose message starts with `prefix` has been written. */
  logged(prefix: string): Promise<void>;
}

function captureLog(): CapturedLog {
  const text: string[] = [];
  const lines: LogLine[] = [];
  const waiting = new Set<{ prefix: string; resolve: () => void }>();
  const log = createLogger({
    level: 'debug',
    destination: {
      write: (line: string) => {
        text.push(line);
        const parsed = JSON.parse(line) as LogLine;
        lines.push(parsed);
        for (const waiter of waiting) {
          if (parsed.msg.startsWith(waiter.prefix)) {
            waiting.delete(waiter);
            waiter.resolve();
          }
        }
      },
    },
  });
  return {
    log,
    text,
    logged: (prefix) =>
      lines.some((line) => line.msg.startsWith(prefix))
        ? Promise.resolve()
        : new Promise((resolve) => waiting.add({ prefix, resolve })),
  };
}

async function freshDatabase(): Promise<string> {
  const url = await cluster.createDatabase();
  await createLeaseTable(url, cluster.password);
  return url;
}

/** A superuser connection to read and poke at the lease row. */
async function observer(t: TestContext, url: string): Promise<pg.Client> {
  const client = new pg.Client({ ...parsePgUrl(url), password: cluster.password });
  await client.connect();
  t.after(() => client.end());
  return client;
}

function contender(
  t: TestContext,
  url: string,
  name: string,
  options: Partial<LeadershipOptions> = {},
): Leadership & { logs: CapturedLog } {
  const logs = captureLog();
  const leadership = new Leadership({
    url,
    password: cluster.password,
    applicationName: name,
    log: logs.log,
    ttlMs: 1_500,
    retryMs: 100,
    ...options,
  });
  t.after(() => leadership.close());
  return Object.assign(leadership.start(), { logs });
}

/** Awaits `promise`, failing the test if it takes longer than `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function leaseRow(client: pg.Client): Promise<{ holder: string; epoch: number; remainingMs: number }> {
  const { rows } = await client.query<{ holder: string; epoch: string; remaining_ms: number }>(
    `SELECT holder, epoch, extract(epoch FROM expires_at - now()) * 1000 AS remaining_ms
     FROM hq_lease WHERE name = 'leader'`,
  );
  assert.ok(rows[0], 'the lease row exists');
  return { holder: rows[0].holder, epoch: Number(rows[0].epoch), remainingMs: Number(rows[0].remaining_ms) };
}

test('parsePgUrl reads host, port, user and database, and a password only when the URL has one', () => {
  assert.deepEqual(parsePgUrl('postgres://hq@127.0.0.1:5433/runs'), {
    host: '127.0.0.1',
    port: 5433,
    user: 'hq',
    database: 'runs',
  });
  assert.deepEqual(parsePgUrl('postgresql://a%40b:p%3Aw@[::1]/d%20b'), {
    host: '::1',
    port: 5432,
    user: 'a@b',
    database: 'd b',
    password: 'p:w',
  });
  assert.throws(() => parsePgUrl('http://example.invalid/runs'), /expected postgres:/);
  assert.throws(() => parsePgUrl('not a url'), /does not parse/);
});

test('of five contenders acquiring at once, exactly one gets the lease', { skip }, async (t) => {
  const url = await freshDatabase();
  const clients = await Promise.all([1, 2, 3, 4, 5].map(() => connectLeaseClient({ url, password: cluster.password })));
  t.after(() => Promise.all(clients.map((client) => client.end())));
  const leases = clients.map((client) => createLeaderLease({ client, ttlMs: 5_000 }));
  const epochs = await Promise.all(leases.map((lease) => lease.acquire()));
  assert.deepEqual(
    epochs.filter((epoch) => epoch !== undefined),
    [1],
    'one epoch, the first',
  );
  const winner = leases[epochs.indexOf(1)]!;
  assert.equal((await leaseRow(await observer(t, url))).holder, winner.holder);
});

test(
  'a renewal keeps the epoch, each takeover increments it, and a stale epoch can do nothing',
  { skip },
  async (t) => {
    const url = await freshDatabase();
    const db = await observer(t, url);
    const [clientA, clientB] = await Promise.all([
      connectLeaseClient({ url, password: cluster.password }),
      connectLeaseClient({ url, password: cluster.password }),
    ]);
    t.after(() => Promise.all([clientA.end(), clientB.end()]));
    const a = createLeaderLease({ client: clientA, ttlMs: 60_000, holder: 'a' });
    const b = createLeaderLease({ client: clientB, ttlMs: 60_000, holder: 'b' });
    const expire = () => db.query(`UPDATE hq_lease SET expires_at = now() - interval '1 second'`);

    assert.equal(await a.acquire(), 1);
    assert.equal(await a.acquire(), 1, 'acquiring a lease already ours renews it');
    assert.equal(await a.renew(1), true);
    assert.equal(await b.acquire(), undefined, 'held and unexpired: no takeover');
    assert.equal(await b.renew(1), false, 'another holder cannot renew');

    await expire();
    assert.equal(await b.acquire(), 2, 'takeover of an expired lease');
    assert.equal(await a.renew(1), false, 'the old leader cannot renew');
    assert.equal(await a.release(1), false, 'nor release');
    assert.equal(await a.acquire(), undefined);

    assert.equal(await b.release(2), true);
    assert.equal(await b.renew(2), false, 'a released lease is not renewed');
    assert.equal(await a.acquire(), 3, 'a released lease is taken over at once, with a new epoch');

    await expire();
    assert.equal(await a.acquire(), 4, 'retaking our own expired lease is a new epoch too');
    assert.deepEqual(
      { holder: (await leaseRow(db)).holder, epoch: (await leaseRow(db)).epoch },
      { holder: 'a', epoch: 4 },
    );
  },
);

test('two leadership loops: exactly one leads, the other stands by', { skip }, async (t) => {
  const url = await freshDatabase();
  const first = contender(t, url, 'hq-first');
  const second = contender(t, url, 'hq-second');
  const epoch = await within(Promise.race([first.whenLeader(), second.whenLeader()]), 5_000, 'a leader');
  const [leader, standby] = first.role() === 'leader' ? [first, second] : [second, first];
  await within(once(standby, 'standby'), 5_000, 'the other finds the lease held');
  assert.equal(leader.role(), 'leader');
  assert.equal(standby.role(), 'standby');
  assert.equal(epoch, 1);
  const state = leader.state();
  assert.equal(state.epoch, 1);
  assert.ok(state.leaderSince instanceof Date);
  assert.match(state.holder, new RegExp(`:${process.pid}:[0-9a-f]{8}$`), 'host:pid:random');
  assert.deepEqual(standby.state(), {
    role: 'standby',
    epoch: undefined,
    holder: standby.holder,
    leaderSince: undefined,
  });
  assert.equal((await leaseRow(await observer(t, url))).holder, leader.holder);
});

test(
  'a standby takes over once the leader stops renewing: after the expiry, within a retry of it',
  { skip },
  async (t) => {
    const url = await freshDatabase();
    const db = await observer(t, url);
    const leader = contender(t, url, 'hq-leader');
    await within(leader.whenLeader(), 5_000, 'the first leader');
    const standby = contender(t, url, 'hq-standby');
    await within(once(standby, 'standby'), 5_000, 'the standby finds the lease held');
    const taken = standby.whenLeader();

    await leader.close(); // stops renewing without releasing, like a process that froze or died
    const stoppedAt = performance.now();
    const { remainingMs } = await leaseRow(db);
    assert.ok(remainingMs > 0, 'the lease was still running when the leader stopped');
    const epoch = await within(taken, 5_000, 'the takeover');
    const waited = performance.now() - stoppedAt;

    assert.equal(epoch, 2);
    assert.ok(waited >= remainingMs - 5, `not before the lease expired (${waited} ms, ${remainingMs} ms left)`);
    assert.ok(waited <= remainingMs + standby.retryMs + 1_000, `within a retry of the expiry (${waited} ms)`);
    assert.ok(remainingMs <= leader.ttlMs, 'the expiry was at most one ttl away');
  },
);

test('release notifies: a standby that would retry only in a minute takes over within 3 s', { skip }, async (t) => {
  const url = await freshDatabase();
  const leader = contender(t, url, 'hq-leader', { ttlMs: 10_000 });
  await within(leader.whenLeader(), 5_000, 'the first leader');
  const standby = contender(t, url, 'hq-standby', { ttlMs: 10_000, retryMs: 60_000 });
  await within(once(standby, 'standby'), 5_000, 'the standby finds the lease held');
  const taken = standby.whenLeader();
  const released = once(leader, 'released');

  const start = performance.now();
  assert.equal(await leader.release(), true);
  const epoch = await within(taken, 3_000, 'the takeover after release');
  const took = performance.now() - start;

  assert.equal(epoch, 2);
  assert.ok(took < 3_000, `took ${took} ms`);
  assert.deepEqual(await released, [1]);
  assert.equal(leader.role(), 'standby');
  assert.equal(await leader.release(), false, 'a second release does nothing');
});

test(
  'a leader whose connection is cut emits lost while its lease still runs; a standby then takes over',
  { skip },
  async (t) => {
    const url = await freshDatabase();
    const db = await observer(t, url);
    const leader = contender(t, url, 'hq-cut-leader', { ttlMs: 2_000 });
    await within(leader.whenLeader(), 5_000, 'the first leader');
    const standby = contender(t, url, 'hq-cut-standby', { ttlMs: 2_000 });
    await within(once(standby, 'standby'), 5_000, 'the standby finds the lease held');
    const taken = standby.whenLeader();

    // Sent the moment 'lost' fires, on a connection already open.
    let atLoss: Promise<pg.QueryResult<{ running: boolean }>> | undefined;
    const lost = new Promise<string>((resolve) =>
      leader.once('lost', (reason) => {
        atLoss = db.query(`SELECT expires_at > now() AS running FROM hq_lease WHERE name = 'leader'`);
        resolve(reason);
      }),
    );
    const cut = await db.query(
      `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = 'hq-cut-leader'`,
    );
    assert.deepEqual(
      cut.rows.map((row: { done: boolean }) => row.done),
      [true],
      'one connection cut',
    );

    const reason = await within(lost, 2_000, "the leader's loss");
    assert.match(reason, /connection/);
    assert.equal((await atLoss!).rows[0]?.running, true, 'the lease had not expired when the leader stopped');
    assert.equal(leader.role(), 'standby');
    assert.equal(await within(taken, 5_000, 'the takeover'), 2);
    for (const line of [...leader.logs.text, ...standby.logs.text]) assert.ok(!line.includes(cluster.password));
  },
);

test(
  'a leader whose renewal goes unanswered emits lost by its local deadline, before the lease expires',
  { skip },
  async (t) => {
    const url = await freshDatabase();
    const db = await observer(t, url);
    const locker = await observer(t, url);
    const leader = contender(t, url, 'hq-stuck-leader');
    await within(leader.whenLeader(), 5_000, 'the first leader');
    const standby = contender(t, url, 'hq-stuck-standby');
    await within(once(standby, 'standby'), 5_000, 'the standby finds the lease held');
    const taken = standby.whenLeader();

    let atLoss: Promise<pg.QueryResult<{ running: boolean }>> | undefined;
    const lost = new Promise<string>((resolve) =>
      leader.once('lost', (reason) => {
        atLoss = db.query(`SELECT expires_at > clock_timestamp() AS running FROM hq_lease WHERE name = 'leader'`);
        resolve(reason);
      }),
    );
    // The row lock makes the next renewal wait, as a stalled database or network would.
    await locker.query('BEGIN');
    await locker.query(`SELECT * FROM hq_lease WHERE name = 'leader' FOR UPDATE`);
    try {
      const reason = await within(lost, 3_000, "the leader's loss");
      assert.equal(reason, 'no renewal confirmed in time');
      assert.equal((await atLoss!).rows[0]?.running, true, 'the lease had not expired when the leader stopped');
    } finally {
      await locker.query('ROLLBACK');
    }
    assert.equal(await within(taken, 5_000, 'the takeover'), 2);
  },
);

test(
  'ops: a standby answers /healthz 200 with role standby and hq_delegate_leader 0, then leads',
  { skip },
  async (t) => {
    const url = await freshDatabase();
    const leader = contender(t, url, 'hq-leader', { ttlMs: 10_000 });
    await within(leader.whenLeader(), 5_000, 'the first leader');
    const standby = contender(t, url, 'hq-standby', { ttlMs: 10_000 });
    await within(once(standby, 'standby'), 5_000, 'the standby finds the lease held');

    const role = () => standby.role();
    const metrics = createMetrics({ defaultMetrics: false, role });
    countLeaseEvents(standby, metrics);
    const ops = await startOpsServer({
      port: 0,
      log: standby.logs.log,
      metrics,
      role,
      checks: { discord: whenLeading(role, () => ({ ok: standby.role() === 'leader', detail: 'logged in' })) },
    });
    t.after(() => ops.close());

    const asStandby = await fetch(`${ops.url}/healthz`);
    assert.equal(asStandby.status, 200);
    assert.equal(((await asStandby.json()) as { role: string }).role, 'standby');
    assert.match(await metrics.text(), /^hq_delegate_leader 0$/m);

    const taken = standby.whenLeader();
    await leader.release();
    await within(taken, 3_000, 'the takeover');
    const asLeader = await fetch(`${ops.url}/healthz`);
    assert.equal(asLeader.status, 200);
    assert.equal(((await asLeader.json()) as { role: string }).role, 'leader');
    const text = await metrics.text();
    assert.match(text, /^hq_delegate_leader 1$/m);
    assert.match(text, /^hq_delegate_leader_lease_events_total\{event="acquired"\} 1$/m);
  },
);

test('a standby that cannot log in warns, keeps retrying, and never logs the password', { skip }, async (t) => {
  const url = await freshDatabase();
  const password = 'not-the-password-4f2a';
  const standby = contender(t, url, 'hq-locked-out', { password });
  const warned = standby.logs.logged('cannot reach the lease database');
  await within(warned, 5_000, 'the warning');
  assert.equal(standby.role(), 'standby');
  for (const line of standby.logs.text) {
    assert.ok(!line.includes(password), 'the password is not in the log');
    assert.ok(!line.includes(cluster.password));
  }
});
