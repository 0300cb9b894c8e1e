/**
 * One attempt of a run: send the task to the agent's gateway and wait for its handoff file,
 * until the file comes, the attempt's deadline passes, or (completion mode) the gateway says
 * the agent's run settled without one. Judging the outcome is the caller's (run-attempts.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { EventName } from './event-log.ts';
import type { SendResult, SendTryFailure } from './gateway-client.ts';
import type { WaitResult } from './handoff-watcher.ts';
import { buildPayload, type AgentPayload, type HttpHandoffTarget } from './prompt.ts';
import { bodyBytes, oversizeMessage } from './request-size.ts';
import type { AttemptOutcome } from './retry-policy.ts';
import { logEvent, RunCancelled, type AttemptEnd, type Run, type RunServices } from './run.ts';

/** How much longer than the attempt a held waitForCompletion POST may stay open. */
const COMPLETION_RESPONSE_MARGIN_MS = 30_000;
const TASK_PREVIEW_CHARS = 200;

interface Sending {
  readonly payload: AgentPayload;
  readonly idempotencyKey: string;
  readonly startedAt: number;
  readonly deadline: number;
  readonly startWait: () => Promise<WaitResult>;
}

/** What attempt `attempt` of the run sends, with its handoff at `handoffPath`. */
export function payloadOf(
  run: Run,
  attempt: number,
  handoffPath: string,
  httpHandoff?: HttpHandoffTarget,
): AgentPayload {
  return buildPayload({
    runId: run.runId,
    agent: run.agent,
    task: run.request.task,
    attempt,
    prevError: run.prevError,
    context: run.request.context,
    handoffPath,
    httpHandoff,
    timeoutSeconds: run.policy.timeoutSeconds,
    deliver: run.deliver,
    waitForCompletion: run.completionMode,
    sessionKey: run.endpoint.sessionKey,
    session: run.request.session,
    agentId: run.endpoint.agentId,
  });
}

/** A new attempt: journaled and logged as started, then sent and waited for. */
export async function performAttempt(services: RunServices, run: Run, attempt: number): Promise<AttemptEnd> {
  const { startedAt, deadline } = await startAttempt(services, run, attempt);
  const watch = services.handoffs();
  // The directory exists and is watched before the agent is told the path: it may write at once.
  watch.prepare(run.handoff);
  const payload = payloadOf(run, attempt, run.handoff.file, await services.httpHandoff?.(run.runId, attempt));
  // Checked when the run was accepted; a long retry note can still push a later attempt over.
  const oversize = oversizeMessage(run.endpoint, bodyBytes(payload), run.request.context);
  if (oversize !== undefined) return { outcome: { kind: 'send_failed', retryable: false, error: oversize }, startedAt };
  const idempotencyKey = idempotencyKeyOf(run, attempt);
  // The wait is registered in the same turn as the POST, so even an instant agent's file is
  // seen (waitFor() looks once when it registers); the POST never waits for the watcher.
  const waitControl = new AbortController();
  const waitSignal = AbortSignal.any([run.signal, waitControl.signal]);
  const startWait = (): Promise<WaitResult> => watch.waitFor(run.handoff, { signal: waitSignal, deadline });

  try {
    if (!run.completionMode || !run.wait) {
      const onFailure = sendErrorLogger(services, run, attempt, startedAt);
      const sending = services.gateway.sendRun(run.endpoint, payload, {
        idempotencyKey,
        signal: run.signal,
        onFailure,
      });
      const waiting = run.wait ? startWait() : undefined;
      const sent = await sending;
      if (!sent.ok) return { outcome: sendFailure(sent), startedAt };
      await markSent(services, run, attempt, { startedAt, deadline }, sent.gatewayRunId);
      if (waiting === undefined) return { sentOnly: true, gatewayRunId: sent.gatewayRunId };
      const outcome = fileOutcome(await waiting);
      return { outcome, startedAt, gatewayRunId: sent.gatewayRunId };
    }
    return await completionAttempt(services, run, attempt, { payload, idempotencyKey, startedAt, deadline, startWait });
  } finally {
    // The attempt is decided: end its wait if it is still registered.
    waitControl.abort();
  }
}

/**
 * With waitForCompletion the gateway answers only once the agent's run settled, so the attempt
 * counts as sent when the request is written, then the handoff file races the POST's answer.
 * An error answer is a send failure; a 200 with `completion` means the agent is done, so a
 * handoff not there within completionGraceMs never will be, and the attempt fails at once
 * instead of sitting out the timeout. When the file wins, the POST may finish (to be logged).
 */
