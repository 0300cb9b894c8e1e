/**
 * Approvals on PostgreSQL: ../approvals.ts's verbs, statement for statement. A decision stays one
 * conditional UPDATE: of two racing, the second waits for the first's commit, finds the row no
 * longer waiting, and changes nothing.
 */
import type { ApprovalDecision, ApprovalRecord, ApprovalRequestInput } from '../approvals.ts';
import { toRecord } from '../approvals.ts';
import { ApprovalState } from '../schema.ts';
import type { PgSession } from './session.ts';
import { decodeColumns, encodeText } from './text.ts';

const COLUMNS = `run_id, agent, state, request_json, origin_json, rule_json, reply_json, requester_id, requested_at,
  expires_at, card_channel_id, card_message_id, decided_by, decided_at, reason_json AS reason`;

const INSERT = `
  INSERT INTO approvals (run_id, agent, state, request_json, origin_json, rule_json, requester_id, requested_at, expires_at)
  VALUES ($1, $2, '${ApprovalState.awaiting}', $3, $4, $5, $6, $7, $8)
  ON CONFLICT (run_id) DO NOTHING`;
const GET = `SELECT ${COLUMNS} FROM approvals WHERE run_id = $1`;
const AWAITING = `SELECT ${COLUMNS} FROM approvals WHERE state = '${ApprovalState.awaiting}' ORDER BY expires_at, run_id`;
const SET_CARD = 'UPDATE approvals SET card_channel_id = $1, card_message_id = $2 WHERE run_id = $3';
const SET_REPLY = 'UPDATE approvals SET reply_json = $1 WHERE run_id = $2';
// The claim: only a waiting row changes, and an approval never lands after the expiry time.
const DECIDE = `
  UPDATE approvals SET state = $2, decided_by = $3, decided_at = $4, reason_json = $5
  WHERE run_id = $1 AND state = '${ApprovalState.awaiting}'
    AND ($2 <> '${ApprovalState.approved}' OR expires_at > $4)`;

const record = (row: Record<string, unknown>): ApprovalRecord => toRecord(decodeColumns(row as never, ['reason']));

export function createPgApprovalBook(session: PgSession, now: () => number) {
  const { read, write } = session;
  return {
    approvalRequested: (input: ApprovalRequestInput): Promise<boolean> =>
      write(async (query) => {
        const { rowCount } = await query(INSERT, [
          input.runId,
          input.agent,
          JSON.stringify(input.request),
          JSON.stringify(input.origin),
          JSON.stringify(input.rule),
          input.requesterId,
          input.requestedAt,
          input.expiresAt,
        ]);
        return (rowCount ?? 0) > 0;
      }),

    approvalCardPosted: (runId: string, card: { channelId: string; messageId: string }): Promise<void> =>
      write(async (query) => void (await query(SET_CARD, [card.channelId, card.messageId, runId]))),

    approvalReplyMoved: (runId: string, reply: unknown): Promise<void> =>
      write(async (query) => void (await query(SET_REPLY, [JSON.stringify(reply), runId]))),

    decideApproval: (runId: string, decision: ApprovalDecision): Promise<boolean> =>
      write(async (query) => {
        const params = [runId, decision.state, decision.by ?? null, now(), encodeText(decision.reason)];
        const { rowCount } = await query(DECIDE, params);
        return (rowCount ?? 0) > 0;
      }),

    async getApproval(runId: string): Promise<ApprovalRecord | undefined> {
      const row = (await read(GET, [runId])).rows[0];
      return row === undefined ? undefined : record(row);
    },

    async awaitingApprovals(): Promise<ApprovalRecord[]> {
      return (await read(AWAITING)).rows.map(record);
    },
  };
}
