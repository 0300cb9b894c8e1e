/**
 * The golden prompt cases, and how to make their golden from the reference script: its own
 * `send_task` posts each case to a fake gateway, which records the body. The recorded bodies
 * are committed as `test/fixtures/prompt-golden.json`, so the tests need no `../shared`;
 * `npm run golden:prompts` makes the fixture again where the reference is present.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startFakeGateway } from '../fakes/fake-gateway.ts';

export const REFERENCE_DIR = path.resolve(import.meta.dirname, '../../../shared/reference');
export const GOLDEN_FIXTURE = path.resolve(import.meta.dirname, '../fixtures/prompt-golden.json');
/** A fixed, never created directory: the reference only prints it into the prompt. */
export const GOLDEN_HANDOFF_DIR = '/srv/hq-delegate/handoffs';

export interface GoldenCase {
  readonly name: string;
  readonly agent: string;
  readonly task: string;
  readonly runId: string;
  readonly attempt: number;
  readonly prevError?: string;
  readonly context?: string;
}

export interface GoldenEntry {
  readonly case: GoldenCase;
  /** The hooks payload the reference POSTed for this case. */
  readonly body: Record<string, unknown>;
}

export const GOLDEN_CASES: readonly GoldenCase[] = [
  {
    name: 'first attempt',
    agent: 'webster',
    task: 'Find the 2019 paper on {braces} and "quotes"\nsecond line\\n literal',
    runId: 'orch-1732500000-0a1b2c3d',
    attempt: 1,
  },
  {
    name: 'retry note',
    agent: 'tech-lead',
    task: 'Review the mesh settings',
    runId: 'orch-1732500001-deadbeef',
    attempt: 2,
    prevError: 'agent failed: the source was unreachable',
  },
  {
    name: 'with context',
    agent: 'nx-expert',
    task: 'Use the context 😀  ',
    runId: 'wf-7.step_3',
    attempt: 3,
    prevError: 'timeout',
    context: 'Context line 1\n{"json": true}\nünïcödé — ⚠️\n',
  },
  {
    name: 'a later attempt without a previous error has no retry note',
    agent: 'auditor',
    task: 'Audit',
    runId: 'r1',
    attempt: 2,
  },
  { name: 'an empty context is no context', agent: 'secretary', task: 'Minutes', runId: 'r2', attempt: 1, context: '' },
];

export function referenceIsPresent(): boolean {
  return existsSync(path.join(REFERENCE_DIR, 'orchestrate.py'));
}

/** Runs the reference's `send_task` for every case and returns what it POSTed, in order. */
export async function recordReferencePayloads(scratchDir: string): Promise<GoldenEntry[]> {
  const gateway = await startFakeGateway({ script: { agent: { write: 'none' } } });
  try {
    const driver = [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(REFERENCE_DIR)})`,
      'import orchestrate',
      'cases = json.load(sys.stdin)',
      'for c in cases:',
      "    ok = orchestrate.send_task(c['agent'], c['port'], c['task'], c['runId'], attempt=c['attempt']," +
        " prev_error=c.get('prevError'), context=c.get('context'), no_deliver=True)",
      '    print(ok)',
    ].join('\n');
    const child = promisify(execFile)('python3', ['-c', driver], {
      env: {
        ...process.env,
        PYTHONDONTWRITEBYTECODE: '1',
        SEED_HANDOFF_DIR: GOLDEN_HANDOFF_DIR,
        SEED_LOG_DIR: path.join(scratchDir, 'logs'),
        SEED_REGISTRY_PATH: path.join(scratchDir, 'none.json'),
        SEED_GATEWAY_TOKEN: gateway.token,
      },
    });
    child.child.stdin?.end(JSON.stringify(GOLDEN_CASES.map((c) => ({ ...c, port: gateway.port }))));
    const { stdout } = await child;
    const answers = stdout.trim().split('\n');
    if (answers.length !== GOLDEN_CASES.length || answers.some((answer) => answer !== 'True')) {
      throw new Error(`the reference send_task did not accept every case: ${stdout}`);
    }
    return GOLDEN_CASES.map((c, index) => ({ case: c, body: gateway.hookRequests[index]?.body ?? {} }));
  } finally {
    await gateway.close();
  }
}