async function completionAttempt(
  services: RunServices,
  run: Run,
  attempt: number,
  input: Sending,
): Promise<AttemptEnd> {
  const { payload, idempotencyKey, startedAt, deadline, startWait } = input;
  const postControl = new AbortController();
  const postSignal = AbortSignal.any([run.signal, postControl.signal]);
  let gatewayRunId: string | undefined;
  // Journaled as sent once; awaited before the attempt is decided, so a failed write is not lost.
  let sentMarked: Promise<void> | undefined;
  // Once the file has decided the attempt, a failure of the POST still open is no send error of it.
  let decided = false;
  const logSendError = sendErrorLogger(services, run, attempt, startedAt);
  const sending = services.gateway.sendRun(run.endpoint, payload, {
    idempotencyKey,
    signal: postSignal,
    responseTimeoutMs: Math.max(0, deadline - Date.now()) + COMPLETION_RESPONSE_MARGIN_MS,
    onFailure: (failure) => {
      if (decided) run.log.debug({ attempt, ...failure }, 'hooks request failed after the attempt was decided');
      else logSendError(failure);
    },
    onRequestSent: () => {
      sentMarked ??= markSent(services, run, attempt, { startedAt, deadline }, undefined);
      sentMarked.catch(() => undefined);
    },
  });
  const waitSide = startWait().then(fileOutcome);
  // The POST's word on the attempt; when it has none, the file decides.
  const sendSide = sending.then(async (sent): Promise<AttemptOutcome> => {
    if (!sent.ok) return sent.aborted ? waitSide : sendFailure(sent);
    gatewayRunId = sent.gatewayRunId;
    if (sent.completion === undefined) {
      // A gateway that ignored waitForCompletion answered at admission: nothing has settled.
      run.log.info({ attempt, gatewayRunId }, 'the gateway admitted the run without waiting for its completion');
      return waitSide;
    }
    const completionStatus = typeof sent.completion.status === 'string' ? sent.completion.status : undefined;
    run.log.info({ attempt, gatewayRunId, completionStatus }, "the gateway reports the agent's run settled");
    try {
      await sleep(services.completionGraceMs, undefined, { signal: postSignal });
    } catch {
      return waitSide;
    }
    // A file whose event is still queued behind a busy loop is not "no handoff": look once.
    const present = await services.handoffs().peek(run.handoff.file);
    if (present.kind !== 'absent') return present;
    return { kind: 'no_handoff', completionStatus };
  });
  // The losing side may still settle (an aborted wait rejects): never as an unhandled rejection.
  waitSide.catch(() => undefined);
  sendSide.catch(() => undefined);
  let outcome: AttemptOutcome;
  try {
    outcome = await Promise.race([sendSide, waitSide]);
    await sentMarked;
    decided = true;
  } catch (error) {
    postControl.abort();
    throw error;
  }
  if (outcome.kind === 'handoff') {
    void sending.then((sent) => {
      if (sent.ok)
        run.log.debug(
          { attempt, gatewayRunId: sent.gatewayRunId, completion: sent.completion },
          'hooks request completed after the handoff',
        );
      // The POST is done: end the grace it started, rather than keep the run alive for it.
      postControl.abort();
    });
  } else {
    postControl.abort();
  }
  return { outcome, startedAt, gatewayRunId };
}

/** A sent attempt found again after a restart: its file may already be there; else wait until the ORIGINAL deadline. */
export async function resumeSentAttempt(
  services: RunServices,
  run: Run,
  attempt: number,
  startedAt: number,
  deadline: number,
): Promise<AttemptEnd> {
  run.attemptsMade = Math.max(run.attemptsMade, attempt);
  const watch = services.handoffs();
  watch.prepare(run.handoff);
  const present = await watch.peek(run.handoff.file);
  if (present.kind !== 'absent') return { outcome: present, startedAt };
  run.emit({
    type: 'waiting',
    runId: run.runId,
    attempt,
    maxAttempts: run.policy.maximumAttempts,
    startedAt,
    deadline,
  });
  return { outcome: fileOutcome(await watch.waitFor(run.handoff, { signal: run.signal, deadline })), startedAt };
}

async function startAttempt(
  services: RunServices,
  run: Run,
  attempt: number,
): Promise<{ startedAt: number; deadline: number }> {
  const startedAt = Date.now();
  const deadline = startedAt + run.policy.attemptTimeoutMs;
  run.attemptsMade = Math.max(run.attemptsMade, attempt);
  await services.journal?.attemptStarted(run.runId, attempt, startedAt, deadline);
  logEvent(services, run, EventName.attemptStart, { detail: run.request.task.slice(0, TASK_PREVIEW_CHARS), attempt });
  return { startedAt, deadline };
}

async function markSent(
  services: RunServices,
  run: Run,
  attempt: number,
  window: { startedAt: number; deadline: number },
  gatewayRunId: string | undefined,
): Promise<void> {
  await services.journal?.attemptSent(run.runId, attempt, gatewayRunId);
  run.log.info({ attempt, gatewayRunId }, 'run sent to the gateway');
  const maxAttempts = run.policy.maximumAttempts;
  run.emit({
    type: 'sent',
    runId: run.runId,
    attempt,
    maxAttempts,
    ...(gatewayRunId === undefined ? {} : { gatewayRunId }),
  });
  if (run.wait) run.emit({ type: 'waiting', runId: run.runId, attempt, maxAttempts, ...window });
}

function sendFailure(result: Extract<SendResult, { ok: false }>): AttemptOutcome {
  if (result.aborted) throw new RunCancelled();
  const { retryable, error, httpStatus, code } = result;
  return { kind: 'send_failed', retryable, error, httpStatus, code };
}

function fileOutcome(result: WaitResult): AttemptOutcome {
  if (result.kind === 'aborted') throw new RunCancelled();
  return result;
}

/**
 * The same key on a retried POST (also after a restart: acceptedAt is journaled) replays the
 * gateway's run instead of starting a second. acceptedAt is there because run ids can be reused:
 * without it the gateway would replay an earlier run's answer and the agent never see the task.
 */
function idempotencyKeyOf(run: Run, attempt: number): string {
  return `${run.runId}:${attempt}:${run.acceptedAt}`;
}

/** One send_error line per failed POST try, written as the try fails (a send may retry for seconds). */
function sendErrorLogger(
  services: RunServices,
  run: Run,
  attempt: number,
  startedAt: number,
): (failure: SendTryFailure) => void {
  return ({ error, httpStatus }) => {
    const elapsedMs = Date.now() - startedAt;
    logEvent(services, run, EventName.sendError, { detail: error, attempt, elapsedMs, extra: { httpStatus } });
  };
}
