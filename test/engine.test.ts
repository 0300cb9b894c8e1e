import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { chmod, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { isSuccess, type DelegationRequest, type RunResult } from '../src/engine/types.ts';
import { engineFixture, progressRecorder, tempDir } from './fakes/engine-harness.ts';
import { closedPort, handoffText, startFakeGateway, type FakeRun } from './fakes/fake-gateway.ts';

const TASK = 'Summarise the thermal study';

function request(extra: Partial<DelegationRequest> = {}): DelegationRequest {
  return { agent: 'tech-lead', task: TASK, principals: ['manager'], ...extra };
}

function messages(fixture: { gateway: { hookRequests: { body?: Record<string, unknown> | undefined }[] } }): string[] {
  return fixture.gateway.hookRequests.map((hook) => String(hook.body?.message ?? ''));
}

/** The path the prompt gave the agent of run `runId` (it carries the run's secret). */
function promptedPath(fixture: { gateway: { runs: readonly FakeRun[] } }, runId: string): string {
  const run = fixture.gateway.runs.find((candidate) => candidate.runId === runId);
  assert.ok(run?.handoffPath, `the gateway saw run ${runId}`);
  return run.handoffPath;
}

const SECRET = '0123456789abcdef0123456789abcdef';

describe('engine: outcomes', () => {
  test('a valid handoff completes the run with the handoff fields first, then run metadata', async (t) => {
    const fixture = await engineFixture(t);
    const progress = progressRecorder();
    const result = await fixture.engine.delegate(
      request({ runId: 'run-complete', workflowRunId: 'wf-1', stepId: 'step-2' }),
      { onProgress: progress.onProgress },
    );
    assert.equal(result.status, 'complete');
    assert.equal(isSuccess(result.status), true);
    assert.deepEqual(Object.keys(result), [
      'schemaVersion',
      'runId',
      'agent',
      'status',
      'result',
      'deliverable',
      'artifacts',
      'confidence',
      'notes',
      'timestamp',
      'latencyMs',
      'attempts',
      'workflowRunId',
      'stepId',
    ]);
    assert.equal(result.result, 'findings for run-complete');
    assert.equal(result.attempts, 1);
    assert.ok(result.latencyMs >= 0);
    assert.deepEqual(
      progress.seen.map((p) => p.type),
      ['queued', 'sent', 'waiting', 'handoff_seen', 'done'],
    );
    assert.deepEqual(fixture.journal.methods(), [
      'runAccepted',
      'attemptStarted',
      'attemptSent',
      'attemptEnded',
      'runFinished',
    ]);
    const [hook] = fixture.gateway.hookRequests;
    assert.match(hook?.idempotencyKey ?? '', /^run-complete:1:\d{13}$/);
    assert.equal(hook?.body?.timeoutSeconds, 5, 'the wait, not 600');
    assert.equal(hook?.body?.deliver, false);
    assert.equal(hook?.body?.waitForCompletion, undefined);
  });

  test('a partial handoff with medium confidence is an answer (exit 0), not a retry', async (t) => {
    const fixture = await engineFixture(t, { gateway: { script: { agent: { write: 'partial' } } } });
    const result = await fixture.engine.delegate(request({ maxAttempts: 3 }));
    assert.equal(result.status, 'partial');
    assert.equal(result.attempts, 1);
    assert.equal(fixture.gateway.runCount, 1);
  });

  test('a low-confidence partial is retried while attempts remain, and returned as partial on the last', async (t) => {
    const fixture = await engineFixture(t, { gateway: { script: { agent: { write: 'partial-low' } } } });
    const result = await fixture.engine.delegate(request({ maxAttempts: 2 }));
    assert.equal(result.status, 'partial');
    assert.equal(result.confidence, 'low');
    assert.equal(result.attempts, 2);
    assert.match(
      messages(fixture)[1] ?? '',
      /RETRY \(attempt 2\): Previous attempt failed: partial with low confidence/,
    );
    const events = (await fixture.events())
      .filter((e) => e.event !== 'attempt_start')
      .map((e) => [e.event, e.attempt, e.detail, e.confidence]);
    assert.deepEqual(events, [
      ['validation_failed', 1, 'partial with low confidence', undefined],
      ['complete', 2, 'partial', 'low'],
    ]);
  });

  test('blocked is final at once, whatever attempts remain', async (t) => {
    const fixture = await engineFixture(t, { gateway: { script: { agent: { write: 'blocked' } } } });
    const result = await fixture.engine.delegate(request({ maxAttempts: 3 }));
    assert.equal(result.status, 'blocked');
    assert.equal(result.notes, 'needs credentials for the archive');
    assert.equal(isSuccess(result.status), false);
    assert.equal(fixture.gateway.runCount, 1);
    const events = await fixture.events();
    assert.ok(
      events.some(
        (e) => e.event === 'validation_failed' && e.detail === 'Agent blocked: needs credentials for the archive',
      ),
    );
  });

  test('failed is retried with the reason in the retry note, the old file set aside, then returned as failed', async (t) => {
    const fixture = await engineFixture(t, {
      gateway: { script: { agent: { write: 'failed' } } },
      agentEntry: { sessionKey: true },
    });
    const progress = progressRecorder();
    const agentDir = path.join(fixture.handoffDir, 'tech-lead');
    const whileRetrying: string[] = [];
    const result = await fixture.engine.delegate(request({ runId: 'run-failed', maxAttempts: 2 }), {
      onProgress: (p) => {
        progress.onProgress(p);
        if (p.type === 'retrying') whileRetrying.push(...readdirSync(agentDir));
      },
    });
    assert.equal(result.status, 'failed');
    assert.equal(result.attempts, 2);
    assert.equal(fixture.gateway.runCount, 2);
    const second = messages(fixture)[1] ?? '';
    assert.match(
      second,
      /⚠️ RETRY \(attempt 2\): Previous attempt failed: agent failed: the source was unreachable\nPlease try again carefully\./,
    );
    assert.deepEqual(
      fixture.gateway.hookRequests.map((hook) => hook.body?.sessionKey),
      ['hook:orchestrate:run-failed:1', 'hook:orchestrate:run-failed:2'],
    );
    const stem = path.basename(promptedPath(fixture, 'run-failed'), '.json');
    assert.deepEqual(whileRetrying, [`${stem}.prev.json`], "the first attempt's file set aside");
    assert.deepEqual(await readdir(agentDir), [], 'both removed once the result is journaled');
    assert.deepEqual(
      progress.seen.filter((p) => p.type === 'retrying'),
      [
        {
          type: 'retrying',
          runId: 'run-failed',
          attempt: 2,
          maxAttempts: 2,
          reason: 'agent failed: the source was unreachable',
        },
      ],
    );
  });

  test('a failed attempt followed by a valid one completes on attempt 2', async (t) => {
    const fixture = await engineFixture(t);
    fixture.gateway.enqueue({ agent: { write: 'failed' } });
    const result = await fixture.engine.delegate(request({ maxAttempts: 3 }));
    assert.equal(result.status, 'complete');
    assert.equal(result.attempts, 2);
  });

  test('an agent that never writes times out after the attempt timeout (timeoutSeconds: 1)', async (t) => {
    const fixture = await engineFixture(t, { gateway: { script: { agent: { write: 'none' } } } });
    const started = Date.now();
    const result = await fixture.engine.delegate(request({ timeoutSeconds: 1 }));
    assert.deepEqual(
      { status: result.status, result: result.result, notes: result.notes },
      { status: 'timeout', result: null, notes: 'Agent did not respond within 1s (attempt 1/1)' },
    );
    assert.ok(Date.now() - started >= 1_000);
    assert.ok((await fixture.events()).some((e) => e.event === 'timeout'));
  });

  test('malformed JSON is retried, then returned as malformed with the raw text', async (t) => {
    const fixture = await engineFixture(t, { gateway: { script: { agent: { write: 'malformed' } } } });
    const result = await fixture.engine.delegate(request({ maxAttempts: 2 }));
    assert.equal(result.status, 'malformed');
    assert.equal(result.result, handoffText('malformed', '', ''));
    assert.equal(result.notes, 'Invalid JSON in handoff file');
    assert.equal(result.code, 'HQ_ERR_HANDOFF_INVALID');
    assert.match(messages(fixture)[1] ?? '', /Previous attempt failed: malformed response/);
  });

  test('a half-written handoff (truncate, half, 50 ms, rest) is taken as valid', async (t) => {
    const fixture = await engineFixture(t, {
      gateway: { script: { agent: { how: 'halves', halfGapMs: 50 } } },
      engine: { handoffSettleMs: 5_000 },
    });
    const result = await fixture.engine.delegate(request());
    assert.equal(result.status, 'complete');
    assert.equal(result.attempts, 1);
  });

  test('the handoff directory exists by the time the gateway has the POST: an agent may write at once', async (t) => {
    const fixture = await engineFixture(t, { gateway: { script: { agent: { write: 'valid' } } } });
    assert.equal(existsSync(fixture.handoffDir), false, 'the fixture starts without it');
    const seen: boolean[] = [];
    fixture.gateway.on('run', (run) => seen.push(existsSync(path.dirname(run.handoffPath ?? ''))));
    assert.equal((await fixture.engine.delegate(request())).status, 'complete');
    assert.deepEqual(seen, [true]);
  });

  test('a symlink named <run>.json is refused: error with HQ_ERR_HANDOFF_REFUSED', async (t) => {
    const fixture = await engineFixture(t, { gateway: { script: { agent: { write: 'none' } } } });
    fixture.gateway.on('run', (run) => symlinkSync('/etc/passwd', run.handoffPath ?? ''));
    const result = await fixture.engine.delegate(request());
    assert.deepEqual(
      { status: result.status, notes: result.notes, code: result.code },
      { status: 'error', notes: 'Handoff file refused: it is a symbolic link', code: 'HQ_ERR_HANDOFF_REFUSED' },
    );
    assert.ok(!JSON.stringify(result).includes('root:'));
  });

  test('a strict-invalid complete handoff is retried, then the run is invalid with the validation error in notes', async (t) => {
    const fixture = await engineFixture(t, { gateway: { script: { agent: { write: 'strict-invalid' } } } });
    const result = await fixture.engine.delegate(request({ maxAttempts: 2 }));
    const problem = "Invalid deliverable type: 'essay' (valid: document, code, analysis, recommendation, review, data)";
    assert.equal(result.status, 'invalid');
    assert.equal(result.notes, problem);
    assert.equal(result.code, 'HQ_ERR_HANDOFF_INVALID');
    assert.equal(isSuccess(result.status), false);
    assert.match(
      messages(fixture)[1] ?? '',
      new RegExp(`Previous attempt failed: invalid handoff: ${problem.replace(/[()]/g, '\\$&')}`),
    );
    const events = await fixture.events();
    assert.deepEqual(
      events.filter((e) => e.event === 'validation_failed').map((e) => e.detail),
      [problem, problem],
    );
    assert.ok(events.some((e) => e.event === 'invalid' && e.detail === problem));
  });

  test('lenient mode takes a handoff strict mode refuses for missing fields', async (t) => {
    const fixture = await engineFixture(t, { gateway: { script: { agent: { write: 'lenient-only' } } } });
    assert.equal((await fixture.engine.delegate(request({ strict: false }))).status, 'complete');
    const strict = await fixture.engine.delegate(request({ strict: true }));
    assert.equal(strict.status, 'invalid');
    assert.equal(strict.notes, 'Missing fields: schemaVersion, confidence, timestamp');
  });

  test('wait: false resolves as sent after the first successful POST', async (t) => {
    const fixture = await engineFixture(t, { engine: { waitForCompletion: true } });
    const result = await fixture.engine.delegate(request({ runId: 'run-sent', wait: false }));
    assert.equal(result.status, 'sent');
    assert.equal(result.runId, 'run-sent');
    assert.equal(result.gatewayRunId, 'hook-run-1');
    assert.equal(isSuccess(result.status), true);
    assert.equal(
      fixture.gateway.hookRequests[0]?.body?.waitForCompletion,
      undefined,
      'nobody waits for the completion',
    );
  });
});

describe('engine: a handoff that cannot be read', () => {
  test('an unreadable handoff is retried, then the run ends in error with the read error (engine run as an unprivileged user)', async (t) => {
    const gateway = await startFakeGateway({ script: { agent: { write: 'none' } } });
    const root = await tempDir(t, 'hq-unreadable-');
    t.after(() => gateway.close());
    await chmod(root, 0o777);
    // The agent (this process, root) leaves a file the engine (another user) may not read. It is
    // unreadable from its creation: written then chmodded, the engine could read it in between.
    gateway.on('run', (run) => {
      writeFileSync(run.handoffPath ?? '', handoffText('valid', run.runId ?? '', 'tech-lead'), { mode: 0o000 });
    });
    const script = `
      import { createEngine } from ${JSON.stringify(path.resolve('src/engine/engine.ts'))};
      import { createEventLog } from ${JSON.stringify(path.resolve('src/engine/event-log.ts'))};
      import { engineSettingsOf } from ${JSON.stringify(path.resolve('src/engine-settings.ts'))};
      import { captureLog, testConfig } from ${JSON.stringify(path.resolve('test/fakes/engine-harness.ts'))};
      const config = testConfig({ root: ${JSON.stringify(root)}, agents: { 'tech-lead': { port: ${gateway.port} } }, acl: { operator: ['tech-lead'] }, sharedToken: ${JSON.stringify(gateway.token)} });
      const engine = createEngine({ settings: engineSettingsOf(config), log: captureLog().log, eventLog: createEventLog({ dir: config.paths.logDir }), sendRetryDelaysMs: [0, 0] });
      const result = await engine.delegate({ runId: 'run-eacces', agent: 'tech-lead', task: 't', principals: ['operator'], maxAttempts: 2 });
      await engine.close();
      process.stdout.write(JSON.stringify(result));`;
    const asNobody = process.getuid?.() === 0 ? { uid: 65_534, gid: 65_534 } : {};
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      ...asNobody,
      encoding: 'utf8',
    });
    const result = JSON.parse(stdout) as RunResult;
    assert.equal(result.status, 'error');
    assert.match(String(result.notes), /^Failed to read handoff file: EACCES/);
    assert.doesNotMatch(String(result.notes), /[0-9a-f]{32}/, "the error names the file without the run's secret");
    assert.equal(result.attempts, 2);
    assert.match(
      String(gateway.hookRequests[1]?.body?.message),
      /Previous attempt failed: error: Failed to read handoff file: EACCES/,
    );
    assert.deepEqual(await readdir(path.join(root, 'handoffs', 'tech-lead')), [], 'removed once journaled');
  });
});

