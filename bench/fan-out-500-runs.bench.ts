/**
 * Scenario (c), issue 3: 500 runs at once over 8 agents in one process. Eight fake gateways
 * (in their own process) each write a valid handoff 200 ms after the POST; the engine, in this
 * process, starts all 500 delegations in the same tick. Measured: how long after the agent
 * delay the last run resolved, resident memory, and file watchers while they all wait.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadConfig } from '../src/config.ts';
import { createEngine } from '../src/engine/engine.ts';
import { engineSettingsOf } from '../src/engine-settings.ts';
import { createEventLog } from '../src/engine/event-log.ts';
import type { RunResult } from '../src/engine/types.ts';
import { createLogger } from '../src/log.ts';
import { startGatewayHost } from './lib/gateway-host.ts';
import { fsWatchHandles, inotifyWatches, maxRssMB, rssMB } from './lib/process-probe.ts';
import { runScenario } from './lib/scenario.ts';
import { max, median, percentile } from './lib/stats.ts';
import { createWorkspace } from './lib/workspace.ts';

const AGENTS = ['manager', 'tech-lead', 'secretary', 'auditor', 'optimizer', 'study-builder', 'nx-expert', 'webster'];
const RUNS = 500;
const AGENT_DELAY_MS = 200;
const ROUNDS = 5;
const RUN_LIMIT_MS = 20_000;
/**
 * RSS is cheap to read. Counting inotify watches readlinks every fd (500 sockets in the burst)
 * and, every 50 ms, cost this process ~0.2 s of event loop per round: watchers are counted
 * at the moments that matter (all runs waiting, round end) and otherwise every 250 ms.
 */
const SAMPLE_EVERY_MS = 10;
const WATCHERS_EVERY = 25;

interface Round {
  readonly notComplete: number;
  readonly lastResolvedMs: number;
  readonly p50Ms: number;
  /** First call → the last run's POST sent. */
  readonly lastSentMs: number;
  /** POST sent → resolved, median over the runs (the agent delay included). */
  readonly afterSentP50Ms: number;
  /** Handoff renamed into place (the agent's clock, sent once a round) → run resolved. */
  readonly detectionP50Ms: number;
  readonly detectionMaxMs: number;
  readonly peakRssMB: number;
  readonly peakWatchHandles: number;
  readonly peakInotify: number;
  readonly watchHandlesWhileWaiting: number;
  /** Heap used after a full GC once the round is over. */
  readonly heapAfterGcMB: number;
}

