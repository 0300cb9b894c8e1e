/**
 * Follow-ups waiting behind another run of their thread (src/discord/runs/thread-queue.ts): a
 * row in `runs` with status `queued` and the whole request, so /runs shows them and a restarted
 * process starts them in order. The engine's runAccepted turns the row into a running run.
 */
import type { DatabaseSync } from 'node:sqlite';
import type { JournalRun } from '../engine/types.ts';
import { QUEUED } from './schema.ts';
import { json, jsonOrNull } from './sqlite-rows.ts';

export type QueuedRun = Pick<JournalRun, 'runId' | 'request' | 'acceptedAt'>;

export interface QueuedRunBook {
  /** Records a follow-up that waits its turn; false when the run id is already known. */
  runQueued(run: QueuedRun): boolean;
  /** Every queued run, oldest first. */
  queuedRuns(): QueuedRun[];
}

function requesterOf(origin: Readonly<Record<string, unknown>> | undefined): string | null {
  const id = origin?.['requesterId'];
  return typeof id === 'string' ? id : null;
}

export function createQueuedRunBook(db: DatabaseSync): QueuedRunBook {
  const insert = db.prepare(`
    INSERT INTO runs (run_id, agent, status, task, request_json, origin_json, requester_id, accepted_at)
    VALUES (:runId, :agent, '${QUEUED}', :task, :request, :origin, :requesterId, :acceptedAt)
    ON CONFLICT (run_id) DO NOTHING`);
  const queued = db.prepare(`
    SELECT run_id, request_json, accepted_at FROM runs WHERE status = '${QUEUED}' ORDER BY accepted_at, rowid`);
  return {
    runQueued({ runId, request, acceptedAt }) {
      const { changes } = insert.run({
        runId,
        agent: request.agent,
        task: request.task,
        request: JSON.stringify(request),
        origin: jsonOrNull(request.origin),
        requesterId: requesterOf(request.origin),
        acceptedAt,
      });
      return changes > 0;
    },
    queuedRuns() {
      return queued.all().flatMap((row) => {
        const request = json<JournalRun['request']>(row.request_json);
        if (request === undefined) return [];
        return [{ runId: String(row.run_id), request, acceptedAt: Number(row.accepted_at) }];
      });
    },
  };
}
