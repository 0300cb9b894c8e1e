/**
 * One run in flight, and what it is run with. The engine makes it (engine.ts), run-attempts.ts
 * takes it through its attempts (attempt.ts) and `finishRun` hands over its one result.
 */
import type { Logger } from '../log.ts';
import type { EventEntry, EventName } from './event-log.ts';
import type { GatewayClient } from './gateway-client.ts';
import { agentHandoffDir, handoffFileOf, removeRunHandoffs, type HandoffSpot } from './handoff-path.ts';
import type { HandoffWatcher } from './handoff-watcher.ts';
import type { HealthProbe } from './health-probe.ts';
import { resolveDeliver } from './prompt.ts';
import { createRetryPolicy, type AttemptOutcome, type RetryPolicy } from './retry-policy.ts';
import type { EngineSettings } from './settings.ts';
import type { AgentEndpoint, DelegateOptions, DelegationRequest, RunJournal, RunProgress, RunResult } from './types.ts';

export interface Run {
  readonly runId: string;
  readonly agent: string;
  readonly endpoint: AgentEndpoint;
  readonly request: DelegationRequest;
  readonly policy: RetryPolicy;
  readonly strict: boolean;
  readonly deliver: boolean;
  readonly wait: boolean;
  /** The gateway holds the POST until the agent's run settles (waitForCompletion). */
  readonly completionMode: boolean;
  readonly acceptedAt: number;
  /** Aborted by the caller or by the engine's shutdown. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  readonly emit: (progress: RunProgress) => void;
  /** The one file this run reads its answer from; its name carries the run's secret. */
  readonly handoff: HandoffSpot;
  /** Why the previous attempt failed: the next prompt's retry note. */
  prevError: string | undefined;
  attemptsMade: number;
}

/** What a run uses from the engine that runs it. */
export interface RunServices {
  readonly gateway: GatewayClient;
  /** Made at its first use, so a refused request touches no file. */
  readonly handoffs: () => HandoffWatcher;
  readonly health: HealthProbe;
  readonly journal: RunJournal | undefined;
  readonly events: (entry: EventEntry) => void;
  readonly completionGraceMs: number;
  /** Only for a run of an `http` agent: a new PUT target and token for the attempt's prompt. */
  readonly httpHandoff?: ((runId: string, attempt: number) => Promise<{ url: string; token: string }>) | undefined;
}

export interface NewRun {
  readonly request: DelegationRequest & { readonly runId: string };
  readonly endpoint: AgentEndpoint;
  readonly acceptedAt: number;
  /** Journaled with the run, so a restarted process waits on the same path. */
  readonly handoffSecret: string;
  readonly settings: EngineSettings;
  readonly log: Logger;
  /** Aborted when the engine shuts down. */
  readonly shutdown: AbortSignal;
  readonly options: DelegateOptions;
}

/** A run as accepted (or resumed): its retry policy and modes settled from request, agent and settings. */
export function createRun(input: NewRun): Run {
  const { request, endpoint, settings, log, options } = input;
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
    acceptedAt: input.acceptedAt,
    handoff: {
      file: handoffFileOf(
        agentHandoffDir(settings.handoffDir, endpoint.name, endpoint.handoffDir),
        request.runId,
        input.handoffSecret,
      ),
      pollIntervalMs: endpoint.handoffPollMs,
    },
    signal: AbortSignal.any([input.shutdown, ...(options.signal === undefined ? [] : [options.signal])]),
    log: log.child({ runId: request.runId, agent: endpoint.name }),
    emit: (progress) => {
      try {
        options.onProgress?.(progress);
      } catch (error) {
        log.warn(
          { err: error, runId: request.runId, progress: progress.type },
          'a progress listener threw; the run goes on',
        );
      }
    },
    prevError: undefined,
    attemptsMade: 0,
  };
}

/** Thrown inside a run when its signal aborts; turned into a `cancelled` result by the engine. */
export class RunCancelled extends Error {}

/** Where a run starts: fresh, or resumed after a restart before or after its attempt was sent. */
export type StartPoint =
  | { readonly kind: 'fresh' }
  | { readonly kind: 'resume-unsent'; readonly attempt: number }
  | { readonly kind: 'resume-sent'; readonly attempt: number; readonly startedAt: number; readonly deadline: number };

/** How one attempt ended: an outcome to judge, or (not waiting) only sent. */
export type AttemptEnd =
  | { readonly outcome: AttemptOutcome; readonly startedAt: number; readonly gatewayRunId?: string | undefined }
  | { readonly sentOnly: true; readonly gatewayRunId?: string | undefined };

/** One event-log line about this run. */
export function logEvent(
  services: RunServices,
  run: Run,
  event: EventName,
  fields: Omit<EventEntry, 'runId' | 'agent' | 'event'> = {},
): void {
  services.events({ runId: run.runId, agent: run.agent, event, ...fields });
}

/** The run's end: journaled (unless the run stays open for a resume), told to the caller, logged. */
export async function finishRun(
  services: RunServices,
  run: Run,
  result: RunResult,
  journal = true,
): Promise<RunResult> {
  if (journal) {
    await services.journal?.runFinished(result);
    // The result is on record: the run's files are no longer needed, in the agent's directory or anywhere.
    removeRunHandoffs(run.handoff.file, run.attemptsMade);
  }
  run.emit({ type: 'done', runId: run.runId, result });
  run.log.info(
    { status: result.status, attempts: result.attempts, latencyMs: result.latencyMs, code: result.code },
    'run finished',
  );
  return result;
}
