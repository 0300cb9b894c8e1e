/**
 * The engine: where a delegation enters, waits, is judged and leaves. Knows nothing of
 * Discord; the bot and the CLI are two doors onto it.
 *
 *   delegate → run id → agent → ACL → journal → queue → health → attempts → result
 *   attempt  → (late file?) → send → wait for the handoff → judge → retry or finish
 *
 * Side effects come in through factories (registry, gateway client, handoff watcher, event
 * log, queue); the journal, when given, records every state change before the engine acts on
 * it, so another process can `resume` a run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { authorize } from '../access/acl.ts';
import type { Config } from '../config.ts';
import { AccessDeniedError, ErrorCode, HqError, UsageError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { createAgentQueue, type QueueSlot } from './agent-queue.ts';
import { createAgentRegistry } from './agent-registry.ts';
import { EventName, type EventEntry, type EventLog } from './events.ts';
import { createGatewayClient, type SendResult, type SendTryFailure } from './gateway-client.ts';
import { createHandoffWatcher, type HandoffWatcher, type WaitResult } from './handoff-watcher.ts';
import { buildPayload, resolveDeliver } from './prompt.ts';
import { classifyOutcome, createRetryPolicy, NO_HANDOFF_REASON, shouldRetry, type AttemptOutcome, type RetryPolicy, type Verdict } from './retry-policy.ts';
import { newRunId, validateRunId } from './run-id.ts';
import {
  RunStatus,
  type AgentEndpoint,
  type AgentHealth,
  type DelegateOptions,
  type DelegationRequest,
  type Engine,
  type Handoff,
  type JournalRun,
  type ResumableRun,
  type RunJournal,
  type RunProgress,
  type RunResult,
} from './types.ts';

/** How much longer than the attempt a held waitForCompletion POST may stay open. */
const COMPLETION_RESPONSE_MARGIN_MS = 30_000;
const TASK_PREVIEW_CHARS = 200;

export interface EngineOptions {
  readonly config: Config;
  readonly log: Logger;
  /**
   * Where the engine's events go: `createEventLog({ dir: config.paths.logDir })` (it opens its
   * file at the first line, so a refused request touches none). The engine closes it.
   */
  readonly eventLog: EventLog;
  readonly journal?: RunJournal | undefined;
  /** Pauses between POST tries inside one attempt (503, connection errors); tests pass zeros. */
  readonly sendRetryDelaysMs?: readonly number[] | undefined;
}

/**
 * What the engine aborts its own per-attempt controllers with once an attempt is decided. An
 * `abort()` without a reason makes a DOMException, and its stack capture was the largest single
 * cost of a 500-run burst after the sockets (twice per attempt); these are made once. Nobody
 * shows them: they only end the wait and the POST the attempt no longer needs.
 */
const WAIT_NO_LONGER_NEEDED = new Error('the attempt is decided: its wait is no longer needed');
const POST_NO_LONGER_NEEDED = new Error('the attempt is decided: its POST is no longer needed');

/** Thrown inside a run when its signal aborts; turned into a `cancelled` result at the top. */
class RunCancelled extends Error {}

interface Run {
  readonly runId: string;
  readonly agent: string;
  readonly endpoint: AgentEndpoint;
  readonly request: DelegationRequest;
  readonly policy: RetryPolicy;
  readonly strict: boolean;
  readonly deliver: boolean;
  readonly wait: boolean;
  readonly completionMode: boolean;
  readonly acceptedAt: number;
  readonly signal: AbortSignal;
  readonly log: Logger;
  readonly emit: (progress: RunProgress) => void;
  prevError: string | undefined;
  attemptsMade: number;
}

/** Where `execute` picks a run up. */
type StartPoint =
  | { readonly kind: 'fresh' }
  | { readonly kind: 'resume-unsent'; readonly attempt: number }
  | { readonly kind: 'resume-sent'; readonly attempt: number; readonly startedAt: number; readonly deadline: number };

type AttemptEnd = { readonly outcome: AttemptOutcome; readonly startedAt: number; readonly gatewayRunId?: string | undefined } | { readonly sentOnly: true; readonly gatewayRunId?: string | undefined };