describe('engine: refusals before anything is touched', () => {
  test('a run id with path traversal is refused and nothing is written or sent', async (t) => {
    const fixture = await engineFixture(t);
    await assert.rejects(fixture.engine.delegate(request({ runId: '../../x' })), { code: 'HQ_ERR_RUN_ID_INVALID' });
    assert.deepEqual(await readdir(fixture.root), []);
    assert.equal(existsSync(path.join(fixture.root, '..', 'x.json')), false);
    assert.equal(fixture.gateway.requests.length + fixture.gateway.healthRequests, 0);
    assert.equal(fixture.journal.calls.length, 0);
  });

  test('an unknown agent is refused with the list of known agents', async (t) => {
    const fixture = await engineFixture(t);
    await assert.rejects(fixture.engine.delegate(request({ agent: 'ghost' })), {
      code: 'HQ_ERR_AGENT_UNKNOWN',
      message: "Unknown agent 'ghost'. Known agents: tech-lead",
    });
  });

  test('an ACL denial names caller and target, is logged as acl_denied, and sends nothing', async (t) => {
    const fixture = await engineFixture(t);
    await assert.rejects(fixture.engine.delegate(request({ runId: 'run-acl', principals: ['secretary'] })), {
      code: 'HQ_ERR_ACCESS_DENIED',
      message: "ACL denied: 'secretary' is not in the delegation ACL, so cannot delegate to 'tech-lead'",
    });
    await assert.rejects(fixture.engine.delegate(request({ principals: ['tech-lead'] })), {
      message: "ACL denied: 'tech-lead' cannot delegate to itself",
    });
    const [denied] = await fixture.events();
    assert.equal(denied?.event, 'acl_denied');
    assert.equal(denied?.runId, 'run-acl');
    assert.equal(denied?.detail, 'caller=secretary');
    assert.equal(fixture.gateway.requests.length, 0);
    assert.equal(fixture.journal.calls.length, 0);
  });
});

