import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { test } from 'node:test';
import { hashToken } from '../src/engine/handoff-tokens.ts';
import { buildPrompt } from '../src/engine/prompt.ts';
import type { RunResult } from '../src/engine/types.ts';
import { progressRecorder } from './fakes/engine-harness.ts';
import { handoffText, type FakeRun } from './fakes/fake-gateway.ts';
import { httpWorld, type HttpWorld } from './support/http-handoff-world.ts';

/** A run of `agent` whose agent never answers by itself: the test PUTs for it. */
async function waitingRun(world: HttpWorld, runId: string, agent = 'webster') {
  const progress = progressRecorder();
  const sent = world.gateway.next('run', (run) => run.runId === runId);
  const result = world.engine.delegate(
    { runId, agent, task: `task ${runId}`, principals: ['operator'], maxAttempts: 1 },
    { onProgress: progress.onProgress },
  );
  const [run] = await sent;
  await progress.until('waiting');
  assert.ok(run.handoffToken, 'the prompt carries a token');
  return { run, result, progress, token: run.handoffToken };
}

function assertStillWaiting(world: HttpWorld, runId: string): void {
  const stored = world.store.getRun(runId);
  assert.equal(stored?.status, 'running', `${runId} is still running`);
  assert.equal(stored?.attempts.length, 1);
  assert.equal(stored?.attempts[0]?.outcome, undefined, `${runId}'s attempt has not ended`);
}

test('an http agent PUTs its handoff with the token from its prompt, and the run completes', async (t) => {
  const world = await httpWorld(t, { gateway: { script: { respond: 'admit', agent: { write: 'valid' } } } });
  const handoff = world.gateway.next('handoff');
  const result = await world.engine.delegate({
    runId: 'http-ok',
    agent: 'webster',
    task: 't',
    principals: ['operator'],
  });
  assert.equal(result.status, 'complete');
  assert.equal(result.result, 'findings for http-ok');
  const [run] = await handoff;
  assert.equal(run.putStatus, 202);
  assert.equal(run.handoffPath, undefined, 'no file path in the prompt');
  assert.equal(run.handoffUrl, `${world.publicUrl}/v1/handoffs/http-ok`);
  assert.match(run.handoffToken ?? '', /^[A-Za-z0-9_-]{43}$/, '256 random bits, base64url');
});

test('the http prompt differs from the reference template only where the file path was', () => {
  const input = { runId: 'r-1', agent: 'webster', task: 'do it', attempt: 1, handoffPath: '/h/r-1.json' };
  const file = buildPrompt(input).split('\n');
  const url = 'https://hq.example.net/v1/handoffs/r-1';
  const http = buildPrompt({ ...input, httpHandoff: { url, token: 'tok' } }).split('\n');
  const at = file.indexOf('/h/r-1.json');
  assert.deepEqual(http.slice(0, at - 1), file.slice(0, at - 1));
  assert.deepEqual(http.slice(at + 3), file.slice(at + 1));
  assert.deepEqual(http.slice(at - 1, at + 3), [
    'IMPORTANT: When you complete this task, send your response as JSON in an HTTP PUT to:',
    url,
    'with the header "Authorization: Bearer tok" (this token is for this task only), for example:',
    `curl -fsS -X PUT -H 'Authorization: Bearer tok' -H 'Content-Type: application/json' --data-binary @response.json '${url}'`,
  ]);
});

