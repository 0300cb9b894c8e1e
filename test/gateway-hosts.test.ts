/**
 * Agents on other hosts and gateways as they ship: https with a private CA, a gateway hosting
 * several agents (agentId), the shipped hooks defaults (no sessionKey), a refused registry edit
 * that sends nothing anywhere else, and a body over the gateway's limit refused before sending.
 */
import assert from 'node:assert/strict';
import { utimesSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Config } from '../src/config.ts';
import { createEngine } from '../src/engine/engine.ts';
import { createEventLog } from '../src/engine/event-log.ts';
import type { DelegationRequest, Engine } from '../src/engine/types.ts';
import { engineSettingsOf } from '../src/engine-settings.ts';
import { captureLog, tempDir, testConfig, type CapturedLog, type TestConfigOptions } from './fakes/engine-harness.ts';
import {
  AGENT_ID_REQUIRED,
  handoffText,
  SESSION_KEY_DISABLED,
  SHIPPED_HOOKS_DEFAULTS,
  startFakeGateway,
  type FakeGateway,
  type FakeGatewayOptions,
} from './fakes/fake-gateway.ts';
import { makePrivateCa } from './support/private-ca.ts';

const TASK = 'Summarise the release notes';

function request(agent: string, extra: Partial<DelegationRequest> = {}): DelegationRequest {
  return { agent, task: TASK, principals: ['operator'], ...extra };
}

/** Gateways and engines closed at the end of the test, engines first, then the temp dir. */
async function world(t: TestContext) {
  const root = await tempDir(t, 'hq-hosts-');
  const closers: (() => Promise<void>)[] = [];
  t.after(async () => {
    for (const close of closers.reverse()) await close();
  });
  return {
    root,
    async gateway(options: FakeGatewayOptions = {}): Promise<FakeGateway> {
      const gateway = await startFakeGateway(options);
      closers.push(() => gateway.close());
      return gateway;
    },
    engine(options: Omit<TestConfigOptions, 'root'>, captured: CapturedLog = captureLog()): Engine {
      const config: Config = testConfig({ root, ...options });
      const engine = createEngine({
        settings: engineSettingsOf(config),
        log: captured.log,
        eventLog: createEventLog({ dir: config.paths.logDir }),
        sendRetryDelaysMs: [0, 0],
      });
      closers.push(() => engine.close());
      return engine;
    },
  };
}

test('an https gateway with a private CA is reached with the agent’s ca; without it, nothing is sent', async (t) => {
  const here = await world(t);
  const ca = await makePrivateCa(await tempDir(t, 'hq-ca-'));
  const gateway = await here.gateway({ tls: { key: ca.key, cert: ca.cert } });
  assert.match(gateway.origin, /^https:\/\/127\.0\.0\.1:\d+$/);

  const trusting = here.engine({
    agents: { webster: { url: gateway.origin, ca: ca.caFile } },
    sharedToken: gateway.token,
  });
  const result = await trusting.delegate(request('webster', { runId: 'run-tls' }));
  assert.equal(result.status, 'complete', String(result.notes));
  assert.equal(gateway.hookRequests.length, 1);
  assert.equal(gateway.hookRequests[0]?.headers.authorization, `Bearer ${gateway.token}`);

  const doubting = here.engine({ agents: { webster: { url: gateway.origin } }, sharedToken: gateway.token });
  const refused = await doubting.delegate(request('webster', { runId: 'run-tls-untrusted' }));
  assert.equal(refused.status, 'error');
  assert.equal(refused.code, 'HQ_ERR_GATEWAY_UNHEALTHY');
  assert.match(
    String(refused.notes),
    /unhealthy at https:\/\/127\.0\.0\.1:\d+: the gateway's TLS certificate is not trusted/,
  );
  assert.equal(gateway.hookRequests.length, 1, 'no request (and no token) went over the untrusted connection');
});

