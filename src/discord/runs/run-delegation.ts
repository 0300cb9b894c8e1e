/**
 * One delegation as the Discord side drives it, whoever asked and whether it starts now or
 * after a restart: register the run, stream throttled progress, wait for the engine, then hand
 * the result to the outbox. A run stopped by the bot's own shutdown stays open for the restart.
 */
import { ErrorCode } from '../../errors.ts';
import type {
  AgentSession,
  DelegationRequest,
  DelegateOptions,
  ResumableRun,
  RunProgress,
  RunResult,
} from '../../engine/types.ts';
import { RunStatus } from '../../engine/types.ts';
import { rememberedDelegationOf, type RememberedDelegation } from './active-runs.ts';
import type { BotContext } from '../bot-context.ts';
import { pausedReply } from '../delivery/final-reply.ts';
import type { DeliveryState } from '../delivery/outbox.ts';
import {
  createProgressThrottle,
  renderProgress,
  type ProgressThrottle,
  type ProgressView,
} from '../render/progress-view.ts';
import type { ReplyTarget } from '../delivery/reply-target.ts';
import { runStopped } from '../render/strings.ts';
import type { RunOrigin } from './run-origin.ts';
import { sessionOfRun } from './thread-session.ts';

/** How often a waiting run's reply is refreshed when nothing else happens. */
export const PROGRESS_TICK_MS = 10_000;

export interface DelegationStart {
  readonly runId: string;
  readonly delegation: RememberedDelegation;
  readonly principals: readonly string[];
  readonly origin: RunOrigin;
  readonly reply: ReplyTarget;
  /** Called once the engine has journaled or refused the run: a mention's cursor may then pass it. */
  readonly onStarted?: () => void;
  /** Absent: the run's thread session, if it has one (thread-session.ts). */
  readonly session?: AgentSession | undefined;
  /** Set when an approver let it through (discord/approvals/): it is not held again. */
  readonly approved?: boolean;
}

export type DelegationOutcome =
  | { readonly kind: 'finished'; readonly runId: string; readonly result: RunResult; readonly delivery: DeliveryState }
  | { readonly kind: 'paused'; readonly runId: string }
  | { readonly kind: 'awaiting-approval'; readonly runId: string };

interface DrivenRun {
  readonly runId: string;
  readonly delegation: RememberedDelegation;
  readonly origin: RunOrigin;
  readonly reply: ReplyTarget;
  readonly startedAt: number;
  readonly resumed: boolean;
  /** Shown before the engine's first event (a resumed run shows where it stood). */
  readonly initial?: ProgressView['state'] | undefined;
  readonly onStarted?: (() => void) | undefined;
  readonly execute: (options: DelegateOptions) => Promise<RunResult>;
}

/** What the engine is asked (and a queued follow-up journaled with) for this start. */
export async function delegationRequestOf(
  context: BotContext,
  start: DelegationStart,
): Promise<DelegationRequest & { readonly runId: string }> {
  const { delegation, origin, runId } = start;
  const session = start.session ?? (await sessionOfRun(context, runId, delegation.agent, origin));
  return {
    runId,
    ...rememberedDelegationOf(delegation),
    principals: start.principals,
    // The bot's embed is the delivery; the gateway must not announce the run itself.
    deliver: false,
    origin: { ...origin },
    ...(session === undefined ? {} : { session }),
  };
}

export async function runDelegation(context: BotContext, start: DelegationStart): Promise<DelegationOutcome> {
  const { delegation, origin, runId } = start;
  // The one place a delegation may be held for a human before it starts.
  if (start.approved !== true && (await context.approvals?.hold(context, start)) === true)
    return { kind: 'awaiting-approval', runId };
  const request = await delegationRequestOf(context, start);
  return drive(context, {
    runId,
    delegation,
    origin,
    reply: start.reply,
    startedAt: Date.now(),
    resumed: false,
    onStarted: start.onStarted,
    execute: (options) => context.engine.delegate(request, options),
  });
}

/** A run found open in the journal after a restart: continue it, answering where it was asked. */
export function resumeDelegation(
  context: BotContext,
  pending: ResumableRun,
  origin: RunOrigin,
  reply: ReplyTarget,
): Promise<DelegationOutcome> {
  const { request } = pending;
  const delegation = rememberedDelegationOf(request);
  const maxAttempts = Math.min(Math.max(request.maxAttempts ?? context.config().engine.defaultMaxAttempts, 1), 3);
  const initial: RunProgress | undefined =
    pending.sent && pending.deadline !== undefined
      ? {
          type: 'waiting',
          runId: pending.runId,
          attempt: pending.attempt,
          maxAttempts,
          startedAt: pending.attemptStartedAt ?? pending.acceptedAt,
          deadline: pending.deadline,
        }
      : undefined;
  return drive(context, {
    runId: pending.runId,
    delegation,
    origin,
    reply,
    startedAt: pending.acceptedAt,
    resumed: true,
    initial: initial ?? 'accepted',
    execute: (options) => context.engine.resume(pending, options),
  });
}

