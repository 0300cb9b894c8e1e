/** Fault injection: scripted 429 / 5xx / connection resets for matching REST requests. */
import type { RequestLogEntry } from './model.ts';
import { compileMatcher, type RequestMatcher } from './router.ts';

export interface FailOptions {
  /** HTTP status to answer with. Default 429. */
  status?: number;
  /** Response body. Defaults: 429 → `{message:"You are being rate limited.", retry_after, global}`, 5xx → `{message:"<status>: …", code:0}`. */
  body?: unknown;
  /** Seconds (float). Used for the 429 body, `Retry-After` and `X-RateLimit-Reset-After`. Default 0.1. */
  retryAfter?: number;
  /** How many matching requests to fail. Default 1. Use Infinity for "until cancelled". */
  times?: number;
  /** Global rate limit (sets `X-RateLimit-Global: true`, scope `global`). */
  global?: boolean;
  /** `X-RateLimit-Scope` for 429s. Default `user` (or `global` when `global`). */
  scope?: 'user' | 'global' | 'shared';
  /** Extra response headers. */
  headers?: Record<string, string>;
  /** Instead of answering, destroy the TCP connection (client sees ECONNRESET / socket hang up). */
  resetConnection?: boolean;
  /**
   * Handle the request first (a message is created, and dispatched), then answer with the fault
   * instead of the result: Discord did it and the answer was lost (e.g. a 502 from the edge).
   * A request the handler refuses gets its own error.
   */
  afterHandling?: boolean;
}

export interface FaultHandle {
  /** Requests that were failed by this rule so far. */
  readonly hits: readonly RequestLogEntry[];
  /** Remaining failures. */
  readonly remaining: number;
  cancel(): void;
}

interface Rule {
  test: (req: RequestLogEntry) => boolean;
  opts: Required<Pick<FailOptions, 'status' | 'retryAfter'>> & FailOptions;
  remaining: number;
  hits: RequestLogEntry[];
}

export class FaultInjector {
  #rules: Rule[] = [];

  add(matcher: RequestMatcher, opts: FailOptions = {}): FaultHandle {
    const rule: Rule = {
      test: compileMatcher(matcher),
      opts: { ...opts, status: opts.status ?? 429, retryAfter: opts.retryAfter ?? 0.1 },
      remaining: opts.times ?? 1,
      hits: [],
    };
    this.#rules.push(rule);
    const rules = (): Rule[] => this.#rules;
    return {
      get hits() {
        return rule.hits;
      },
      get remaining() {
        return rule.remaining;
      },
      cancel: () => {
        this.#rules = rules().filter((r) => r !== rule);
      },
    };
  }

  /** Consumes and returns the first matching rule, if any. */
  take(req: RequestLogEntry): Rule['opts'] | undefined {
    const rule = this.#rules.find((r) => r.remaining > 0 && r.test(req));
    if (!rule) return undefined;
    rule.remaining--;
    rule.hits.push(req);
    if (rule.remaining <= 0) this.#rules = this.#rules.filter((r) => r !== rule);
    return rule.opts;
  }

  clear(): void {
    this.#rules = [];
  }
}
