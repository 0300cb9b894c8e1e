/**
 * When a run tries again (Temporal's vocabulary: a plain policy object, and each attempt's
 * outcome says whether it is retryable). The reason text goes into the next prompt's retry
 * note, so it keeps the reference script's wording where it had one.
 */
import type { ErrorCode } from '../errors.ts';
import type { HandoffFileResult } from './handoff-file.ts';
import { HandoffProblem, isLowConfidencePartial, validateHandoff, type HandoffOwner } from './handoff-schema.ts';
import type { EngineSettings } from './settings.ts';
import type { Handoff } from './types.ts';

const MAX_ATTEMPTS = 3;

export interface RetryPolicy {
  /** 1–3, like the reference's `--retries`. */
  readonly maximumAttempts: number;
  readonly timeoutSeconds: number;
  readonly attemptTimeoutMs: number;
  readonly retryPauseMs: number;
  readonly sendRetryPauseMs: number;
}

type RetryDefaults = Pick<
  EngineSettings,
  'defaultMaxAttempts' | 'defaultTimeoutSeconds' | 'retryPauseMs' | 'sendRetryPauseMs'
>;

export function createRetryPolicy(
  request: { readonly maxAttempts?: number | undefined; readonly timeoutSeconds?: number | undefined },
  defaults: RetryDefaults,
): RetryPolicy {
  const attempts = Math.trunc(request.maxAttempts ?? defaults.defaultMaxAttempts);
  const maximumAttempts = Math.min(Math.max(Number.isFinite(attempts) ? attempts : 1, 1), MAX_ATTEMPTS);
  const requested = request.timeoutSeconds ?? defaults.defaultTimeoutSeconds;
  const timeoutSeconds = Number.isFinite(requested) && requested > 0 ? requested : defaults.defaultTimeoutSeconds;
  return {
    maximumAttempts,
    timeoutSeconds,
    attemptTimeoutMs: Math.round(timeoutSeconds * 1_000),
    retryPauseMs: defaults.retryPauseMs,
    sendRetryPauseMs: defaults.sendRetryPauseMs,
  };
}

/** How one attempt ended, before any judgement. */
export type AttemptOutcome =
  | HandoffFileResult
  | { readonly kind: 'timeout' }
  | { readonly kind: 'no_handoff'; readonly completionStatus?: string | undefined }
  | {
      readonly kind: 'send_failed';
      /** false for a refused token (401) or a request the gateway will never accept. */
      readonly retryable: boolean;
      readonly error: string;
      readonly httpStatus?: number | undefined;
      /** A failure callers tell apart (GATEWAY_DELIVERY); GATEWAY_SEND otherwise. */
      readonly code?: ErrorCode | undefined;
    };

export type Verdict =
  /** A valid complete or partial handoff: the run's answer. */
  | { readonly disposition: 'accept'; readonly handoff: Handoff }
  /** Worth another attempt if one is left; `reason` becomes the retry note. */
  | {
      readonly disposition: 'retry';
      readonly reason: string;
      readonly detail: string;
      readonly handoff?: Handoff;
      readonly problem?: HandoffProblem;
    }
  /** Another attempt would not help (blocked, refused token). */
  | { readonly disposition: 'stop'; readonly reason: string; readonly detail: string; readonly handoff?: Handoff };

export const NO_HANDOFF_REASON = 'the agent finished without writing the handoff';

/** `owner`: the run judged; a handoff naming another run or agent is invalid. */
export function classifyOutcome(outcome: AttemptOutcome, strict: boolean, owner?: HandoffOwner): Verdict {
  switch (outcome.kind) {
    case 'handoff': {
      const validation = validateHandoff(outcome.data, strict, owner);
      if (validation.ok) {
        if (isLowConfidencePartial(validation.handoff)) {
          return {
            disposition: 'retry',
            reason: 'partial with low confidence',
            detail: 'partial with low confidence',
            handoff: validation.handoff,
          };
        }
        return { disposition: 'accept', handoff: validation.handoff };
      }
      const handoff = outcome.data as Handoff;
      switch (validation.problem) {
        case HandoffProblem.failed:
          return {
            disposition: 'retry',
            reason: `agent failed: ${String(handoff.notes ?? '')}`,
            detail: validation.reason,
            handoff,
            problem: validation.problem,
          };
        case HandoffProblem.blocked:
          return { disposition: 'stop', reason: validation.reason, detail: validation.reason, handoff };
        default:
          return {
            disposition: 'retry',
            reason: `invalid handoff: ${validation.reason}`,
            detail: validation.reason,
            problem: validation.problem,
            ...(isOwnAnswer(validation.problem) ? { handoff } : {}),
          };
      }
    }
    case 'malformed':
      return { disposition: 'retry', reason: 'malformed response', detail: 'Invalid JSON in handoff file' };
    case 'refused':
      return {
        disposition: 'retry',
        reason: `error: handoff file refused: ${outcome.reason}`,
        detail: `Handoff file refused: ${outcome.reason}`,
      };
    case 'read_error':
      return {
        disposition: 'retry',
        reason: `error: Failed to read handoff file: ${outcome.message}`,
        detail: `Failed to read handoff file: ${outcome.message}`,
      };
    case 'timeout':
      return { disposition: 'retry', reason: 'timeout', detail: 'timeout' };
    case 'no_handoff': {
      const status =
        outcome.completionStatus && outcome.completionStatus !== 'ok'
          ? ` (run status: ${outcome.completionStatus})`
          : '';
      return { disposition: 'retry', reason: NO_HANDOFF_REASON + status, detail: NO_HANDOFF_REASON + status };
    }
    case 'send_failed':
      return outcome.retryable
        ? { disposition: 'retry', reason: 'Failed to send task', detail: outcome.error }
        : { disposition: 'stop', reason: 'Failed to send task', detail: outcome.error };
  }
}

/** A handoff that is not an object, or names another run or agent, is nobody's answer to keep. */
function isOwnAnswer(problem: HandoffProblem): boolean {
  return (
    problem !== HandoffProblem.notObject &&
    problem !== HandoffProblem.anotherRun &&
    problem !== HandoffProblem.anotherAgent
  );
}

/** Whether the loop goes on to attempt `attempt + 1`. */
export function shouldRetry(verdict: Verdict, attempt: number, policy: RetryPolicy): boolean {
  return verdict.disposition === 'retry' && attempt < policy.maximumAttempts;
}
