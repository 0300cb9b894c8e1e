/**
 * A follow-up in a result thread takes its thread's turn (thread-queue.ts). When a run of the
 * thread is going on, the follow-up is journaled as queued (so /runs shows it and a restart
 * starts it in order), answered in the thread with whom it waits behind and a Cancel button for
 * its author, and started, in the same reply, once the runs ahead have ended.
 */
import { ButtonStyle, ComponentType, MessageFlags, type ButtonInteraction } from 'discord.js';
import { AccessDeniedError, ErrorCode, HqError, isHqError } from '../../errors.ts';
import { RunStatus, type RunResult } from '../../engine/types.ts';
import { QUEUED, type QueuedRun } from '../../store/run-store.ts';
import type { BotContext } from '../bot-context.ts';
import { BUTTON_ID_SEPARATOR } from '../command.ts';
import { restoreReply } from '../delivery/outbox.ts';
import type { ReplyPayload, ReplyTarget } from '../delivery/reply-target.ts';
import { NO_PINGS } from '../render/no-pings.ts';
import {
  followUpQueued,
  notResumed,
  QUEUED_CANCELLED_NOTE,
  QUEUED_NO_LONGER_WAITING,
  queuedCancelled,
  queuedCancelNotAllowed,
} from '../render/strings.ts';
import { followUpContext, resultThreadOf, type ResultThread } from '../events/follow-up.ts';
import { rememberedDelegationOf } from './active-runs.ts';
import { parseOrigin, type RunOrigin } from './run-origin.ts';
import { delegationRequestOf, runDelegation, type DelegationStart } from './run-delegation.ts';

/** The Cancel button of a waiting follow-up: `cancel-queued:<runId>`, its author's alone. */
export const QUEUED_CANCEL_PREFIX = 'cancel-queued';

export function queuedView(runId: string, aheadRunId: string): ReplyPayload {
  return {
    content: followUpQueued(runId, aheadRunId),
    embeds: [],
    components: [
      {
        type: ComponentType.ActionRow,
        components: [
          {
            type: ComponentType.Button,
            style: ButtonStyle.Danger,
            label: 'Cancel',
            custom_id: `${QUEUED_CANCEL_PREFIX}${BUTTON_ID_SEPARATOR}${runId}`,
          },
        ],
      },
    ],
  };
}

/**
 * Runs the follow-up in its thread's turn. A refusal of a follow-up that starts at once is thrown,
 * as for any run; a queued one that cannot start when its turn comes ends with that reason.
 */
export async function runInThread(context: BotContext, start: DelegationStart, thread: ResultThread): Promise<void> {
  const { runId } = start;
  const { threadId } = thread;
  const ahead = context.threads.last(threadId);
  if (ahead === undefined) {
    let failure: { readonly error: unknown } | undefined;
    const run = (): Promise<unknown> =>
      withThreadContext(context, start, thread)
        .then((withContext) => runDelegation(context, withContext))
        .catch((error: unknown) => (failure = { error }));
    await context.threads.enter(threadId, { runId, start: run });
    if (failure !== undefined) throw failure.error;
    return;
  }
  const request = await delegationRequestOf(context, start);
  await context.ledger.runQueued({ runId, request, acceptedAt: Date.now() });
  context.engine.recordEvent({
    runId,
    agent: request.agent,
    event: 'queued',
    detail: `behind ${ahead} in thread ${threadId}`,
    extra: { behind: ahead, threadId },
  });
  // Journaled: a restart finds it, so the mention's cursor may pass.
  start.onStarted?.();
  // Shown before the turn can start, so the progress never races the waiting note.
  const shown = start.reply
    .show(queuedView(runId, ahead))
    .then(() => undefined)
    .catch((error: unknown) => context.log.warn({ err: error, runId }, 'could not say the follow-up waits'));
  await context.threads.enter(threadId, {
    runId,
    start: async () => {
      await shown;
      await startQueued(context, { ...start, session: request.session }, thread);
    },
  });
}

/**
 * The thread's earlier tasks and results, as they stand when the run's turn comes (a queued
 * follow-up sees the result of the run it waited for), before the caller's own context.
 */
async function withThreadContext(
  context: BotContext,
  start: DelegationStart,
  thread: ResultThread,
): Promise<DelegationStart> {
  const maxChars = context.config().discord.contextMaxChars;
  const earlier = await followUpContext(context.ledger, thread, maxChars, start.runId);
  const merged = [earlier, start.delegation.context].filter(Boolean).join('\n\n');
  const { context: _own, ...delegation } = start.delegation;
  return { ...start, delegation: merged === '' ? delegation : { ...delegation, context: merged } };
}

