import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCliArgs, type CliOptions } from '../src/cli/parse-args.ts';
import { dumpsPython, renderRefused, renderRunResult } from '../src/cli/render-output.ts';
import { UsageError } from '../src/errors.ts';
import type { RunResult } from '../src/engine/types.ts';

function options(argv: string[]): CliOptions {
  const parsed = parseCliArgs(argv);
  assert.equal(parsed.kind, 'run');
  return (parsed as { options: CliOptions }).options;
}

describe('orchestrate arguments', () => {
  test('the two positionals alone leave every configurable default to the config', () => {
    const o = options(['webster', 'find the paper']);
    assert.equal(o.agent, 'webster');
    assert.equal(o.task, 'find the paper');
    assert.equal(o.wait, true);
    assert.equal(o.format, 'json');
    assert.equal(o.timeoutSeconds, undefined);
    assert.equal(o.maxAttempts, undefined);
    assert.equal(o.strict, undefined);
    assert.equal(o.deliver, undefined);
    assert.equal(o.channelMessages, 20);
  });

  test('every flag of the reference script is accepted, options before, between or after the positionals', () => {
    const o = options([
      '--timeout', '30', 'webster', '--format=text', '--context', 'ctx.md', '--no-deliver', '--run-id', 'r-1',
      '--retries', '2', '--no-validate', '--workflow-id', 'wf', '--step-id', 's1', '--caller', 'manager',
      'the task', '--channel-context', '#general', '--channel-messages', '12', '--wait',
    ]);
    assert.deepEqual(
      { ...o },
      {
        agent: 'webster', task: 'the task', wait: true, timeoutSeconds: 30, format: 'text', contextPath: 'ctx.md', deliver: false,
        runId: 'r-1', maxAttempts: 2, strict: false, workflowId: 'wf', stepId: 's1', caller: 'manager',
        channelContext: '#general', channelMessages: 12,
      },
    );
  });

  test('retries and channel messages are clamped as the reference clamps them', () => {
    assert.equal(options(['a', 't', '--retries', '9']).maxAttempts, 3);
    assert.equal(options(['a', 't', '--retries', '0']).maxAttempts, 1);
    assert.equal(options(['a', 't', '--channel-messages', '500']).channelMessages, 30);
    assert.equal(options(['a', 't', '--channel-messages', '0']).channelMessages, 1);
  });

  test('the last of --validate / --no-validate and of --wait / --no-wait wins', () => {
    assert.equal(options(['a', 't', '--no-validate', '--validate']).strict, true);
    assert.equal(options(['a', 't', '--validate', '--no-validate']).strict, false);
    assert.equal(options(['a', 't', '--no-wait']).wait, false);
    assert.equal(options(['a', 't', '--no-wait', '--wait']).wait, true);
  });

  test('unique prefixes are expanded as argparse does, ambiguous ones are refused', () => {
    assert.equal(options(['a', 't', '--time', '7']).timeoutSeconds, 7);
    assert.equal(options(['a', 't', '--ret=2']).maxAttempts, 2);
    assert.throws(() => parseCliArgs(['a', 't', '--no']), /ambiguous option: --no could match --no-wait, --no-deliver, --no-validate/);
  });

  test('an empty run id means "generate one", as in the reference', () => {
    assert.equal(options(['a', 't', '--run-id', '']).runId, undefined);
  });

  test('a task that starts with a dash can follow --', () => {
    assert.equal(options(['a', '--', '--not-a-flag']).task, '--not-a-flag');
  });

  for (const [argv, message] of [
    [[], /required: agent, task/],
    [['webster'], /required: task/],
    [['webster', 'a', 'b'], /unrecognized arguments: b/],
    [['webster', 't', '--format', 'xml'], /invalid choice: 'xml'/],
    [['webster', 't', '--timeout', 'soon'], /--timeout: invalid int value: 'soon'/],
    [['webster', 't', '--timeout', '0'], /--timeout: expected seconds between 1/],
    [['webster', 't', '--retries', '1.5'], /--retries: invalid int value/],
    [['webster', 't', '--bogus'], /Unknown option '--bogus'/],
    [['webster', 't', '--run-id'], /--run-id/],
    [['webster', '   '], /non-empty task/],
  ] as const) {
    test(`usage error: ${JSON.stringify(argv)}`, () => {
      assert.throws(() => parseCliArgs(argv), (error: unknown) => error instanceof UsageError && message.test(error.message));
    });
  }

  test('--help and -h ask for the usage text', () => {
    assert.deepEqual(parseCliArgs(['--help']), { kind: 'help' });
    assert.deepEqual(parseCliArgs(['webster', '-h']), { kind: 'help' });
  });
});