describe('engine: the gateway', () => {
  test('a gateway that is down ends the run unhealthy, naming host, port and why', async (t) => {
    const fixture = await engineFixture(t);
    const port = await closedPort();
    const { createEngine } = await import('../src/engine/engine.ts');
    const { createEventLog } = await import('../src/engine/event-log.ts');
    const { engineSettingsOf } = await import('../src/engine-settings.ts');
    const config = { ...fixture.config, agents: { 'tech-lead': { port, host: '127.0.0.1' } } };
    const engine = createEngine({
      settings: engineSettingsOf(config),
      log: fixture.captured.log,
      eventLog: createEventLog({ dir: fixture.config.paths.logDir }),
    });
    t.after(() => engine.close());
    const result = await engine.delegate(request());
    assert.equal(result.status, 'error');
    assert.equal(result.code, 'HQ_ERR_GATEWAY_UNHEALTHY');
    assert.match(
      String(result.notes),
      new RegExp(`^Agent 'tech-lead' unhealthy at 127\\.0\\.0\\.1:${port}: connection refused`),
    );
    assert.equal(result.attempts, 0);
    assert.equal(engine.cachedHealth('tech-lead')?.healthy, false);
  });

  test('runs started together share one health probe of their gateway, and each still sends its own task', async (t) => {
    const fixture = await engineFixture(t, { engine: { maxConcurrentPerAgent: 50 } });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) => fixture.engine.delegate(request({ runId: `shared-probe-${index}` }))),
    );
    assert.deepEqual(new Set(results.map((result) => result.status)), new Set(['complete']));
    assert.equal(fixture.gateway.healthRequests, 1);
    assert.equal(fixture.gateway.hookRequests.length, 20);
    // The next run, started after that probe settled, checks again.
    await fixture.engine.delegate(request({ runId: 'shared-probe-later' }));
    assert.equal(fixture.gateway.healthRequests, 2);
  });

  test("a health answer that is not OpenClaw's (catch-all HTML 200) is unhealthy", async (t) => {
    const fixture = await engineFixture(t, { gateway: { health: 'html' } });
    const result = await fixture.engine.delegate(request());
    assert.equal(result.code, 'HQ_ERR_GATEWAY_UNHEALTHY');
    assert.match(String(result.notes), /not with OpenClaw's \{"ok":true\}/);
    assert.equal(fixture.gateway.hookRequests.length, 0);
    assert.ok((await fixture.events()).some((e) => e.event === 'health_failed'));
  });

  test('a refused token (401) is not retried: one request, a clear message, no token anywhere', async (t) => {
    const fixture = await engineFixture(t, { token: 'the-wrong-token-9876' });
    const result = await fixture.engine.delegate(request({ maxAttempts: 3 }));
    assert.equal(result.status, 'error');
    assert.equal(result.code, 'HQ_ERR_GATEWAY_SEND');
    assert.equal(
      result.notes,
      'Failed to send task after 1 attempts: the gateway refused the hooks token (HTTP 401): set HQ_HOOKS_TOKEN or HQ_HOOKS_TOKEN_TECH_LEAD',
    );
    assert.equal(fixture.gateway.hookRequests.length, 1);
    const failed = (await fixture.events()).find((e) => e.event === 'send_failed');
    assert.equal(failed?.httpStatus, 401);
  });

  test('503 then 200 is one agent run thanks to the idempotency key', async (t) => {
    const fixture = await engineFixture(t);
    fixture.gateway.enqueue({
      respond: 'status',
      status: 503,
      body: JSON.stringify({ ok: false, error: 'gateway_unavailable' }),
    });
    const result = await fixture.engine.delegate(request({ runId: 'run-503' }));
    assert.equal(result.status, 'complete');
    assert.equal(fixture.gateway.runCount, 1);
    const [first, second] = fixture.gateway.hookRequests.map((hook) => hook.idempotencyKey);
    assert.match(first ?? '', /^run-503:1:/);
    assert.equal(second, first);
    const sendError = (await fixture.events()).find((e) => e.event === 'send_error');
    assert.deepEqual([sendError?.httpStatus, sendError?.detail], [503, 'HTTP 503: gateway_unavailable']);
  });

  test('a run id used again (a workflow re-running a step) is a new agent run, not a replay of the earlier one', async (t) => {
    const fixture = await engineFixture(t);
    const first = await fixture.engine.delegate(request({ runId: 'run-again' }));
    const second = await fixture.engine.delegate(request({ runId: 'run-again' }));
    assert.deepEqual([first.status, second.status], ['complete', 'complete']);
    // The gateway replays a repeated key with the same dispatch fields for 5 minutes after the
    // run: with `<runId>:<attempt>` alone the second POST would start no agent run at all.
    assert.equal(fixture.gateway.runCount, 2);
    const [one, two] = fixture.gateway.hookRequests.map((hook) => hook.idempotencyKey);
    assert.notEqual(one, two);
    // The same request sent twice, but for the handoff path: each run has its own secret.
    const [firstPath, secondPath] = fixture.gateway.runs.map((run) => run.handoffPath ?? '');
    assert.notEqual(firstPath, secondPath);
    assert.equal(
      messages(fixture)[0]?.replace(firstPath ?? '', '<path>'),
      messages(fixture)[1]?.replace(secondPath ?? '', '<path>'),
    );
  });

  test("a 500 is a failed send: logged with the gateway's text, retried as a new attempt, final after the last", async (t) => {
    const fixture = await engineFixture(t);
    fixture.gateway.enqueue({
      respond: 'status',
      status: 500,
      body: JSON.stringify({ ok: false, error: 'agent preparation exploded' }),
    });
    const retried = await fixture.engine.delegate(request({ maxAttempts: 2 }));
    assert.equal(retried.status, 'complete');
    assert.equal(retried.attempts, 2);
    assert.match(messages(fixture)[1] ?? '', /Previous attempt failed: Failed to send task/);
    const failed = (await fixture.events()).find((e) => e.event === 'send_failed');
    assert.deepEqual(
      [failed?.httpStatus, failed?.detail],
      [500, 'Failed to send task: HTTP 500: agent preparation exploded'],
    );

    fixture.gateway.enqueue({ respond: 'status', status: 500, body: 'plain failure text', contentType: 'text/plain' });
    const final = await fixture.engine.delegate(request({ maxAttempts: 1 }));
    assert.deepEqual(
      { status: final.status, notes: final.notes },
      { status: 'error', notes: 'Failed to send task after 1 attempts: HTTP 500: plain failure text' },
    );
  });

  test('with waitForCompletion, a run that finished without writing the handoff fails fast, not at the timeout', async (t) => {
    const fixture = await engineFixture(t, {
      engine: { waitForCompletion: true, completionGraceMs: 100 },
      gateway: { script: { agent: { write: 'none', finishAfterMs: 30 } } },
    });
    const progress = progressRecorder();
    const started = Date.now();
    const result = await fixture.engine.delegate(request({ timeoutSeconds: 30 }), { onProgress: progress.onProgress });
    assert.deepEqual(
      { status: result.status, notes: result.notes },
      { status: 'error', notes: 'The agent finished without writing the handoff (attempt 1/1)' },
    );
    assert.ok(Date.now() - started < 3_000);
    assert.equal(fixture.gateway.hookRequests[0]?.body?.waitForCompletion, true);
    assert.deepEqual(
      progress.seen.map((p) => p.type),
      ['queued', 'sent', 'waiting', 'done'],
    );
  });

  test('with waitForCompletion against a gateway that answers at admission, the engine keeps waiting for the file', async (t) => {
    const fixture = await engineFixture(t, {
      engine: { waitForCompletion: true, completionGraceMs: 50 },
      gateway: { ignoreWaitForCompletion: true, script: { agent: { afterMs: 300 } } },
    });
    const result = await fixture.engine.delegate(request());
    assert.equal(result.status, 'complete');
  });

  test('with waitForCompletion, the handoff is taken as soon as it is written, before the run settles', async (t) => {
    const fixture = await engineFixture(t, {
      engine: { waitForCompletion: true },
      gateway: { script: { agent: { finishAfterMs: 60_000 } } },
    });
    const result = await fixture.engine.delegate(request());
    assert.equal(result.status, 'complete');
    assert.equal(fixture.gateway.runs[0]?.settled, false);
  });

  test('a complete line always carries gatewayRunId: null while the gateway holds its answer', async (t) => {
    const fixture = await engineFixture(t, {
      engine: { waitForCompletion: true },
      gateway: { script: { agent: { finishAfterMs: 60_000 } } },
    });
    await fixture.engine.delegate(request({ runId: 'run-held-answer' }));
    const complete = (await fixture.events()).find((e) => e.event === 'complete');
    assert.ok(complete !== undefined && 'gatewayRunId' in complete, 'the field is there');
    assert.equal(complete.gatewayRunId, null, 'the gateway answers a waitForCompletion POST when the run settles');
  });
});

