/**
 * HTTP handoff tokens (engine/handoff-tokens.ts): only their SHA-256 hashes, one row per token,
 * so a restart between an attempt's POST and the agent's PUT still accepts the PUT, and a second
 * PUT with a used token is told so. Rows go with their run (ON DELETE CASCADE, retention).
 */
import type { DatabaseSync } from 'node:sqlite';
import type { HandoffTokenStore } from '../engine/handoff-tokens.ts';
import type { Synchronous } from './store-api.ts';

/** The migration step that adds the table (migrate.ts); self-contained, so it can be renumbered. */
export const HANDOFF_TOKENS_DDL = `
CREATE TABLE IF NOT EXISTS handoff_tokens (
  run_id     TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  token_hash TEXT NOT NULL,
  attempt    INTEGER NOT NULL,
  issued_at  INTEGER NOT NULL,
  used_at    INTEGER,
  PRIMARY KEY (run_id, token_hash)
) STRICT, WITHOUT ROWID;
`;

export function createHandoffTokenBook(db: DatabaseSync, now: () => number): Synchronous<HandoffTokenStore> {
  const insert = db.prepare(`
    INSERT INTO handoff_tokens (run_id, token_hash, attempt, issued_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (run_id, token_hash) DO NOTHING`);
  const list = db.prepare('SELECT token_hash, used_at FROM handoff_tokens WHERE run_id = ?');
  // The WHERE makes the use atomic: of two PUTs racing with one token, one changes the row.
  const consume = db.prepare(
    'UPDATE handoff_tokens SET used_at = ? WHERE run_id = ? AND token_hash = ? AND used_at IS NULL',
  );
  return {
    tokenIssued(runId, attempt, tokenHash) {
      insert.run(runId, tokenHash, attempt, now());
    },
    tokenHashes: (runId) =>
      list.all(runId).map((row) => ({ tokenHash: String(row.token_hash), used: row.used_at !== null })),
    consumeToken: (runId, tokenHash) => consume.run(now(), runId, tokenHash).changes > 0,
  };
}
