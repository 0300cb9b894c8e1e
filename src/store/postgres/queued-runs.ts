/** Queued follow-ups on PostgreSQL: ../queued-runs.ts's verbs; runAccepted (run-journal.ts) starts them. */
import type { JournalRun } from '../../engine/types.ts';
import type { QueuedRun } from '../queued-runs.ts';
import { QUEUED } from '../schema.ts';
import { json, jsonOrNull } from '../sqlite-rows.ts';
import type { PgSession } from './session.ts';
import { encodeText } from './text.ts';

const INSERT = `
  INSERT INTO runs (run_id, agent, status, task_json, request_json, origin_json, requester_id, accepted_at)
  VALUES ($1, $2, '${QUEUED}', $3, $4, $5, $6, $7)
  ON CONFLICT (run_id) DO NOTHING`;
const QUEUED_RUNS = `SELECT run_id, request_json, accepted_at FROM runs WHERE status = '${QUEUED}' ORDER BY accepted_at, seq`;

function requesterOf(origin: Readonly<Record<string, unknown>> | undefined): string | null {
  const id = origin?.['requesterId'];
  return typeof id === 'string' ? id : null;
}

export function createPgQueuedRunBook(session: PgSession) {
  return {
    runQueued: ({ runId, request, acceptedAt }: QueuedRun): Promise<boolean> =>
      session.write(async (query) => {
        const { rowCount } = await query(INSERT, [
          runId,
          request.agent,
          encodeText(request.task),
          JSON.stringify(request),
          jsonOrNull(request.origin),
          requesterOf(request.origin),
          acceptedAt,
        ]);
        return (rowCount ?? 0) > 0;
      }),

    async queuedRuns(): Promise<QueuedRun[]> {
      const { rows } = await session.read(QUEUED_RUNS);
      return rows.flatMap((row) => {
        const request = json<JournalRun['request']>(row.request_json as string | null);
        if (request === undefined) return [];
        return [{ runId: String(row.run_id), request, acceptedAt: Number(row.accepted_at) }];
      });
    },
  };
}