describe('engine: between attempts', () => {
  test('a handoff arriving late, between attempts, is validated and taken without a second send', async (t) => {
    const fixture = await engineFixture(t, { gateway: { script: { agent: { write: 'none' } } } });
    const onProgress = (progress: { type: string }): void => {
      // The previous attempt's agent finishes after the caller gave up on it.
      if (progress.type === 'retrying')
        writeFileSync(promptedPath(fixture, 'run-late'), handoffText('valid', 'run-late', 'tech-lead'));
    };
    const result = await fixture.engine.delegate(request({ runId: 'run-late', maxAttempts: 2, timeoutSeconds: 0.3 }), {
      onProgress,
    });
    assert.equal(result.status, 'complete');
    assert.equal(result.attempts, 1);
    assert.equal(fixture.gateway.hookRequests.length, 1);
    // The answer is attempt 1's: the result and its log line say so alike, with the gateway's id.
    const late = (await fixture.events()).find((e) => e.event === 'late_arrival');
    assert.equal(late?.attempt, result.attempts);
    assert.equal(late?.gatewayRunId, fixture.gateway.runs[0]?.gatewayRunId);
  });

  test('after a timeout the next attempt starts at once: the pause (retryPauseMs) is for a bad handoff', async (t) => {
    const fixture = await engineFixture(t, {
      engine: { retryPauseMs: 2_000 },
      gateway: { script: { agent: { write: 'none' } } },
    });
    const gapBetweenPosts = (): number => {
      const [first, second] = fixture.gateway.hookRequests.slice(-2).map((hook) => hook.receivedAt);
      return second! - first!;
    };
    const timedOut = await fixture.engine.delegate(request({ maxAttempts: 2, timeoutSeconds: 0.3 }));
    assert.equal(timedOut.status, 'timeout');
    // 0.3 s of waiting and no pause; with the pause it would be 2.3 s.
    assert.ok(gapBetweenPosts() < 1_500, `${gapBetweenPosts()} ms between the POSTs after a timeout`);

    fixture.gateway.setDefault({ agent: { write: 'failed' } });
    const failed = await fixture.engine.delegate(request({ maxAttempts: 2 }));
    assert.equal(failed.status, 'failed');
    assert.ok(gapBetweenPosts() >= 2_000, `${gapBetweenPosts()} ms between the POSTs after a failed handoff`);
  });

  test('a late handoff that is not valid is set aside and the next attempt runs', async (t) => {
    const fixture = await engineFixture(t);
    fixture.gateway.enqueue({ agent: { write: 'none' } });
    const onProgress = (progress: { type: string }): void => {
      if (progress.type === 'retrying')
        writeFileSync(
          promptedPath(fixture, 'run-late-bad'),
          handoffText('strict-invalid', 'run-late-bad', 'tech-lead'),
        );
    };
    const result = await fixture.engine.delegate(
      request({ runId: 'run-late-bad', maxAttempts: 2, timeoutSeconds: 0.3 }),
      { onProgress },
    );
    assert.equal(result.status, 'complete');
    assert.equal(result.attempts, 2);
    assert.match(
      messages(fixture)[1] ?? '',
      /Previous attempt failed: invalid handoff: Invalid deliverable type: 'essay'/,
    );
    assert.deepEqual(await readdir(path.join(fixture.handoffDir, 'tech-lead')), [], 'set aside, then removed');
  });

  test('.prev files are never overwritten across attempts, and all go once the result is journaled', async (t) => {
    const fixture = await engineFixture(t, { gateway: { script: { agent: { write: 'failed' } } } });
    const agentDir = path.join(fixture.handoffDir, 'tech-lead');
    const seen: string[][] = [];
    await fixture.engine.delegate(request({ runId: 'run-prev', maxAttempts: 3 }), {
      onProgress: (p) => {
        if (p.type === 'retrying') seen.push(readdirSync(agentDir).sort());
      },
    });
    const stem = path.basename(promptedPath(fixture, 'run-prev'), '.json');
    assert.deepEqual(seen, [[`${stem}.prev.json`], [`${stem}.prev.1.json`, `${stem}.prev.json`]]);
    assert.deepEqual(await readdir(agentDir), []);
  });
});