/** The engine was closed under a waiting run: the run is kept, not ended. */
function isPausedByShutdown(result: RunResult): boolean {
  return result.status === RunStatus.cancelled && result.code === ErrorCode.SHUTTING_DOWN;
}

async function drive(context: BotContext, run: DrivenRun): Promise<DelegationOutcome> {
  const config = context.config();
  const { runId, delegation, origin, reply } = run;
  const log = context.log.child({ runId, agent: delegation.agent, requesterId: origin.requesterId });
  const controller = new AbortController();
  context.runs.add({
    runId,
    agent: delegation.agent,
    requesterId: origin.requesterId,
    depth: origin.depth,
    controller,
    startedAt: run.startedAt,
  });
  context.runs.remember(runId, delegation);
  // Recorded before the run starts: a restart must find the reply even if nothing was shown yet.
  const where = reply.location();
  if (where) await context.ledger.recordProgressMessage(runId, where);

  let started = false;
  const markStarted = (): void => {
    if (started) return;
    started = true;
    run.onStarted?.();
  };

  // A fresh run shows nothing before the engine's first event: a request it refuses outright
  // (unknown agent, ACL) then leaves the reply untouched, and the refusal is answered once, privately.
  let latest: ProgressView['state'] | undefined = run.initial;
  let shown = false;
  const throttle = createProgressThrottle<ProgressView['state']>({
    intervalMs: config.discord.progressEditIntervalMs,
    edit: async (state) => {
      shown = true;
      await reply.show(
        renderProgress({
          runId,
          agent: delegation.agent,
          state,
          startedAt: run.startedAt,
          now: Date.now(),
          requesterId: origin.requesterId,
          resumed: run.resumed,
        }),
      );
    },
    onError: (error) => log.warn({ err: error }, 'progress edit failed'),
  });
  // Events only come on changes; the ticker keeps "waiting — 40 s" moving between them.
  const ticker = setInterval(
    () => {
      if (latest !== undefined) throttle.push(latest);
    },
    Math.max(config.discord.progressEditIntervalMs, PROGRESS_TICK_MS),
  );
  ticker.unref();
  // The previous process's reply says "resumed after restart" at once.
  if (run.resumed && latest !== undefined) throttle.push(latest);

  let result: RunResult;
  try {
    log.info(
      { depth: origin.depth, kind: origin.kind, resumed: run.resumed },
      run.resumed ? 'delegation resumed' : 'delegation started',
    );
    result = await run.execute({
      signal: controller.signal,
      onProgress: (progress) => {
        markStarted();
        if (progress.type === 'done') return;
        latest = progress;
        throttle.push(progress);
      },
    });
  } catch (error) {
    markStarted();
    // Never leave a spinning progress message with a live Cancel button behind.
    await settle(throttle);
    if (shown)
      await reply.show({ content: runStopped((error as Error).message), embeds: [], components: [] }).catch(() => {});
    await context.ledger.clearProgressMessage(runId);
    await context.ledger.forgetInteractionToken(runId);
    throw error;
  } finally {
    clearInterval(ticker);
    context.runs.remove(runId);
  }
  markStarted();
  // Drop a pending progress edit, but let one in flight land first so it cannot overwrite the answer.
  await settle(throttle);

  if (isPausedByShutdown(result)) {
    log.info('paused by the shutdown; the restarted bot resumes it');
    await reply
      .show(pausedReply(runId, false))
      .catch((error: unknown) => log.warn({ err: error }, 'could not say the run is paused'));
    return { kind: 'paused', runId };
  }
  log.info({ status: result.status, attempts: result.attempts, latencyMs: result.latencyMs }, 'delegation finished');
  // Written down before anything is posted: from here a restart delivers it, and only once.
  await context.outbox.enqueue({ runId, result, origin, reply });
  if (context.shutdown.aborted) {
    await reply
      .show(pausedReply(runId, true))
      .catch((error: unknown) => log.warn({ err: error }, 'could not say the result waits for the restart'));
    return { kind: 'finished', runId, result, delivery: 'pending' };
  }
  return { kind: 'finished', runId, result, delivery: await context.outbox.deliver(runId) };
}

async function settle(throttle: ProgressThrottle<unknown>): Promise<void> {
  throttle.stop();
  await throttle.flush();
}
