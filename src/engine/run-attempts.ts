/**
 * A run from its health check to its result: attempt after attempt, each judged by the retry
 * policy, until one answers, one says another would not help, or none is left.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode } from '../errors.ts';
import { shownAddress } from './agent-address.ts';
import { performAttempt, resumeSentAttempt } from './attempt.ts';
import { EventName } from './event-log.ts';
import { classifyOutcome, shouldRetry, type AttemptOutcome, type Verdict } from './retry-policy.ts';
import { errorResult, exhaustedResult, finalResult, reasonOf, resultOf, validHandoffOf } from './run-result.ts';
import {
  finishRun,
  logEvent,
  RunCancelled,
  type AttemptEnd,
  type Run,
  type RunServices,
  type StartPoint,
} from './run.ts';
import { RunStatus, type AgentHealth, type Handoff, type RunResult } from './types.ts';

type JudgedEnd = Extract<AttemptEnd, { outcome: AttemptOutcome }>;

export async function runAttempts(services: RunServices, run: Run, start: StartPoint): Promise<RunResult> {
  const first = start.kind === 'fresh' ? 1 : start.attempt;
  if (first > run.policy.maximumAttempts) {
    // The journal says the last attempt ended without an answer; a file may still have come.
    return (await takeLateArrival(services, run, first)) ?? finishRun(services, run, exhaustedResult(run));
  }

  if (start.kind !== 'resume-sent') {
    const health = await checkHealth(services, run);
    if (!health.healthy) {
      const where = shownAddress(run.endpoint);
      const notes = `Agent '${run.agent}' unhealthy at ${where}: ${health.detail ?? 'no answer'}`;
      return finishRun(services, run, errorResult(run, RunStatus.error, notes, ErrorCode.GATEWAY_UNHEALTHY));
    }
  }

  // The gateway's id for the last attempt made, for a late arrival's log line.
  let gatewayRunId: string | undefined;
  for (let attempt = first; attempt <= run.policy.maximumAttempts; attempt += 1) {
    let end: AttemptEnd;
    if (start.kind === 'resume-sent' && attempt === first) {
      end = await resumeSentAttempt(services, run, attempt, start.startedAt, start.deadline);
    } else {
      // A fresh run's path is new (its secret is): only a later attempt can find an earlier one's file.
      if (start.kind !== 'fresh' || attempt > 1) {
        const late = await takeLateArrival(services, run, attempt, gatewayRunId);
        if (late !== undefined) return late;
      }
      end = await performAttempt(services, run, attempt);
    }
    gatewayRunId = end.gatewayRunId;

    if ('sentOnly' in end) {
      const gatewayRunId = end.gatewayRunId === undefined ? {} : { gatewayRunId: end.gatewayRunId };
      return finishRun(services, run, resultOf(run, { status: 'sent', result: null, ...gatewayRunId }));
    }
    const result = await judgeAttempt(services, run, attempt, end);
    if (result !== undefined) return result;
  }
  // Unreachable: the loop returns on its last attempt.
  return finishRun(services, run, errorResult(run, RunStatus.error, 'No result after all attempts'));
}

/** The run's result when this attempt ends it; undefined once the next attempt may start. */
async function judgeAttempt(
  services: RunServices,
  run: Run,
  attempt: number,
  end: JudgedEnd,
): Promise<RunResult | undefined> {
  const { outcome, startedAt } = end;
  if (isFileOutcome(outcome)) run.emit({ type: 'handoff_seen', runId: run.runId, attempt });
  const verdict = classifyOutcome(outcome, run.strict, run);
  const retry = shouldRetry(verdict, attempt, run.policy);
  // The run's answer: an accepted handoff, or a valid one kept only because no attempt is left.
  const answer = verdict.disposition === 'accept' ? verdict.handoff : retry ? undefined : validHandoffOf(verdict);
  logAttemptEnd(services, run, attempt, end, verdict, answer);
  if (answer !== undefined) await services.journal?.attemptEnded(run.runId, attempt, 'accepted', answer.status);
  else await services.journal?.attemptEnded(run.runId, attempt, outcome.kind, reasonOf(verdict));

  if (answer !== undefined) return finishRun(services, run, resultOf(run, answer));
  if (retry && verdict.disposition !== 'accept') {
    run.prevError = verdict.reason;
    if (isFileOutcome(outcome)) await services.handoffs().moveAside(run.handoff.file);
    run.emit({
      type: 'retrying',
      runId: run.runId,
      attempt: attempt + 1,
      maxAttempts: run.policy.maximumAttempts,
      reason: verdict.reason,
    });
    await pause(run, pauseAfter(outcome, run));
    return undefined;
  }
  const result = finalResult(run, outcome, verdict, attempt);
  if (result.status === RunStatus.invalid) {
    const detail = String(result.notes ?? '');
    logEvent(services, run, EventName.invalid, { detail, attempt, elapsedMs: Date.now() - startedAt });
  }
  return finishRun(services, run, result);
}