describe('engine: cancellation', () => {
  test('aborting while waiting ends the run promptly as cancelled, logged and journaled', async (t) => {
    const fixture = await engineFixture(t, { gateway: { script: { agent: { write: 'none' } } } });
    const controller = new AbortController();
    const progress = progressRecorder();
    const running = fixture.engine.delegate(request({ runId: 'run-cancel', timeoutSeconds: 60 }), {
      signal: controller.signal,
      onProgress: progress.onProgress,
    });
    await progress.until('waiting');
    const abortedAt = Date.now();
    controller.abort();
    const result = await running;
    assert.ok(Date.now() - abortedAt < 500, 'promptly');
    assert.deepEqual(
      { status: result.status, notes: result.notes },
      { status: 'cancelled', notes: 'Cancelled by the caller' },
    );
    assert.ok((await fixture.events()).some((e) => e.event === 'cancelled'));
    assert.equal((fixture.journal.calls.at(-1)?.args[0] as RunResult).status, 'cancelled');
  });

  test('aborting during the pause between attempts ends the run at once', async (t) => {
    const fixture = await engineFixture(t, {
      gateway: { script: { agent: { write: 'failed' } } },
      engine: { retryPauseMs: 60_000 },
    });
    const controller = new AbortController();
    const progress = progressRecorder();
    const running = fixture.engine.delegate(request({ maxAttempts: 2 }), {
      signal: controller.signal,
      onProgress: progress.onProgress,
    });
    await progress.until('retrying');
    controller.abort();
    assert.equal((await running).status, 'cancelled');
    assert.equal(fixture.gateway.hookRequests.length, 1);
  });

  test('aborting mid-send (a held waitForCompletion POST) ends the run at once', async (t) => {
    const fixture = await engineFixture(t, {
      engine: { waitForCompletion: true },
      gateway: { script: { agent: { write: 'none', finishAfterMs: 60_000 } } },
    });
    const controller = new AbortController();
    fixture.gateway.once('run', () => controller.abort());
    const result = await fixture.engine.delegate(request({ timeoutSeconds: 60 }), { signal: controller.signal });
    assert.equal(result.status, 'cancelled');
  });

  test('closing the engine cancels waiting runs but leaves their journal open for a resume', async (t) => {
    const fixture = await engineFixture(t, { gateway: { script: { agent: { write: 'none' } } } });
    const progress = progressRecorder();
    const running = fixture.engine.delegate(request({ timeoutSeconds: 60 }), { onProgress: progress.onProgress });
    await progress.until('waiting');
    await fixture.engine.close();
    const result = await running;
    assert.equal(result.status, 'cancelled');
    assert.equal(result.code, 'HQ_ERR_SHUTTING_DOWN');
    assert.ok(!fixture.journal.methods().includes('runFinished'));
    await assert.rejects(fixture.engine.delegate(request()), { code: 'HQ_ERR_SHUTTING_DOWN' });
  });
});

