import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { buildPayload, buildPrompt, resolveDeliver } from '../src/engine/prompt.ts';
import { tempDir } from './fakes/engine-harness.ts';
import {
  GOLDEN_CASES,
  GOLDEN_FIXTURE,
  GOLDEN_HANDOFF_DIR,
  type GoldenEntry,
  recordReferencePayloads,
  referenceIsPresent,
} from './support/reference-prompts.ts';

const golden = JSON.parse(readFileSync(GOLDEN_FIXTURE, 'utf8')) as GoldenEntry[];

test('the prompt and payload are byte-identical to the reference send_task, for every case', () => {
  assert.deepEqual(
    golden.map((entry) => entry.case),
    GOLDEN_CASES,
    'the fixture covers the cases: run npm run golden:prompts',
  );
  for (const { case: c, body } of golden) {
    const handoffPath = path.join(GOLDEN_HANDOFF_DIR, `${c.runId}.json`);
    // The reference always sent sessionKey; here it is sent to agents configured for it.
    const settings = { timeoutSeconds: 300, deliver: false, waitForCompletion: false, sessionKey: true };
    const ours = buildPayload({ ...c, handoffPath, ...settings });
    const same = Buffer.compare(Buffer.from(ours.message), Buffer.from(String(body['message'])));
    assert.equal(same, 0, `${c.name}: message bytes differ`);
    assert.deepEqual({ ...ours, timeoutSeconds: 600 }, body, `${c.name}: payload differs beyond timeoutSeconds`);
  }
});

// The fixture is the reference's own output; where the reference is beside the clone, prove it
// still is, so no copy of the template can drift from the Python.
test(
  'the committed golden is what the reference script sends today',
  { skip: referenceIsPresent() ? false : 'the reference script is not beside this clone' },
  async (t) => {
    const dir = await tempDir(t, 'hq-golden-');
    assert.deepEqual(await recordReferencePayloads(dir), golden);
  },
);

test('timeoutSeconds is the wait (not the reference 600), floored, at least 1', () => {
  const base = {
    runId: 'r',
    agent: 'a',
    task: 't',
    attempt: 1,
    handoffPath: '/h/r.json',
    deliver: true,
    waitForCompletion: false,
  };
  assert.equal(buildPayload({ ...base, timeoutSeconds: 300 }).timeoutSeconds, 300);
  assert.equal(buildPayload({ ...base, timeoutSeconds: 0.3 }).timeoutSeconds, 1);
  assert.equal(buildPayload({ ...base, timeoutSeconds: 90.9 }).timeoutSeconds, 90);
});

test('waitForCompletion is added only when enabled', () => {
  const base = {
    runId: 'r',
    agent: 'a',
    task: 't',
    attempt: 1,
    handoffPath: '/h/r.json',
    deliver: true,
    timeoutSeconds: 5,
  };
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