test('every bad request gets its status and leaves the run and every other run untouched', async (t) => {
  const world = await httpWorld(t, {
    gateway: { script: { respond: 'admit', agent: { write: 'none' } } },
    engine: { maxHandoffBytes: 1_024 },
  });
  const a = await waitingRun(world, 'victim-a');
  const b = await waitingRun(world, 'other-b', 'tech-lead');
  const valid = handoffText('valid', 'victim-a', 'webster');

  assert.equal((await world.put('no-such-run', { token: a.token, body: valid })).status, 404, 'unknown run');
  assert.equal((await world.put('../victim-a', { token: a.token, body: valid })).status, 404, 'not a run id');
  const noToken = await world.put('victim-a', { body: valid });
  assert.equal(noToken.status, 401, 'no token');
  assert.equal(noToken.headers.get('www-authenticate'), 'Bearer');
  assert.equal((await world.put('victim-a', { token: b.token, body: valid })).status, 401, "another run's token");
  assert.equal((await world.put('victim-a', { token: `${a.token}x`, body: valid })).status, 401, 'a near miss');
  const basic = await world.put('victim-a', { body: valid, headers: { authorization: `Basic ${a.token}` } });
  assert.equal(basic.status, 401, 'not a bearer token');
  const big = await world.put('victim-a', { token: a.token, body: `{"pad": "${'x'.repeat(2_000)}"}` });
  assert.equal(big.status, 413, 'over maxHandoffBytes');
  assert.equal((await world.put('victim-a', { token: a.token, body: '{"status": "compl' })).status, 400, 'not JSON');
  assert.equal((await world.put('victim-a', { token: a.token, body: '  ' })).status, 400, 'empty');
  const get = await world.put('victim-a', { token: a.token, body: '', method: 'GET' });
  assert.equal(get.status, 405);
  assert.equal(get.headers.get('allow'), 'PUT');
  assert.equal((await world.put('x', { token: a.token, body: valid, path: '/v1/other/victim-a' })).status, 404);

  assertStillWaiting(world, 'victim-a');
  assertStillWaiting(world, 'other-b');
  assert.ok(!a.progress.seen.some((p) => p.type === 'handoff_seen' || p.type === 'done'));

  const accepted = await world.put('victim-a', { token: a.token, body: valid });
  assert.equal(accepted.status, 202);
  assert.deepEqual(accepted.json, { ok: true, runId: 'victim-a' });
  assert.equal((await a.result).status, 'complete');
  const again = await world.put('victim-a', { token: a.token, body: valid });
  assert.equal(again.status, 409, 'a second PUT with the used token');
  assertStillWaiting(world, 'other-b');

  const forB = await world.put('other-b', { token: b.token, body: handoffText('valid', 'other-b', 'tech-lead') });
  assert.equal(forB.status, 202);
  assert.equal((await b.result).status, 'complete');
});

test('an over-cap body is refused from its Content-Length, before the body is sent', async (t) => {
  const world = await httpWorld(t, {
    gateway: { script: { respond: 'admit', agent: { write: 'none' } } },
    engine: { maxHandoffBytes: 1_024 },
  });
  const { token } = await waitingRun(world, 'cap-run');
  // Only the headers go out: a 413 that needed the body would never come.
  const status = await new Promise<number>((resolve, reject) => {
    const url = new URL(`${world.publicUrl}/v1/handoffs/cap-run`);
    const req = request(url, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-length': String(64 * 1_024 * 1_024) },
    });
    req.on('response', (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
      req.destroy();
    });
    req.on('error', reject);
    req.flushHeaders();
  });
  assert.equal(status, 413);
  assertStillWaiting(world, 'cap-run');
});

test('an invalid handoff over HTTP is retried like a file; the next attempt gets a new token', async (t) => {
  const world = await httpWorld(t);
  world.gateway.enqueue(
    { respond: 'admit', agent: { write: 'strict-invalid' } },
    { respond: 'admit', agent: { write: 'valid' } },
  );
  const runs: FakeRun[] = [];
  world.gateway.on('run', (run) => runs.push(run));
  const result = await world.engine.delegate({
    runId: 'http-retry',
    agent: 'webster',
    task: 't',
    principals: ['operator'],
    maxAttempts: 2,
  });
  assert.equal(result.status, 'complete');
  assert.equal(result.attempts, 2);
  assert.equal(runs.length, 2);
  assert.notEqual(runs[0]!.handoffToken, runs[1]!.handoffToken);
  assert.match(runs[1]!.request.body?.message as string, /RETRY \(attempt 2\)/);
  const again = await world.put('http-retry', { token: runs[0]!.handoffToken, body: '{}' });
  assert.equal(again.status, 409, 'the first token was used by the invalid handoff');
});

