/**
 * A run's history and its attempts as run-queries.ts reads them: nothing is written twice for them,
 * they are assembled from the timestamps the runs, attempts and deliveries rows keep.
 */
import type { SQLOutputValue } from 'node:sqlite';

function text(value: SQLOutputValue | undefined): string | undefined {
  return value === null || value === undefined ? undefined : String(value);
}

export const ATTEMPT_COLUMNS = `a.run_id, a.attempt, a.started_at, a.deadline, a.sent, a.sent_at, a.gateway_run_id,
  a.outcome, a.detail, a.ended_at`;

/**
 * A run's history, read from the timestamps its rows keep: accepted, each attempt started, sent
 * and ended, finished, each delivery enqueued and delivered. `phase` puts them in the order they
 * can happen in (a clock may give two the same millisecond); v1–v3 carry each type's details.
 */
const FINISHED_PHASE = 1_000_000_000;
export const HISTORY_QUERY = `
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

export function historyData(type: string, row: Record<string, SQLOutputValue>): Record<string, unknown> | undefined {
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
