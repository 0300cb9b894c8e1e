/**
 * One base class, one subclass per failure a caller must tell apart (the undici pattern).
 * Callers switch on `code`, never on message text. Messages are written for the person who has
 * to act on them and never contain a token.
 */
export const ErrorCode = {
  CONFIG_INVALID: 'HQ_ERR_CONFIG_INVALID',
  USAGE: 'HQ_ERR_USAGE',
  RUN_ID_INVALID: 'HQ_ERR_RUN_ID_INVALID',
  AGENT_UNKNOWN: 'HQ_ERR_AGENT_UNKNOWN',
  AGENT_MISCONFIGURED: 'HQ_ERR_AGENT_MISCONFIGURED',
  ACCESS_DENIED: 'HQ_ERR_ACCESS_DENIED',
  GATEWAY_UNHEALTHY: 'HQ_ERR_GATEWAY_UNHEALTHY',
  GATEWAY_SEND: 'HQ_ERR_GATEWAY_SEND',
  /** The gateway refused to announce the run itself: it has no such delivery channel. */
  GATEWAY_DELIVERY: 'HQ_ERR_GATEWAY_DELIVERY',
  REQUEST_TOO_LARGE: 'HQ_ERR_REQUEST_TOO_LARGE',
  HANDOFF_INVALID: 'HQ_ERR_HANDOFF_INVALID',
  HANDOFF_REFUSED: 'HQ_ERR_HANDOFF_REFUSED',
  CONTEXT_UNAVAILABLE: 'HQ_ERR_CONTEXT_UNAVAILABLE',
  SHUTTING_DOWN: 'HQ_ERR_SHUTTING_DOWN',
  RATE_LIMITED: 'HQ_ERR_RATE_LIMITED',
  DISCORD: 'HQ_ERR_DISCORD',
  STORE_UNWRITABLE: 'HQ_ERR_STORE_UNWRITABLE',
  /** A replica that lost the leader lease tried to write: another replica leads now. */
  STORE_FENCED: 'HQ_ERR_STORE_FENCED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class HqError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HqError';
    this.code = code;
  }
}

export class ConfigError extends HqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.CONFIG_INVALID, message, options);
    this.name = 'ConfigError';
  }
}

export class UsageError extends HqError {
  constructor(message: string) {
    super(ErrorCode.USAGE, message);
    this.name = 'UsageError';
  }
}

export class AccessDeniedError extends HqError {
  constructor(message: string) {
    super(ErrorCode.ACCESS_DENIED, message);
    this.name = 'AccessDeniedError';
  }
}

export class UnknownAgentError extends HqError {
  constructor(agent: string, known: readonly string[]) {
    super(
      ErrorCode.AGENT_UNKNOWN,
      `Unknown agent '${agent}'. Known agents: ${known.join(', ') || '(none configured)'}`,
    );
    this.name = 'UnknownAgentError';
  }
}

/** The registry names the agent but its entry is refused: it is reached nowhere rather than somewhere wrong. */
export class AgentMisconfiguredError extends HqError {
  constructor(agent: string, why: string) {
    super(ErrorCode.AGENT_MISCONFIGURED, `Agent '${agent}' is misconfigured, so nothing was sent: ${why}`);
    this.name = 'AgentMisconfiguredError';
  }
}

/** The task and its context make a body larger than the agent's gateway accepts. */
export class RequestTooLargeError extends HqError {
  constructor(message: string) {
    super(ErrorCode.REQUEST_TOO_LARGE, message);
    this.name = 'RequestTooLargeError';
  }
}

export class RunIdError extends HqError {
  constructor(runId: string) {
    super(
      ErrorCode.RUN_ID_INVALID,
      `Invalid run id ${JSON.stringify(runId.slice(0, 140))}: it must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$ (letters, digits, '.', '_', '-'; no slashes)`,
    );
    this.name = 'RunIdError';
  }
}

export function isHqError(error: unknown): error is HqError {
  return error instanceof HqError;
}
