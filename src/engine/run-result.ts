/**
 * A run's result in the reference script's shape: the handoff's own fields (or the error's
 * status, result and notes), then runId, agent, latencyMs, attempts, workflowRunId, stepId,
 * and our `code` when the run did not produce a usable handoff.
 */
import { ErrorCode } from '../errors.ts';
import { HandoffProblem } from './handoff-schema.ts';
import { NO_HANDOFF_REASON, type AttemptOutcome, type Verdict } from './retry-policy.ts';
import type { Run } from './run.ts';
import { RunStatus, type Handoff, type RunResult } from './types.ts';

export function resultOf(run: Run, fields: Readonly<Record<string, unknown>>, code?: string): RunResult {
  const out: Record<string, unknown> = { ...fields };
  // `code` is ours (the CLI and the bot switch on it); an agent's own field must not pose as one.
  delete out.code;
  out.runId = run.runId;
  out.agent = run.agent;
  out.latencyMs = Math.max(0, Date.now() - run.acceptedAt);
  out.attempts = run.attemptsMade;
  if (run.request.workflowRunId !== undefined) out.workflowRunId = run.request.workflowRunId;
  if (run.request.stepId !== undefined) out.stepId = run.request.stepId;
  if (code !== undefined) out.code = code;
  return out as unknown as RunResult;
}

export function errorResult(
  run: Run,
  status: RunStatus,
  notes: string,
  code?: string,
  result: unknown = null,
): RunResult {
  return resultOf(run, { status, result, notes }, code);
}

/** The result of the attempt that ends the run, judged by `verdict`. */
export function finalResult(run: Run, outcome: AttemptOutcome, verdict: Verdict, attempt: number): RunResult {
  const of = `(attempt ${attempt}/${run.policy.maximumAttempts})`;
  switch (outcome.kind) {
    case 'handoff':
      return handoffResult(run, outcome, verdict);
    case 'malformed':
      return resultOf(
        run,
        { status: RunStatus.malformed, result: outcome.raw, notes: 'Invalid JSON in handoff file', _raw: true },
        ErrorCode.HANDOFF_INVALID,
      );
    case 'read_error':
      return errorResult(
        run,
        RunStatus.error,
        `Failed to read handoff file: ${outcome.message}`,
        undefined,
        outcome.message,
      );
    case 'refused':
      return errorResult(run, RunStatus.error, `Handoff file refused: ${outcome.reason}`, ErrorCode.HANDOFF_REFUSED);
    case 'timeout':
      return errorResult(run, RunStatus.timeout, `Agent did not respond within ${run.policy.timeoutSeconds}s ${of}`);
    case 'no_handoff':
      return errorResult(
        run,
        RunStatus.error,
        `${capitalise(verdict.disposition === 'accept' ? NO_HANDOFF_REASON : verdict.detail)} ${of}`,
      );
    case 'send_failed':
      return errorResult(
        run,
        RunStatus.error,
        `Failed to send task after ${attempt} attempts: ${outcome.error}`,
        outcome.code ?? ErrorCode.GATEWAY_SEND,
      );
  }
}

function handoffResult(run: Run, outcome: Extract<AttemptOutcome, { kind: 'handoff' }>, verdict: Verdict): RunResult {
  // Failed on the last attempt, or blocked: the agent's own answer, as it wrote it.
  if (verdict.disposition === 'accept') return resultOf(run, verdict.handoff);
  if (verdict.disposition === 'stop' || verdict.problem === 'failed') return resultOf(run, verdict.handoff ?? {});
  const fields =
    verdict.handoff !== undefined
      ? { ...verdict.handoff, status: RunStatus.invalid, notes: verdict.detail }
      : { status: RunStatus.invalid, result: isForeign(verdict) ? null : outcome.data, notes: verdict.detail };
  return resultOf(run, fields, ErrorCode.HANDOFF_INVALID);
}

/** A handoff naming another run or agent: its text is not shown as this run's result. */
function isForeign(verdict: Verdict): boolean {
  return (
    verdict.disposition === 'retry' &&
    (verdict.problem === HandoffProblem.anotherRun || verdict.problem === HandoffProblem.anotherAgent)
  );
}

/** The result when every attempt has been made and the journal says none answered. */
export function exhaustedResult(run: Run): RunResult {
  const max = run.policy.maximumAttempts;
  return run.prevError === 'timeout'
    ? errorResult(
        run,
        RunStatus.timeout,
        `Agent did not respond within ${run.policy.timeoutSeconds}s (attempt ${max}/${max})`,
      )
    : errorResult(run, RunStatus.error, `No result after all attempts${run.prevError ? `: ${run.prevError}` : ''}`);
}

/** The handoff when it passed validation: accepted, or a low-confidence partial (valid, but worth a retry). */
export function validHandoffOf(verdict: Verdict): Handoff | undefined {
  if (verdict.disposition === 'accept') return verdict.handoff;
  return verdict.disposition === 'retry' && verdict.problem === undefined ? verdict.handoff : undefined;
}

/** The retry note's text for a verdict that did not accept. */
export function reasonOf(verdict: Verdict): string {
  return verdict.disposition === 'accept' ? '' : verdict.reason;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
