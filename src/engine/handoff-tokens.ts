/**
 * The bearer tokens of HTTP handoffs: one per attempt, random, told only to the agent in its
 * prompt. Only a SHA-256 hash is kept (in the run store when there is one, so a restart between
 * the POST and the agent's PUT still accepts it), and a token is good for one accepted PUT.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const TOKEN_BYTES = 32;

export interface IssuedTokenHash {
  readonly tokenHash: string;
  readonly used: boolean;
}

/** Where the hashes are kept; the run store implements it (src/store/handoff-tokens.ts). */
export interface HandoffTokenStore {
  tokenIssued(runId: string, attempt: number, tokenHash: string): Promise<void>;
  tokenHashes(runId: string): Promise<readonly IssuedTokenHash[]>;
  /** Marks the token used; false when it already was (or is not the run's). */
  consumeToken(runId: string, tokenHash: string): Promise<boolean>;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new token for one attempt; its hash is stored before the token leaves this function. */
export async function issueToken(store: HandoffTokenStore, runId: string, attempt: number): Promise<string> {
  const token = randomBytes(TOKEN_BYTES).toString('base64url');
  await store.tokenIssued(runId, attempt, hashToken(token));
  return token;
}

export type TokenMatch =
  | { readonly kind: 'no-tokens' }
  | { readonly kind: 'mismatch' }
  | { readonly kind: 'match'; readonly tokenHash: string; readonly used: boolean };

/**
 * Which of the run's tokens `presented` is. Hashes have one length, so timingSafeEqual compares
 * them in constant time; every stored hash is compared, so the time says nothing of which matched.
 */
export async function matchToken(
  store: Pick<HandoffTokenStore, 'tokenHashes'>,
  runId: string,
  presented: string | undefined,
): Promise<TokenMatch> {
  const issued = await store.tokenHashes(runId);
  if (issued.length === 0) return { kind: 'no-tokens' };
  const presentedHash = Buffer.from(hashToken(presented ?? ''), 'hex');
  let found: IssuedTokenHash | undefined;
  for (const candidate of issued) {
    const stored = Buffer.from(candidate.tokenHash, 'hex');
    if (stored.length === presentedHash.length && timingSafeEqual(stored, presentedHash)) found ??= candidate;
  }
  if (presented === undefined || presented === '' || found === undefined) return { kind: 'mismatch' };
  return { kind: 'match', tokenHash: found.tokenHash, used: found.used };
}

/** For an engine without a run store (the CLI): the tokens live as long as the process. */
export function createMemoryTokenStore(): HandoffTokenStore {
  const byRun = new Map<string, Map<string, boolean>>();
  return {
    async tokenIssued(runId, _attempt, tokenHash) {
      const tokens = byRun.get(runId) ?? new Map<string, boolean>();
      if (!tokens.has(tokenHash)) tokens.set(tokenHash, false);
      byRun.set(runId, tokens);
    },
    tokenHashes: async (runId) => [...(byRun.get(runId) ?? [])].map(([tokenHash, used]) => ({ tokenHash, used })),
    async consumeToken(runId, tokenHash) {
      const tokens = byRun.get(runId);
      if (tokens?.get(tokenHash) !== false) return false;
      tokens.set(tokenHash, true);
      return true;
    },
  };
}
