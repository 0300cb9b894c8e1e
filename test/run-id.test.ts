import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newRunId, validateRunId } from '../src/engine/run-id.ts';

test('generated run ids have the reference form orch-<unix seconds>-<8 hex>', () => {
  assert.match(newRunId(1_732_500_000_999), /^orch-1732500000-[0-9a-f]{8}$/);
  assert.notEqual(newRunId(), newRunId());
});

test('safe run ids pass unchanged', () => {
  for (const id of ['orch-1-abcdef01', 'wf-7.step_3', 'A', 'a'.repeat(128)]) assert.equal(validateRunId(id), id);
});

test('run ids that could leave the handoff directory or hide are refused', () => {
  for (const id of ['../../x', '..', '.hidden', 'a/b', 'a\\b', '', ' x', 'x\n', 'a'.repeat(129), '-x', 'x y', 'é']) {
    assert.throws(() => validateRunId(id), { code: 'HQ_ERR_RUN_ID_INVALID' }, JSON.stringify(id));
  }
});
