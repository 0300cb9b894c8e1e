/**
 * Progress messages and interaction tokens on PostgreSQL (../progress-messages.ts). The JSON stays
 * text; a token is taken out of it through jsonb, as SQLite's json_remove takes it out.
 */
import type { ProgressMessage, ProgressMessageInput } from '../progress-messages.ts';
import type { StoredRunStatus } from '../schema.ts';
import { int, text } from '../sqlite-rows.ts';
import type { PgSession, Query } from './session.ts';

const UPSERT = `
  INSERT INTO progress_messages (run_id, channel_id, message_id, interaction_token, token_expires_at, recorded_at)
  VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (run_id) DO UPDATE SET channel_id = excluded.channel_id, message_id = excluded.message_id,
    interaction_token = excluded.interaction_token, token_expires_at = excluded.token_expires_at,
    recorded_at = excluded.recorded_at`;
const LIST = `
  SELECT p.*, r.status AS run_status FROM progress_messages p LEFT JOIN runs r ON r.run_id = p.run_id
  ORDER BY p.recorded_at, p.run_id`;

const ORIGIN_TOKEN = "origin_json::jsonb ->> 'interactionToken'";
const REQUEST_TOKEN = "request_json::jsonb #>> '{origin,interactionToken}'";
const TARGET_TOKEN = "target_json::jsonb #>> '{origin,interactionToken}'";
const FORGET_IN_RUN = `origin_json = (origin_json::jsonb - 'interactionToken')::text,
  request_json = (request_json::jsonb #- '{origin,interactionToken}')::text`;
const FORGET_IN_TARGET = "target_json = (target_json::jsonb #- '{origin,interactionToken}')::text";

/** As SQLite compares coalesce(json_extract(…), 0) <= at: a missing expiry is 0, a text one never passes. */
function expiredBy(json: string, path: string): string {
  const value = `${json}::jsonb #> '${path}'`;
  return `(CASE jsonb_typeof(${value}) WHEN 'number' THEN (${value})::text::numeric
    WHEN 'string' THEN NULL ELSE 0 END) <= $1`;
}

const STATEMENTS = {
  clear: 'DELETE FROM progress_messages WHERE run_id = $1',
  forgetProgressToken:
    'UPDATE progress_messages SET interaction_token = NULL WHERE run_id = $1 AND interaction_token IS NOT NULL',
  forgetOriginToken: `UPDATE runs SET ${FORGET_IN_RUN}
    WHERE run_id = $1 AND (${ORIGIN_TOKEN} IS NOT NULL OR ${REQUEST_TOKEN} IS NOT NULL)`,
  forgetTargetToken: `UPDATE deliveries SET ${FORGET_IN_TARGET} WHERE run_id = $1 AND ${TARGET_TOKEN} IS NOT NULL`,
  forgetExpiredProgressTokens:
    'UPDATE progress_messages SET interaction_token = NULL WHERE interaction_token IS NOT NULL AND token_expires_at <= $1',
  forgetExpiredOriginTokens: `UPDATE runs SET ${FORGET_IN_RUN}
    WHERE (${ORIGIN_TOKEN} IS NOT NULL OR ${REQUEST_TOKEN} IS NOT NULL) AND ${expiredBy('origin_json', '{tokenExpiresAt}')}`,
  forgetExpiredTargetTokens: `UPDATE deliveries SET ${FORGET_IN_TARGET}
    WHERE ${TARGET_TOKEN} IS NOT NULL AND ${expiredBy('target_json', '{origin,tokenExpiresAt}')}`,
} as const;

async function changes(query: Query, sql: readonly string[], param: unknown): Promise<number[]> {
  const counts: number[] = [];
  for (const statement of sql) counts.push((await query(statement, [param])).rowCount ?? 0);
  return counts;
}

export function createPgProgressMessageBook(session: PgSession, now: () => number) {
  const { read, write } = session;
  return {
    recordProgressMessage: (runId: string, message: ProgressMessageInput): Promise<void> =>
      write(async (query) => {
        await query(UPSERT, [
          runId,
          message.channelId,
          message.messageId,
          message.interactionToken ?? null,
          message.tokenExpiresAt ?? null,
          now(),
        ]);
      }),

    async progressMessages(): Promise<ProgressMessage[]> {
      const at = now();
      return (await read(LIST)).rows.map((row) => {
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
      });
    },

    clearProgressMessage: (runId: string): Promise<boolean> =>
      write(async (query) => (await query(STATEMENTS.clear, [runId])).rowCount !== 0),

    forgetInteractionToken: (runId: string): Promise<boolean> =>
      write(async (query) => {
        const { forgetProgressToken, forgetOriginToken, forgetTargetToken } = STATEMENTS;
        const counts = await changes(query, [forgetProgressToken, forgetOriginToken, forgetTargetToken], runId);
        return counts.some((n) => n > 0);
      }),

    forgetExpiredTokens: (at: number = now()): Promise<number> =>
      write(async (query) => {
        const { forgetExpiredProgressTokens, forgetExpiredOriginTokens, forgetExpiredTargetTokens } = STATEMENTS;
        const sql = [forgetExpiredProgressTokens, forgetExpiredOriginTokens, forgetExpiredTargetTokens];
        return (await changes(query, sql, at)).reduce((sum, n) => sum + n, 0);
      }),
  };
}
