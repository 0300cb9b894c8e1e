/**
 * Issue 11: handoffs over HTTP. (1) One run at a time: once it reports `waiting`, the bench PUTs
 * the handoff with the token from the agent's prompt and times the PUT's start → delegate()
 * settled. (2) 500 runs at once over 8 `http` agents whose fake gateways (in their own process)
 * PUT a valid handoff 200 ms after each POST: how long after the agent delay the last resolves.
 */
import { loadConfig } from '../src/config.ts';
import { createEngine } from '../src/engine/engine.ts';
import { engineSettingsOf } from '../src/engine-settings.ts';
import { createEventLog } from '../src/engine/event-log.ts';
import type { Engine, RunProgress, RunResult } from '../src/engine/types.ts';
import { startHandoffListener, type HandoffListener } from '../src/handoffs/http-listener.ts';
import { createLogger } from '../src/log.ts';
import { closedPort, handoffText, startFakeGateway, type FakeGateway } from '../test/fakes/fake-gateway.ts';
import { startGatewayHost } from './lib/gateway-host.ts';
import { runScenario } from './lib/scenario.ts';
import { max, median, percentile } from './lib/stats.ts';
import { BENCH_HOOKS_TOKEN, createWorkspace, type Workspace } from './lib/workspace.ts';

const AGENTS = ['manager', 'tech-lead', 'secretary', 'auditor', 'optimizer', 'study-builder', 'nx-expert', 'webster'];
const WARM_UP = 20;
const ROUNDS = 5;
const SAMPLES_PER_ROUND = 100;
const FAN_OUT_RUNS = 500;
const FAN_OUT_ROUNDS = 5;
const AGENT_DELAY_MS = 200;
const ROUND_LIMIT_MS = 20_000;

interface World {
  readonly workspace: Workspace;
  readonly engine: Engine;
  readonly listener: HandoffListener;
  readonly principal: string;
  close(): Promise<void>;
}

async function httpWorld(label: string, ports: Record<string, number>, engineTuning = {}): Promise<World> {
  const port = await closedPort();
  const workspace = createWorkspace(label, {
    agents: ports,
    engine: { waitForCompletion: false, ...engineTuning },
    agentFields: { handoff: 'http' },
    extraConfig: { handoffListener: { host: '127.0.0.1', port, publicUrl: `http://127.0.0.1:${port}` } },
  });
  const config = loadConfig({ ...workspace.env });
  const log = createLogger({ level: 'warn' });
  const engine = createEngine({
    settings: engineSettingsOf(config),
    log,
    eventLog: createEventLog({ dir: config.paths.logDir }),
  });
  const listener = await startHandoffListener({
    ...config.handoffListener!,
    receiver: engine.handoffs,
    maxBytes: config.engine.maxHandoffBytes,
    log,
  });
  return {
    workspace,
    engine,
    listener,
    principal: config.operatorPrincipal,
    async close() {
      await engine.close();
      await listener.close();
      workspace.dispose();
    },
  };
}

async function putToResolved(): Promise<{ p50s: number[]; p99s: number[] }> {
  const gateway: FakeGateway = await startFakeGateway({
    token: BENCH_HOOKS_TOKEN,
    script: { respond: 'admit', agent: { write: 'none' } },
  });
  const world = await httpWorld('http-a', { webster: gateway.port });
  const once = async (runId: string): Promise<number> => {
    const sent = gateway.next('run', (run) => run.runId === runId);
    let waiting!: () => void;
    const isWaiting = new Promise<void>((resolve) => (waiting = resolve));
    const onProgress = (progress: RunProgress): void => {
      if (progress.type === 'waiting') waiting();
    };
    const running = world.engine.delegate(
      { runId, agent: 'webster', task: 'bench: PUT latency', principals: [world.principal], timeoutSeconds: 30 },
      { onProgress },
    );
    const [run] = await sent;
    await isWaiting;
    const body = handoffText('valid', runId, 'webster');
    const started = performance.now();
    const response = await fetch(run.handoffUrl!, {
      method: 'PUT',
      headers: { authorization: `Bearer ${run.handoffToken}`, 'content-type': 'application/json' },
      body,
    });
    const result = await running;
    const elapsed = performance.now() - started;
    await response.arrayBuffer();
    if (response.status !== 202 || result.status !== 'complete')
      throw new Error(`run ${runId}: PUT ${response.status}, ended ${result.status}: ${String(result.notes)}`);
    return elapsed;
  };
  const p50s: number[] = [];
  const p99s: number[] = [];
  try {
    for (let i = 0; i < WARM_UP; i += 1) await once(`bench-h-warm-${i}`);
    for (let round = 0; round < ROUNDS; round += 1) {
      const samples: number[] = [];
      for (let i = 0; i < SAMPLES_PER_ROUND; i += 1) samples.push(await once(`bench-h-${round}-${i}`));
      p50s.push(percentile(samples, 50));
      p99s.push(percentile(samples, 99));
    }
  } finally {
    await world.close();
    await gateway.close();
  }
  return { p50s, p99s };
}