/** The queued run's turn: started, unless it ended meanwhile; a refusal ends it, delivered like any result. */
async function startQueued(context: BotContext, start: DelegationStart, thread: ResultThread): Promise<void> {
  const run = await context.ledger.getRun(start.runId);
  if (run?.status !== QUEUED || run.request === undefined) return;
  try {
    await runDelegation(context, await withThreadContext(context, start, thread));
  } catch (error) {
    if (isHqError(error) && error.code === ErrorCode.SHUTTING_DOWN) return;
    // Accepted by the engine, then stopped by a fault: the journal has it, a restart resumes it.
    if ((await context.ledger.getRun(start.runId))?.status !== QUEUED) {
      context.log.error({ err: error, runId: start.runId }, 'a follow-up failed after its turn came');
      return;
    }
    context.log.warn({ err: error, runId: start.runId }, 'a queued follow-up could not start; it ends here');
    const queued = { runId: start.runId, request: run.request, acceptedAt: run.acceptedAt };
    await endQueued(context, queued, start.origin, {
      status: RunStatus.error,
      notes: notResumed((error as Error).message),
      ...(isHqError(error) ? { code: error.code } : {}),
    });
  }
}

/** A queued run that never reached the engine, ended: journaled, logged and delivered once. */
async function endQueued(
  context: BotContext,
  run: QueuedRun,
  origin: RunOrigin,
  end: { readonly status: RunStatus; readonly notes: string; readonly code?: string; readonly by?: string },
): Promise<void> {
  const { runId, request } = run;
  const result: RunResult = {
    status: end.status,
    result: null,
    notes: end.notes,
    runId,
    agent: request.agent,
    latencyMs: Math.max(0, Date.now() - run.acceptedAt),
    attempts: 0,
    ...(end.code === undefined ? {} : { code: end.code }),
  };
  await context.ledger.runFinished(result);
  // A refusal at the start was logged by the engine (acl_denied…); a cancel never reached it.
  if (end.by !== undefined)
    context.engine.recordEvent({
      runId,
      agent: request.agent,
      event: 'cancelled',
      detail: end.notes,
      extra: { by: end.by },
    });
  context.metrics?.runFinished(result.status);
  // The reply is the waiting note, found through the store.
  await context.outbox.enqueue({ runId, result, origin });
  await context.outbox.deliver(runId);
}

/** The Cancel button: its author's alone, once; the run ends cancelled without reaching the agent. */
export async function cancelQueued(interaction: ButtonInteraction, context: BotContext, runId: string): Promise<void> {
  const run = await context.ledger.getRun(runId);
  const origin = parseOrigin(run?.origin);
  if (run?.status !== QUEUED || run.request === undefined || origin === undefined)
    throw new HqError(ErrorCode.USAGE, QUEUED_NO_LONGER_WAITING);
  if (interaction.user.id !== origin.requesterId)
    throw new AccessDeniedError(queuedCancelNotAllowed(origin.requesterId));
  if (!context.threads.withdraw(runId)) throw new HqError(ErrorCode.USAGE, QUEUED_NO_LONGER_WAITING);
  context.log.info({ runId, by: interaction.user.id }, 'queued follow-up cancelled from Discord');
  await interaction.reply({
    content: queuedCancelled(runId),
    flags: MessageFlags.Ephemeral,
    allowedMentions: NO_PINGS,
  });
  const queued = { runId, request: run.request, acceptedAt: run.acceptedAt };
  await endQueued(context, queued, origin, {
    status: RunStatus.cancelled,
    notes: QUEUED_CANCELLED_NOTE,
    by: interaction.user.id,
  });
}

/**
 * After a restart: the queued follow-ups back in their threads' turns, oldest first, behind the
 * runs resumed there. Called after those runs have entered their turns; returns the run ids.
 */
export async function restoreQueuedFollowUps(
  context: BotContext,
  track: (work: Promise<unknown>) => void,
): Promise<string[]> {
  const progress = new Map(
    (await context.ledger.progressMessages()).map((message) => [message.runId, message] as const),
  );
  const restored: string[] = [];
  for (const queued of await context.ledger.queuedRuns()) {
    const { runId, request } = queued;
    const origin = parseOrigin(request.origin);
    const thread = origin?.threadId === undefined ? undefined : await resultThreadOf(context.ledger, origin.threadId);
    if (origin === undefined || thread === undefined) {
      context.log.warn({ runId }, 'a queued run without a thread is not the bot’s to start; left as it is');
      continue;
    }
    const reply: ReplyTarget = restoreReply({
      client: context.client,
      log: context.log,
      runId,
      origin,
      progress: progress.get(runId),
      ledger: context.ledger,
    });
    const start: DelegationStart = {
      runId,
      delegation: rememberedDelegationOf(request),
      principals: request.principals,
      origin,
      reply,
      session: request.session,
    };
    track(context.threads.enter(thread.threadId, { runId, start: () => startQueued(context, start, thread) }));
    restored.push(runId);
  }
  return restored;
}
