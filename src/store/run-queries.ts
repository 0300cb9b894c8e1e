/**
 * Run queries: what /runs, /agents and a restart read from the journal (run-journal.ts writes
 * it). A run's history is assembled from the timestamps its rows keep (run-history.ts).
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { JournalRun, ResumableRun, RunResult } from '../engine/types.ts';
import { ACCEPTED_OUTCOME } from './run-journal.ts';
import { ATTEMPT_COLUMNS, HISTORY_QUERY, historyData } from './run-history.ts';
import { RUNNING, type StoredRunStatus } from './schema.ts';
import { int, json, text, type Row } from './sqlite-rows.ts';

export const MAX_RECENT_RUNS = 1_000;

export interface AttemptRecord {
  readonly attempt: number;
  readonly startedAt: number;
  readonly deadline?: number;
  readonly sent: boolean;
  readonly sentAt?: number;
  readonly gatewayRunId?: string;
  readonly outcome?: string;
  readonly detail?: string;
  readonly endedAt?: number;
}

export interface RunRecord {
  readonly runId: string;
  readonly agent: string;
  readonly status: StoredRunStatus;
  readonly task?: string;
  /** Absent only for a run the store learnt of through its result alone. */
  readonly request?: JournalRun['request'];
  readonly origin?: Readonly<Record<string, unknown>>;
  readonly requesterId?: string;
  readonly workflowRunId?: string;
  readonly stepId?: string;
  readonly acceptedAt: number;
  /** The highest attempt number started, sent or ended; 0 before the first. */
  readonly attempt: number;
  readonly finishedAt?: number;
  readonly result?: RunResult;
}

export interface RunDetail extends RunRecord {
  readonly attempts: readonly AttemptRecord[];
}

export interface RunEvent {
  readonly id: number;
  readonly runId: string;
  readonly at: number;
  readonly type: string;
  readonly attempt?: number;
  readonly data?: unknown;
}

/**
 * ResumableRun plus the last ended attempt's outcome. When that attempt ended and the run did
 * not, `attempt` is already the next one (not sent) and `retryNote` is what the agent should be
 * told about the previous failure; an `attempt` above maxAttempts means the attempts ran out.
 */
export interface PendingRun extends ResumableRun {
  readonly lastOutcome?: string;
}

export interface RecentRunsQuery {
  readonly agent?: string;
  readonly status?: StoredRunStatus;
  readonly requesterId?: string;
  /** 1 to MAX_RECENT_RUNS; default 10. */
  readonly limit?: number;
}

/** Columns every run query selects, so one mapper reads them all. */
const RUN_COLUMNS = `run_id, agent, status, task, request_json, origin_json, requester_id, workflow_run_id, step_id, accepted_at,
  max(runs.attempts, coalesce((SELECT max(a.attempt) FROM attempts a WHERE a.run_id = runs.run_id), 0)) AS current_attempt,
  finished_at, result_json`;

function toRun(row: Row): RunRecord {
  const request = json<JournalRun['request']>(row.request_json);
  const origin = json<Record<string, unknown>>(row.origin_json);
  const result = json<RunResult>(row.result_json);
  return {
    runId: String(row.run_id),
    agent: String(row.agent),
    status: String(row.status) as StoredRunStatus,
    acceptedAt: Number(row.accepted_at),
    attempt: Number(row.current_attempt),
    ...(row.task === null ? {} : { task: String(row.task) }),
    ...(request === undefined ? {} : { request }),
    ...(origin === undefined ? {} : { origin }),
    ...(row.requester_id === null ? {} : { requesterId: String(row.requester_id) }),
    ...(row.workflow_run_id === null ? {} : { workflowRunId: String(row.workflow_run_id) }),
    ...(row.step_id === null ? {} : { stepId: String(row.step_id) }),
    ...(row.finished_at === null ? {} : { finishedAt: Number(row.finished_at) }),
    ...(result === undefined ? {} : { result }),
  };
}

function toAttempt(row: Row): AttemptRecord {
  return {
    attempt: Number(row.attempt),
    startedAt: Number(row.started_at),
    sent: row.sent === 1,
    ...(row.deadline === null ? {} : { deadline: Number(row.deadline) }),
    ...(row.sent_at === null ? {} : { sentAt: Number(row.sent_at) }),
    ...(row.gateway_run_id === null ? {} : { gatewayRunId: String(row.gateway_run_id) }),
    ...(row.outcome === null ? {} : { outcome: String(row.outcome) }),
    ...(row.detail === null ? {} : { detail: String(row.detail) }),
    ...(row.ended_at === null ? {} : { endedAt: Number(row.ended_at) }),
  };
}

