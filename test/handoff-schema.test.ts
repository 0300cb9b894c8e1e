import assert from 'node:assert/strict';
import { test } from 'node:test';
import { strictHandoffSchema, validateHandoff } from '../src/engine/handoff-schema.ts';
import { classifyOutcome, createRetryPolicy, shouldRetry } from '../src/engine/retry-policy.ts';

const VALID = {
  schemaVersion: '1.1',
  status: 'complete',
  result: 'done',
  deliverable: { type: 'analysis', title: 't', path: null, summary: 'one line' },
  confidence: 'high',
  timestamp: '2026-11-25T10:00:00Z',
};

function reason(data: unknown, strict = true): string {
  const validation = validateHandoff(data, strict);
  return validation.ok ? 'ok' : validation.reason;
}

test('a complete handoff with a deliverable passes strict validation', () => {
  assert.equal(reason(VALID), 'ok');
  assert.equal(strictHandoffSchema.safeParse(VALID).success, true);
});

test('missing fields are listed in the reference order, null counting as present', () => {
  assert.equal(reason({ status: 'complete' }), 'Missing fields: schemaVersion, result, confidence, timestamp');
  assert.equal(reason({ status: 'complete' }, false), 'Missing fields: result');
  assert.equal(reason({ status: 'partial', result: null }, false), 'ok');
});

test('an unknown status is refused with its value', () => {
  assert.equal(reason({ ...VALID, status: 'done' }), "Invalid status: 'done'");
});

test('failed and blocked carry the agent notes, or "no details"', () => {
  assert.equal(reason({ ...VALID, status: 'failed', notes: 'no access' }), 'Agent reported failure: no access');
  assert.equal(reason({ status: 'blocked', result: '' }, false), 'Agent blocked: no details');
});

test('strict complete needs a deliverable object with a known type and a summary', () => {
  assert.equal(
    reason({ ...VALID, deliverable: undefined }),
    'Missing deliverable block — every completed task must include a deliverable',
  );
  assert.equal(
    reason({ ...VALID, deliverable: {} }),
    'Missing deliverable block — every completed task must include a deliverable',
  );
  assert.equal(reason({ ...VALID, deliverable: { summary: 's' } }), "Deliverable missing 'type' field");
  assert.equal(
    reason({ ...VALID, deliverable: { type: 'essay', summary: 's' } }),
    "Invalid deliverable type: 'essay' (valid: document, code, analysis, recommendation, review, data)",
  );
  assert.equal(
    reason({ ...VALID, deliverable: { type: 'code', summary: '  ' } }),
    "Deliverable missing 'summary' field",
  );
  assert.equal(reason({ ...VALID, status: 'partial', deliverable: undefined }), 'ok', 'only complete needs one');
  assert.equal(reason({ status: 'complete', result: 'r' }, false), 'ok', 'lenient mode does not ask');
});

test('something that is not a JSON object is not a handoff', () => {
  assert.equal(reason(['complete']), 'Handoff is not a JSON object');
  assert.equal(reason('complete'), 'Handoff is not a JSON object');
});

test('the retry policy clamps attempts to 1–3 and keeps the pauses from config', () => {
  const defaults = { defaultMaxAttempts: 1, defaultTimeoutSeconds: 300, retryPauseMs: 3_000, sendRetryPauseMs: 5_000 };
  assert.equal(createRetryPolicy({ maxAttempts: 9 }, defaults).maximumAttempts, 3);
  assert.equal(createRetryPolicy({ maxAttempts: 0 }, defaults).maximumAttempts, 1);
  assert.deepEqual(createRetryPolicy({ timeoutSeconds: 2 }, defaults), {
    maximumAttempts: 1,
    timeoutSeconds: 2,
    attemptTimeoutMs: 2_000,
    retryPauseMs: 3_000,
    sendRetryPauseMs: 5_000,
  });
});

test('each outcome is classified: accepted, retryable with its retry note, or final', () => {
  const verdict = (outcome: Parameters<typeof classifyOutcome>[0]) => {
    const v = classifyOutcome(outcome, true);
    return v.disposition === 'accept' ? 'accept' : `${v.disposition}: ${v.reason}`;
  };
  assert.equal(verdict({ kind: 'handoff', data: VALID, raw: '' }), 'accept');
  assert.equal(
    verdict({ kind: 'handoff', data: { ...VALID, status: 'partial', confidence: 'medium' }, raw: '' }),
    'accept',
  );
  assert.equal(
    verdict({ kind: 'handoff', data: { ...VALID, status: 'partial', confidence: 'low' }, raw: '' }),
    'retry: partial with low confidence',
  );
  assert.equal(
    verdict({ kind: 'handoff', data: { ...VALID, status: 'failed', notes: 'x' }, raw: '' }),
    'retry: agent failed: x',
  );
  assert.equal(
    verdict({ kind: 'handoff', data: { ...VALID, status: 'blocked', notes: 'y' }, raw: '' }),
    'stop: Agent blocked: y',
  );
  assert.equal(
    verdict({ kind: 'handoff', data: { ...VALID, deliverable: null }, raw: '' }),
    'retry: invalid handoff: Missing deliverable block — every completed task must include a deliverable',
  );
  assert.equal(verdict({ kind: 'malformed', raw: '{' }), 'retry: malformed response');
  assert.equal(
    verdict({ kind: 'read_error', message: 'EACCES: denied' }),
    'retry: error: Failed to read handoff file: EACCES: denied',
  );
  assert.equal(verdict({ kind: 'timeout' }), 'retry: timeout');
  assert.equal(
    verdict({ kind: 'no_handoff', completionStatus: 'ok' }),
    'retry: the agent finished without writing the handoff',
  );
  assert.equal(
    verdict({ kind: 'send_failed', retryable: true, error: 'HTTP 500: x', httpStatus: 500 }),
    'retry: Failed to send task',
  );
  assert.equal(
    verdict({ kind: 'send_failed', retryable: false, error: 'HTTP 401', httpStatus: 401 }),
    'stop: Failed to send task',
  );
  const policy = createRetryPolicy(
    { maxAttempts: 2 },
    { defaultMaxAttempts: 1, defaultTimeoutSeconds: 1, retryPauseMs: 0, sendRetryPauseMs: 0 },
  );
  assert.equal(shouldRetry(classifyOutcome({ kind: 'timeout' }, true), 1, policy), true);
  assert.equal(shouldRetry(classifyOutcome({ kind: 'timeout' }, true), 2, policy), false);
});
