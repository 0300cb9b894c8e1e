/** HTTP handoff token hashes on PostgreSQL, as ../handoff-tokens.ts keeps them. */
import type { IssuedTokenHash } from '../../engine/handoff-tokens.ts';
import type { PgSession } from './session.ts';

export function createPgHandoffTokenBook(session: PgSession, now: () => number) {
  const { read, write } = session;
  return {
    tokenIssued: (runId: string, attempt: number, tokenHash: string): Promise<void> =>
      write(async (query) => {
        await query(
          `INSERT INTO handoff_tokens (run_id, token_hash, attempt, issued_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (run_id, token_hash) DO NOTHING`,
          [runId, tokenHash, attempt, now()],
        );
      }),

    async tokenHashes(runId: string): Promise<readonly IssuedTokenHash[]> {
      const { rows } = await read('SELECT token_hash, used_at FROM handoff_tokens WHERE run_id = $1', [runId]);
      return rows.map((row) => ({ tokenHash: String(row.token_hash), used: row.used_at !== null }));
    },

    // The WHERE makes the use atomic: of two PUTs racing with one token, one changes the row.
    consumeToken: (runId: string, tokenHash: string): Promise<boolean> =>
      write(async (query) => {
        const { rowCount } = await query(
          'UPDATE handoff_tokens SET used_at = $1 WHERE run_id = $2 AND token_hash = $3 AND used_at IS NULL',
          [now(), runId, tokenHash],
        );
        return rowCount !== 0;
      }),
  };
}
