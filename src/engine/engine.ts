/**
 * The engine: where a delegation enters, waits, is judged and leaves. Knows nothing of Discord.
 *
 *   delegate → run id → agent → ACL → journal → queue → run-attempts.ts → result
 *
 * The journal, when given, records every state change before the engine acts on it, so another
 * process can `resume` a run.
 */
import { authorize } from '../access/acl.ts';
import { AccessDeniedError, ConfigError, ErrorCode, HqError, UsageError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { createAgentQueue, type AgentQueue, type QueueSlot } from './agent-queue.ts';
import { createAgentRegistry } from './agent-registry.ts';
import { withAgentSession } from './agent-session.ts';
import { payloadOf } from './attempt.ts';
import { EventName, type EventLog } from './event-log.ts';
import { createGatewayClient } from './gateway-client.ts';
import { createHandoffInbox } from './handoff-inbox.ts';
import { createMemoryTokenStore, type HandoffTokenStore } from './handoff-tokens.ts';
import { isHandoffSecret, newHandoffSecret } from './handoff-path.ts';
import { createHandoffWatcher, type HandoffWatcher } from './handoff-watcher.ts';
import { createHealthProbe } from './health-probe.ts';
import { refuseOversizedRequest, UNSETTLED_ALLOWANCE_BYTES } from './request-size.ts';
import { createHttpHandoffs, handoffUrl } from './http-handoffs.ts';
import { runAttempts } from './run-attempts.ts';
import { errorResult } from './run-result.ts';
import { createRun, finishRun, logEvent, RunCancelled, type Run, type RunServices, type StartPoint } from './run.ts';
import { newRunId, validateRunId } from './run-id.ts';
import type { EngineSettings } from './settings.ts';
import {
  RunStatus,
  type AgentEndpoint,
  type DelegateOptions,
  type Engine,
  type JournalRun,
  type ResumableRun,
  type RunJournal,
  type RunResult,
} from './types.ts';

export interface EngineOptions {
  readonly settings: EngineSettings;
  readonly log: Logger;
  /** Opens its file at the first line, so a refused request touches none. The engine closes it. */
  readonly eventLog: EventLog;
  readonly journal?: RunJournal | undefined;
  /** Pauses between POST tries inside one attempt (503, connection errors); tests pass zeros. */
  readonly sendRetryDelaysMs?: readonly number[] | undefined;
  /** Where HTTP handoff token hashes are kept (the run store); in memory when absent. */
  readonly handoffTokens?: HandoffTokenStore | undefined;
}

export function createEngine(options: EngineOptions): Engine {
  const { settings, log, journal, eventLog } = options;
  const registry = createAgentRegistry({ registryPath: settings.registryPath, fallback: settings.fallbackAgents, log });
  const gateway = createGatewayClient({
    log,
    tokenFor: settings.hooksToken,
    tokenHintFor: settings.hooksTokenHint,
    healthTimeoutMs: settings.healthTimeoutMs,
    sendTimeoutMs: settings.sendTimeoutMs,
    sendRetryDelaysMs: options.sendRetryDelaysMs,
  });
  const queue = createAgentQueue({ limit: settings.maxConcurrentPerAgent });
  const health = createHealthProbe(gateway);
  const activeRuns = new Map<string, Promise<RunResult>>();
  const shutdown = new AbortController();
  let closed = false;
  // Made on first use: a refused request (bad run id, ACL) touches no file at all.
  let watcher: HandoffWatcher | undefined;
  const { maxHandoffBytes: maxBytes, handoffSettleMs: settleMs } = settings;
  const services: RunServices = {
    gateway,
    handoffs: () => (watcher ??= createHandoffWatcher({ maxBytes, settleMs, log })),
    health,
    journal,
    events: (entry) => eventLog.write(entry),
    completionGraceMs: settings.completionGraceMs,
  };
  // Runs of `http` agents wait in the inbox instead of the directory, with a token per attempt.
  const publicUrl = settings.handoffPublicUrl;
  const inbox = createHandoffInbox((runId) => (publicUrl === undefined ? '' : handoffUrl(publicUrl, runId)));
  const tokens = options.handoffTokens ?? createMemoryTokenStore();
  const httpHandoffs = createHttpHandoffs({ tokens, inbox, publicUrl, log });
  const httpServices: RunServices = { ...services, handoffs: () => inbox, httpHandoff: httpHandoffs.issue };

  /** Queues the run, runs its attempts, and turns a cancellation into its result. */
  function execute(run: Run, startPoint: StartPoint): Promise<RunResult> {
    const http = run.endpoint.handoff === 'http';
    if (http) inbox.open(run.runId);
    const running = (async (): Promise<RunResult> => {
      let slot: QueueSlot | undefined;
      try {
        slot = await takeQueueSlot(queue, services, run);
        return await runAttempts(http ? httpServices : services, run, startPoint);
      } catch (error) {
        if (!(error instanceof RunCancelled) && !run.signal.aborted) throw error;
        return await cancelled(services, run, shutdown.signal.aborted);
      } finally {
        slot?.release();
        if (http) inbox.closeRun(run.runId);
        activeRuns.delete(run.runId);
      }
    })();
    activeRuns.set(run.runId, running);
    return running;
  }

  function newRun(
    journaled: JournalRun & { handoffSecret: string },
    endpoint: AgentEndpoint,
    options: DelegateOptions,
  ): Run {
    const { request, acceptedAt, handoffSecret } = journaled;
    return createRun({
      request,
      endpoint,
      acceptedAt,
      handoffSecret,
      settings,
      log,
      shutdown: shutdown.signal,
      options,
    });
  }

  function refuseWhileClosed(): void {
    if (closed) throw new HqError(ErrorCode.SHUTTING_DOWN, 'hq-delegate is shutting down; try again in a moment');
  }

  function refuseDuplicate(runId: string): void {
    if (activeRuns.has(runId)) throw new UsageError(`Run '${runId}' is already running`);
  }

  function refuseHttpWithoutListener(endpoint: AgentEndpoint): void {
    if (endpoint.handoff !== 'http' || publicUrl !== undefined) return;
    throw new ConfigError(
      `Agent '${endpoint.name}' hands off over HTTP, but handoffListener is not configured: ` +
        'set handoffListener { host, port, publicUrl } in the config file, or give the agent handoff "file"',
    );
  }

  return {
    async delegate(request, delegateOptions = {}) {
      refuseWhileClosed();
      const acceptedAt = Date.now();
      const runId = validateRunId(request.runId ?? newRunId(acceptedAt));
      if (typeof request.task !== 'string' || request.task.trim() === '') throw new UsageError('The task is empty');
      const endpoint = registry.resolve(request.agent);
      const principal = authorizeOrRefuse(settings, eventLog, runId, endpoint.name, request.principals);
      refuseHttpWithoutListener(endpoint);
      refuseDuplicate(runId);
      const handoffSecret = newHandoffSecret();
      const journaled = {
        runId,
        request: withAgentSession({ ...request, runId }, endpoint),
        acceptedAt,
        handoffSecret,
      };
      const run = newRun(journaled, endpoint, delegateOptions);
      // Refused before anything is sent or journaled: the gateway would answer 413.
      refuseOversizedRequest(endpoint, payloadOf(run, 1, run.handoff.file), request.context, UNSETTLED_ALLOWANCE_BYTES);
      await journal?.runAccepted(journaled);
      const { maximumAttempts: maxAttempts, timeoutSeconds } = run.policy;
      run.log.info({ principal, maxAttempts, timeoutSeconds }, 'run accepted');
      return execute(run, { kind: 'fresh' });
    },

    async resume(pending: ResumableRun, delegateOptions = {}) {
      refuseWhileClosed();
      const runId = validateRunId(pending.runId);
      const endpoint = registry.resolve(pending.request.agent);
      refuseHttpWithoutListener(endpoint);
      refuseDuplicate(runId);
      // Authorised when it was accepted; resuming continues that decision. A run journaled before
      // handoff secrets existed gets one now: its old public path is not to be trusted.
      const handoffSecret = isHandoffSecret(pending.handoffSecret) ? pending.handoffSecret : newHandoffSecret();
      const journaled = {
        runId,
        request: withAgentSession({ ...pending.request, runId }, endpoint),
        acceptedAt: pending.acceptedAt,
        handoffSecret,
      };
      const run = newRun(journaled, endpoint, delegateOptions);
      run.attemptsMade = Math.max(0, pending.attempt - (pending.sent ? 0 : 1));
      if (pending.retryNote !== undefined) run.prevError = pending.retryNote;
      run.log.info({ attempt: pending.attempt, sent: pending.sent, deadline: pending.deadline }, 'run resumed');
      return execute(run, startPointOf(pending));
    },

    agents: () => registry.list(),
    // Asked for explicitly (the bot at connect, /agents): a probe of its own, sent now.
    health: async (agent) => health.now(registry.resolve(agent)),
    cachedHealth: (agent) => health.cached(agent),
    queueDepth: (agent) => queue.waiting(agent),
    recordEvent: (entry) => eventLog.write(entry),
    handoffs: {
      check: httpHandoffs.check,
      receive: httpHandoffs.receive,
      deliverRelayed: httpHandoffs.deliverRelayed,
    },

    async close() {
      if (closed) return;
      closed = true;
      shutdown.abort(new HqError(ErrorCode.SHUTTING_DOWN, 'hq-delegate is shutting down'));
      await Promise.allSettled([...activeRuns.values()]);
      await Promise.all([watcher?.close(), inbox.close(), gateway.close()]);
      eventLog.close();
    },
  };
}

/** A place in the agent's queue; progress and the event log hear the run's position. */
async function takeQueueSlot(queue: AgentQueue, services: RunServices, run: Run): Promise<QueueSlot> {
  let queuedLogged = false;
  const onPosition = (position: number): void => {
    run.emit({ type: 'queued', runId: run.runId, position });
    if (queuedLogged) return;
    queuedLogged = true;
    logEvent(services, run, EventName.queued, { detail: `position ${position}`, extra: { position } });
  };
  let slot: QueueSlot;
  try {
    slot = await queue.acquire(run.agent, { signal: run.signal, onPosition });
  } catch (error) {
    if (run.signal.aborted) throw new RunCancelled();
    throw error;
  }
  if (!slot.waited) run.emit({ type: 'queued', runId: run.runId, position: 0 });
  return slot;
}

/** The result of a run whose signal aborted: by its caller, or by the engine shutting down. */
async function cancelled(services: RunServices, run: Run, byShutdown: boolean): Promise<RunResult> {
  const notes = byShutdown
    ? 'Cancelled: hq-delegate is shutting down (the run can be resumed)'
    : 'Cancelled by the caller';
  logEvent(services, run, EventName.cancelled, { detail: notes, attempt: Math.max(run.attemptsMade, 1) });
  // On shutdown the journal keeps the run open, so a restarted process resumes it.
  if (!byShutdown && run.attemptsMade > 0)
    await services.journal?.attemptEnded(run.runId, run.attemptsMade, 'cancelled', notes);
  const result = errorResult(run, RunStatus.cancelled, notes, byShutdown ? ErrorCode.SHUTTING_DOWN : undefined);
  return finishRun(services, run, result, !byShutdown);
}

/** Throws AccessDeniedError (and logs acl_denied) unless one of the principals may delegate to the agent. */
function authorizeOrRefuse(
  settings: EngineSettings,
  eventLog: EventLog,
  runId: string,
  agent: string,
  asked: readonly string[],
): string {
  const principals = Array.isArray(asked) ? asked : [];
  const decision = authorize(principals, agent, settings.acl());
  if (decision.allowed) return decision.principal;
  const detail = `caller=${principals.join(',')}`;
  eventLog.write({ runId, agent, event: EventName.aclDenied, detail, extra: { code: decision.code } });
  throw new AccessDeniedError(`ACL denied: ${decision.reason}`);
}

/** Where a journaled run picks up: waiting for its sent attempt until the original deadline, or sending it. */
function startPointOf(pending: ResumableRun): StartPoint {
  if (!pending.sent || pending.deadline === undefined) return { kind: 'resume-unsent', attempt: pending.attempt };
  const startedAt = pending.attemptStartedAt ?? pending.acceptedAt;
  return { kind: 'resume-sent', attempt: pending.attempt, startedAt, deadline: pending.deadline };
}
