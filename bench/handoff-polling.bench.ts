/**
 * Issue 11: an agent directory on a network filesystem is polled, not watched. The engine runs
 * in this process with the agent's directory polled at each interval below; its fake gateway
 * (own process) never writes. Once the run waits, the bench renames the handoff in at the path
 * the prompt named and times rename(2) → delegate() settled: the detection latency, which a
 * poll bounds by its interval plus one read.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config.ts';
import { createEngine } from '../src/engine/engine.ts';
import { engineSettingsOf } from '../src/engine-settings.ts';
import { createEventLog } from '../src/engine/event-log.ts';
import type { RunProgress } from '../src/engine/types.ts';
import { createLogger } from '../src/log.ts';
import { handoffText } from '../test/fakes/fake-gateway.ts';
import type { Figure } from './lib/report.ts';
import { startGatewayHost, type GatewayHost } from './lib/gateway-host.ts';
import { runScenario } from './lib/scenario.ts';
import { max, percentile } from './lib/stats.ts';
import { createWorkspace } from './lib/workspace.ts';

const AGENT = 'webster';
const INTERVALS_MS = [100, 500] as const;
const SAMPLES = 30;
const DETECTION_MARGIN_MS = 50;

async function detectionSamples(host: GatewayHost, intervalMs: number): Promise<number[]> {
  const workspace = createWorkspace(`poll-${intervalMs}`, {
    agents: host.ports,
    engine: { waitForCompletion: false },
    agentConfig: { [AGENT]: { handoffPoll: { intervalMs } } },
  });
  const config = loadConfig({ ...workspace.env });
  const engine = createEngine({
    settings: engineSettingsOf(config),
    log: createLogger({ level: 'warn' }),
    eventLog: createEventLog({ dir: config.paths.logDir }),
  });
  const staging = path.join(workspace.root, 'staging');
  mkdirSync(staging, { recursive: true });
  const samples: number[] = [];
  try {
    for (let i = 0; i < SAMPLES; i += 1) {
      const runId = `bench-poll-${intervalMs}-${i}`;
      const from = path.join(staging, `${runId}.json`);
      writeFileSync(from, handoffText('valid', runId, AGENT));
      let waiting!: () => void;
      const isWaiting = new Promise<void>((resolve) => (waiting = resolve));
      const onProgress = (progress: RunProgress): void => {
        if (progress.type === 'waiting') waiting();
      };
      const running = engine.delegate(
        { runId, agent: AGENT, task: 'bench: poll', principals: [config.operatorPrincipal], timeoutSeconds: 30 },
        { onProgress },
      );
      await Promise.race([isWaiting, running]);
      const to = await host.nextRun(runId);
      if (to === undefined) throw new Error(`run ${runId}: no handoff path in its prompt`);
      const started = performance.now();
      renameSync(from, to);
      const result = await running;
      samples.push(performance.now() - started);
      if (result.status !== 'complete') throw new Error(`run ${runId} ended ${result.status}: ${String(result.notes)}`);
    }
  } finally {
    await engine.close();
    workspace.dispose();
  }
  return samples;
}

await runScenario({
  id: 'poll detection',
  issue: 11,
  title: 'polled handoff directory (NFS): rename → run resolved',
  method: `engine in-process, the agent's directory polled (agents.${AGENT}.handoffPoll.intervalMs) at ${INTERVALS_MS.join(' and ')} ms; one fake gateway (separate process) whose agent never writes; after 'waiting' the bench renames a complete handoff in at the prompt's path and times rename(2) → delegate() settled; ${SAMPLES} sequential runs per interval (rename at a random phase of the poll), nearest-rank p50 and max; target max ≤ interval + ${DETECTION_MARGIN_MS} ms`,
  limitMs: 120_000,
  async run() {
    const host = await startGatewayHost({
      agents: [AGENT],
      script: { respond: 'admit', agent: { write: 'none', finishAfterMs: 3_600_000 } },
    });
    const figures: Figure[] = [];
    try {
      for (const intervalMs of INTERVALS_MS) {
        const samples = await detectionSamples(host, intervalMs);
        figures.push(
          { metric: `poll ${intervalMs} ms: rename → resolved p50`, value: percentile(samples, 50), unit: 'ms' },
          {
            metric: `poll ${intervalMs} ms: rename → resolved max`,
            value: max(samples),
            unit: 'ms',
            target: { max: intervalMs + DETECTION_MARGIN_MS },
          },
        );
      }
    } finally {
      await host.stop();
    }
    return figures;
  },
});
