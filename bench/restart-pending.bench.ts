/**
 * Issue 5: a restart with 500 pending runs is ready in ≤ 2 s. The run store holds 500 runs
 * whose first attempt was sent (deadline ten minutes ahead) and each agent has already written
 * its handoff while the process was down. Timed, as a restarted process does it: open the
 * store, listResumable(), create the engine with the store as journal, resume() every run —
 * "ready" is the moment the last of them has resolved with its handoff and is journaled as
 * finished. The agent's gateway is a closed port: a resumed sent attempt must not call it.
 *
 * Each iteration prepares a fresh store and handoff directory (not timed).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig, type Config } from '../src/config.ts';
import { agentHandoffDir, handoffFileOf, makeAgentDirectory, newHandoffSecret } from '../src/engine/handoff-path.ts';
import { createEngine } from '../src/engine/engine.ts';
import { engineSettingsOf } from '../src/engine-settings.ts';
import { createEventLog } from '../src/engine/event-log.ts';
import type { RunResult } from '../src/engine/types.ts';
import { createLogger } from '../src/log.ts';
import { createRunStore } from '../src/store/run-store.ts';
import { closedPort, handoffText } from '../test/fakes/fake-gateway.ts';
import type { Figure } from './lib/report.ts';
import { runScenario } from './lib/scenario.ts';
import { median } from './lib/stats.ts';
import { createWorkspace } from './lib/workspace.ts';
import { asAsyncStore } from '../src/store/sqlite-async.ts';

const AGENT = 'webster';
const PENDING_RUNS = 500;
const ITERATIONS = 5;
export const READY_TARGET_MS = 2_000;

const silent = createLogger({ level: 'warn', destination: { write() {} } });

interface Prepared {
  readonly config: Config;
  readonly storeFile: string;
  dispose(): void;
}

/** The state a process killed with 500 runs in flight leaves behind, plus the handoffs written since. */
async function prepare(port: number): Promise<Prepared> {
  const workspace = createWorkspace('restart', {
    agents: { [AGENT]: port },
    engine: { defaultTimeoutSeconds: 600, maxConcurrentPerAgent: 1_000 },
  });
  const config = loadConfig({ ...workspace.env });
  const storeFile = path.join(config.paths.stateDir, 'runs.sqlite');
  const store = createRunStore(storeFile);
  const now = Date.now();
  const writes: Promise<void>[] = [];
  makeAgentDirectory(agentHandoffDir(config.paths.handoffDir, AGENT));
  for (let i = 0; i < PENDING_RUNS; i++) {
    const runId = `bench-restart-${String(i).padStart(3, '0')}`;
    const startedAt = now - 60_000 + i;
    const handoffSecret = newHandoffSecret();
    store.runAccepted({
      runId,
      acceptedAt: startedAt,
      handoffSecret,
      request: {
        runId,
        agent: AGENT,
        task: `pending ${i}`,
        principals: [config.operatorPrincipal],
        timeoutSeconds: 600,
        origin: { kind: 'slash', requesterId: '300000000000000003' },
      },
    });
    store.attemptStarted(runId, 1, startedAt, startedAt + 600_000);
    store.attemptSent(runId, 1, `hook-run-${i}`);
    const file = handoffFileOf(agentHandoffDir(config.paths.handoffDir, AGENT), runId, handoffSecret);
    writes.push(writeFile(file, handoffText('valid', runId, AGENT)));
  }
  await Promise.all(writes);
  store.close();
  return { config, storeFile, dispose: () => workspace.dispose() };
}

interface Restart {
  readonly openAndListMs: number;
  readonly readyMs: number;
}

async function restart(prepared: Prepared): Promise<Restart> {
  const started = performance.now();
  const store = createRunStore(prepared.storeFile);
  const pending = store.listResumable();
  const listed = performance.now();
  const engine = createEngine({
    settings: engineSettingsOf(prepared.config),
    log: silent,
    eventLog: createEventLog({ dir: prepared.config.paths.logDir }),
    journal: asAsyncStore(store),
  });
  try {
    if (pending.length !== PENDING_RUNS || !pending.every((run) => run.sent && run.deadline !== undefined)) {
      throw new Error(`expected ${PENDING_RUNS} sent runs to resume, found ${pending.length}`);
    }
    const results: RunResult[] = await Promise.all(pending.map((run) => engine.resume(run)));
    const ready = performance.now();
    const notComplete = results.filter((result) => result.status !== 'complete');
    if (notComplete.length > 0)
      throw new Error(`${notComplete.length} resumed runs did not complete, e.g. ${JSON.stringify(notComplete[0])}`);
    if (store.listResumable().length !== 0)
      throw new Error('the store still lists runs to resume after every run finished');
    return { openAndListMs: listed - started, readyMs: ready - started };
  } finally {
    await engine.close();
    store.close();
  }
}

await runScenario({
  id: 'restart-pending',
  issue: 5,
  title: `Restart with ${PENDING_RUNS} pending runs, each handoff already written`,
  method:
    `store prepared with ${PENDING_RUNS} runs (attempt 1 sent, deadline 10 min ahead) and a valid handoff file for each; ` +
    'timed: createRunStore + listResumable, then createEngine({ journal: store }) and resume() of all at once until the last resolves; ' +
    `gateway is a closed port (nothing may be re-sent); median of ${ITERATIONS} iterations, each on a fresh store`,
  limitMs: 120_000,
  async run(): Promise<readonly Figure[]> {
    const port = await closedPort();
    const restarts: Restart[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      const prepared = await prepare(port);
      try {
        restarts.push(await restart(prepared));
      } finally {
        prepared.dispose();
      }
    }
    return [
      {
        metric: `open store + list ${PENDING_RUNS} pending`,
        value: median(restarts.map((r) => r.openAndListMs)),
        unit: 'ms',
      },
      {
        metric: `${PENDING_RUNS} resumed and resolved (ready)`,
        value: median(restarts.map((r) => r.readyMs)),
        unit: 'ms',
        target: { max: READY_TARGET_MS },
      },
    ];
  },
});