test('a gateway hosting several agents is reached by agentId, and says so when it is missing', async (t) => {
  const here = await world(t);
  const gateway = await here.gateway({ agentIds: ['main', 'webster', 'scout'] });
  const engine = here.engine({
    agents: {
      webster: { url: gateway.origin, agentId: 'webster' },
      scout: { url: gateway.origin, agentId: 'scout' },
      stray: { url: gateway.origin },
    },
    sharedToken: gateway.token,
  });
  assert.equal((await engine.delegate(request('webster', { runId: 'run-webster' }))).status, 'complete');
  assert.equal((await engine.delegate(request('scout', { runId: 'run-scout' }))).status, 'complete');
  assert.deepEqual(
    gateway.runs.map((run) => [run.runId, run.agentId]),
    [
      ['run-webster', 'webster'],
      ['run-scout', 'scout'],
    ],
  );
  const missing = await engine.delegate(request('stray', { runId: 'run-stray' }));
  assert.equal(missing.status, 'error');
  assert.equal(missing.code, 'HQ_ERR_GATEWAY_SEND');
  assert.match(String(missing.notes), new RegExp(`HTTP 400: ${AGENT_ID_REQUIRED}`));
});

test('a gateway with the shipped hooks settings takes the default payload: no sessionKey, 200', async (t) => {
  const here = await world(t);
  const gateway = await here.gateway(SHIPPED_HOOKS_DEFAULTS);
  const engine = here.engine({ agents: { webster: { port: gateway.port } }, sharedToken: gateway.token });
  const result = await engine.delegate(request('webster', { runId: 'run-shipped' }));
  assert.equal(result.status, 'complete', String(result.notes));
  const [hook] = gateway.hookRequests;
  assert.equal(hook?.status, 200);
  assert.equal(hook?.body !== undefined && 'sessionKey' in hook.body, false);
  assert.equal(hook?.body !== undefined && 'agentId' in hook.body, false);
});

test('sessionKey is sent where the agent asks for it; a gateway as shipped refuses it in its own words', async (t) => {
  const here = await world(t);
  const allowing = await here.gateway();
  const shipped = await here.gateway(SHIPPED_HOOKS_DEFAULTS);
  const engine = here.engine({
    agents: {
      webster: { port: allowing.port, sessionKey: true },
      scout: { port: shipped.port, sessionKey: true },
    },
    tokens: { webster: allowing.token, scout: shipped.token },
  });
  assert.equal((await engine.delegate(request('webster', { runId: 'run-keyed' }))).status, 'complete');
  assert.equal(allowing.hookRequests[0]?.body?.sessionKey, 'hook:orchestrate:run-keyed:1');

  const refused = await engine.delegate(request('scout', { runId: 'run-keyed-2' }));
  assert.equal(refused.status, 'error');
  assert.match(String(refused.notes), new RegExp(`HTTP 400: ${SESSION_KEY_DISABLED.replaceAll('.', '\\.')}`));
});

test('a bad registry edit sends nothing to another gateway: the last good stays, and with none it is refused', async (t) => {
  const here = await world(t);
  const webster = await here.gateway({ token: 'webster-hooks-token-0123456789' });
  const manager = await here.gateway({ token: 'manager-hooks-token-0123456789' });
  const registryPath = path.join(here.root, 'AGENTS_REGISTRY.json');
  await writeFile(
    registryPath,
    JSON.stringify({ agents: { webster: { port: webster.port }, manager: { port: manager.port } } }),
  );
  // The config map still has webster where manager's gateway now listens (the issue's set-up).
  const options = {
    agents: { webster: { port: manager.port } },
    acl: { operator: ['webster', 'manager'] },
    tokens: { webster: webster.token, manager: manager.token },
  };
  const captured = captureLog();
  const engine = here.engine(options, captured);
  assert.equal((await engine.delegate(request('webster', { runId: 'run-before' }))).status, 'complete');

  await writeFile(
    registryPath,
    JSON.stringify({ agents: { webster: { port: 'abc' }, manager: { port: manager.port } } }),
  );
  utimesSync(registryPath, new Date(), new Date(Date.now() + 5_000));
  const after = await engine.delegate(request('webster', { runId: 'run-after' }));
  assert.equal(after.status, 'complete', 'the last good entry is still in force');
  assert.equal(webster.runCount, 2);
  const refusals = captured.lines.filter((line) => line.includes('agent registry edit refused'));
  assert.equal(refusals.length, 1);
  assert.match(refusals[0] ?? '', /AGENTS_REGISTRY\.json: entry \\"webster\\": port/);

  // A process that never saw a good version: webster is misconfigured, and goes nowhere.
  const fresh = here.engine(options);
  await assert.rejects(fresh.delegate(request('webster', { runId: 'run-fresh' })), {
    code: 'HQ_ERR_AGENT_MISCONFIGURED',
    message: /^Agent 'webster' is misconfigured, so nothing was sent: .*entry "webster": port/,
  });
  assert.equal(webster.runCount, 2);
  assert.equal(manager.requests.length + manager.healthRequests, 0, 'manager’s gateway heard nothing');
  const headers = [...manager.requests, ...webster.requests].map((hook) => JSON.stringify(hook.headers));
  assert.ok(!headers.some((line) => line.includes(manager.token)), 'webster never carried manager’s token');
});

