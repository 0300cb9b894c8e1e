import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { buildPayload, buildPrompt, resolveDeliver } from '../src/engine/prompt.ts';
import { tempDir } from './fakes/engine-harness.ts';
import { startFakeGateway } from './fakes/fake-gateway.ts';

// CI lays ../shared beside the clone; the reference script is the source of the golden.
const REFERENCE_DIR = path.resolve(import.meta.dirname, '../../shared/reference');
const run = promisify(execFile);

interface GoldenCase {
  readonly name: string;
  readonly agent: string;
  readonly task: string;
  readonly runId: string;
  readonly attempt: number;
  readonly prevError?: string;
  readonly context?: string;
}

const CASES: readonly GoldenCase[] = [
  { name: 'first attempt', agent: 'webster', task: 'Find the 2019 paper on {braces} and "quotes"\nsecond line\\n literal', runId: 'orch-1732500000-0a1b2c3d', attempt: 1 },
  { name: 'retry note', agent: 'tech-lead', task: 'Review the mesh settings', runId: 'orch-1732500001-deadbeef', attempt: 2, prevError: 'agent failed: the source was unreachable' },
  { name: 'with context', agent: 'nx-expert', task: 'Use the context 😀  ', runId: 'wf-7.step_3', attempt: 3, prevError: 'timeout', context: 'Context line 1\n{"json": true}\nünïcödé — ⚠️\n' },
  { name: 'a later attempt without a previous error has no retry note', agent: 'auditor', task: 'Audit', runId: 'r1', attempt: 2 },
  { name: 'an empty context is no context', agent: 'secretary', task: 'Minutes', runId: 'r2', attempt: 1, context: '' },
];

// The golden is produced by the reference itself: its send_task posts to a fake gateway,
// which records the message, so no copy of the template can drift from the Python.
test('the prompt and payload are byte-identical to the reference send_task, for every case', async (t) => {
  const gateway = await startFakeGateway({ script: { agent: { write: 'none' } } });
  t.after(() => gateway.close());
  const dir = await tempDir(t, 'hq-golden-');
  const handoffDir = path.join(dir, 'handoffs');
  const driver = [
    'import json, sys',
    `sys.path.insert(0, ${JSON.stringify(REFERENCE_DIR)})`,
    'import orchestrate',
    'cases = json.load(sys.stdin)',
    'for c in cases:',
    "    ok = orchestrate.send_task(c['agent'], c['port'], c['task'], c['runId'], attempt=c['attempt'], prev_error=c.get('prevError'), context=c.get('context'), no_deliver=True)",
    '    print(ok)',
  ].join('\n');
  const child = run('python3', ['-c', driver], {
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', SEED_HANDOFF_DIR: handoffDir, SEED_LOG_DIR: path.join(dir, 'logs'), SEED_REGISTRY_PATH: path.join(dir, 'none.json'), SEED_GATEWAY_TOKEN: gateway.token },
  });
  child.child.stdin?.end(JSON.stringify(CASES.map((c) => ({ ...c, port: gateway.port }))));
  const { stdout } = await child;
  assert.equal(stdout.trim(), CASES.map(() => 'True').join('\n'));
  assert.equal(gateway.hookRequests.length, CASES.length);

  CASES.forEach((c, index) => {
    const golden = gateway.hookRequests[index]?.body ?? {};
    const ours = buildPayload({ ...c, handoffPath: path.join(handoffDir, `${c.runId}.json`), timeoutSeconds: 300, deliver: false, waitForCompletion: false });
    assert.equal(Buffer.compare(Buffer.from(ours.message), Buffer.from(String(golden.message))), 0, `${c.name}: message bytes differ`);
    assert.deepEqual({ ...ours, timeoutSeconds: 600 }, golden, `${c.name}: payload differs beyond timeoutSeconds`);
  });
});

test('timeoutSeconds is the wait (not the reference 600), floored, at least 1', () => {
  const base = { runId: 'r', agent: 'a', task: 't', attempt: 1, handoffPath: '/h/r.json', deliver: true, waitForCompletion: false };
  assert.equal(buildPayload({ ...base, timeoutSeconds: 300 }).timeoutSeconds, 300);
  assert.equal(buildPayload({ ...base, timeoutSeconds: 0.3 }).timeoutSeconds, 1);
  assert.equal(buildPayload({ ...base, timeoutSeconds: 90.9 }).timeoutSeconds, 90);
});

test('waitForCompletion is added only when enabled', () => {
  const base = { runId: 'r', agent: 'a', task: 't', attempt: 1, handoffPath: '/h/r.json', deliver: true, timeoutSeconds: 5 };
  assert.equal('waitForCompletion' in buildPayload({ ...base, waitForCompletion: false }), false);
  assert.equal(buildPayload({ ...base, waitForCompletion: true }).waitForCompletion, true);
});

test('deliver: the request wins, then the agent endpoint, then the config default', () => {
  assert.equal(resolveDeliver(false, true, true), false);
  assert.equal(resolveDeliver(undefined, false, true), false);
  assert.equal(resolveDeliver(undefined, undefined, true), true);
  assert.equal(resolveDeliver(true, false, false), true);
});

test('the context comes first, as CONTEXT: then a blank line', () => {
  const text = buildPrompt({ runId: 'r', agent: 'a', task: 't', attempt: 1, handoffPath: '/h/r.json', context: 'ctx' });
  assert.ok(text.startsWith('CONTEXT:\nctx\n\n[ORCHESTRATED TASK — run_id: r]\n'));
});
