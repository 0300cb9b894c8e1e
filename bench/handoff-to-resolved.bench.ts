/**
 * Scenario (a), issue 3: a handoff file renamed into place → the run resolved.
 * The engine runs in this process against a fake gateway (in its own process) whose agent
 * never writes; once the run reports `waiting`, the bench writes the handoff beside the
 * handoff dir and renames it in at the path the prompt named (the agent's own directory, the
 * run's secret in the name), timing from just before rename(2) to the delegate() promise
 * settling. The reference script is timed the same way, to its exit, at its public path.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../src/config.ts';
import { createEngine } from '../src/engine/engine.ts';
import { engineSettingsOf } from '../src/engine-settings.ts';
import { createEventLog } from '../src/engine/event-log.ts';
import type { RunProgress } from '../src/engine/types.ts';
import { createLogger } from '../src/log.ts';
import { handoffText } from '../test/fakes/fake-gateway.ts';
import { startGatewayHost } from './lib/gateway-host.ts';
import { referenceCommand, referenceEnv, referenceUnavailable } from './lib/reference-script.ts';
import { runScenario } from './lib/scenario.ts';
import { median, percentile } from './lib/stats.ts';
import { runTimed } from './lib/timed-process.ts';
import { createWorkspace, type Workspace } from './lib/workspace.ts';

const AGENT = 'webster';
const WARM_UP = 20;
const ROUNDS = 5;
const SAMPLES_PER_ROUND = 100;
const REFERENCE_SAMPLES = 5;
/** Time the reference gets after the POST to enter its inotify wait (it checks for the file first). */
const REFERENCE_SETTLE_MS = 250;
const RUN_LIMIT_MS = 10_000;

/** The handoff, written in a staging directory ready to be renamed in. */
function stage(workspace: Workspace, runId: string): string {
  const staging = path.join(workspace.root, 'staging');
  mkdirSync(staging, { recursive: true });
  const from = path.join(staging, `${runId}.json`);
  writeFileSync(from, handoffText('valid', runId, AGENT));
  return from;
}

async function engineSamples(
  workspace: Workspace,
  promptedPath: (runId: string) => Promise<string | undefined>,
): Promise<{ p50s: number[]; p99s: number[] }> {
  const config = loadConfig({ ...workspace.env });
  const engine = createEngine({
    settings: engineSettingsOf(config),
    log: createLogger({ level: 'warn' }),
    eventLog: createEventLog({ dir: config.paths.logDir }),
  });
  const p50s: number[] = [];
  const p99s: number[] = [];
  try {
    // One bound for the whole measurement rather than a timer per run.
    const limit = AbortSignal.timeout(RUN_LIMIT_MS * 10);
    const once = async (runId: string): Promise<number> => {
      const from = stage(workspace, runId);
      let waiting!: () => void;
      const isWaiting = new Promise<void>((resolve) => (waiting = resolve));
      const onProgress = (progress: RunProgress): void => {
        if (progress.type === 'waiting') waiting();
      };
      const running = engine.delegate(
        {
          runId,
          agent: AGENT,
          task: 'bench: rename latency',
          principals: [config.operatorPrincipal],
          timeoutSeconds: 30,
          deliver: false,
        },
        { onProgress, signal: limit },
      );
      await Promise.race([isWaiting, running]);
      const to = await promptedPath(runId);
      if (to === undefined) throw new Error(`run ${runId}: no handoff path in its prompt`);
      const started = performance.now();
      renameSync(from, to);
      const result = await running;
      const elapsed = performance.now() - started;
      if (result.status !== 'complete') throw new Error(`run ${runId} ended ${result.status}: ${String(result.notes)}`);
      return elapsed;
    };
    for (let i = 0; i < WARM_UP; i += 1) await once(`bench-a-warm-${i}`);
    for (let round = 0; round < ROUNDS; round += 1) {
      const samples: number[] = [];
      for (let i = 0; i < SAMPLES_PER_ROUND; i += 1) samples.push(await once(`bench-a-${round}-${i}`));
      p50s.push(percentile(samples, 50));
      p99s.push(percentile(samples, 99));
      if (process.env.BENCH_VERBOSE) {
        process.stderr.write(
          `round ${round}: p50 ${percentile(samples, 50).toFixed(2)} p90 ${percentile(samples, 90).toFixed(2)} p99 ${percentile(samples, 99).toFixed(2)} max ${percentile(samples, 100).toFixed(2)} ms\n`,
        );
      }
    }
  } finally {
    await engine.close();
  }
  return { p50s, p99s };
}

async function referenceSamples(workspace: Workspace, nextRun: (runId: string) => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < REFERENCE_SAMPLES; i += 1) {
    const runId = `bench-a-ref-${i}`;
    const from = stage(workspace, runId);
    const to = path.join(workspace.handoffDir, `${runId}.json`);
    const { command, args } = referenceCommand([
      AGENT,
      'bench: rename latency',
      '--run-id',
      runId,
      '--timeout',
      '30',
      '--no-deliver',
    ]);
    const posted = nextRun(runId);
    const exited = runTimed(command, args, referenceEnv(workspace), RUN_LIMIT_MS).then((run) => ({
      run,
      exitedAt: performance.now(),
    }));
    await posted;
    await sleep(REFERENCE_SETTLE_MS);
    const renamedAt = performance.now();
    renameSync(from, to);
    const { run, exitedAt } = await exited;
    if (run.code !== 0) throw new Error(`reference run exited ${run.code}: ${run.stderr}${run.stdout}`);
    samples.push(exitedAt - renamedAt);
  }
  return samples;
}

await runScenario({
  id: 'a handoff→resolved',
  issue: 3,
  title: 'handoff file renamed into place → run resolved',
  method: `engine in-process, one fake gateway (separate process) whose agent never writes; after the 'waiting' progress event the bench renames a complete handoff into the dir and times rename(2) → delegate() settled; ${ROUNDS} rounds x ${SAMPLES_PER_ROUND} sequential runs after ${WARM_UP} warm-up, median of the rounds' nearest-rank p50/p99. orchestrate.py: ${REFERENCE_SAMPLES} runs, rename ${REFERENCE_SETTLE_MS} ms after its POST → process exit, median`,
  limitMs: 180_000,
  async run() {
    const host = await startGatewayHost({
      agents: [AGENT],
      script: { respond: 'admit', agent: { write: 'none', finishAfterMs: 3_600_000 } },
    });
    const workspace = createWorkspace('a', { agents: host.ports, engine: { waitForCompletion: false } });
    try {
      const { p50s, p99s } = await engineSamples(workspace, host.nextRun);
      const unavailable = referenceUnavailable();
      const reference = unavailable === undefined ? median(await referenceSamples(workspace, host.nextRun)) : undefined;
      if (unavailable) process.stderr.write(`reference not measured: ${unavailable}\n`);
      return [
        {
          metric: 'rename → resolved p50',
          value: median(p50s),
          unit: 'ms',
          target: { max: 5 },
          ...(reference === undefined ? {} : { reference }),
        },
        { metric: 'rename → resolved p99', value: median(p99s), unit: 'ms', target: { max: 20 } },
      ];
    } finally {
      await host.stop();
      workspace.dispose();
    }
  },
});
