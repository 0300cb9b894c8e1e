/**
 * The engine's figures for /metrics, taken where every state change already passes: the run
 * journal. withMetrics wraps the journal (the run store, or nothing) and counts a change only
 * once the journal has taken it, so a write the store refused is not counted as done.
 *
 * It keeps one small record per open run (agent, attempt, start) to time attempt start →
 * handoff; the record is reused across attempts and dropped when the run finishes. A run resumed
 * after a restart is counted but not timed: the engine does not announce it again, so its agent
 * is not known here (and a wait begun before the restart would include the downtime).
 */
import type { JournalRun, RunJournal, RunResult } from '../engine/types.ts';
import type { Metrics } from './metrics.ts';

/** Attempt outcomes that mean a handoff file was taken (the engine's file outcomes, and an accepted answer). */
export const HANDOFF_OUTCOMES: ReadonlySet<string> = new Set([
  'accepted',
  'handoff',
  'malformed',
  'refused',
  'read_error',
]);

/**
 * Open runs tracked at once; past it the oldest is forgotten (only its latency goes unmeasured).
 * Runs left open by a shutdown are never finished in this process, so the map must not grow forever.
 */
export const MAX_TRACKED_RUNS = 10_000;

export interface JournalMetricsOptions {
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
    runAccepted(run: JournalRun): void {
      journal?.runAccepted(run);
      if (open.has(run.runId)) return;
      if (open.size >= maxTracked) open.delete(open.keys().next().value!);
      open.set(run.runId, { agent: run.request.agent, attempt: 0, startedAt: Number.NaN });
    },
    attemptStarted(runId: string, attempt: number, startedAt: number, deadline: number): void {
      journal?.attemptStarted(runId, attempt, startedAt, deadline);
      const run = open.get(runId);
      if (run === undefined) return;
      run.attempt = attempt;
      run.startedAt = startedAt;
    },
    attemptSent(runId: string, attempt: number, gatewayRunId: string | undefined): void {
      journal?.attemptSent(runId, attempt, gatewayRunId);
    },
    attemptEnded(runId: string, attempt: number, outcome: string, detail: string): void {
      journal?.attemptEnded(runId, attempt, outcome, detail);
      metrics.attemptEnded(outcome);
      const run = open.get(runId);
      if (run === undefined || run.attempt !== attempt || Number.isNaN(run.startedAt)) return;
      if (HANDOFF_OUTCOMES.has(outcome)) metrics.observeHandoffLatency(run.agent, (now() - run.startedAt) / 1_000);
      // One observation per attempt, however often its end is reported.
      run.startedAt = Number.NaN;
    },
    runFinished(result: RunResult): void {
      journal?.runFinished(result);
      metrics.runFinished(result.status);
      open.delete(result.runId);
    },
  };
}
