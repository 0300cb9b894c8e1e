/**
 * The event log's vocabulary: its events, an entry, and what writes them. pino-free on
 * purpose, so the engine can name events without loading the writer (src/engine/event-log.ts):
 * the CLI loads pino only once its POST is out (src/cli/deferred-logs.ts).
 */
export const EventName = {
  attemptStart: 'attempt_start',
  sendFailed: 'send_failed',
  sendError: 'send_error',
  validationFailed: 'validation_failed',
  complete: 'complete',
  timeout: 'timeout',
  lateArrival: 'late_arrival',
  aclDenied: 'acl_denied',
  healthFailed: 'health_failed',
  invalid: 'invalid',
  cancelled: 'cancelled',
  queued: 'queued',
} as const;
export type EventName = (typeof EventName)[keyof typeof EventName];

export const MAX_DETAIL_CHARS = 500;

export interface EventEntry {
  readonly runId: string;
  readonly agent: string;
  readonly event: EventName;
  readonly detail?: string;
  readonly attempt?: number;
  readonly elapsedMs?: number;
  /** confidence, status, httpStatus, gatewayRunId, position… */
  readonly extra?: Readonly<Record<string, unknown>>;
}

export interface EventLog {
  write(entry: EventEntry): void;
  close(): void;
}