test('a context too large for the gateway’s body limit is refused before sending, naming the limit and sizes', async (t) => {
  const here = await world(t);
  const gateway = await here.gateway();
  const small = await here.gateway();
  const engine = here.engine({
    agents: { webster: { port: gateway.port }, scout: { port: small.port, maxBodyBytes: 65_536 } },
    tokens: { webster: gateway.token, scout: small.token },
  });

  // Under the 256 KiB context-file cap, but the whole body would be over the gateway's 256 KiB: it used to get 413.
  const context = 'x'.repeat(261_000);
  await assert.rejects(engine.delegate(request('webster', { runId: 'run-big', context })), (error: Error) => {
    assert.equal((error as { code?: string }).code, 'HQ_ERR_REQUEST_TOO_LARGE');
    assert.match(error.message, /^The request to 'webster' would be \d+ bytes, of which the context is 261000 bytes/);
    assert.match(
      error.message,
      /its gateway accepts at most 262144 bytes\. Shorten the context by at least \d+ bytes\.$/,
    );
    return true;
  });
  assert.equal(gateway.requests.length + gateway.healthRequests, 0, 'nothing was sent');

  const fits = await engine.delegate(request('webster', { runId: 'run-fits', context: 'y'.repeat(250_000) }));
  assert.equal(fits.status, 'complete');
  assert.equal(gateway.hookRequests[0]?.status, 200);

  await assert.rejects(engine.delegate(request('scout', { runId: 'run-scout', context: 'z'.repeat(70_000) })), {
    code: 'HQ_ERR_REQUEST_TOO_LARGE',
    message: /accepts at most 65536 bytes/,
  });
  assert.equal(small.requests.length, 0);
});

test('a retry note that pushes a later attempt over the limit fails the run, naming the limit, unsent', async (t) => {
  const here = await world(t);
  const gateway = await here.gateway();
  const engine = here.engine({
    agents: { webster: { port: gateway.port, maxBodyBytes: 65_536 } },
    sharedToken: gateway.token,
  });
  const failed = { ...(JSON.parse(handoffText('failed', 'run-note', 'webster')) as object), notes: 'n'.repeat(3_000) };
  gateway.enqueue({ agent: { write: { json: failed } } });
  const context = 'c'.repeat(61_000);
  const result = await engine.delegate(request('webster', { runId: 'run-note', context, maxAttempts: 2 }));
  assert.equal(result.status, 'error');
  assert.match(String(result.notes), /its gateway accepts at most 65536 bytes/);
  assert.equal(gateway.hookRequests.length, 1, 'the second attempt was not sent');
});

test('a CA file that cannot be read is named, and nothing is sent', async (t) => {
  const here = await world(t);
  const gateway = await here.gateway();
  const caFile = path.join(here.root, 'missing-ca.pem');
  const engine = here.engine({
    agents: { webster: { url: `https://127.0.0.1:${gateway.port}`, ca: caFile } },
    sharedToken: gateway.token,
  });
  const result = await engine.delegate(request('webster', { runId: 'run-no-ca' }));
  assert.equal(result.code, 'HQ_ERR_GATEWAY_UNHEALTHY');
  assert.ok(String(result.notes).includes(`the CA file ${caFile} cannot be read (ENOENT)`), String(result.notes));
  assert.equal(gateway.requests.length + gateway.healthRequests, 0);
});