/** A full GC between rounds (not timed), so that what stays is what is still referenced. */
const collectGarbage = ((): (() => void) => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

function heapAfterGc(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed / 1_024 / 1_024;
}

await runScenario({
  id: 'c 500 at once',
  issue: 3,
  title: `${RUNS} runs at once over ${AGENTS.length} agents in one process`,
  method: `engine in-process (config: maxConcurrentPerAgent 1000, so none queue; waitForCompletion on; logger at warn), ${AGENTS.length} fake gateways in a separate process writing a valid handoff ${AGENT_DELAY_MS} ms after each POST; all ${RUNS} delegate() calls in one tick; "last resolved" = first call → last promise settled, minus the ${AGENT_DELAY_MS} ms agent delay; handoff renamed in → resolved from the time each fake agent's rename returned (the gateway process records them and sends them once a round); each agent writes in its own directory (<handoffDir>/<agent>/, the run's secret in the file name); RSS sampled every ${SAMPLE_EVERY_MS} ms, fs.watch handles (Node FSEventWrap) and inotify watches (/proc/self/fdinfo) every ${SAMPLE_EVERY_MS * WATCHERS_EVERY} ms, when the last run reports waiting and at the round's end; ${ROUNDS} rounds, one engine, fresh run ids, a full GC after each (not timed) for the heap figure; medians, peaks are maxima`,
  limitMs: 120_000,
  async run() {
    const host = await startGatewayHost({
      agents: AGENTS,
      script: { respond: 'admit', agent: { write: 'valid', afterMs: AGENT_DELAY_MS } },
      announceRuns: false,
    });
    const workspace = createWorkspace('c', { agents: host.ports, engine: { maxConcurrentPerAgent: 1_000 } });
    const config = loadConfig({ ...workspace.env });
    const engine = createEngine({
      settings: engineSettingsOf(config),
      log: createLogger({ level: 'warn' }),
      eventLog: createEventLog({ dir: config.paths.logDir }),
    });
    const baselineRss = rssMB();
    const rounds: Round[] = [];
    try {
      // One run per agent first, so the agents' directories, their watches and the pools exist
      // before the clock starts.
      await Promise.all(
        AGENTS.map((agent) =>
          engine.delegate({
            runId: `bench-c-warm-${agent}`,
            agent,
            task: 'warm',
            principals: [config.operatorPrincipal],
            deliver: false,
          }),
        ),
      );
      await host.handoffTimes();
      for (let round = 0; round < ROUNDS; round += 1) {
        let peakRss = rssMB();
        let peakHandles = fsWatchHandles();
        let peakInotify = inotifyWatches();
        let waiting = 0;
        let handlesWhileWaiting = 0;
        let tick = 0;
        const sampler = setInterval(() => {
          peakRss = Math.max(peakRss, rssMB());
          if (++tick % WATCHERS_EVERY !== 0) return;
          peakHandles = Math.max(peakHandles, fsWatchHandles());
          peakInotify = Math.max(peakInotify, inotifyWatches());
        }, SAMPLE_EVERY_MS);
        // One bound for the whole round, cleared when it ends. Not AbortSignal.timeout(): Node
        // pins every AbortSignal.any() built over a timeout signal until that timeout fires, so
        // each run's signal (and all it reaches) would outlive the round by the whole limit and
        // show up as our memory.
        const roundControl = new AbortController();
        const roundTimer = setTimeout(
          () => roundControl.abort(new Error(`round exceeded ${RUN_LIMIT_MS} ms`)),
          RUN_LIMIT_MS,
        );
        const roundLimit = roundControl.signal;
        const started = performance.now();
        const latencies: number[] = [];
        const resolvedWallClock: number[] = [];
        const sentAt: number[] = [];
        const afterSent: number[] = [];
        const runs: Promise<RunResult>[] = [];
        for (let i = 0; i < RUNS; i += 1) {
          const agent = AGENTS[i % AGENTS.length]!;
          runs.push(
            engine
              .delegate(
                {
                  runId: `bench-c-${round}-${i}`,
                  agent,
                  task: `fan-out ${i}`,
                  principals: [config.operatorPrincipal],
                  deliver: false,
                  timeoutSeconds: 30,
                },
                {
                  signal: roundLimit,
                  onProgress: (progress) => {
                    if (progress.type !== 'waiting') return;
                    sentAt[i] = performance.now() - started;
                    waiting += 1;
                    if (waiting === RUNS) {
                      handlesWhileWaiting = fsWatchHandles();
                      peakHandles = Math.max(peakHandles, handlesWhileWaiting);
                      peakInotify = Math.max(peakInotify, inotifyWatches());
                    }
                  },
                },
              )
              .then((result) => {
                resolvedWallClock[i] = Date.now();
                const at = performance.now() - started;
                latencies.push(at);
                afterSent.push(at - (sentAt[i] ?? at));
                return result;
              }),
          );
        }
        const results = await Promise.all(runs);
        const lastResolved = performance.now() - started;
        clearInterval(sampler);
        clearTimeout(roundTimer);
        peakHandles = Math.max(peakHandles, fsWatchHandles());
        peakInotify = Math.max(peakInotify, inotifyWatches());
        // The file is gone once the run is journaled: the agents' process says when each rename returned.
        const writtenAt = await host.handoffTimes();
        const detection = results.flatMap((result, i) => {
          const at = writtenAt[result.runId];
          return at === undefined ? [] : [resolvedWallClock[i]! - at];
        });
        const failed = results.filter((result) => result.status !== 'complete');
        if (failed.length > 0)
          process.stderr.write(
            `round ${round}: ${failed.length} runs did not complete, e.g. ${failed[0]?.status}: ${String(failed[0]?.notes)}\n`,
          );
        rounds.push({
          notComplete: failed.length,
          lastResolvedMs: lastResolved,
          p50Ms: percentile(latencies, 50),
          lastSentMs: max(sentAt.filter((v) => v !== undefined)),
          afterSentP50Ms: percentile(afterSent, 50),
          detectionP50Ms: percentile(detection, 50),
          detectionMaxMs: max(detection),
          peakRssMB: Math.max(peakRss, rssMB()),
          peakWatchHandles: peakHandles,
          peakInotify,
          watchHandlesWhileWaiting: handlesWhileWaiting,
          heapAfterGcMB: heapAfterGc(),
        });
        if (process.env.BENCH_VERBOSE) process.stderr.write(`round ${round}: ${JSON.stringify(rounds.at(-1))}\n`);
      }
    } finally {
      await engine.close();
      await host.stop();
      workspace.dispose();
    }
    return [
      {
        metric: `runs not complete (of ${RUNS} x ${ROUNDS})`,
        value: rounds.reduce((sum, r) => sum + r.notComplete, 0),
        unit: 'count',
        target: { max: 0 },
      },
      {
        metric: 'last run resolved after agent delay',
        value: median(rounds.map((r) => r.lastResolvedMs)) - AGENT_DELAY_MS,
        unit: 'ms',
        target: { max: 500 },
      },
      { metric: 'run latency p50 (incl. 200 ms delay)', value: median(rounds.map((r) => r.p50Ms)), unit: 'ms' },
      { metric: 'last POST sent after first call', value: median(rounds.map((r) => r.lastSentMs)), unit: 'ms' },
      {
        metric: 'POST sent → resolved p50 (incl. delay)',
        value: median(rounds.map((r) => r.afterSentP50Ms)),
        unit: 'ms',
      },
      { metric: 'handoff renamed in → resolved p50', value: median(rounds.map((r) => r.detectionP50Ms)), unit: 'ms' },
      { metric: 'handoff renamed in → resolved max', value: max(rounds.map((r) => r.detectionMaxMs)), unit: 'ms' },
      { metric: 'peak RSS (sampled)', value: max(rounds.map((r) => r.peakRssMB)), unit: 'MB', target: { max: 150 } },
      // RSS keeps what V8 once committed, so a leak is told by the heap still used after a full
      // GC, round after round (±4 MB between rounds: idle keep-alive sockets come and go).
      { metric: 'heap after GC, first round', value: rounds[0]?.heapAfterGcMB ?? Number.NaN, unit: 'MB' },
      { metric: `heap after GC, round ${ROUNDS}`, value: rounds.at(-1)?.heapAfterGcMB ?? Number.NaN, unit: 'MB' },
      { metric: 'max RSS (getrusage)', value: maxRssMB(), unit: 'MB', target: { max: 150 } },
      { metric: 'RSS before the first round', value: baselineRss, unit: 'MB' },
      {
        // One per agent directory, however many runs wait in it.
        metric: `fs.watch handles, all ${RUNS} waiting (${AGENTS.length} agent dirs)`,
        value: max(rounds.map((r) => r.watchHandlesWhileWaiting)),
        unit: 'count',
        target: { max: AGENTS.length },
      },
      { metric: 'fs.watch handles, peak', value: max(rounds.map((r) => r.peakWatchHandles)), unit: 'count' },
      { metric: 'inotify watches, peak', value: max(rounds.map((r) => r.peakInotify)), unit: 'count' },
    ];
  },
});
