/**
 * The engine's figures for /metrics, taken where every state change already passes: the run
 * journal. withMetrics wraps the journal (the run store, or nothing) and counts a change only
 * once the journal has taken it, so a write the store refused is not counted as done. A run
 * resumed after a restart is counted but not timed: this process never saw its agent or start.
 */
import type { JournalRun, RunJournal, RunResult } from '../engine/types.ts';
import type { Metrics } from './metrics.ts';

/** Attempt outcomes that mean a handoff file was taken. */
const HANDOFF_OUTCOMES: ReadonlySet<string> = new Set(['accepted', 'handoff', 'malformed', 'refused', 'read_error']);

/** Runs left open by a shutdown never finish here: past this many, the oldest is forgotten. */
const MAX_TRACKED_RUNS = 10_000;

interface JournalMetricsOptions {
  /** Epoch ms, the clock the engine's startedAt uses. */
  readonly now?: () => number;
  readonly maxTrackedRuns?: number;
}

interface OpenRun {
  readonly agent: string;
  attempt: number;
  /** Epoch ms; NaN when this process did not see the attempt start. */
  startedAt: number;
}

export function withMetrics(
  journal: RunJournal | undefined,
  metrics: Metrics,
  options: JournalMetricsOptions = {},
): RunJournal {
  const now = options.now ?? Date.now;
  const maxTracked = options.maxTrackedRuns ?? MAX_TRACKED_RUNS;
  const open = new Map<string, OpenRun>();

  return {
    async runAccepted(run: JournalRun): Promise<void> {
      await journal?.runAccepted(run);
      if (open.has(run.runId)) return;
      if (open.size >= maxTracked) open.delete(open.keys().next().value!);
      open.set(run.runId, { agent: run.request.agent, attempt: 0, startedAt: Number.NaN });
    },
    async attemptStarted(runId: string, attempt: number, startedAt: number, deadline: number): Promise<void> {
      await journal?.attemptStarted(runId, attempt, startedAt, deadline);
      const run = open.get(runId);
      if (run === undefined) return;
      run.attempt = attempt;
      run.startedAt = startedAt;
    },
    async attemptSent(runId: string, attempt: number, gatewayRunId: string | undefined): Promise<void> {
      await journal?.attemptSent(runId, attempt, gatewayRunId);
    },
    async attemptEnded(runId: string, attempt: number, outcome: string, detail: string): Promise<void> {
      await journal?.attemptEnded(runId, attempt, outcome, detail);
      metrics.attemptEnded(outcome);
      const run = open.get(runId);
      if (run === undefined || run.attempt !== attempt || Number.isNaN(run.startedAt)) return;
      if (HANDOFF_OUTCOMES.has(outcome)) metrics.observeHandoffLatency(run.agent, (now() - run.startedAt) / 1_000);
      // One observation per attempt, however often its end is reported.
      run.startedAt = Number.NaN;
    },
    async runFinished(result: RunResult): Promise<void> {
      await journal?.runFinished(result);
      metrics.runFinished(result.status);
      open.delete(result.runId);
    },
  };
}
