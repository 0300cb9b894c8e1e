/**
 * Bad tokens counted per client address over a sliding minute, as the OpenClaw gateway counts
 * failed hook auth: past the limit the address is refused (429) until its oldest failure ages out.
 */
const WINDOW_MS = 60_000;
/** The gateway's own figure. */
export const FAILED_AUTH_LIMIT = 20;
/** Addresses remembered at most, so a spray of spoofed sources cannot grow the map without end. */
const MAX_ADDRESSES = 10_000;

export interface FailureThrottle {
  /** Seconds until the address may try again; 0 when it may now. */
  retryAfterSeconds(address: string): number;
  recordFailure(address: string): void;
}

export function createFailureThrottle(options: { limit?: number; now?: () => number } = {}): FailureThrottle {
  const limit = options.limit ?? FAILED_AUTH_LIMIT;
  const now = options.now ?? Date.now;
  const failures = new Map<string, number[]>();

  function recent(address: string): number[] {
    const cutoff = now() - WINDOW_MS;
    const kept = (failures.get(address) ?? []).filter((at) => at > cutoff);
    if (kept.length === 0) failures.delete(address);
    else failures.set(address, kept);
    return kept;
  }

  return {
    retryAfterSeconds(address) {
      const kept = recent(address);
      if (kept.length < limit) return 0;
      return Math.max(1, Math.ceil((kept[kept.length - limit]! + WINDOW_MS - now()) / 1_000));
    },
    recordFailure(address) {
      const kept = recent(address);
      kept.push(now());
      failures.set(address, kept.slice(-limit));
      if (failures.size > MAX_ADDRESSES) {
        const oldest = failures.keys().next().value;
        if (oldest !== undefined) failures.delete(oldest);
      }
    },
  };
}
