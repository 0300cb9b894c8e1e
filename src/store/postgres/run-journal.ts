/** The run journal on PostgreSQL: ../run-journal.ts's verbs, statement for statement. */
import { ErrorCode, HqError } from '../../errors.ts';
import type { JournalRun, RunResult } from '../../engine/types.ts';
import { QUEUED, RUNNING } from '../schema.ts';
import { jsonOrNull } from '../sqlite-rows.ts';
import type { PgSession } from './session.ts';
import { encodeText } from './text.ts';

function requesterOf(origin: Readonly<Record<string, unknown>> | undefined): string | null {
  const id = origin?.['requesterId'];
  return typeof id === 'string' || typeof id === 'number' || typeof id === 'bigint' ? String(id) : null;
}

const INSERT_RUN = `
  INSERT INTO runs (run_id, agent, status, task_json, request_json, origin_json, requester_id, workflow_run_id, step_id,
    accepted_at, handoff_secret)
  VALUES ($1, $2, '${RUNNING}', $3, $4, $5, $6, $7, $8, $9, $10)
  ON CONFLICT (run_id) DO UPDATE SET status = '${RUNNING}', request_json = excluded.request_json,
    accepted_at = excluded.accepted_at, handoff_secret = excluded.handoff_secret
  WHERE runs.status = '${QUEUED}'`;
// A sent attempt keeps its original start and deadline: the agent was told that timeout.
const START_ATTEMPT = `
  INSERT INTO attempts (run_id, attempt, started_at, deadline) VALUES ($1, $2, $3, $4)
  ON CONFLICT (run_id, attempt) DO UPDATE SET started_at = excluded.started_at, deadline = excluded.deadline
  WHERE NOT attempts.sent`;
const SEND_ATTEMPT = `
  INSERT INTO attempts (run_id, attempt, started_at, sent, sent_at, gateway_run_id) VALUES ($1, $2, $3, true, $3, $4)
  ON CONFLICT (run_id, attempt) DO UPDATE SET sent = true, sent_at = excluded.sent_at,
    gateway_run_id = coalesce(excluded.gateway_run_id, attempts.gateway_run_id)`;
const END_ATTEMPT = `
  INSERT INTO attempts (run_id, attempt, started_at, outcome, detail_json, ended_at) VALUES ($1, $2, $3, $4, $5, $3)
  ON CONFLICT (run_id, attempt) DO UPDATE SET outcome = excluded.outcome, detail_json = excluded.detail_json,
    ended_at = excluded.ended_at`;
// Inserted whole for a run the store never saw accepted.
const FINISH_RUN = `
  INSERT INTO runs (run_id, agent, status, workflow_run_id, step_id, accepted_at, attempts, finished_at, result_json)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
  ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, finished_at = excluded.finished_at,
    result_json = excluded.result_json, attempts = excluded.attempts`;

export function createPgRunJournal(session: PgSession, now: () => number) {
  const { write } = session;
  return {
    /**
     * As ../run-journal.ts: a queued run starts, an open run announced again is a no-op, a finished run's id is
     * refused.
     */
    runAccepted: (run: JournalRun): Promise<void> =>
      write(async (query) => {
        const { request } = run;
        const { rowCount } = await query(INSERT_RUN, [
          run.runId,
          request.agent,
          encodeText(request.task),
          JSON.stringify(request),
          jsonOrNull(request.origin),
          requesterOf(request.origin),
          request.workflowRunId ?? null,
          request.stepId ?? null,
          run.acceptedAt,
          run.handoffSecret ?? null,
        ]);
        if (rowCount !== 0) return;
        const { rows } = await query('SELECT status, finished_at FROM runs WHERE run_id = $1', [run.runId]);
        if (rows[0]?.finished_at === null) return;
        throw new HqError(
          ErrorCode.RUN_ID_INVALID,
          `Run id '${run.runId}' was already used by a run that ended ${String(rows[0]?.status)}; choose another run id`,
        );
      }),

    attemptStarted: (runId: string, attempt: number, startedAt: number, deadline: number): Promise<void> =>
      write(async (query) => void (await query(START_ATTEMPT, [runId, attempt, startedAt, deadline]))),

    attemptSent: (runId: string, attempt: number, gatewayRunId: string | undefined): Promise<void> =>
      write(async (query) => void (await query(SEND_ATTEMPT, [runId, attempt, now(), gatewayRunId ?? null]))),

    attemptEnded: (runId: string, attempt: number, outcome: string, detail: string): Promise<void> =>
      write(async (query) => void (await query(END_ATTEMPT, [runId, attempt, now(), outcome, encodeText(detail)]))),

    runFinished: (result: RunResult): Promise<void> =>
      write(async (query) => {
        const at = now();
        await query(FINISH_RUN, [
          result.runId,
          result.agent,
          result.status,
          result.workflowRunId ?? null,
          result.stepId ?? null,
          at - (Number.isFinite(result.latencyMs) ? result.latencyMs : 0),
          Number.isInteger(result.attempts) ? result.attempts : 0,
          at,
          JSON.stringify(result),
        ]);
      }),
  };
}
