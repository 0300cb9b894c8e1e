import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createLogger } from '../src/log.ts';
import { createMetrics } from '../src/ops/metrics.ts';
import { startOpsServer, whenLeading, type HealthCheck, type OpsServer } from '../src/ops/ops-server.ts';
import { ErrorCode, HqError } from '../src/errors.ts';

function captureLog(): { log: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({
    level: 'info',
    destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
  });
  return { log, lines };
}

async function start(
  t: TestContext,
  checks: Record<string, HealthCheck>,
  extra: { checkTimeoutMs?: number; role?: () => 'leader' | 'standby' } = {},
) {
  const metrics = createMetrics({ defaultMetrics: false });
  const { log, lines } = captureLog();
  const server: OpsServer = await startOpsServer({ port: 0, checks, metrics, log, ...extra });
  t.after(() => server.close());
  return { server, metrics, lines };
}

test('healthz answers 200 with every check when all pass', async (t) => {
  const { server } = await start(t, {
    discord: () => ({ ok: true, detail: 'ready, ping 42 ms' }),
    store: async () => ({ ok: true }),
  });
  assert.equal(server.host, '127.0.0.1');
  assert.ok(server.port > 0);
  const response = await fetch(`${server.url}/healthz`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(await response.json(), {
    ok: true,
    role: 'leader',
    checks: { discord: { ok: true, detail: 'ready, ping 42 ms' }, store: { ok: true } },
  });
});

test('healthz answers 503 naming the failing, throwing and hanging checks, and logs the change once', async (t) => {
  const { server, lines } = await start(
    t,
    {
      discord: () => ({ ok: true }),
      store: () => ({ ok: false, detail: 'database is locked' }),
      gateway: () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:18804');
      },
      slow: () => new Promise<never>(() => {}),
    },
    { checkTimeoutMs: 50 },
  );
  const response = await fetch(`${server.url}/healthz`);
  assert.equal(response.status, 503);
  assert.deepEqual(await response.json(), {
    ok: false,
    role: 'leader',
    checks: {
      discord: { ok: true },
      store: { ok: false, detail: 'database is locked' },
      gateway: { ok: false, detail: 'connect ECONNREFUSED 127.0.0.1:18804' },
      slow: { ok: false, detail: 'no answer within 50 ms' },
    },
  });
  await (await fetch(`${server.url}/healthz`)).body?.cancel();
  assert.equal(
    lines.filter((line) => line.msg === 'unhealthy').length,
    1,
    'a second failing scrape is not logged again',
  );
});

test('healthz reports the role: a standby answers 200 with role standby, passing the leader-only checks', async (t) => {
  let role: 'leader' | 'standby' = 'standby';
  const { server } = await start(
    t,
    {
      discord: whenLeading(
        () => role,
        () => ({ ok: false, detail: 'not logged in' }),
      ),
      store: () => ({ ok: true }),
    },
    { role: () => role },
  );
  const standby = await fetch(`${server.url}/healthz`);
  assert.equal(standby.status, 200);
  assert.deepEqual(await standby.json(), {
    ok: true,
    role: 'standby',
    checks: { discord: { ok: true, detail: 'standby: not leading' }, store: { ok: true } },
  });
  role = 'leader';
  const leader = await fetch(`${server.url}/healthz`);
  assert.equal(leader.status, 503, 'once leading, the Discord check counts');
  assert.deepEqual(await leader.json(), {
    ok: false,
    role: 'leader',
    checks: { discord: { ok: false, detail: 'not logged in' }, store: { ok: true } },
  });
});

test('metrics answers the Prometheus text of the registry', async (t) => {
  const { server, metrics } = await start(t, {});
  metrics.runFinished('complete');
  const response = await fetch(`${server.url}/metrics`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), metrics.contentType);
  assert.match(await response.text(), /^hq_delegate_engine_runs_total\{status="complete"\} 1$/m);
});

test('other paths answer 404 and other methods 405', async (t) => {
  const { server } = await start(t, {});
  const missing = await fetch(`${server.url}/admin`);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  const post = await fetch(`${server.url}/healthz`, { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  await post.body?.cancel();
  const withQuery = await fetch(`${server.url}/healthz?verbose=1`);
  assert.equal(withQuery.status, 200);
  await withQuery.body?.cancel();
});

test('close stops listening, even with a keep-alive connection open', async (t) => {
  const { server } = await start(t, {});
  const response = await fetch(`${server.url}/healthz`);
  await response.body?.cancel();
  await server.close();
  await server.close();
  await assert.rejects(fetch(`${server.url}/healthz`));
});

test('a port already in use is refused with an error naming the ops keys', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.after(() => blocker.close());
  const address = blocker.address();
  assert.ok(address !== null && typeof address === 'object');
  const { log } = captureLog();
  await assert.rejects(
    startOpsServer({ port: address.port, checks: {}, metrics: createMetrics({ defaultMetrics: false }), log }),
    (error: unknown) =>
      error instanceof HqError && error.code === ErrorCode.CONFIG_INVALID && /ops\.port/.test(error.message),
  );
});
