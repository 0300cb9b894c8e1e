/** The run store tests' shared pieces: a store file per test, a journaled run, a result, a child process. */
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { JournalRun, RunResult } from '../../src/engine/types.ts';
import { createRunStore, type RunStore, type RunStoreOptions } from '../../src/store/run-store.ts';

export async function tempFile(t: TestContext, name = 'runs.sqlite'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hq-run-store-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return path.join(dir, 'state', name);
}

export function open(t: TestContext, file: string, options?: RunStoreOptions): RunStore {
  const store = createRunStore(file, options);
  t.after(() => store.close());
  return store;
}

export function journalRun(
  runId: string,
  overrides: Partial<JournalRun['request']> = {},
  acceptedAt = 1_000,
): JournalRun {
  return {
    runId,
    acceptedAt,
    request: {
      runId,
      agent: 'tech-lead',
      task: `task of ${runId}`,
      principals: ['manager'],
      maxAttempts: 3,
      timeoutSeconds: 300,
      origin: { kind: 'slash', requesterId: '111111111111111111', channelId: '222222222222222222' },
      ...overrides,
    },
  };
}

export function result(runId: string, status: RunResult['status'], agent = 'tech-lead'): RunResult {
  return { status, result: { summary: `done ${runId}` }, runId, agent, latencyMs: 1_234, attempts: 1 };
}

/** A child process with the store at `file` open (as `store`) running `body`; the test kills it. */
export function storeChild(t: TestContext, file: string, body: string) {
  const storeUrl = new URL('../../src/store/run-store.ts', import.meta.url).href;
  const source = `const { createRunStore } = await import(${JSON.stringify(storeUrl)});\nconst store = createRunStore(${JSON.stringify(file)});\n${body}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => child.kill('SIGKILL'));
  return {
    lines: createInterface({ input: child.stdout }),
    async kill(): Promise<void> {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      assert.deepEqual((await exited)[1], 'SIGKILL');
    },
  };
}
