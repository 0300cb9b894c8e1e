/**
 * Progress messages and interaction tokens on PostgreSQL (../progress-messages.ts). The JSON stays
 * text; a token is taken out of it here, as SQLite's json_remove takes it out (compact, order kept).
 */
import { toProgressMessage, type ProgressMessage, type ProgressMessageInput } from '../progress-messages.ts';
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

// Rows that may hold a token are found by their text and decided here: PostgreSQL's JSON functions
// refuse a \u0000 that a task may hold, and JSON.stringify always writes the key this way.
const MAY_HOLD = `LIKE '%"interactionToken"%'`;
const RUNS = `SELECT run_id, origin_json, request_json FROM runs WHERE (origin_json ${MAY_HOLD} OR request_json ${MAY_HOLD})`;
const TARGETS = `SELECT run_id, kind, target_json FROM deliveries WHERE target_json ${MAY_HOLD}`;

const STATEMENTS = {
  clear: 'DELETE FROM progress_messages WHERE run_id = $1',
  forgetProgressToken:
    'UPDATE progress_messages SET interaction_token = NULL WHERE run_id = $1 AND interaction_token IS NOT NULL',
  forgetExpiredProgressTokens:
    'UPDATE progress_messages SET interaction_token = NULL WHERE interaction_token IS NOT NULL AND token_expires_at <= $1',
  runsOf: `${RUNS} AND run_id = $1 FOR UPDATE`,
  allRuns: `${RUNS} FOR UPDATE`,
  targetsOf: `${TARGETS} AND run_id = $1 FOR UPDATE`,
  allTargets: `${TARGETS} FOR UPDATE`,
} as const;

const ORIGIN_TOKEN = ['interactionToken'];
const NESTED_TOKEN = ['origin', 'interactionToken'];

/** What SQLite's json_extract finds at `path`: undefined for a missing key or a NULL column. */
function valueAt(json: unknown, path: readonly string[]): unknown {
  if (json === null || json === undefined) return undefined;
  let value = JSON.parse(String(json)) as unknown;
  for (const key of path) value = (value as Record<string, unknown> | null | undefined)?.[key];
  return value;
}

const holds = (json: unknown, path: readonly string[]): boolean => valueAt(json, path) != null;

/** As SQLite's coalesce(json_extract(…), 0) <= at: no expiry counts as 0, and text sorts after any number. */
function expired(json: unknown, path: readonly string[], at: number): boolean {
  const value = valueAt(json, path);
  if (value === undefined || value === null) return 0 <= at;
  if (typeof value === 'number') return value <= at;
  if (typeof value === 'boolean') return Number(value) <= at;
  return false;
}

/** The JSON text without the value at `path`, as SQLite's json_remove writes it (compact, order kept). */
function withoutKey(json: unknown, path: readonly string[]): string | null {
  if (json === null || json === undefined) return null;
  const value = JSON.parse(String(json)) as unknown;
  let parent = value as Record<string, unknown> | undefined;
  for (const key of path.slice(0, -1)) parent = parent?.[key] as Record<string, unknown> | undefined;
  if (parent !== null && typeof parent === 'object' && !Array.isArray(parent)) delete parent[path.at(-1)!];
  return JSON.stringify(value);
}

/**
 * Removes the token from each run's origin and request (its two copies), for the runs `select`
 * finds (and, given `at`, whose token expired); resolves with how many rows changed.
 */
async function forgetInRuns(query: Query, select: string, params: unknown[], at?: number): Promise<number> {
  let changed = 0;
  for (const row of (await query(select, params)).rows) {
    if (!holds(row.origin_json, ORIGIN_TOKEN) && !holds(row.request_json, NESTED_TOKEN)) continue;
    if (at !== undefined && !expired(row.origin_json, ['tokenExpiresAt'], at)) continue;
    await query('UPDATE runs SET origin_json = $2, request_json = $3 WHERE run_id = $1', [
      row.run_id,
      withoutKey(row.origin_json, ORIGIN_TOKEN),
      withoutKey(row.request_json, NESTED_TOKEN),
    ]);
    changed++;
  }
  return changed;
}

async function forgetInTargets(query: Query, select: string, params: unknown[], at?: number): Promise<number> {
  let changed = 0;
  for (const row of (await query(select, params)).rows) {
    if (!holds(row.target_json, NESTED_TOKEN)) continue;
    if (at !== undefined && !expired(row.target_json, ['origin', 'tokenExpiresAt'], at)) continue;
    await query('UPDATE deliveries SET target_json = $3 WHERE run_id = $1 AND kind = $2', [
      row.run_id,
      row.kind,
      withoutKey(row.target_json, NESTED_TOKEN),
    ]);
    changed++;
  }
  return changed;
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
      return (await read(LIST)).rows.map((row) => toProgressMessage(row, at));
    },

    clearProgressMessage: (runId: string): Promise<boolean> =>
      write(async (query) => (await query(STATEMENTS.clear, [runId])).rowCount !== 0),

    /** The origin is written three times: origin_json, inside request_json, and in each delivery's target. */
    forgetInteractionToken: (runId: string): Promise<boolean> =>
      write(async (query) => {
        const counts = [
          (await query(STATEMENTS.forgetProgressToken, [runId])).rowCount ?? 0,
          await forgetInRuns(query, STATEMENTS.runsOf, [runId]),
          await forgetInTargets(query, STATEMENTS.targetsOf, [runId]),
        ];
        return counts.some((n) => n > 0);
      }),

    forgetExpiredTokens: (at: number = now()): Promise<number> =>
      write(async (query) => {
        const progress = (await query(STATEMENTS.forgetExpiredProgressTokens, [at])).rowCount ?? 0;
        return (
          progress +
          (await forgetInRuns(query, STATEMENTS.allRuns, [], at)) +
          (await forgetInTargets(query, STATEMENTS.allTargets, [], at))
        );
      }),
  };
}