function fileOutcome(result: WaitResult): AttemptOutcome {
  if (result.kind === 'aborted') throw new RunCancelled();
  return result;
}

function isFileOutcome(outcome: AttemptOutcome): boolean {
  return outcome.kind === 'handoff' || outcome.kind === 'malformed' || outcome.kind === 'refused' || outcome.kind === 'read_error';
}

/**
 * A promise that never settles: a losing side of a race that has nothing more to say. A fresh
 * one each time, never a shared constant: a promise that adopts a pending one adds a reaction
 * to it, and a module-wide NEVER collected one per attempt for the life of the process, each
 * holding the attempt's closures (its run, logger and signals): ~6 KiB a run, a leak.
 */
function never(): Promise<never> {
  return new Promise<never>(() => {});
}

export function createEngine(options: EngineOptions): Engine {
  const { config, log, journal, eventLog } = options;
  const settings = config.engine;
  const registry = createAgentRegistry({ registryPath: config.paths.registryPath, fallback: config.agents, log });
  const gateway = createGatewayClient({
    log,
    tokenFor: (agent) => config.secrets.hooksToken(agent),
    healthTimeoutMs: settings.healthTimeoutMs,
    sendTimeoutMs: settings.sendTimeoutMs,
    sendRetryDelaysMs: options.sendRetryDelaysMs,
  });
  const queue = createAgentQueue({ limit: settings.maxConcurrentPerAgent });
  const healthCache = new Map<string, AgentHealth>();
  const activeRuns = new Map<string, Promise<RunResult>>();
  const shutdown = new AbortController();
  let closed = false;

  // Created on first use: a refused request (bad run id, ACL) touches no file at all.
  let watcher: HandoffWatcher | undefined;
  const handoffs = (): HandoffWatcher =>
    (watcher ??= createHandoffWatcher({ dir: config.paths.handoffDir, maxBytes: settings.maxHandoffBytes, settleMs: settings.handoffSettleMs, log }));
  const events = (entry: EventEntry): void => eventLog.write(entry);

  // Runs that start together share one probe per gateway: 500 runs over 8 agents send 8 health
  // requests, not 500 (each on its own socket while the POSTs hold theirs). A run joins only a
  // probe in flight, never a finished one. A cancelled run stops waiting at once; the probe
  // itself is bounded by healthTimeoutMs.
  const probing = new Map<string, Promise<AgentHealth>>();

  function probe(endpoint: AgentEndpoint, signal?: AbortSignal): Promise<AgentHealth> {
    const key = `${endpoint.name}@${endpoint.host}:${endpoint.port}`;
    let pending = probing.get(key);
    if (pending === undefined) {
      pending = probeNow(endpoint).finally(() => probing.delete(key));
      probing.set(key, pending);
    }
    return signal === undefined ? pending : untilAborted(pending, signal);
  }

  async function probeNow(endpoint: AgentEndpoint): Promise<AgentHealth> {
    const result = await gateway.checkHealth(endpoint);
    const health: AgentHealth = {
      agent: endpoint.name,
      healthy: result.healthy,
      latencyMs: result.latencyMs,
      ...(result.detail === undefined ? {} : { detail: result.detail }),
      checkedAt: Date.now(),
    };
    healthCache.set(endpoint.name, health);
    return health;
  }

  // ── Results ──────────────────────────────────────────────────────────────

  /** The reference's shape: the handoff's (or error's) fields, then runId, agent, latencyMs… */
  function resultOf(run: Run, fields: Readonly<Record<string, unknown>>, code?: string): RunResult {
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

  function errorResult(run: Run, status: RunStatus, notes: string, code?: string, result: unknown = null): RunResult {
    return resultOf(run, { status, result, notes }, code);
  }

  function finalResult(run: Run, outcome: AttemptOutcome, verdict: Verdict, attempt: number): RunResult {
    const of = `(attempt ${attempt}/${run.policy.maximumAttempts})`;
    switch (outcome.kind) {
      case 'handoff': {
        // Failed on the last attempt, or blocked: the agent's own answer, as it wrote it.
        if (verdict.disposition === 'accept') return resultOf(run, verdict.handoff);
        if (verdict.disposition === 'stop' || verdict.problem === 'failed') return resultOf(run, verdict.handoff ?? {});
        const fields = verdict.handoff !== undefined ? { ...verdict.handoff, status: RunStatus.invalid, notes: verdict.detail } : { status: RunStatus.invalid, result: outcome.data, notes: verdict.detail };
        return resultOf(run, fields, ErrorCode.HANDOFF_INVALID);
      }
      case 'malformed':
        return resultOf(run, { status: RunStatus.malformed, result: outcome.raw, notes: 'Invalid JSON in handoff file', _raw: true }, ErrorCode.HANDOFF_INVALID);
      case 'read_error':
        return errorResult(run, RunStatus.error, `Failed to read handoff file: ${outcome.message}`, undefined, outcome.message);
      case 'refused':
        return errorResult(run, RunStatus.error, `Handoff file refused: ${outcome.reason}`, ErrorCode.HANDOFF_REFUSED);
      case 'timeout':
        return errorResult(run, RunStatus.timeout, `Agent did not respond within ${run.policy.timeoutSeconds}s ${of}`);
      case 'no_handoff':
        return errorResult(run, RunStatus.error, `${capitalise(verdict.disposition === 'accept' ? NO_HANDOFF_REASON : verdict.detail)} ${of}`);
      case 'send_failed':
        return errorResult(run, RunStatus.error, `Failed to send task after ${attempt} attempts: ${outcome.error}`, ErrorCode.GATEWAY_SEND);
    }
  }

  function finish(run: Run, result: RunResult, options: { journal?: boolean } = {}): RunResult {
    if (options.journal !== false) journal?.runFinished(result);
    run.emit({ type: 'done', runId: run.runId, result });
    run.log.info({ status: result.status, attempts: result.attempts, latencyMs: result.latencyMs, code: result.code }, 'run finished');
    return result;
  }

  // ── Events ───────────────────────────────────────────────────────────────

  function logSendErrors(run: Run, attempt: number, startedAt: number, failures: readonly SendTryFailure[]): void {
    for (const failure of failures) {
      events({ runId: run.runId, agent: run.agent, event: EventName.sendError, detail: failure.error, attempt, elapsedMs: Date.now() - startedAt, extra: { httpStatus: failure.httpStatus } });
    }
  }

  function logOutcome(run: Run, attempt: number, startedAt: number, outcome: AttemptOutcome, verdict: Verdict, gatewayRunId: string | undefined, answer: Handoff | undefined): void {
    const base = { runId: run.runId, agent: run.agent, attempt, elapsedMs: Date.now() - startedAt };
    const handoff: Handoff | undefined = verdict.handoff;
    if (answer !== undefined) {
      events({ ...base, event: EventName.complete, detail: answer.status, extra: { confidence: answer.confidence ?? null, gatewayRunId } });
    } else if (outcome.kind === 'timeout') {
      events({ ...base, event: EventName.timeout, detail: '', extra: { gatewayRunId } });
    } else if (outcome.kind === 'send_failed') {
      events({ ...base, event: EventName.sendFailed, detail: `Failed to send task: ${outcome.error}`, extra: { httpStatus: outcome.httpStatus } });
    } else {
      events({ ...base, event: EventName.validationFailed, detail: verdict.disposition === 'accept' ? '' : verdict.detail, extra: { status: handoff?.status ?? outcome.kind, gatewayRunId } });
    }
  }

  // ── One attempt ──────────────────────────────────────────────────────────

  async function pause(run: Run, ms: number): Promise<void> {
    if (ms <= 0) return;
    try {
      await sleep(ms, undefined, { signal: run.signal });
    } catch {
      throw new RunCancelled();
    }
  }

  function startAttempt(run: Run, attempt: number): { startedAt: number; deadline: number } {
    const startedAt = Date.now();
    const deadline = startedAt + run.policy.attemptTimeoutMs;
    run.attemptsMade = Math.max(run.attemptsMade, attempt);
    journal?.attemptStarted(run.runId, attempt, startedAt, deadline);
    events({ runId: run.runId, agent: run.agent, event: EventName.attemptStart, detail: run.request.task.slice(0, TASK_PREVIEW_CHARS), attempt });
    return { startedAt, deadline };
  }

  function markSent(run: Run, attempt: number, startedAt: number, deadline: number, gatewayRunId: string | undefined): void {
    journal?.attemptSent(run.runId, attempt, gatewayRunId);
    run.log.info({ attempt, gatewayRunId }, 'run sent to the gateway');
    run.emit({ type: 'sent', runId: run.runId, attempt, maxAttempts: run.policy.maximumAttempts, ...(gatewayRunId === undefined ? {} : { gatewayRunId }) });
    if (run.wait) run.emit({ type: 'waiting', runId: run.runId, attempt, maxAttempts: run.policy.maximumAttempts, startedAt, deadline });
  }

  function sendFailure(result: Extract<SendResult, { ok: false }>): AttemptOutcome {
    if (result.aborted) throw new RunCancelled();
    return { kind: 'send_failed', retryable: result.retryable, error: result.error, httpStatus: result.httpStatus };
  }

  async function performAttempt(run: Run, attempt: number): Promise<AttemptEnd> {
    const { startedAt, deadline } = startAttempt(run, attempt);
    const payload = buildPayload({
      runId: run.runId,
      agent: run.agent,
      task: run.request.task,
      attempt,
      prevError: run.prevError,
      context: run.request.context,
      handoffPath: handoffs().pathFor(run.runId),
      timeoutSeconds: run.policy.timeoutSeconds,
      deliver: run.deliver,
      waitForCompletion: run.completionMode,
    });
    const idempotencyKey = idempotencyKeyOf(run, attempt);
    const watch = handoffs();
    // The POST is handed to undici first and the wait registered right after it, in the same
    // turn, so even an instant agent is seen: a file written before the watcher listens is found
    // by the look waitFor() takes once it is ready. The POST never waits for the watcher: its
    // first wait starts chokidar on the next turn, after undici has written the request (undici
    // writes on a reused keep-alive socket from the next turn too, queued before ours).
    const waitControl = new AbortController();
    const waitSignal = AbortSignal.any([run.signal, waitControl.signal]);
    const startWait = (): Promise<WaitResult> => watch.waitFor(run.runId, { signal: waitSignal, deadline });

    try {
      if (!run.completionMode || !run.wait) {
        const sending = gateway.sendRun(run.endpoint, payload, { idempotencyKey, signal: run.signal });
        const waiting = run.wait ? startWait() : undefined;
        const sent = await sending;
        logSendErrors(run, attempt, startedAt, sent.failures);
        if (!sent.ok) return { outcome: sendFailure(sent), startedAt };
        markSent(run, attempt, startedAt, deadline, sent.gatewayRunId);
        if (waiting === undefined) return { sentOnly: true, gatewayRunId: sent.gatewayRunId };
        const outcome = fileOutcome(await waiting);
        return { outcome, startedAt, gatewayRunId: sent.gatewayRunId };
      }
      return await completionAttempt(run, attempt, { payload, idempotencyKey, startedAt, deadline, startWait });
    } finally {
      waitControl.abort(WAIT_NO_LONGER_NEEDED);
    }
  }

  /**
   * With waitForCompletion the gateway answers only when the agent's run has settled, so the
   * POST cannot tell us when the run was admitted. We therefore count the attempt as sent the
   * moment the request is written (journal + progress), and from then on race two sides:
   *   - the handoff file (the normal end: the file, not the HTTP answer, is the result);
   *   - the POST's answer: an error status is a send failure (a 503 or a dropped connection is
   *     first retried with the same Idempotency-Key); a 200 with `completion` means the agent
   *     is done, so a handoff that has not appeared within completionGraceMs never will —
   *     the attempt fails at once ("the agent finished without writing the handoff") instead
   *     of sitting out the whole timeout.
   * When the file wins, the POST is left to finish on its own (bounded by its timeout) so
   * that its completion is logged; otherwise it is aborted with the attempt.
   */
  async function completionAttempt(
    run: Run,
    attempt: number,
    input: { payload: ReturnType<typeof buildPayload>; idempotencyKey: string; startedAt: number; deadline: number; startWait: () => Promise<WaitResult> },
  ): Promise<AttemptEnd> {
    const { payload, idempotencyKey, startedAt, deadline, startWait } = input;
    const postControl = new AbortController();
    const postSignal = AbortSignal.any([run.signal, postControl.signal]);
    let gatewayRunId: string | undefined;
    let sentMarked = false;
    const sending = gateway.sendRun(run.endpoint, payload, {
      idempotencyKey,
      signal: postSignal,
      responseTimeoutMs: Math.max(0, deadline - Date.now()) + COMPLETION_RESPONSE_MARGIN_MS,
      onRequestSent: () => {
        if (sentMarked) return;
        sentMarked = true;
        markSent(run, attempt, startedAt, deadline, undefined);
      },
    });
    const waiting = startWait();
    const sendSide = sending.then(async (sent): Promise<AttemptOutcome> => {
      logSendErrors(run, attempt, startedAt, sent.failures);
      if (!sent.ok) return sent.aborted ? never() : sendFailure(sent);
      gatewayRunId = sent.gatewayRunId;
      if (sent.completion === undefined) {
        // A gateway that ignored waitForCompletion answered at admission: nothing has settled.
        run.log.info({ attempt, gatewayRunId }, 'the gateway admitted the run without waiting for its completion');
        return never();
      }
      const completionStatus = typeof sent.completion.status === 'string' ? sent.completion.status : undefined;
      run.log.info({ attempt, gatewayRunId, completionStatus }, "the gateway reports the agent's run settled");
      if (!(await delayUnlessAborted(settings.completionGraceMs, postSignal))) return never();
      // A file whose event is still queued behind a busy loop is not "no handoff": look once.
      const present = await handoffs().peek(run.runId);
      if (present.kind !== 'absent') return present;
      return { kind: 'no_handoff', completionStatus };
    });
    const waitSide = waiting.then(fileOutcome);
    // The losing side may still settle (an aborted wait rejects): never as an unhandled rejection.
    waitSide.catch(() => undefined);
    sendSide.catch(() => undefined);
    let outcome: AttemptOutcome;
    try {
      outcome = await Promise.race([sendSide, waitSide]);
    } catch (error) {
      postControl.abort(POST_NO_LONGER_NEEDED);
      throw error;
    }
    if (outcome.kind === 'handoff') {
      void sending.then((sent) => {
        if (sent.ok) run.log.debug({ attempt, gatewayRunId: sent.gatewayRunId, completion: sent.completion }, 'hooks request completed after the handoff');
        // The POST is done: end the grace timer it started, rather than keep the run alive for it.
        postControl.abort(POST_NO_LONGER_NEEDED);
      });
    } else {
      postControl.abort(POST_NO_LONGER_NEEDED);
    }
    return { outcome, startedAt, gatewayRunId };
  }

  /** A sent attempt found again after a restart: its file may already be there; else wait until the ORIGINAL deadline. */
  async function resumeSentAttempt(run: Run, attempt: number, startedAt: number, deadline: number): Promise<AttemptEnd> {
    run.attemptsMade = Math.max(run.attemptsMade, attempt);
    const watch = handoffs();
    await watch.ready();
    const present = await watch.peek(run.runId);
    if (present.kind !== 'absent') return { outcome: present, startedAt };
    run.emit({ type: 'waiting', runId: run.runId, attempt, maxAttempts: run.policy.maximumAttempts, startedAt, deadline });
    return { outcome: fileOutcome(await watch.waitFor(run.runId, { signal: run.signal, deadline })), startedAt };
  }

  /**
   * Between attempts, the previous attempt's agent may have written after all. Judged like any
   * other handoff (the reference took it unvalidated): valid → the run's answer; else set aside.
   */
  async function takeLateArrival(run: Run, attempt: number): Promise<RunResult | undefined> {
    const watch = handoffs();
    const present = await watch.peek(run.runId);
    if (present.kind === 'absent') return undefined;
    const verdict = classifyOutcome(present, run.strict);
    const lateHandoff = validHandoffOf(verdict);
    if (lateHandoff !== undefined) {
      events({ runId: run.runId, agent: run.agent, event: EventName.lateArrival, detail: 'Handoff file arrived between retries', attempt, extra: { status: lateHandoff.status, confidence: lateHandoff.confidence ?? null } });
      return finish(run, resultOf(run, lateHandoff));
    }
    const movedTo = await watch.moveAside(run.runId);
    if (verdict.disposition !== 'accept') {
      run.log.info({ attempt, movedTo, reason: verdict.detail }, 'a handoff found between attempts was not valid; set aside');
      // The freshest word on what the agent did goes into the next retry note.
      run.prevError = verdict.reason;
    }
    return undefined;
  }

  // ── The run ──────────────────────────────────────────────────────────────

  async function attempts(run: Run, start: StartPoint): Promise<RunResult> {
    const first = start.kind === 'fresh' ? 1 : start.attempt;
    if (first > run.policy.maximumAttempts) {
      // The journal says the last attempt ended without an answer; a file may still have come.
      const late = await takeLateArrival(run, first);
      if (late !== undefined) return late;
      return run.prevError === 'timeout'
        ? finish(run, errorResult(run, RunStatus.timeout, `Agent did not respond within ${run.policy.timeoutSeconds}s (attempt ${run.policy.maximumAttempts}/${run.policy.maximumAttempts})`))
        : finish(run, errorResult(run, RunStatus.error, `No result after all attempts${run.prevError ? `: ${run.prevError}` : ''}`));
    }

    if (start.kind !== 'resume-sent') {
      const health = await checkHealth(run);
      if (!health.healthy) {
        return finish(
          run,
          errorResult(run, RunStatus.error, `Agent '${run.agent}' unhealthy at ${run.endpoint.host}:${run.endpoint.port}: ${health.detail ?? 'no answer'}`, ErrorCode.GATEWAY_UNHEALTHY),
        );
      }
    }

    for (let attempt = first; attempt <= run.policy.maximumAttempts; attempt += 1) {
      let end: AttemptEnd;
      if (start.kind === 'resume-sent' && attempt === first) {
        end = await resumeSentAttempt(run, attempt, start.startedAt, start.deadline);
      } else {
        if (start.kind === 'fresh' && attempt === 1) {
          // A file from an earlier run that used the same id cannot be this run's answer.
          const stale = await handoffs().moveAside(run.runId);
          if (stale !== undefined) run.log.warn({ movedTo: stale }, 'a handoff file already existed for this run id; set aside');
        } else {
          const late = await takeLateArrival(run, attempt);
          if (late !== undefined) return late;
        }
        end = await performAttempt(run, attempt);
      }

      if ('sentOnly' in end) {
        return finish(run, resultOf(run, { status: 'sent', result: null, ...(end.gatewayRunId === undefined ? {} : { gatewayRunId: end.gatewayRunId }) }));
      }
      const { outcome, startedAt, gatewayRunId } = end;
      if (isFileOutcome(outcome)) run.emit({ type: 'handoff_seen', runId: run.runId, attempt });
      const verdict = classifyOutcome(outcome, run.strict);
      const retry = shouldRetry(verdict, attempt, run.policy);
      // The run's answer: an accepted handoff, or a valid one kept only because no attempt is left.
      const answer = verdict.disposition === 'accept' ? verdict.handoff : retry ? undefined : validHandoffOf(verdict);
      logOutcome(run, attempt, startedAt, outcome, verdict, gatewayRunId, answer);
      if (answer !== undefined) journal?.attemptEnded(run.runId, attempt, 'accepted', answer.status);
      else journal?.attemptEnded(run.runId, attempt, outcome.kind, reasonOf(verdict));

      if (answer !== undefined) return finish(run, resultOf(run, answer));
      if (retry && verdict.disposition !== 'accept') {
        run.prevError = verdict.reason;
        if (isFileOutcome(outcome)) await handoffs().moveAside(run.runId);
        run.emit({ type: 'retrying', runId: run.runId, attempt: attempt + 1, maxAttempts: run.policy.maximumAttempts, reason: verdict.reason });
        await pause(run, outcome.kind === 'send_failed' ? run.policy.sendRetryPauseMs : run.policy.retryPauseMs);
        continue;
      }
      const result = finalResult(run, outcome, verdict, attempt);
      if (result.status === RunStatus.invalid) {
        events({ runId: run.runId, agent: run.agent, event: EventName.invalid, detail: String(result.notes ?? ''), attempt, elapsedMs: Date.now() - startedAt });
      }
      return finish(run, result);
    }
    // Unreachable: the loop returns on its last attempt.
    return finish(run, errorResult(run, RunStatus.error, 'No result after all attempts'));
  }

  async function checkHealth(run: Run): Promise<AgentHealth> {
    let health: AgentHealth;
    try {
      health = await probe(run.endpoint, run.signal);
    } catch (error) {
      if (run.signal.aborted) throw new RunCancelled();
      throw error;
    }
    if (!health.healthy) {
      events({ runId: run.runId, agent: run.agent, event: EventName.healthFailed, detail: `${run.endpoint.host}:${run.endpoint.port}: ${health.detail ?? ''}` });
    }
    return health;
  }

  function prepareRun(request: DelegationRequest & { readonly runId: string }, endpoint: AgentEndpoint, acceptedAt: number, options: DelegateOptions): Run {
    const signals = [shutdown.signal, ...(options.signal === undefined ? [] : [options.signal])];
    const wait = request.wait ?? true;
    return {
      runId: request.runId,
      agent: endpoint.name,
      endpoint,
      request,
      policy: createRetryPolicy(request, settings),
      strict: request.strict ?? settings.strict,
      deliver: resolveDeliver(request.deliver, endpoint.deliver, settings.deliver),
      wait,
      completionMode: wait && settings.waitForCompletion,
      acceptedAt,
      signal: AbortSignal.any(signals),
      log: log.child({ runId: request.runId, agent: endpoint.name }),
      emit: (progress) => {
        try {
          options.onProgress?.(progress);
        } catch (error) {
          log.warn({ err: error, runId: request.runId, progress: progress.type }, 'a progress listener threw; the run goes on');
        }
      },
      prevError: undefined,
      attemptsMade: 0,
    };
  }

  async function execute(run: Run, start: StartPoint, retryNote?: string): Promise<RunResult> {
    if (retryNote !== undefined) run.prevError = retryNote;
    let slot: QueueSlot | undefined;
    try {
      let queuedLogged = false;
      slot = await queue.acquire(run.agent, {
        signal: run.signal,
        onPosition: (position) => {
          run.emit({ type: 'queued', runId: run.runId, position });
          if (!queuedLogged) {
            queuedLogged = true;
            events({ runId: run.runId, agent: run.agent, event: EventName.queued, detail: `position ${position}`, extra: { position } });
          }
        },
      }).catch((error: unknown) => {
        if (run.signal.aborted) throw new RunCancelled();
        throw error;
      });
      if (!slot.waited) run.emit({ type: 'queued', runId: run.runId, position: 0 });
      return await attempts(run, start);
    } catch (error) {
      if (!(error instanceof RunCancelled) && !run.signal.aborted) throw error;
      const byShutdown = shutdown.signal.aborted;
      const notes = byShutdown ? 'Cancelled: hq-delegate is shutting down (the run can be resumed)' : 'Cancelled by the caller';
      events({ runId: run.runId, agent: run.agent, event: EventName.cancelled, detail: notes, attempt: Math.max(run.attemptsMade, 1) });
      // On shutdown the journal keeps the run open, so a restarted process resumes it.
      if (!byShutdown && run.attemptsMade > 0) journal?.attemptEnded(run.runId, run.attemptsMade, 'cancelled', notes);
      return finish(run, errorResult(run, RunStatus.cancelled, notes, byShutdown ? ErrorCode.SHUTTING_DOWN : undefined), { journal: !byShutdown });
    } finally {
      slot?.release();
      activeRuns.delete(run.runId);
    }
  }

  function track(runId: string, running: Promise<RunResult>): Promise<RunResult> {
    activeRuns.set(runId, running);
    return running;
  }

  function refuseWhileClosed(): void {
    if (closed) throw new HqError(ErrorCode.SHUTTING_DOWN, 'hq-delegate is shutting down; try again in a moment');
  }

  function refuseDuplicate(runId: string): void {
    if (activeRuns.has(runId)) throw new UsageError(`Run '${runId}' is already running`);
  }

  return {
    async delegate(request, delegateOptions = {}) {
      refuseWhileClosed();
      const acceptedAt = Date.now();
      const runId = validateRunId(request.runId ?? newRunId(acceptedAt));
      if (typeof request.task !== 'string' || request.task.trim() === '') throw new UsageError('The task is empty');
      const endpoint = registry.resolve(request.agent);
      const principals = Array.isArray(request.principals) ? request.principals : [];
      const decision = authorize(principals, endpoint.name, config.acl);
      if (!decision.allowed) {
        events({ runId, agent: endpoint.name, event: EventName.aclDenied, detail: `caller=${principals.join(',')}`, extra: { code: decision.code } });
        throw new AccessDeniedError(`ACL denied: ${decision.reason}`);
      }
      refuseDuplicate(runId);
      const journaled: JournalRun = { runId, request: { ...request, runId }, acceptedAt };
      journal?.runAccepted(journaled);
      const run = prepareRun(journaled.request, endpoint, acceptedAt, delegateOptions);
      run.log.info({ principal: decision.principal, maxAttempts: run.policy.maximumAttempts, timeoutSeconds: run.policy.timeoutSeconds }, 'run accepted');
      return track(runId, execute(run, { kind: 'fresh' }));
    },

    async resume(pending: ResumableRun, delegateOptions = {}) {
      refuseWhileClosed();
      const runId = validateRunId(pending.runId);
      const endpoint = registry.resolve(pending.request.agent);
      refuseDuplicate(runId);
      // Authorised when it was accepted; resuming continues that decision.
      const run = prepareRun({ ...pending.request, runId }, endpoint, pending.acceptedAt, delegateOptions);
      run.attemptsMade = Math.max(0, pending.attempt - (pending.sent ? 0 : 1));
      run.log.info({ attempt: pending.attempt, sent: pending.sent, deadline: pending.deadline }, 'run resumed');
      const start: StartPoint =
        pending.sent && pending.deadline !== undefined
          ? { kind: 'resume-sent', attempt: pending.attempt, startedAt: pending.attemptStartedAt ?? pending.acceptedAt, deadline: pending.deadline }
          : { kind: 'resume-unsent', attempt: pending.attempt };
      return track(runId, execute(run, start, pending.retryNote));
    },

    agents: () => registry.list(),

    async health(agent) {
      // Asked for explicitly (the bot at connect, /agents): a probe of its own, sent now.
      return probeNow(registry.resolve(agent));
    },

    cachedHealth: (agent) => healthCache.get(agent),

    queueDepth: (agent) => queue.waiting(agent),

    async close() {
      if (closed) return;
      closed = true;
      shutdown.abort(new HqError(ErrorCode.SHUTTING_DOWN, 'hq-delegate is shutting down'));
      await Promise.allSettled([...activeRuns.values()]);
      // Independent of each other: chokidar's close waits for its own file-system calls in
      // flight, the pools for their sockets to close.
      await Promise.all([watcher?.close(), gateway.close()]);
      eventLog.close();
    },
  };
}

/**
 * `<runId>:<attempt>:<acceptedAt>`. The same key on a retried POST (same attempt, same run —
 * also after a restart, acceptedAt is journaled) replays the gateway's run instead of starting
 * a second one. The acceptance time is there because run ids can be reused (`--run-id` from a
 * workflow re-running a step): with `<runId>:<attempt>` alone the gateway would replay the
 * earlier run's answer for up to 5 minutes and the agent would never see the new task.
 */
function idempotencyKeyOf(run: Run, attempt: number): string {
  return `${run.runId}:${attempt}:${run.acceptedAt}`;
}

/** The handoff when it passed validation: accepted, or a low-confidence partial (valid, but worth a retry). */
function validHandoffOf(verdict: Verdict): Handoff | undefined {
  if (verdict.disposition === 'accept') return verdict.handoff;
  return verdict.disposition === 'retry' && verdict.problem === undefined ? verdict.handoff : undefined;
}

/** The retry note's text for a verdict that did not accept. */
function reasonOf(verdict: Verdict): string {
  return verdict.disposition === 'accept' ? '' : verdict.reason;
}

/**
 * True after `ms`, false as soon as the signal aborts. Not timers/promises' abortable sleep: its
 * AbortError (with a stack) would be made for nearly every run in completion mode, whose grace
 * is cut short by the handoff.
 */
function delayUnlessAborted(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The promise, or the signal's reason as soon as it aborts (the promise itself goes on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
