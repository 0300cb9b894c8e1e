/** Pruning on PostgreSQL: ../retention.ts's pruneFinished, plus decided approvals and stale relay rows. */
import { ApprovalState, RUNNING } from '../schema.ts';
import { DEFAULT_PRUNE_BATCH, validatePruneQuery, type PruneQuery } from '../retention.ts';
import type { PgSession } from './session.ts';

const PRUNABLE = `
  SELECT run_id FROM runs r
  WHERE accepted_at < $1 AND status <> '${RUNNING}' AND finished_at IS NOT NULL AND finished_at < $1
    AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.run_id = r.run_id AND d.delivered_at IS NULL)
  ORDER BY accepted_at LIMIT $2`;
// A decided approval is history like a finished run; one still waiting is never pruned.
const PRUNE_APPROVALS = `
  DELETE FROM approvals WHERE run_id IN (
    SELECT run_id FROM approvals WHERE state <> '${ApprovalState.awaiting}' AND decided_at < $1 LIMIT $2)`;
// A relayed handoff is taken by the leader within moments; one this old was never taken (handoff-relay.ts).
const PRUNE_RELAYED = `
  DELETE FROM handoff_relay WHERE id IN (SELECT id FROM handoff_relay WHERE received_at < $1 LIMIT $2)`;

export function createPgRunPruner(session: PgSession) {
  return {
    async pruneFinished(query: PruneQuery): Promise<number> {
      const { olderThan } = query;
      const limit = query.limit ?? DEFAULT_PRUNE_BATCH;
      validatePruneQuery(olderThan, limit);
      return session.write(async (sql) => {
        await sql(PRUNE_APPROVALS, [olderThan, limit]);
        await sql(PRUNE_RELAYED, [olderThan, limit]);
        const ids = (await sql(PRUNABLE, [olderThan, limit])).rows.map((row) => String(row.run_id));
        if (ids.length === 0) return 0;
        // Only attempts and tokens cascade from runs; deliveries and progress messages carry no foreign key.
        await sql('DELETE FROM deliveries WHERE run_id = ANY($1)', [ids]);
        await sql('DELETE FROM progress_messages WHERE run_id = ANY($1)', [ids]);
        await sql('DELETE FROM runs WHERE run_id = ANY($1)', [ids]);
        return ids.length;
      });
    },
  };
}
