/**
 * Delegations waiting for a human (discord/approvals/): everything needed to start one later
 * (its request, origin, the requester's reply, the rule it waits under), kept until decided. A
 * decision is a claim, like the Retry button's: one conditional write, and of two presses racing,
 * only one changes the row. Opaque JSON to the store: it knows no Discord module.
 */
import type { DatabaseSync } from 'node:sqlite';
import { ApprovalState } from './schema.ts';
import { int, json, text, type Row } from './sqlite-rows.ts';

/** The migration step that adds the table (migrate.ts); self-contained, so it can be renumbered. */
export const APPROVALS_DDL = `
CREATE TABLE IF NOT EXISTS approvals (
  run_id          TEXT PRIMARY KEY,
  agent           TEXT NOT NULL,
  state           TEXT NOT NULL,
  request_json    TEXT NOT NULL,
  origin_json     TEXT NOT NULL,
  rule_json       TEXT NOT NULL,
  reply_json      TEXT,
  requester_id    TEXT NOT NULL,
  requested_at    INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL,
  card_channel_id TEXT,
  card_message_id TEXT,
  decided_by      TEXT,
  decided_at      INTEGER,
  reason          TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS approvals_awaiting ON approvals (expires_at) WHERE state = 'awaiting_approval';
`;

export interface ApprovalRequestInput {
  readonly runId: string;
  readonly agent: string;
  /** Whatever starts the run later (the delegation and the requester's principals). */
  readonly request: unknown;
  readonly origin: unknown;
  /** The approval rule in force when asked: who may decide, where the card is, the ttl. */
  readonly rule: unknown;
  readonly requesterId: string;
  readonly requestedAt: number;
  readonly expiresAt: number;
}

export interface ApprovalRecord extends ApprovalRequestInput {
  readonly state: ApprovalState;
  readonly reply?: unknown;
  readonly card?: { readonly channelId: string; readonly messageId: string };
  readonly decidedBy?: string;
  readonly decidedAt?: number;
  readonly reason?: string;
}

export interface ApprovalDecision {
  readonly state: Exclude<ApprovalState, typeof ApprovalState.awaiting>;
  /** A user id; absent for an expiry. */
  readonly by?: string;
  readonly reason?: string;
}

const COLUMNS = `run_id, agent, state, request_json, origin_json, rule_json, reply_json, requester_id, requested_at,
  expires_at, card_channel_id, card_message_id, decided_by, decided_at, reason`;

/** Also reads the PostgreSQL store's rows (postgres/approvals.ts). */
export function toRecord(row: Row): ApprovalRecord {
  const cardChannel = text(row.card_channel_id);
  const cardMessage = text(row.card_message_id);
  const decidedBy = text(row.decided_by);
  const decidedAt = int(row.decided_at);
  const reason = text(row.reason);
  return {
    runId: String(row.run_id),
    agent: String(row.agent),
    state: String(row.state) as ApprovalState,
    request: json(row.request_json),
    origin: json(row.origin_json),
    rule: json(row.rule_json),
    ...(row.reply_json === null ? {} : { reply: json(row.reply_json) }),
    requesterId: String(row.requester_id),
    requestedAt: Number(row.requested_at),
    expiresAt: Number(row.expires_at),
    ...(cardChannel && cardMessage ? { card: { channelId: cardChannel, messageId: cardMessage } } : {}),
    ...(decidedBy === undefined ? {} : { decidedBy }),
    ...(decidedAt === undefined ? {} : { decidedAt }),
    ...(reason === undefined ? {} : { reason }),
  };
}

export type ApprovalBook = ReturnType<typeof createApprovalBook>;

export function createApprovalBook(db: DatabaseSync, now: () => number) {
  const insert = db.prepare(`
    INSERT INTO approvals (run_id, agent, state, request_json, origin_json, rule_json, requester_id, requested_at, expires_at)
    VALUES (:runId, :agent, '${ApprovalState.awaiting}', :request, :origin, :rule, :requesterId, :requestedAt, :expiresAt)
    ON CONFLICT (run_id) DO NOTHING`);
  const get = db.prepare(`SELECT ${COLUMNS} FROM approvals WHERE run_id = ?`);
  const awaiting = db.prepare(
    `SELECT ${COLUMNS} FROM approvals WHERE state = '${ApprovalState.awaiting}' ORDER BY expires_at, run_id`,
  );
  const setCard = db.prepare('UPDATE approvals SET card_channel_id = ?, card_message_id = ? WHERE run_id = ?');
  const setReply = db.prepare('UPDATE approvals SET reply_json = ? WHERE run_id = ?');
  // The claim: only a waiting row changes, and an approval never lands after the expiry time.
  const decide = db.prepare(`
    UPDATE approvals SET state = :state, decided_by = :by, decided_at = :at, reason = :reason
    WHERE run_id = :runId AND state = '${ApprovalState.awaiting}'
      AND (:state <> '${ApprovalState.approved}' OR expires_at > :at)`);

  return {
    /** False when the run already waits (the same request journaled twice). */
    approvalRequested(input: ApprovalRequestInput): boolean {
      const { changes } = insert.run({
        runId: input.runId,
        agent: input.agent,
        request: JSON.stringify(input.request),
        origin: JSON.stringify(input.origin),
        rule: JSON.stringify(input.rule),
        requesterId: input.requesterId,
        requestedAt: input.requestedAt,
        expiresAt: input.expiresAt,
      });
      return changes > 0;
    },

    approvalCardPosted(runId: string, card: { channelId: string; messageId: string }): void {
      setCard.run(card.channelId, card.messageId, runId);
    },

    approvalReplyMoved(runId: string, reply: unknown): void {
      setReply.run(JSON.stringify(reply), runId);
    },

    /** True for the one caller whose decision was recorded; false when another came first. */
    decideApproval(runId: string, decision: ApprovalDecision): boolean {
      const { changes } = decide.run({
        runId,
        state: decision.state,
        by: decision.by ?? null,
        at: now(),
        reason: decision.reason ?? null,
      });
      return changes > 0;
    },

    getApproval(runId: string): ApprovalRecord | undefined {
      const row = get.get(runId);
      return row === undefined ? undefined : toRecord(row);
    },

    /** Soonest expiry first. */
    awaitingApprovals(): ApprovalRecord[] {
      return awaiting.all().map(toRecord);
    },
  };
}
