/**
 * The event-log lines an attempt leaves: one per failed POST try, and one for how it ended.
 * Their names and fields are the reference script's (events.ts), which downstream tools read.
 */
import { EventName, type EventEntry } from './events.ts';
import type { SendTryFailure } from './gateway-client.ts';
import type { AttemptOutcome, Verdict } from './retry-policy.ts';
import type { Run } from './run.ts';
import type { Handoff } from './types.ts';

type WriteEvent = (entry: EventEntry) => void;

export function logSendErrors(
  events: WriteEvent,
  run: Run,
  attempt: number,
  startedAt: number,
  failures: readonly SendTryFailure[],
): void {
  for (const failure of failures) {
    events({
      runId: run.runId,
      agent: run.agent,
      event: EventName.sendError,
      detail: failure.error,
      attempt,
      elapsedMs: Date.now() - startedAt,
      extra: { httpStatus: failure.httpStatus },
    });
  }
}

export interface AttemptEndFacts {
  readonly attempt: number;
  readonly startedAt: number;
  readonly outcome: AttemptOutcome;
  readonly verdict: Verdict;
  readonly gatewayRunId: string | undefined;
  /** The handoff the run takes as its answer, if this attempt gave one. */
  readonly answer: Handoff | undefined;
}

export function logAttemptEnd(events: WriteEvent, run: Run, facts: AttemptEndFacts): void {
  const { attempt, startedAt, outcome, verdict, gatewayRunId, answer } = facts;
  const base = { runId: run.runId, agent: run.agent, attempt, elapsedMs: Date.now() - startedAt };
  if (answer !== undefined) {
    events({
      ...base,
      event: EventName.complete,
      detail: answer.status,
      extra: { confidence: answer.confidence ?? null, gatewayRunId },
    });
  } else if (outcome.kind === 'timeout') {
    events({ ...base, event: EventName.timeout, detail: '', extra: { gatewayRunId } });
  } else if (outcome.kind === 'send_failed') {
    events({
      ...base,
      event: EventName.sendFailed,
      detail: `Failed to send task: ${outcome.error}`,
      extra: { httpStatus: outcome.httpStatus },
    });
  } else {
    const detail = verdict.disposition === 'accept' ? '' : verdict.detail;
    events({
      ...base,
      event: EventName.validationFailed,
      detail,
      extra: { status: verdict.handoff?.status ?? outcome.kind, gatewayRunId },
    });
  }
}
