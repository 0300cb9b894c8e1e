/**
 * A caller's shared session (a result thread's): forwarded only to agents allowing caller session
 * keys, joined by a run's first attempt, never by its retries (the gateway would serialise a
 * retry behind the attempt it replaces), journaled with the run, and checked at the edge.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode } from '../src/errors.ts';
import type { DelegationRequest } from '../src/engine/types.ts';
import { engineFixture } from './fakes/engine-harness.ts';

const SESSION = { key: 'hook:hq:thread:run-root', persistent: true } as const;

function request(extra: Partial<DelegationRequest> = {}): DelegationRequest {
  return { agent: 'tech-lead', task: 'check the build', principals: ['manager'], session: SESSION, ...extra };
}

test('the first attempt joins the shared session; a retry takes its own key', async (t) => {
  const fixture = await engineFixture(t, {
    gateway: { script: { agent: { write: 'failed' } } },
    agentEntry: { sessionKey: true },
  });
  const result = await fixture.engine.delegate(request({ runId: 'run-s1', maxAttempts: 2 }));
  assert.equal(result.attempts, 2);
  assert.deepEqual(
    fixture.gateway.hookRequests.map((hook) => [hook.body?.sessionKey, hook.body?.sessionMode]),
    [
      ['hook:hq:thread:run-root', 'persistent'],
      ['hook:orchestrate:run-s1:2', undefined],
    ],
  );
  const accepted = fixture.journal.calls.find((call) => call.method === 'runAccepted');
  assert.deepEqual((accepted?.args[0] as { request: DelegationRequest }).request.session, SESSION);
});

test('an agent without caller session keys gets none, and its journal keeps none', async (t) => {
  const fixture = await engineFixture(t);
  const result = await fixture.engine.delegate(request({ runId: 'run-s2' }));
  assert.equal(result.status, 'complete');
  const [hook] = fixture.gateway.hookRequests;
  assert.equal(hook?.body?.sessionKey, undefined);
  assert.equal(hook?.body?.sessionMode, undefined);
  const accepted = fixture.journal.calls.find((call) => call.method === 'runAccepted');
  assert.equal((accepted?.args[0] as { request: DelegationRequest }).request.session, undefined);
});

test('a session key outside hook: is refused before anything is sent', async (t) => {
  const fixture = await engineFixture(t, { agentEntry: { sessionKey: true } });
  await assert.rejects(
    fixture.engine.delegate(request({ runId: 'run-s3', session: { key: 'agent:main:x', persistent: true } })),
    (error: { code?: string }) => error.code === ErrorCode.USAGE,
  );
  assert.equal(fixture.gateway.hookRequests.length, 0);
});
