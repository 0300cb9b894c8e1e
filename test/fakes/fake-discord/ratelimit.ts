/** Per-bucket rate limit accounting that produces Discord's `X-RateLimit-*` headers. */
import { createHash } from 'node:crypto';

export interface BucketState {
  limit: number;
  remaining: number;
  /** Epoch ms. */
  resetAt: number;
  hash: string;
}

export function bucketHash(template: string): string {
  return createHash('sha1').update(template).digest('hex').slice(0, 32);
}

export function formatSeconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

export class RateLimiter {
  readonly #buckets = new Map<string, BucketState>();
  readonly limit: number;
  readonly windowMs: number;
  readonly #now: () => number;

  constructor(limit: number, windowMs: number, now: () => number) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.#now = now;
  }

  /** Counts a request against `key`; `limited` is true when the bucket was already exhausted. */
  hit(key: string, template: string): { state: BucketState; limited: boolean } {
    const now = this.#now();
    let state = this.#buckets.get(key);
    if (!state || now >= state.resetAt) {
      state = { limit: this.limit, remaining: this.limit, resetAt: now + this.windowMs, hash: bucketHash(template) };
      this.#buckets.set(key, state);
    }
    if (state.remaining <= 0) return { state, limited: true };
    state.remaining--;
    return { state, limited: false };
  }

  headers(state: BucketState): Record<string, string> {
    const now = this.#now();
    return {
      'X-RateLimit-Limit': String(state.limit),
      'X-RateLimit-Remaining': String(state.remaining),
      'X-RateLimit-Reset': (state.resetAt / 1000).toFixed(3),
      'X-RateLimit-Reset-After': formatSeconds(state.resetAt - now),
      'X-RateLimit-Bucket': state.hash,
    };
  }

  clear(): void {
    this.#buckets.clear();
  }
}