describe('engine: the per-agent queue', () => {
  test('runs beyond the limit wait in FIFO order, see their position, and leave the queue when aborted', async (t) => {
    const fixture = await engineFixture(t, {
      engine: { maxConcurrentPerAgent: 1 },
      gateway: { script: { agent: { write: 'none' } } },
    });
    const order: string[] = [];
    fixture.gateway.on('run', (run) => order.push(run.runId ?? ''));
    const recorders = { a: progressRecorder(), b: progressRecorder(), c: progressRecorder(), d: progressRecorder() };
    const controllerC = new AbortController();
    const a = fixture.engine.delegate(request({ runId: 'q-a' }), { onProgress: recorders.a.onProgress });
    await recorders.a.until('waiting');
    const b = fixture.engine.delegate(request({ runId: 'q-b' }), { onProgress: recorders.b.onProgress });
    const c = fixture.engine.delegate(request({ runId: 'q-c' }), {
      onProgress: recorders.c.onProgress,
      signal: controllerC.signal,
    });
    const d = fixture.engine.delegate(request({ runId: 'q-d' }), { onProgress: recorders.d.onProgress });
    await recorders.d.until('queued');
    assert.equal(fixture.engine.queueDepth('tech-lead'), 3);
    controllerC.abort();
    assert.equal((await c).status, 'cancelled');
    assert.equal(fixture.engine.queueDepth('tech-lead'), 2);
    for (const id of ['q-a', 'q-b', 'q-d']) {
      const recorder = id === 'q-a' ? recorders.a : id === 'q-b' ? recorders.b : recorders.d;
      await recorder.until('waiting');
      writeFileSync(promptedPath(fixture, id), handoffText('valid', id, 'tech-lead'));
    }
    assert.deepEqual([(await a).status, (await b).status, (await d).status], ['complete', 'complete', 'complete']);
    assert.deepEqual(order, ['q-a', 'q-b', 'q-d']);
    const positions = (recorder: ReturnType<typeof progressRecorder>): number[] =>
      recorder.seen.flatMap((p) => (p.type === 'queued' ? [p.position] : []));
    assert.deepEqual(positions(recorders.a), [0]);
    assert.deepEqual(positions(recorders.b), [1]);
    assert.deepEqual(positions(recorders.c), [2]);
    assert.deepEqual(positions(recorders.d), [3, 2, 1]);
    const queued = (await fixture.events()).filter((e) => e.event === 'queued').map((e) => [e.runId, e.position]);
    assert.deepEqual(queued, [
      ['q-b', 1],
      ['q-c', 2],
      ['q-d', 3],
    ]);
  });
});

