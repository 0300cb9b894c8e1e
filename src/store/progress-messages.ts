/**
 * Progress messages: the "working on it" message each run shows in Discord, with the interaction
 * token that may still edit it, so a restarted bot can finish or resume a message left spinning.
 * A token is a credential for 15 minutes: it is dropped from here and from the run's origin once
 * it has expired or its run is delivered, not kept for the retention period.
 */
import type { DatabaseSync } from 'node:sqlite';
import type { StoredRunStatus } from './schema.ts';
import { int, text, type Row } from './sqlite-rows.ts';

export interface ProgressMessageInput {
  readonly channelId: string;
  readonly messageId: string;
  readonly interactionToken?: string;
  /** Epoch ms; past it the token is not handed out again. */
  readonly tokenExpiresAt?: number;
}

export interface ProgressMessage extends ProgressMessageInput {
  readonly runId: string;
  readonly recordedAt: number;
  /** Absent when the store has no such run (the bot recorded a message for a run it never journaled). */
  readonly runStatus?: StoredRunStatus;
}

export type ProgressMessageBook = ReturnType<typeof createProgressMessageBook>;

/** A row of the progress list as the bot reads it; a token past its expiry at `at` is left out. */
export function toProgressMessage(row: Row, at: number): ProgressMessage {
  const expiresAt = int(row.token_expires_at);
  const token = text(row.interaction_token);
  const live = token !== undefined && (expiresAt === undefined || expiresAt > at);
  return {
    runId: String(row.run_id),
    channelId: String(row.channel_id),
    messageId: String(row.message_id),
    recordedAt: Number(row.recorded_at),
    ...(live ? { interactionToken: token } : {}),
    ...(expiresAt === undefined ? {} : { tokenExpiresAt: expiresAt }),
    ...(row.run_status === null ? {} : { runStatus: String(row.run_status) as StoredRunStatus }),
  };
}

export function createProgressMessageBook(db: DatabaseSync, now: () => number) {
  const upsert = db.prepare(`
    INSERT INTO progress_messages (run_id, channel_id, message_id, interaction_token, token_expires_at, recorded_at)
    VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (run_id) DO UPDATE SET channel_id = excluded.channel_id, message_id = excluded.message_id,
      interaction_token = excluded.interaction_token, token_expires_at = excluded.token_expires_at, recorded_at = excluded.recorded_at`);
  const list = db.prepare(`
    SELECT p.*, r.status AS run_status FROM progress_messages p LEFT JOIN runs r ON r.run_id = p.run_id
    ORDER BY p.recorded_at, p.run_id`);
  const clear = db.prepare('DELETE FROM progress_messages WHERE run_id = ?');
  const forgetProgressToken = db.prepare(
    'UPDATE progress_messages SET interaction_token = NULL WHERE run_id = ? AND interaction_token IS NOT NULL',
  );
  // The origin is written three times: origin_json, inside request_json, and in each delivery's target.
  const forgetOriginToken = db.prepare(`
    UPDATE runs SET origin_json = json_remove(origin_json, '$.interactionToken'),
      request_json = json_remove(request_json, '$.origin.interactionToken')
    WHERE run_id = ? AND (json_extract(origin_json, '$.interactionToken') IS NOT NULL
      OR json_extract(request_json, '$.origin.interactionToken') IS NOT NULL)`);
  const forgetTargetToken = db.prepare(`
    UPDATE deliveries SET target_json = json_remove(target_json, '$.origin.interactionToken')
    WHERE run_id = ? AND json_extract(target_json, '$.origin.interactionToken') IS NOT NULL`);
  const forgetExpiredProgressTokens = db.prepare(
    'UPDATE progress_messages SET interaction_token = NULL WHERE interaction_token IS NOT NULL AND token_expires_at <= ?',
  );
  const forgetExpiredOriginTokens = db.prepare(`
    UPDATE runs SET origin_json = json_remove(origin_json, '$.interactionToken'),
      request_json = json_remove(request_json, '$.origin.interactionToken')
    WHERE (json_extract(origin_json, '$.interactionToken') IS NOT NULL
      OR json_extract(request_json, '$.origin.interactionToken') IS NOT NULL)
      AND coalesce(json_extract(origin_json, '$.tokenExpiresAt'), 0) <= ?`);
  const forgetExpiredTargetTokens = db.prepare(`
    UPDATE deliveries SET target_json = json_remove(target_json, '$.origin.interactionToken')
    WHERE json_extract(target_json, '$.origin.interactionToken') IS NOT NULL
      AND coalesce(json_extract(target_json, '$.origin.tokenExpiresAt'), 0) <= ?`);

  return {
    /** One progress message per run; recording again replaces it (e.g. it moved to a channel message). */
    recordProgressMessage(runId: string, message: ProgressMessageInput): void {
      upsert.run(
        runId,
        message.channelId,
        message.messageId,
        message.interactionToken ?? null,
        message.tokenExpiresAt ?? null,
        now(),
      );
    },

    /** Those not yet cleared, with their run's status; a token past its expiry is left out. */
    progressMessages(): ProgressMessage[] {
      const at = now();
      return list.all().map((row) => toProgressMessage(row, at));
    },

    /** The progress message shows its final state: forget it (and its token). */
    clearProgressMessage(runId: string): boolean {
      return clear.run(runId).changes > 0;
    },

    /** The run is delivered: its interaction token has nothing left to edit. */
    forgetInteractionToken(runId: string): boolean {
      const changes = [forgetProgressToken, forgetOriginToken, forgetTargetToken].map((statement) =>
        Number(statement.run(runId).changes),
      );
      return changes.some((n) => n > 0);
    },

    /** Tokens past their 15 minutes are useless to a restart too; resolves with how many rows lost one. */
    forgetExpiredTokens(at: number = now()): number {
      return [forgetExpiredProgressTokens, forgetExpiredOriginTokens, forgetExpiredTargetTokens]
        .map((statement) => Number(statement.run(at).changes))
        .reduce((sum, n) => sum + n, 0);
    },
  };
}