async function fanOut(): Promise<{ lastResolved: number[]; notComplete: number }> {
  const host = await startGatewayHost({
    agents: AGENTS,
    script: { respond: 'admit', agent: { write: 'valid', afterMs: AGENT_DELAY_MS } },
    announceRuns: false,
  });
  const world = await httpWorld('http-c', host.ports, { maxConcurrentPerAgent: 1_000, waitForCompletion: true });
  const lastResolved: number[] = [];
  let notComplete = 0;
  try {
    await world.engine.delegate({
      runId: 'bench-hc-warm',
      agent: AGENTS[0]!,
      task: 'warm',
      principals: [world.principal],
    });
    for (let round = 0; round < FAN_OUT_ROUNDS; round += 1) {
      const control = new AbortController();
      const timer = setTimeout(() => control.abort(new Error(`round exceeded ${ROUND_LIMIT_MS} ms`)), ROUND_LIMIT_MS);
      const started = performance.now();
      const runs: Promise<RunResult>[] = [];
      for (let i = 0; i < FAN_OUT_RUNS; i += 1) {
        const request = {
          runId: `bench-hc-${round}-${i}`,
          agent: AGENTS[i % AGENTS.length]!,
          task: `fan-out ${i}`,
          principals: [world.principal],
          timeoutSeconds: 30,
        };
        runs.push(world.engine.delegate(request, { signal: control.signal }));
      }
      const results = await Promise.all(runs);
      lastResolved.push(performance.now() - started);
      clearTimeout(timer);
      const failed = results.filter((result) => result.status !== 'complete');
      notComplete += failed.length;
      if (failed.length > 0)
        process.stderr.write(`round ${round}: ${failed.length} not complete, e.g. ${String(failed[0]?.notes)}\n`);
    }
  } finally {
    await world.close();
    await host.stop();
  }
  return { lastResolved, notComplete };
}

await runScenario({
  id: 'h http handoff',
  issue: 11,
  title: 'handoff PUT over HTTP → run resolved',
  method: `engine and handoff listener in-process on loopback. (1) one fake gateway in-process whose agent never answers; after 'waiting' the bench PUTs a valid handoff with the prompt's token (fetch, keep-alive) and times the PUT's start → delegate() settled; ${ROUNDS} rounds x ${SAMPLES_PER_ROUND} sequential runs after ${WARM_UP} warm-up, median of the rounds' nearest-rank p50/p99. (2) ${AGENTS.length} http agents' fake gateways in a separate process PUT a valid handoff ${AGENT_DELAY_MS} ms after each POST; ${FAN_OUT_RUNS} delegate() calls in one tick (waitForCompletion on, maxConcurrentPerAgent 1000); first call → last settled minus the delay, median of ${FAN_OUT_ROUNDS} rounds`,
  limitMs: 180_000,
  async run() {
    const { p50s, p99s } = await putToResolved();
    const { lastResolved, notComplete } = await fanOut();
    return [
      { metric: 'PUT → resolved p50', value: median(p50s), unit: 'ms', target: { max: 5 } },
      { metric: 'PUT → resolved p99', value: median(p99s), unit: 'ms' },
      {
        metric: `runs not complete (of ${FAN_OUT_RUNS} x ${FAN_OUT_ROUNDS})`,
        value: notComplete,
        unit: 'count',
        target: { max: 0 },
      },
      {
        metric: `${FAN_OUT_RUNS} over HTTP: last resolved after agent delay`,
        value: median(lastResolved) - AGENT_DELAY_MS,
        unit: 'ms',
        target: { max: 500 },
      },
      { metric: `${FAN_OUT_RUNS} over HTTP: worst round`, value: max(lastResolved) - AGENT_DELAY_MS, unit: 'ms' },
    ];
  },
});