describe('engine: resume', () => {
  function pending(runId: string, extra: Record<string, unknown>) {
    const now = Date.now();
    return {
      runId,
      request: { ...request(), runId, maxAttempts: 1, timeoutSeconds: 60 },
      acceptedAt: now - 10_000,
      attempt: 1,
      sent: true,
      attemptStartedAt: now - 5_000,
      deadline: now + 60_000,
      handoffSecret: SECRET,
      ...extra,
    };
  }

  /** Where a resumed run waits: the journaled secret's path in the agent's directory. */
  const resumedPath = (fixture: { handoffDir: string }, runId: string): string =>
    path.join(fixture.handoffDir, 'tech-lead', `${runId}.${SECRET}.json`);

  test('a sent attempt is not sent again: the file written meanwhile is picked up', async (t) => {
    const fixture = await engineFixture(t);
    mkdirSync(path.join(fixture.handoffDir, 'tech-lead'), { recursive: true });
    writeFileSync(resumedPath(fixture, 'run-resume-1'), handoffText('valid', 'run-resume-1', 'tech-lead'));
    const result = await fixture.engine.resume(pending('run-resume-1', {}));
    assert.equal(result.status, 'complete');
    assert.equal(result.attempts, 1);
    assert.ok(result.latencyMs >= 10_000, 'latency counts from acceptance, across the restart');
    assert.equal(fixture.gateway.requests.length + fixture.gateway.healthRequests, 0);
  });

  test('a sent attempt waits only until its ORIGINAL deadline, then the run goes on as usual', async (t) => {
    const fixture = await engineFixture(t, {
      gateway: { script: { agent: { write: 'valid' } } },
      agentEntry: { sessionKey: true },
    });
    const started = Date.now();
    const result = await fixture.engine.resume(
      pending('run-resume-2', {
        deadline: started + 300,
        request: { ...request(), runId: 'run-resume-2', maxAttempts: 2, timeoutSeconds: 60 },
      }),
    );
    assert.ok(Date.now() - started < 5_000, 'not a fresh 60 s wait');
    assert.equal(result.status, 'complete');
    assert.equal(result.attempts, 2);
    assert.deepEqual(
      fixture.gateway.hookRequests.map((hook) => hook.body?.sessionKey),
      ['hook:orchestrate:run-resume-2:2'],
    );
    assert.match(messages(fixture)[0] ?? '', /RETRY \(attempt 2\): Previous attempt failed: timeout/);
  });

  test('a file written while the resumed run waits is taken', async (t) => {
    const fixture = await engineFixture(t);
    const progress = progressRecorder();
    const running = fixture.engine.resume(pending('run-resume-3', {}), { onProgress: progress.onProgress });
    await progress.until('waiting');
    writeFileSync(resumedPath(fixture, 'run-resume-3'), handoffText('valid', 'run-resume-3', 'tech-lead'));
    assert.equal((await running).status, 'complete');
    assert.equal(fixture.gateway.hookRequests.length, 0);
  });

  test('an attempt that was never sent is sent, with the journaled retry note', async (t) => {
    const fixture = await engineFixture(t, { agentEntry: { sessionKey: true } });
    const result = await fixture.engine.resume(
      pending('run-resume-4', {
        attempt: 2,
        sent: false,
        deadline: undefined,
        retryNote: 'timeout',
        request: { ...request(), runId: 'run-resume-4', maxAttempts: 2, timeoutSeconds: 5 },
      }),
    );
    assert.equal(result.status, 'complete');
    assert.deepEqual(
      fixture.gateway.hookRequests.map((hook) => hook.body?.sessionKey),
      ['hook:orchestrate:run-resume-4:2'],
    );
    assert.match(messages(fixture)[0] ?? '', /RETRY \(attempt 2\): Previous attempt failed: timeout/);
  });
});