/** The event-log line for how an attempt ended; names and fields are the reference script's. */
function logAttemptEnd(
  services: RunServices,
  run: Run,
  attempt: number,
  { outcome, startedAt, gatewayRunId }: JudgedEnd,
  verdict: Verdict,
  answer: Handoff | undefined,
): void {
  const base = { attempt, elapsedMs: Date.now() - startedAt };
  if (answer !== undefined) {
    // null, not left out, while the gateway has not said (waitForCompletion holds its answer).
    const extra = { confidence: answer.confidence ?? null, gatewayRunId: gatewayRunId ?? null };
    logEvent(services, run, EventName.complete, { ...base, detail: answer.status, extra });
  } else if (outcome.kind === 'timeout') {
    logEvent(services, run, EventName.timeout, { ...base, detail: '', extra: { gatewayRunId } });
  } else if (outcome.kind === 'send_failed') {
    const detail = `Failed to send task: ${outcome.error}`;
    logEvent(services, run, EventName.sendFailed, { ...base, detail, extra: { httpStatus: outcome.httpStatus } });
  } else {
    const detail = verdict.disposition === 'accept' ? '' : verdict.detail;
    const extra = { status: verdict.handoff?.status ?? outcome.kind, gatewayRunId };
    logEvent(services, run, EventName.validationFailed, { ...base, detail, extra });
  }
}

/**
 * Between attempts, the previous attempt's agent may have written after all. Judged like any
 * other handoff (the reference took it unvalidated): valid → the run's answer; else set aside.
 * The answer is the last attempt made's, so its line and the result name that attempt.
 */
async function takeLateArrival(
  services: RunServices,
  run: Run,
  attempt: number,
  gatewayRunId?: string,
): Promise<RunResult | undefined> {
  const watch = services.handoffs();
  const present = await watch.peek(run.handoff.file);
  if (present.kind === 'absent') return undefined;
  const verdict = classifyOutcome(present, run.strict, run);
  const lateHandoff = validHandoffOf(verdict);
  if (lateHandoff !== undefined) {
    logEvent(services, run, EventName.lateArrival, {
      detail: 'Handoff file arrived between retries',
      attempt: run.attemptsMade,
      extra: {
        status: lateHandoff.status,
        confidence: lateHandoff.confidence ?? null,
        gatewayRunId: gatewayRunId ?? null,
      },
    });
    return finishRun(services, run, resultOf(run, lateHandoff));
  }
  await watch.moveAside(run.handoff.file);
  if (verdict.disposition !== 'accept') {
    run.log.info({ attempt, reason: verdict.detail }, 'a handoff found between attempts was not valid; set aside');
    // The freshest word on what the agent did goes into the next retry note.
    run.prevError = verdict.reason;
  }
  return undefined;
}

async function checkHealth(services: RunServices, run: Run): Promise<AgentHealth> {
  let health: AgentHealth;
  try {
    health = await services.health.shared(run.endpoint, run.signal);
  } catch (error) {
    if (run.signal.aborted) throw new RunCancelled();
    throw error;
  }
  if (!health.healthy) {
    const detail = `${shownAddress(run.endpoint)}: ${health.detail ?? ''}`;
    logEvent(services, run, EventName.healthFailed, { detail });
  }
  return health;
}

/**
 * The reference pauses after a failed send and after a bad handoff (config: sendRetryPauseMs,
 * retryPauseMs); an attempt that timed out, or whose agent finished without a file, has waited already.
 */
function pauseAfter(outcome: AttemptOutcome, run: Run): number {
  if (outcome.kind === 'send_failed') return run.policy.sendRetryPauseMs;
  return isFileOutcome(outcome) ? run.policy.retryPauseMs : 0;
}

async function pause(run: Run, ms: number): Promise<void> {
  if (ms <= 0) return;
  try {
    await sleep(ms, undefined, { signal: run.signal });
  } catch {
    throw new RunCancelled();
  }
}

function isFileOutcome(outcome: AttemptOutcome): boolean {
  return ['handoff', 'malformed', 'refused', 'read_error'].includes(outcome.kind);
}