/** Where an open run stood: its attempt (the next one if the last ended) and whether it was sent. */
function toPendingRun(row: Row): PendingRun {
  const current = Number(row.attempt ?? 0);
  const request =
    json<JournalRun['request']>(row.request_json) ?? ({ runId: String(row.run_id) } as JournalRun['request']);
  const lastOutcome = text(row.last_outcome);
  const lastDetail = text(row.last_detail) ?? '';
  const base = {
    runId: String(row.run_id),
    request,
    acceptedAt: Number(row.accepted_at),
    // The reference script tells the next attempt why the last one failed; keep that sentence.
    ...(lastOutcome === undefined
      ? {}
      : { retryNote: lastDetail.trim() === '' ? lastOutcome : lastDetail, lastOutcome }),
  };
  if (row.started_at === null || current === 0) return { ...base, attempt: 1, sent: false };
  if (row.ended_at !== null) return { ...base, attempt: current + 1, sent: false };
  const sent = row.sent === 1;
  return {
    ...base,
    attempt: current,
    sent,
    attemptStartedAt: Number(row.started_at),
    ...(sent && row.deadline !== null ? { deadline: Number(row.deadline) } : {}),
  };
}

export type RunQueries = ReturnType<typeof createRunQueries>;

export function createRunQueries(db: DatabaseSync) {
  // An attempt that ended accepted, in a run that is still open, is one whose process died between
  // the attempt's end and the run's finish: it is resumed as if it had not ended, so the engine
  // finds the handoff it had accepted rather than sending the task again.
  const resumable = db.prepare(`
    SELECT r.run_id, r.request_json, r.accepted_at, a.attempt, a.started_at, a.deadline, a.sent,
      CASE WHEN a.outcome IS '${ACCEPTED_OUTCOME}' THEN NULL ELSE a.ended_at END AS ended_at,
      e.outcome AS last_outcome, e.detail AS last_detail
    FROM runs r
    LEFT JOIN attempts a ON a.run_id = r.run_id
      AND a.attempt = (SELECT max(attempt) FROM attempts WHERE run_id = r.run_id)
    LEFT JOIN attempts e ON e.run_id = r.run_id
      AND e.attempt = (SELECT max(attempt) FROM attempts
        WHERE run_id = r.run_id AND ended_at IS NOT NULL AND outcome IS NOT '${ACCEPTED_OUTCOME}')
    WHERE r.status = '${RUNNING}'
    ORDER BY r.accepted_at, r.run_id`);
  const getRun = db.prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = ?`);
  const attemptsOf = db.prepare(`SELECT ${ATTEMPT_COLUMNS} FROM attempts a WHERE a.run_id = ? ORDER BY a.attempt`);
  const eventsOf = db.prepare(HISTORY_QUERY);
  // One statement per combination of filters, so each can use its own index.
  const recent = new Map<string, StatementSync>();
  for (const agent of [false, true]) {
    for (const status of [false, true]) {
      for (const requester of [false, true]) {
        const where = [
          agent && 'agent = :agent',
          status && 'status = :status',
          requester && 'requester_id = :requesterId',
        ].filter(Boolean);
        recent.set(
          `${+agent}${+status}${+requester}`,
          db.prepare(`SELECT ${RUN_COLUMNS} FROM runs ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
            ORDER BY accepted_at DESC, rowid DESC LIMIT :limit`),
        );
      }
    }
  }
  const lastResult = db.prepare(`
    SELECT result_json FROM runs WHERE agent = ? AND status <> '${RUNNING}' AND result_json IS NOT NULL
    ORDER BY finished_at DESC, rowid DESC LIMIT 1`);

  return {
    /** Runs accepted and not finished, oldest first, each with where it stood. */
    listResumable(): PendingRun[] {
      return resumable.all().map(toPendingRun);
    },

    getRun(runId: string): RunDetail | undefined {
      const row = getRun.get(runId);
      if (row === undefined) return undefined;
      return { ...toRun(row), attempts: attemptsOf.all(runId).map(toAttempt) };
    },

    /** Newest first. */
    recentRuns(query: RecentRunsQuery = {}): RunRecord[] {
      const limit = Math.min(Math.max(Math.trunc(query.limit ?? 10), 1), MAX_RECENT_RUNS);
      const key = `${+(query.agent !== undefined)}${+(query.status !== undefined)}${+(query.requesterId !== undefined)}`;
      const params: Record<string, string | number> = { limit };
      if (query.agent !== undefined) params.agent = query.agent;
      if (query.status !== undefined) params.status = query.status;
      if (query.requesterId !== undefined) params.requesterId = query.requesterId;
      return recent.get(key)!.all(params).map(toRun);
    },

    /** The result of the agent's most recently finished run. */
    lastResult(agent: string): RunResult | undefined {
      return json<RunResult>(lastResult.get(agent)?.result_json);
    },

    /** The run's append-only history, oldest first. */
    runEvents(runId: string): RunEvent[] {
      return eventsOf.all({ runId }).map((row, index) => {
        const attempt = int(row.attempt);
        const data = historyData(String(row.type), row);
        return {
          id: index + 1,
          runId,
          at: Number(row.at),
          type: String(row.type),
          ...(attempt === undefined ? {} : { attempt }),
          ...(data === undefined ? {} : { data }),
        };
      });
    },
  };
}