describe('engine: logs', () => {
  test('the JSONL event log has one line per event, reference fields first, in order', async (t) => {
    const fixture = await engineFixture(t);
    fixture.gateway.enqueue({ agent: { write: 'failed' } });
    await fixture.engine.delegate(request({ runId: 'run-log', maxAttempts: 2 }));
    const lines = await fixture.eventLines();
    const events = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      events.map((e) => [e.event, e.attempt]),
      [
        ['attempt_start', 1],
        ['validation_failed', 1],
        ['attempt_start', 2],
        ['complete', 2],
      ],
    );
    for (const event of events) {
      assert.deepEqual(Object.keys(event).slice(0, 7), [
        'timestamp',
        'runId',
        'agent',
        'event',
        'detail',
        'attempt',
        'elapsedMs',
      ]);
      assert.match(String(event.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(event.runId, 'run-log');
      assert.equal(event.agent, 'tech-lead');
      for (const noise of ['level', 'time', 'pid', 'hostname', 'msg']) assert.equal(noise in event, false, noise);
    }
    assert.equal(events[0]?.detail, TASK);
    assert.equal(events[1]?.detail, 'Agent reported failure: the source was unreachable');
    assert.equal(events[3]?.confidence, 'high');
    assert.match(String(events[3]?.gatewayRunId), /^hook-run-\d+$/);
    const [file] = await readdir(fixture.config.paths.logDir);
    assert.equal(file, `${new Date().toISOString().slice(0, 10)}.jsonl`);
  });

  test('no token appears in any log line: app log, event log, results — even when the gateway echoes it', async (t) => {
    const good = await engineFixture(t);
    good.gateway.enqueue({
      respond: 'status',
      status: 500,
      body: `upstream said: bad header Bearer ${good.gateway.token}`,
      contentType: 'text/plain',
    });
    const retried = await good.engine.delegate(request({ maxAttempts: 2 }));
    assert.equal(retried.status, 'complete');
    const wrongToken = 'wrong-token-value-never-logged';
    const bad = await engineFixture(t, { token: wrongToken });
    const refused = await bad.engine.delegate(request());
    const everything = [
      ...good.captured.lines,
      ...(await good.eventLines()),
      JSON.stringify(retried),
      ...bad.captured.lines,
      ...(await bad.eventLines()),
      JSON.stringify(refused),
    ].join('\n');
    assert.ok(good.captured.lines.length > 0 && bad.captured.lines.length > 0, 'something was logged');
    assert.ok(!everything.includes(good.gateway.token), 'the hooks token');
    assert.ok(!everything.includes(wrongToken), 'the wrong token');
    assert.ok(!everything.includes(bad.gateway.token));
    assert.ok((await good.eventLines()).some((line) => line.includes('bad header Bearer [redacted]')));
  });
});
