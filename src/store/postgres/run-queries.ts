/**
 * Run queries on PostgreSQL: ../run-queries.ts's reads, with its row converters. `sent` is read as
 * 0/1 and `seq` orders ties as SQLite's rowid does, so both stores answer alike.
 */
import type { RunResult } from '../../engine/types.ts';
import { ACCEPTED_OUTCOME } from '../run-journal.ts';
import {
  toRunEvent,
  MAX_RECENT_RUNS,
  RECENT_FILTERS,
  toAttempt,
  toPendingRun,
  toRun,
  type PendingRun,
  type RecentRunsQuery,
  type RunDetail,
  type RunEvent,
  type RunRecord,
} from '../run-queries.ts';
import { RUNNING } from '../schema.ts';
import { json, type Row } from '../sqlite-rows.ts';
import type { PgSession } from './session.ts';
import { decodeColumns } from './text.ts';

const ATTEMPT_COLUMNS = `a.run_id, a.attempt, a.started_at, a.deadline, a.sent::int AS sent, a.sent_at, a.gateway_run_id,
  a.outcome, a.detail_json AS detail, a.ended_at`;

const RUN_COLUMNS = `run_id, agent, status, task_json AS task, request_json, origin_json, requester_id, workflow_run_id, step_id,
  accepted_at, greatest(runs.attempts, coalesce((SELECT max(a.attempt) FROM attempts a WHERE a.run_id = runs.run_id), 0))
  AS current_attempt, finished_at, result_json`;

/** As ../run-queries.ts HISTORY_QUERY; v1–v3 are text here, since a UNION's columns have one type. */
const FINISHED_PHASE = 1_000_000_000;
const HISTORY_QUERY = `
  SELECT type, at, attempt, v1, v2, v3 FROM (
    SELECT 0 AS phase, 0 AS rank, 'accepted' AS type, accepted_at AS at, NULL::int AS attempt, agent::text AS v1,
      NULL::text AS v2, NULL::text AS v3
      FROM runs WHERE run_id = $1 AND request_json IS NOT NULL
    UNION ALL SELECT attempt * 4 + 1, 0, 'attempt_started', started_at, attempt, started_at::text, deadline::text, NULL
      FROM attempts WHERE run_id = $1
    UNION ALL SELECT attempt * 4 + 2, 0, 'attempt_sent', sent_at, attempt, gateway_run_id, NULL, NULL
      FROM attempts WHERE run_id = $1 AND sent
    UNION ALL SELECT attempt * 4 + 3, 0, 'attempt_ended', ended_at, attempt, outcome, detail_json, NULL
      FROM attempts WHERE run_id = $1 AND ended_at IS NOT NULL
    UNION ALL SELECT ${FINISHED_PHASE}, 0, 'finished', finished_at, NULL, status, result_json, NULL
      FROM runs WHERE run_id = $1 AND finished_at IS NOT NULL
    UNION ALL SELECT ${FINISHED_PHASE} + 1, 0, 'delivery_enqueued', enqueued_at, NULL, kind, NULL, NULL
      FROM deliveries WHERE run_id = $1 AND NOT (target_json IS NULL AND enqueued_at = delivered_at)
    UNION ALL SELECT ${FINISHED_PHASE} + 1, 1, 'delivered', delivered_at, NULL, kind, channel_id, message_id
      FROM deliveries WHERE run_id = $1 AND delivered_at IS NOT NULL
  ) history ORDER BY phase, at, rank, v1 COLLATE "C"`;