test('repeated bad tokens from one address are throttled (429, Retry-After); others still get through', async (t) => {
  const world = await httpWorld(t, {
    gateway: { script: { respond: 'admit', agent: { write: 'none' } } },
    trustProxy: true,
  });
  const { token, result } = await waitingRun(world, 'throttled-run');
  const valid = handoffText('valid', 'throttled-run', 'webster');
  const attacker = { 'x-forwarded-for': '203.0.113.7' };
  for (let i = 0; i < 20; i += 1) {
    const answer = await world.put('throttled-run', { token: `guess-${i}`, body: valid, headers: attacker });
    assert.equal(answer.status, 401, `guess ${i}`);
  }
  const throttled = await world.put('throttled-run', { token: 'guess-21', body: valid, headers: attacker });
  assert.equal(throttled.status, 429);
  assert.ok(Number(throttled.headers.get('retry-after')) >= 1, 'Retry-After in seconds');
  const evenRight = await world.put('throttled-run', { token, body: valid, headers: attacker });
  assert.equal(evenRight.status, 429, 'a throttled address is refused before its token is looked at');
  assertStillWaiting(world, 'throttled-run');

  const agent = await world.put('throttled-run', {
    token,
    body: valid,
    headers: { 'x-forwarded-for': '198.51.100.2' },
  });
  assert.equal(agent.status, 202);
  assert.equal((await result).status, 'complete');
});

test('a restart between the POST and the PUT: the resumed run accepts the token', async (t) => {
  const world = await httpWorld(t, { gateway: { script: { respond: 'admit', agent: { write: 'none' } } } });
  const { token, result } = await waitingRun(world, 'restart-run');
  await world.restart();
  assert.equal(((await result) as RunResult).status, 'cancelled', 'the first engine let go of it');

  const pending = world.store.listResumable().find((run) => run.runId === 'restart-run');
  assert.ok(pending?.sent, 'journaled as sent');
  const progress = progressRecorder();
  const resumed = world.engine.resume(pending, { onProgress: progress.onProgress });
  await progress.until('waiting');
  const answer = await world.put('restart-run', { token, body: handoffText('valid', 'restart-run', 'webster') });
  assert.equal(answer.status, 202);
  const final = await resumed;
  assert.equal(final.status, 'complete');
  assert.equal(world.gateway.hookRequests.length, 1, 'the task was not sent again');
});

test('the token is in no log line, no event-log line and not in the store (only its hash is)', async (t) => {
  const world = await httpWorld(t, { gateway: { script: { respond: 'admit', agent: { write: 'none' } } } });
  const { token, result } = await waitingRun(world, 'secret-run');
  await world.put('secret-run', { token: 'wrong', body: '{}' });
  await world.put('secret-run', { token, body: '{"oops' });
  await world.put('secret-run', { token, body: handoffText('valid', 'secret-run', 'webster') });
  assert.equal((await result).status, 'complete');
  await world.put('secret-run', { token, body: '{}' });
  assert.equal(world.store.tokenHashes('secret-run')[0]?.tokenHash, hashToken(token));

  const logs = world.captured.lines.join('');
  assert.ok(logs.includes('handoff received over HTTP'), 'the logs were captured');
  assert.ok(!logs.includes(token), 'not in the logs');
  const events = (await world.eventLines()).join('\n');
  assert.ok(events.includes('secret-run'));
  assert.ok(!events.includes(token), 'not in the event log');
  assert.ok(!JSON.stringify(world.store.getRun('secret-run')).includes(token), 'not in the run record');
  await world.restart();
  for (const suffix of ['', '-wal']) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(`${world.store.file}${suffix}`);
    } catch {
      continue;
    }
    assert.ok(!bytes.includes(token), `not in runs.sqlite${suffix}`);
  }
});

test('an http agent with no handoffListener configured is refused with a config error', async (t) => {
  const world = await httpWorld(t);
  const { createEngine } = await import('../src/engine/engine.ts');
  const { engineSettingsOf } = await import('../src/engine-settings.ts');
  const { createEventLog } = await import('../src/engine/event-log.ts');
  const engine = createEngine({
    settings: engineSettingsOf({ ...world.config, handoffListener: undefined }),
    log: world.captured.log,
    eventLog: createEventLog({ dir: world.config.paths.logDir }),
  });
  t.after(() => engine.close());
  await assert.rejects(
    engine.delegate({ runId: 'no-listener', agent: 'webster', task: 't', principals: ['operator'] }),
    (error: Error & { code?: string }) =>
      error.code === 'HQ_ERR_CONFIG_INVALID' && /handoffListener/.test(error.message) && /webster/.test(error.message),
  );
  assert.equal(world.gateway.hookRequests.length, 0, 'nothing was sent');
});
