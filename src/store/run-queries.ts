/**
 * Run queries: what /runs, /agents and a restart read from the journal (run-journal.ts writes
 * it). Nothing is written twice for a run's history: it is assembled from its rows' timestamps.
 */
import type { DatabaseSync } from 'node:sqlite';
import type { JournalRun, ResumableRun, RunResult } from '../engine/types.ts';
import { ACCEPTED_OUTCOME } from './run-journal.ts';
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

const ATTEMPT_COLUMNS = `a.run_id, a.attempt, a.started_at, a.deadline, a.sent, a.sent_at, a.gateway_run_id,
  a.outcome, a.detail, a.ended_at`;

/**
 * A run's history, read from the timestamps its rows keep. `phase` puts the events in the order
 * they can happen in (a clock may give two the same millisecond); v1–v3 carry each type's details.
 */
const FINISHED_PHASE = 1_000_000_000;
const HISTORY_QUERY = `
  SELECT type, at, attempt, v1, v2, v3 FROM (
    SELECT 0 AS phase, 0 AS rank, 'accepted' AS type, accepted_at AS at, NULL AS attempt, agent AS v1, NULL AS v2, NULL AS v3
      FROM runs WHERE run_id = :runId AND request_json IS NOT NULL
    UNION ALL SELECT attempt * 4 + 1, 0, 'attempt_started', started_at, attempt, started_at, deadline, NULL
      FROM attempts WHERE run_id = :runId
    UNION ALL SELECT attempt * 4 + 2, 0, 'attempt_sent', sent_at, attempt, gateway_run_id, NULL, NULL
      FROM attempts WHERE run_id = :runId AND sent = 1
    UNION ALL SELECT attempt * 4 + 3, 0, 'attempt_ended', ended_at, attempt, outcome, detail, NULL
      FROM attempts WHERE run_id = :runId AND ended_at IS NOT NULL
    UNION ALL SELECT ${FINISHED_PHASE}, 0, 'finished', finished_at, NULL, status, json_extract(result_json, '$.code'), NULL
      FROM runs WHERE run_id = :runId AND finished_at IS NOT NULL
    UNION ALL SELECT ${FINISHED_PHASE} + 1, 0, 'delivery_enqueued', enqueued_at, NULL, kind, NULL, NULL
      -- not a row markDelivered created for a delivery never enqueued
      FROM deliveries WHERE run_id = :runId AND NOT (target_json IS NULL AND enqueued_at = delivered_at)
    UNION ALL SELECT ${FINISHED_PHASE} + 1, 1, 'delivered', delivered_at, NULL, kind, channel_id, message_id
      FROM deliveries WHERE run_id = :runId AND delivered_at IS NOT NULL
  ) ORDER BY phase, at, rank, v1`;

export function historyData(type: string, row: Row): Record<string, unknown> | undefined {
  const { v1, v2, v3 } = row;
  switch (type) {
    case 'accepted':
      return { agent: text(v1), at: Number(row.at) };
    case 'attempt_started':
      return { startedAt: Number(v1), ...(v2 === null ? {} : { deadline: Number(v2) }) };
    case 'attempt_sent':
      return v1 === null ? undefined : { gatewayRunId: text(v1) };
    case 'attempt_ended':
      return { outcome: text(v1), detail: text(v2) ?? '' };
    case 'finished':
      return { status: text(v1), ...(v2 === null ? {} : { code: text(v2) }) };
    case 'delivery_enqueued':
      return { kind: text(v1) };
    case 'delivered':
      return { kind: text(v1), channelId: text(v2), messageId: text(v3) };
    default:
      return undefined;
  }
}

export const RECENT_FILTERS = [
  ['agent', 'agent'],
  ['status', 'status'],
  ['requesterId', 'requester_id'],
] as const;

const RUN_COLUMNS = `run_id, agent, status, task, request_json, origin_json, requester_id, workflow_run_id, step_id, accepted_at,
  max(runs.attempts, coalesce((SELECT max(a.attempt) FROM attempts a WHERE a.run_id = runs.run_id), 0)) AS current_attempt,
  finished_at, result_json`;

/** One row of HISTORY_QUERY, the `index`-th of the run's history, as /runs shows it. */
export function toRunEvent(runId: string, row: Row, index: number): RunEvent {
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
}

export function toRun(row: Row): RunRecord {
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

export function toAttempt(row: Row): AttemptRecord {
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

export function toPendingRun(row: Row): PendingRun {
  const current = Number(row.attempt ?? 0);
  const request =
    json<JournalRun['request']>(row.request_json) ?? ({ runId: String(row.run_id) } as JournalRun['request']);
  const lastOutcome = text(row.last_outcome);
  const lastDetail = text(row.last_detail) ?? '';
  const base = {
    runId: String(row.run_id),
    request,
    acceptedAt: Number(row.accepted_at),
    ...(row.handoff_secret === null ? {} : { handoffSecret: String(row.handoff_secret) }),
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

/** A thread's runs (its root, then follow-ups), served by the runs_by_thread index (migrate.ts). */
export const THREAD_RUNS_SQL = `
  SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = :rootRunId OR json_extract(origin_json, '$.threadId') = :threadId
  ORDER BY accepted_at DESC, rowid DESC LIMIT :limit`;

export function createRunQueries(db: DatabaseSync) {
  // An attempt that ended accepted, in a run that is still open, is one whose process died between
  // the attempt's end and the run's finish: it is resumed as if it had not ended, so the engine
  // finds the handoff it had accepted rather than sending the task again.
  const resumable = db.prepare(`
    SELECT r.run_id, r.request_json, r.accepted_at, r.handoff_secret, a.attempt, a.started_at, a.deadline, a.sent,
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
  // A thread holds few runs; a follow-up's origin names its thread (run-origin.ts).
  const threadRuns = db.prepare(THREAD_RUNS_SQL);
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
      const params: Record<string, string | number> = { limit };
      const where: string[] = [];
      for (const [key, column] of RECENT_FILTERS) {
        const value = query[key];
        if (value === undefined) continue;
        params[key] = value;
        where.push(`${column} = :${key}`);
      }
      // Prepared per call, with only the filters given, so sqlite picks the index that fits them.
      const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
      return db
        .prepare(`SELECT ${RUN_COLUMNS} FROM runs ${filter} ORDER BY accepted_at DESC, rowid DESC LIMIT :limit`)
        .all(params)
        .map(toRun);
    },

    /** The runs of a result thread (the one that opened it, then its follow-ups), newest first. */
    runsOfThread(query: {
      readonly rootRunId: string;
      readonly threadId: string;
      readonly limit: number;
    }): RunRecord[] {
      const limit = Math.min(Math.max(Math.trunc(query.limit), 1), MAX_RECENT_RUNS);
      return threadRuns.all({ rootRunId: query.rootRunId, threadId: query.threadId, limit }).map(toRun);
    },

    /** The result of the agent's most recently finished run. */
    lastResult(agent: string): RunResult | undefined {
      return json<RunResult>(lastResult.get(agent)?.result_json);
    },

    /** Oldest first. */
    runEvents(runId: string): RunEvent[] {
      return eventsOf.all({ runId }).map((row, index) => toRunEvent(runId, row, index));
    },
  };
}
