/**
 * The run journal: what the engine records as a run goes (engine/types.ts RunJournal), in the
 * runs and attempts tables, one statement a verb; run-queries.ts reads it back.
 */
import type { DatabaseSync } from 'node:sqlite';
import { ErrorCode, HqError } from '../errors.ts';
import type { JournalRun, RunJournal, RunResult } from '../engine/types.ts';
import { QUEUED, RUNNING } from './schema.ts';
import { jsonOrNull } from './sqlite-rows.ts';
import type { Synchronous } from './store-api.ts';

/** The engine's outcome word for an attempt whose handoff became the run's answer. */
export const ACCEPTED_OUTCOME = 'accepted';

function requesterOf(origin: Readonly<Record<string, unknown>> | undefined): string | null {
  const id = origin?.['requesterId'];
  return typeof id === 'string' || typeof id === 'number' || typeof id === 'bigint' ? String(id) : null;
}

export function createRunJournal(db: DatabaseSync, now: () => number): Synchronous<RunJournal> {
  const runState = db.prepare('SELECT status, finished_at FROM runs WHERE run_id = ?');
  const insertRun = db.prepare(`
    INSERT INTO runs (run_id, agent, status, task, request_json, origin_json, requester_id, workflow_run_id, step_id, accepted_at,
      handoff_secret)
    VALUES (:runId, :agent, '${RUNNING}', :task, :request, :origin, :requesterId, :workflowRunId, :stepId, :acceptedAt,
      :handoffSecret)
    ON CONFLICT (run_id) DO UPDATE SET status = '${RUNNING}', request_json = excluded.request_json,
      accepted_at = excluded.accepted_at, handoff_secret = excluded.handoff_secret
    WHERE runs.status = '${QUEUED}'`);
  // A sent attempt keeps its original start and deadline: the agent was told that timeout.
  const startAttempt = db.prepare(`
    INSERT INTO attempts (run_id, attempt, started_at, deadline) VALUES (?, ?, ?, ?)
    ON CONFLICT (run_id, attempt) DO UPDATE SET started_at = excluded.started_at, deadline = excluded.deadline
    WHERE attempts.sent = 0`);
  const sendAttempt = db.prepare(`
    INSERT INTO attempts (run_id, attempt, started_at, sent, sent_at, gateway_run_id) VALUES (:runId, :attempt, :at, 1, :at, :gatewayRunId)
    ON CONFLICT (run_id, attempt) DO UPDATE SET sent = 1, sent_at = excluded.sent_at,
      gateway_run_id = coalesce(excluded.gateway_run_id, attempts.gateway_run_id)`);
  const endAttempt = db.prepare(`
    INSERT INTO attempts (run_id, attempt, started_at, outcome, detail, ended_at) VALUES (:runId, :attempt, :at, :outcome, :detail, :at)
    ON CONFLICT (run_id, attempt) DO UPDATE SET outcome = excluded.outcome, detail = excluded.detail, ended_at = excluded.ended_at`);
  // Inserted whole for a run the store never saw accepted.
  const finishRun = db.prepare(`
    INSERT INTO runs (run_id, agent, status, workflow_run_id, step_id, accepted_at, attempts, finished_at, result_json)
    VALUES (:runId, :agent, :status, :workflowRunId, :stepId, :acceptedAt, :attempts, :at, :result)
    ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, finished_at = excluded.finished_at,
      result_json = excluded.result_json, attempts = excluded.attempts`);

  return {
    /**
     * Records a new run, or starts a queued one. Announcing a run that is still open again is a no-op (a resumed run);
     * reusing the id of a finished run is refused, because its attempts and result are history.
     */
    runAccepted(run: JournalRun): void {
      const { request } = run;
      const { changes } = insertRun.run({
        runId: run.runId,
        agent: request.agent,
        task: request.task,
        request: JSON.stringify(request),
        origin: jsonOrNull(request.origin),
        requesterId: requesterOf(request.origin),
        workflowRunId: request.workflowRunId ?? null,
        stepId: request.stepId ?? null,
        acceptedAt: run.acceptedAt,
        handoffSecret: run.handoffSecret ?? null,
      });
      if (changes > 0) return;
      const existing = runState.get(run.runId);
      if (existing?.finished_at === null) return;
      throw new HqError(
        ErrorCode.RUN_ID_INVALID,
        `Run id '${run.runId}' was already used by a run that ended ${String(existing?.status)}; choose another run id`,
      );
    },

    attemptStarted(runId: string, attempt: number, startedAt: number, deadline: number): void {
      startAttempt.run(runId, attempt, startedAt, deadline);
    },

    attemptSent(runId: string, attempt: number, gatewayRunId: string | undefined): void {
      sendAttempt.run({ runId, attempt, at: now(), gatewayRunId: gatewayRunId ?? null });
    },

    /** The detail is what the next attempt is told (listResumable's retryNote). */
    attemptEnded(runId: string, attempt: number, outcome: string, detail: string): void {
      endAttempt.run({ runId, attempt, at: now(), outcome, detail });
    },

    runFinished(result: RunResult): void {
      const at = now();
      finishRun.run({
        runId: result.runId,
        agent: result.agent,
        status: result.status,
        workflowRunId: result.workflowRunId ?? null,
        stepId: result.stepId ?? null,
        acceptedAt: at - (Number.isFinite(result.latencyMs) ? result.latencyMs : 0),
        attempts: Number.isInteger(result.attempts) ? result.attempts : 0,
        at,
        result: JSON.stringify(result),
      });
    },
  };
}