describe('orchestrate output', () => {
  const result: RunResult = {
    schemaVersion: '1.1',
    status: 'complete',
    result: 'Zürich → 42',
    deliverable: { type: 'analysis', title: 'T', path: null, summary: 's' },
    artifacts: [],
    confidence: 'high',
    runId: 'r-1',
    agent: 'webster',
    latencyMs: 250,
    attempts: 1,
  };

  test('JSON is printed as Python json.dumps(indent=2) prints it, ASCII-escaped', () => {
    const rendered = renderRunResult(result, 'json');
    assert.equal(rendered.exitCode, 0);
    assert.equal(
      rendered.stdout,
      [
        '{',
        '  "schemaVersion": "1.1",',
        '  "status": "complete",',
        '  "result": "Z\\u00fcrich \\u2192 42",',
        '  "deliverable": {',
        '    "type": "analysis",',
        '    "title": "T",',
        '    "path": null,',
        '    "summary": "s"',
        '  },',
        '  "artifacts": [],',
        '  "confidence": "high",',
        '  "runId": "r-1",',
        '  "agent": "webster",',
        '  "latencyMs": 250,',
        '  "attempts": 1',
        '}',
        '',
      ].join('\n'),
    );
    assert.deepEqual(JSON.parse(rendered.stdout), result);
  });

  test('text prints the result text alone; a failure says why on stderr and exits 1', () => {
    assert.deepEqual(renderRunResult(result, 'text'), { stdout: 'Zürich → 42\n', exitCode: 0 });
    const failed = renderRunResult({ ...result, status: 'timeout', result: null, notes: 'Agent did not respond within 5s (attempt 1/1)' }, 'text');
    assert.deepEqual(failed, { stdout: '', stderr: 'orchestrate: timeout: Agent did not respond within 5s (attempt 1/1)\n', exitCode: 1 });
  });

  test('exit codes: 0 for complete, partial and sent, 1 for every other status', () => {
    for (const status of ['complete', 'partial', 'sent'] as const) assert.equal(renderRunResult({ ...result, status }, 'json').exitCode, 0);
    for (const status of ['blocked', 'failed', 'timeout', 'malformed', 'error', 'invalid', 'cancelled'] as const) {
      assert.equal(renderRunResult({ ...result, status }, 'json').exitCode, 1);
    }
  });

  test('fire-and-forget prints the reference one-liner whatever the format', () => {
    const sent = renderRunResult({ status: 'sent', result: null, runId: 'r-1', agent: 'webster', latencyMs: 3, attempts: 1 }, 'text');
    assert.equal(sent.stdout, '{"status": "sent", "runId": "r-1", "agent": "webster"}\n');
    assert.equal(sent.exitCode, 0);
  });

  test('a refused request has the reference error shape plus a code', () => {
    const refused = renderRefused({ agent: 'webster', runId: 'r-1', notes: "ACL denied: 'operator' cannot delegate to 'webster'", code: 'HQ_ERR_ACCESS_DENIED' });
    assert.equal(refused.exitCode, 1);
    assert.deepEqual(Object.keys(JSON.parse(refused.stdout)), ['status', 'result', 'notes', 'agent', 'runId', 'code']);
    assert.equal(JSON.parse(refused.stdout).result, null);
  });

  test('dumpsPython matches Python for escapes, empties and nesting', () => {
    assert.equal(dumpsPython({ a: [], b: {}, c: [1, [2]], d: 'x\u007f😀' }), '{"a": [], "b": {}, "c": [1, [2]], "d": "x\\u007f\\ud83d\\ude00"}');
  });
});
