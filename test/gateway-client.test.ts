import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { agentEnvKey } from '../src/config.ts';
import { createGatewayClient, type GatewayClient } from '../src/engine/gateway-client.ts';
import { buildPayload } from '../src/engine/prompt.ts';
import type { AgentEndpoint } from '../src/engine/types.ts';
import { captureLog, tempDir } from './fakes/engine-harness.ts';
import { closedPort, startFakeGateway, type FakeGatewayOptions } from './fakes/fake-gateway.ts';

function endpointAt(port: number): AgentEndpoint {
  return { name: 'tech-lead', url: `http://127.0.0.1:${port}`, sessionKey: false, maxBodyBytes: 262_144 };
}

async function setUp(
  t: TestContext,
  options: FakeGatewayOptions & { clientToken?: string | null; healthTimeoutMs?: number } = {},
) {
  const gateway = await startFakeGateway(options);
  t.after(() => gateway.close());
  const captured = captureLog();
  const token = options.clientToken === null ? undefined : (options.clientToken ?? gateway.token);
  const client = createGatewayClient({
    log: captured.log,
    tokenFor: () => token,
    tokenHintFor: (agent) => `set HQ_HOOKS_TOKEN or ${agentEnvKey(agent)}`,
    healthTimeoutMs: options.healthTimeoutMs ?? 1_000,
    sendTimeoutMs: 20_000,
    sendRetryDelaysMs: [0, 0],
  });
  t.after(() => client.close());
  const endpoint = endpointAt(gateway.port);
  return { gateway, client, endpoint, captured };
}

async function payload(
  t: TestContext,
  runId: string,
  extra: { waitForCompletion?: boolean; deliver?: boolean; sessionKey?: boolean } = {},
) {
  const dir = await tempDir(t);
  return buildPayload({
    runId,
    agent: 'tech-lead',
    task: 'say hello',
    attempt: 1,
    handoffPath: `${dir}/${runId}.json`,
    timeoutSeconds: 5,
    deliver: extra.deliver ?? false,
    waitForCompletion: extra.waitForCompletion ?? false,
    sessionKey: extra.sessionKey ?? false,
  });
}

function send(
  client: GatewayClient,
  endpoint: AgentEndpoint,
  body: Awaited<ReturnType<typeof payload>>,
  key: string,
  more: Partial<Parameters<GatewayClient['sendRun']>[2]> = {},
) {
  return client.sendRun(endpoint, body, { idempotencyKey: key, ...more });
}

test("a gateway answering OpenClaw's health body is healthy", async (t) => {
  const { client, endpoint } = await setUp(t);
  const health = await client.checkHealth(endpoint);
  assert.equal(health.healthy, true);
  assert.equal(health.detail, undefined);
});

test('a catch-all 200 HTML page on /healthz is not health', async (t) => {
  const { client, endpoint } = await setUp(t, { health: 'html' });
  const health = await client.checkHealth(endpoint);
  assert.equal(health.healthy, false);
  assert.match(health.detail ?? '', /not with OpenClaw's \{"ok":true\} \(text\/html/);
});

test('a 503 from /healthz is unhealthy and says so', async (t) => {
  const { client, endpoint } = await setUp(t, { health: 'status-503' });
  assert.deepEqual(
    { ...(await client.checkHealth(endpoint)), latencyMs: 0 },
    { healthy: false, latencyMs: 0, detail: '/healthz answered HTTP 503' },
  );
});

test('a gateway that never answers /healthz is unhealthy after the health timeout', async (t) => {
  const { client, endpoint } = await setUp(t, { health: 'hang', healthTimeoutMs: 150 });
  const health = await client.checkHealth(endpoint);
  assert.equal(health.healthy, false);
  assert.match(health.detail ?? '', /no answer within 150 ms/);
});

test('a gateway that is down is unhealthy: connection refused', async (t) => {
  const { client } = await setUp(t);
  const health = await client.checkHealth(endpointAt(await closedPort()));
  assert.equal(health.healthy, false);
  assert.match(health.detail ?? '', /connection refused/);
});

test('a run is sent with the bearer token, JSON and the idempotency key, and the gateway run id comes back', async (t) => {
  const { gateway, client, endpoint } = await setUp(t);
  const result = await send(client, endpoint, await payload(t, 'run-1', { sessionKey: true }), 'run-1:1');
  assert.equal(result.ok, true);
  assert.equal(result.ok && result.gatewayRunId, 'hook-run-1');
  const [request] = gateway.hookRequests;
  assert.equal(request?.headers.authorization, `Bearer ${gateway.token}`);
  assert.equal(request?.headers['content-type'], 'application/json');
  assert.equal(request?.idempotencyKey, 'run-1:1');
  assert.equal(request?.body?.sessionKey, 'hook:orchestrate:run-1:1');
  assert.equal(gateway.runCount, 1);
});

test('a refused token (401) is not retried and the message names the variables to set, never the token', async (t) => {
  const { gateway, client, endpoint, captured } = await setUp(t, { clientToken: 'wrong-token-value-42' });
  const result = await send(client, endpoint, await payload(t, 'run-2'), 'run-2:1');
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.retryable, false);
  assert.equal(!result.ok && result.httpStatus, 401);
  assert.equal(
    !result.ok && result.error,
    'the gateway refused the hooks token (HTTP 401): set HQ_HOOKS_TOKEN or HQ_HOOKS_TOKEN_TECH_LEAD',
  );
  assert.equal(gateway.hookRequests.length, 1);
  assert.ok(!captured.lines.join('').includes('wrong-token-value-42'));
});