// As in ../run-queries.ts: an attempt that ended accepted in a run still open is resumed as not ended.
const RESUMABLE = `
  SELECT r.run_id, r.request_json, r.accepted_at, r.handoff_secret, a.attempt, a.started_at, a.deadline,
    a.sent::int AS sent,
    CASE WHEN a.outcome IS NOT DISTINCT FROM '${ACCEPTED_OUTCOME}' THEN NULL ELSE a.ended_at END AS ended_at,
    e.outcome AS last_outcome, e.detail_json AS last_detail
  FROM runs r
  LEFT JOIN attempts a ON a.run_id = r.run_id
    AND a.attempt = (SELECT max(attempt) FROM attempts WHERE run_id = r.run_id)
  LEFT JOIN attempts e ON e.run_id = r.run_id
    AND e.attempt = (SELECT max(attempt) FROM attempts
      WHERE run_id = r.run_id AND ended_at IS NOT NULL AND outcome IS DISTINCT FROM '${ACCEPTED_OUTCOME}')
  WHERE r.status = '${RUNNING}'
  ORDER BY r.accepted_at, r.run_id`;

const THREAD_RUNS = `
  SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = $1 OR origin_json::json ->> 'threadId' = $2
  ORDER BY accepted_at DESC, seq DESC LIMIT $3`;
const LAST_RESULT = `
  SELECT result_json FROM runs WHERE agent = $1 AND status <> '${RUNNING}' AND result_json IS NOT NULL
  ORDER BY finished_at DESC, seq DESC LIMIT 1`;

/** The finished row carries the whole result (its code is read here: a result may hold a \u0000). */
function historyRow(row: Row): Row {
  if (row.type === 'attempt_ended') return decodeColumns(row, ['v2']);
  if (row.type !== 'finished') return row;
  const code = json<{ code?: unknown }>(row.v2)?.code;
  if (code === undefined || code === null) return { ...row, v2: null };
  return { ...row, v2: typeof code === 'object' ? JSON.stringify(code) : String(code) };
}

const run = (row: Row): RunRecord => toRun(decodeColumns(row, ['task']));

export function createPgRunQueries(session: PgSession) {
  const rows = async (sql: string, params: readonly unknown[] = []): Promise<Row[]> =>
    (await session.read(sql, params)).rows as Row[];

  return {
    async listResumable(): Promise<PendingRun[]> {
      return (await rows(RESUMABLE)).map((row) => toPendingRun(decodeColumns(row, ['last_detail'])));
    },

    async getRun(runId: string): Promise<RunDetail | undefined> {
      const [row] = await rows(`SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = $1`, [runId]);
      if (row === undefined) return undefined;
      const attempts = await rows(`SELECT ${ATTEMPT_COLUMNS} FROM attempts a WHERE a.run_id = $1 ORDER BY a.attempt`, [
        runId,
      ]);
      return { ...run(row), attempts: attempts.map((attempt) => toAttempt(decodeColumns(attempt, ['detail']))) };
    },

    async recentRuns(query: RecentRunsQuery = {}): Promise<RunRecord[]> {
      const limit = Math.min(Math.max(Math.trunc(query.limit ?? 10), 1), MAX_RECENT_RUNS);
      const params: unknown[] = [];
      const where: string[] = [];
      for (const [key, column] of RECENT_FILTERS) {
        const value = query[key];
        if (value === undefined) continue;
        params.push(value);
        where.push(`${column} = $${params.length}`);
      }
      params.push(limit);
      const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
      const sql = `SELECT ${RUN_COLUMNS} FROM runs ${filter} ORDER BY accepted_at DESC, seq DESC LIMIT $${params.length}`;
      return (await rows(sql, params)).map(run);
    },

    async runsOfThread(query: {
      readonly rootRunId: string;
      readonly threadId: string;
      readonly limit: number;
    }): Promise<RunRecord[]> {
      const limit = Math.min(Math.max(Math.trunc(query.limit), 1), MAX_RECENT_RUNS);
      return (await rows(THREAD_RUNS, [query.rootRunId, query.threadId, limit])).map(run);
    },

    async lastResult(agent: string): Promise<RunResult | undefined> {
      const [row] = await rows(LAST_RESULT, [agent]);
      return json<RunResult>(row?.result_json);
    },

    async runEvents(runId: string): Promise<RunEvent[]> {
      return (await rows(HISTORY_QUERY, [runId])).map((row, index) => toRunEvent(runId, historyRow(row), index));
    },
  };
}
