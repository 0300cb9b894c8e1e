/**
 * Fake OpenClaw gateways (test/fakes/fake-gateway.ts) in their own process, so the process
 * being measured pays neither their CPU nor their memory. The parent forks this file, gets
 * the ports back over IPC, hears of each agent run ({ type: 'run', runId, handoffPath }: the
 * path carries the run's secret, so only the prompt tells it), can ask when each agent wrote its
 * handoff, and can change the agents' script; the gateways die with the IPC channel.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { startFakeGateway, type FakeGateway, type RequestScript } from '../../test/fakes/fake-gateway.ts';
import { BENCH_HOOKS_TOKEN } from './workspace.ts';

export interface GatewayHostSpec {
  readonly agents: readonly string[];
  readonly script: RequestScript;
  /**
   * Tell the parent of each agent run (for nextRun). Default true. A scenario that measures
   * the parent's memory and CPU turns it off: 500 IPC messages a round, parsed there and
   * kept in a set nobody reads, would count as the engine's.
   */
  readonly announceRuns?: boolean;
}

type ToHost = { readonly type: 'script'; readonly script: RequestScript } | { readonly type: 'handoff-times' };
type FromHost =
  | { readonly type: 'ready'; readonly ports: Record<string, number> }
  | { readonly type: 'run'; readonly agent: string; readonly runId: string | undefined; readonly handoffPath?: string }
  | { readonly type: 'scripted' }
  | { readonly type: 'handoff-times'; readonly times: Record<string, number> };

export interface GatewayHost {
  readonly ports: Readonly<Record<string, number>>;
  /** Resolves, with the handoff path its prompt named, when a gateway starts the agent run for `runId`. */
  nextRun(runId: string): Promise<string | undefined>;
  /**
   * When each agent finished writing its handoff (wall clock, ms), by run id, since the last
   * call: collected in the host and sent in one message, so the measured process pays no IPC per run.
   */
  handoffTimes(): Promise<Record<string, number>>;
  setScript(script: RequestScript): Promise<void>;
  stop(): Promise<void>;
}

const START_LIMIT_MS = 20_000;

export async function startGatewayHost(spec: GatewayHostSpec): Promise<GatewayHost> {
  const child: ChildProcess = fork(import.meta.filename, [JSON.stringify(spec)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [],
  });
  const runWaiters = new Map<string, (handoffPath: string | undefined) => void>();
  const seenRuns = new Map<string, string | undefined>();
  let scripted: (() => void) | undefined;
  let timesWaiter: ((times: Record<string, number>) => void) | undefined;
  const ports = await new Promise<Record<string, number>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('gateway host did not start')), START_LIMIT_MS);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`gateway host exited with ${code}`)));
    child.on('message', (raw) => {
      const message = raw as FromHost;
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve(message.ports);
      } else if (message.type === 'run' && message.runId !== undefined) {
        const waiter = runWaiters.get(message.runId);
        if (waiter) {
          runWaiters.delete(message.runId);
          waiter(message.handoffPath);
        } else seenRuns.set(message.runId, message.handoffPath);
      } else if (message.type === 'scripted') scripted?.();
      else if (message.type === 'handoff-times') timesWaiter?.(message.times);
    });
  });
  child.removeAllListeners('exit');
  return {
    ports,
    nextRun(runId) {
      if (seenRuns.has(runId)) {
        const handoffPath = seenRuns.get(runId);
        seenRuns.delete(runId);
        return Promise.resolve(handoffPath);
      }
      return new Promise((resolve) => runWaiters.set(runId, resolve));
    },
    handoffTimes() {
      return new Promise((resolve) => {
        timesWaiter = resolve;
        child.send({ type: 'handoff-times' } satisfies ToHost);
      });
    },
    setScript(script) {
      return new Promise((resolve) => {
        scripted = resolve;
        child.send({ type: 'script', script } satisfies ToHost);
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function host(spec: GatewayHostSpec): Promise<void> {
  const gateways = new Map<string, FakeGateway>();
  let times: Record<string, number> = {};
  for (const agent of spec.agents) {
    const gateway = await startFakeGateway({ token: BENCH_HOOKS_TOKEN, script: spec.script });
    if (spec.announceRuns !== false)
      gateway.on('run', (run) => {
        const { runId, handoffPath } = run;
        process.send?.({ type: 'run', agent, runId, ...(handoffPath ? { handoffPath } : {}) } satisfies FromHost);
      });
    gateway.on('handoff', (run) => {
      if (run.runId !== undefined) times[run.runId] = Date.now();
    });
    gateways.set(agent, gateway);
  }
  const close = async (): Promise<void> => {
    await Promise.all([...gateways.values()].map((gateway) => gateway.close()));
    process.exit(0);
  };
  process.on('message', (raw) => {
    const message = raw as ToHost;
    if (message.type === 'script') {
      for (const gateway of gateways.values()) gateway.setDefault(message.script);
      process.send?.({ type: 'scripted' } satisfies FromHost);
    } else if (message.type === 'handoff-times') {
      process.send?.({ type: 'handoff-times', times } satisfies FromHost);
      times = {};
    }
  });
  process.on('disconnect', () => void close());
  process.on('SIGTERM', () => void close());
  process.send?.({
    type: 'ready',
    ports: Object.fromEntries([...gateways].map(([agent, gateway]) => [agent, gateway.port])),
  } satisfies FromHost);
}

if (process.argv[1] === import.meta.filename && process.send) {
  await host(JSON.parse(process.argv[2] ?? '{}') as GatewayHostSpec);
}
