/**
 * The orchestration event log: one JSONL file per UTC day (`<logDir>/YYYY-MM-DD.jsonl`), one line
 * per event, in the reference script's shape so existing tooling keeps reading it. Written through
 * pino with its own fields switched off; the redact paths are a second fence (no token is passed in).
 */
import path from 'node:path';
import { pino, type DestinationStream } from 'pino';
import { REDACT_PATHS } from '../log.ts';

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
  // Written by the Discord side (discord/approvals/), through the EventLog interface.
  approvalRequested: 'approval_requested',
  approvalApproved: 'approval_approved',
  approvalRejected: 'approval_rejected',
  approvalExpired: 'approval_expired',
} as const;
export type EventName = (typeof EventName)[keyof typeof EventName];

const MAX_DETAIL_CHARS = 500;

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

/** Cut by code points, not UTF-16 units, so a surrogate pair is never split (Python slices the same way). */
export function truncateDetail(text: string, max: number = MAX_DETAIL_CHARS): string {
  if (text.length <= max) return text;
  return Array.from(text.slice(0, max * 2))
    .slice(0, max)
    .join('');
}

export function createEventLog(options: { readonly dir: string; readonly now?: () => Date }): EventLog {
  const now = options.now ?? (() => new Date());
  let day = '';
  let current: ReturnType<typeof pino.destination> | undefined;
  // The line being written: its UTC day and timestamp, set just before the (synchronous) pino call.
  let lineDay = '';
  let lineTimestamp = '';

  const rolling: DestinationStream = {
    write(line: string) {
      if (lineDay !== day || current === undefined) {
        current?.end();
        day = lineDay;
        current = pino.destination({
          dest: path.join(options.dir, `${day}.jsonl`),
          sync: true,
          mkdir: true,
          append: true,
        });
      }
      current.write(line);
    },
  };

  const logger = pino(
    {
      base: null,
      level: 'info',
      // No level field; pino's timestamp hook then opens the line with the reference's
      // `"timestamp"` (pino expects a leading comma after the level it no longer writes).
      formatters: { level: () => ({}) },
      timestamp: () => `"timestamp":${JSON.stringify(lineTimestamp)}`,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    rolling,
  );

  return {
    write(entry) {
      const iso = now().toISOString();
      lineDay = iso.slice(0, 10);
      lineTimestamp = `${iso.slice(0, 19)}Z`;
      logger.info({
        runId: entry.runId,
        agent: entry.agent,
        event: entry.event,
        detail: truncateDetail(entry.detail ?? ''),
        attempt: entry.attempt ?? 1,
        elapsedMs: Math.max(0, Math.round(entry.elapsedMs ?? 0)),
        ...entry.extra,
      });
    },
    close() {
      current?.end();
      current = undefined;
      day = '';
    },
  };
}