test('with no token configured nothing is sent', async (t) => {
  const { gateway, client, endpoint } = await setUp(t, { clientToken: null });
  const result = await send(client, endpoint, await payload(t, 'run-3'), 'run-3:1');
  assert.equal(!result.ok && result.retryable, false);
  assert.match(
    !result.ok ? result.error : '',
    /no hooks token is configured for 'tech-lead': set HQ_HOOKS_TOKEN or HQ_HOOKS_TOKEN_TECH_LEAD/,
  );
  assert.equal(gateway.requests.length, 0);
});

test('503 then 200 is one agent run: the retry carries the same idempotency key', async (t) => {
  const { gateway, client, endpoint } = await setUp(t);
  gateway.enqueue({
    respond: 'status',
    status: 503,
    body: JSON.stringify({ ok: false, error: 'hook agent run did not start before admission timeout' }),
  });
  const result = await send(client, endpoint, await payload(t, 'run-4'), 'run-4:1');
  assert.equal(result.ok, true);
  assert.deepEqual(result.failures, [
    { httpStatus: 503, error: 'HTTP 503: hook agent run did not start before admission timeout' },
  ]);
  assert.deepEqual(
    gateway.hookRequests.map((request) => [request.status, request.idempotencyKey]),
    [
      [503, 'run-4:1'],
      [200, 'run-4:1'],
    ],
  );
  assert.equal(gateway.runCount, 1);
});

test('an answer lost after admission is retried and replays the same gateway run instead of starting another', async (t) => {
  const { gateway, client, endpoint } = await setUp(t);
  gateway.enqueue({ respond: 'drop-after-admission' });
  const result = await send(client, endpoint, await payload(t, 'run-5'), 'run-5:1');
  assert.equal(result.ok && result.gatewayRunId, 'hook-run-1');
  assert.equal(gateway.hookRequests.length, 2);
  assert.equal(gateway.runCount, 1);
});

test('a 500 is a send failure with the status and the gateway text, worth another attempt but not an immediate retry', async (t) => {
  const { gateway, client, endpoint } = await setUp(t);
  gateway.enqueue({ respond: 'status', status: 500, body: 'internal kaboom', contentType: 'text/plain' });
  const result = await send(client, endpoint, await payload(t, 'run-6'), 'run-6:1');
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.error, 'HTTP 500: internal kaboom');
  assert.equal(!result.ok && result.retryable, true);
  assert.equal(gateway.hookRequests.length, 1);
});

test('a request the gateway rejects (400: channel not registered) is not worth another attempt', async (t) => {
  const { client, endpoint } = await setUp(t, { channels: [] });
  const result = await send(client, endpoint, await payload(t, 'run-7', { deliver: true }), 'run-7:1');
  assert.equal(!result.ok && result.retryable, false);
  assert.equal(
    !result.ok && result.error,
    'the gateway cannot announce the run itself: it has no such delivery channel (HTTP 400: channel must be last)',
  );
  assert.equal(!result.ok && result.code, 'HQ_ERR_GATEWAY_DELIVERY');
});

test('a gateway that is down fails the send after the in-attempt retries', async (t) => {
  const { client } = await setUp(t);
  const endpoint = endpointAt(await closedPort());
  const result = await send(client, endpoint, await payload(t, 'run-8'), 'run-8:1');
  assert.equal(!result.ok && result.retryable, true);
  assert.match(!result.ok ? result.error : '', /connection refused/);
  assert.equal(result.failures.length, 3);
});

test('with waitForCompletion the request counts as sent once written, and the answer carries the completion', async (t) => {
  const { gateway, client, endpoint } = await setUp(t);
  gateway.setDefault({ agent: { write: 'none', finishAfterMs: 100 } });
  let sentAt = 0;
  const result = await send(client, endpoint, await payload(t, 'run-9', { waitForCompletion: true }), 'run-9:1', {
    onRequestSent: () => (sentAt = Date.now()),
  });
  const [run] = gateway.runs;
  assert.ok(sentAt > 0 && run !== undefined && sentAt <= run.startedAt + 50, 'sent is known before the run settles');
  assert.equal(result.ok && result.gatewayRunId, 'hook-run-1');
  assert.deepEqual(result.ok && result.completion, { status: 'ok', replyDisposition: 'visible' });
});

test('aborting a held waitForCompletion request ends it at once', async (t) => {
  const { gateway, client, endpoint } = await setUp(t);
  gateway.setDefault({ agent: { write: 'none', finishAfterMs: 60_000 } });
  const controller = new AbortController();
  const pending = send(client, endpoint, await payload(t, 'run-10', { waitForCompletion: true }), 'run-10:1', {
    signal: controller.signal,
    onRequestSent: () => controller.abort(),
  });
  const result = await pending;
  assert.equal(!result.ok && result.aborted, true);
});
