/**
 * What a restarted bot does once READY, so a restart loses nothing: deliver finished results,
 * resume open runs with their original deadlines, finish progress messages left spinning, and
 * take the mentions sent while it was down.
 */
import { InteractionWebhook, type Client } from 'discord.js';
import { ErrorCode, isHqError } from '../../errors.ts';
import type { ResumableRun, RunResult } from '../../engine/types.ts';
import { RunStatus } from '../../engine/types.ts';
import type { ProgressMessage } from '../../store/run-store.ts';
import type { BotContext } from '../bot-context.ts';
import type { MentionHandler } from './mention-handler.ts';
import { takeMissedMentions, type MissedMentionsReport } from './missed-mentions.ts';
import { NO_PINGS } from '../render/no-pings.ts';
import { notResumed, RESTARTED_BEFORE_START } from '../render/strings.ts';
import { replyKindOf, restoreReply } from '../delivery/outbox.ts';
import { isMessageId, ORIGINAL, type ReplyTarget } from '../delivery/reply-target.ts';
import { RESULT_DELIVERY_KIND } from '../delivery/result-link.ts';
import { resumeDelegation } from '../runs/run-delegation.ts';
import { restoreQueuedFollowUps } from '../runs/queued-follow-up.ts';
import { parseOrigin, type RunOrigin } from '../runs/run-origin.ts';

/** A finished run this recent without any delivery record died before its outbox entry. */
export const FORGOTTEN_RESULT_WINDOW_MS = 24 * 60 * 60_000;
const RECENT_RUNS_SCANNED = 200;

export interface RecoveryReport {
  readonly resumed: number;
  readonly undelivered: number;
  readonly progressCleared: number;
  readonly missed: MissedMentionsReport;
}

export async function recoverAfterRestart(
  context: BotContext,
  mentions: MentionHandler,
  track: (work: Promise<unknown>) => void,
): Promise<RecoveryReport> {
  const { ledger, log } = context;
  const forgotten = await enqueueForgotten(context);
  if (forgotten > 0)
    log.warn(
      { runs: forgotten },
      'finished runs without an outbox entry (the process died in between) are delivered now',
    );
  const undelivered = new Set((await ledger.pendingDeliveries()).map((delivery) => delivery.runId)).size;
  const delivering = context.outbox.drain();

  const progress = new Map((await ledger.progressMessages()).map((message) => [message.runId, message] as const));
  const open = new Set<string>();
  let resumed = 0;
  for (const pending of await ledger.listResumable()) {
    open.add(pending.runId);
    const origin = parseOrigin(pending.request.origin);
    if (!origin) {
      log.warn(
        { runId: pending.runId },
        "an open run without a Discord origin is not the bot's to resume; left as it is",
      );
      continue;
    }
    const reply = restoreReply({
      client: context.client,
      log,
      runId: pending.runId,
      origin,
      progress: progress.get(pending.runId),
      ledger,
    });
    // A resumed run of a result thread holds the thread's turn: its queued follow-ups wait behind it.
    const resuming = (): Promise<void> => resume(context, pending, origin, reply);
    const threadId = origin.threadId;
    track(
      threadId === undefined ? resuming() : context.threads.enter(threadId, { runId: pending.runId, start: resuming }),
    );
    resumed += 1;
  }
  // Their waiting notes are their replies: kept, not finished as leftovers.
  const queued = await restoreQueuedFollowUps(context, track);
  for (const runId of queued) open.add(runId);
  if (queued.length > 0) log.info({ queued: queued.length }, 'queued follow-ups back in their threads');

  const pendingRuns = new Set((await ledger.pendingDeliveries()).map((delivery) => delivery.runId));
  let progressCleared = 0;
  for (const message of progress.values()) {
    if (open.has(message.runId) || pendingRuns.has(message.runId)) continue;
    progressCleared += 1;
    track(finishLeftover(context, message));
  }

  const missed = await takeMissedMentions(context, mentions, track);
  await delivering;
  const report = { resumed, undelivered, progressCleared, missed };
  log.info(report, 'recovered after restart');
  return report;
}

async function resume(
  context: BotContext,
  pending: ResumableRun,
  origin: RunOrigin,
  reply: ReplyTarget,
): Promise<void> {
  try {
    await resumeDelegation(context, pending, origin, reply);
  } catch (error) {
    if (isHqError(error) && error.code === ErrorCode.SHUTTING_DOWN) return;
    // The engine cannot go on with it (its agent left the registry…): end it with that reason,
    // journaled and delivered like any other result, rather than retrying it at every start.
    context.log.error({ err: error, runId: pending.runId }, 'a run could not be resumed; it ends here');
    const result: RunResult = {
      status: RunStatus.error,
      result: null,
      notes: notResumed((error as Error).message),
      runId: pending.runId,
      agent: pending.request.agent,
      latencyMs: Math.max(0, Date.now() - pending.acceptedAt),
      attempts: Math.max(0, pending.attempt - (pending.sent ? 0 : 1)),
      ...(isHqError(error) ? { code: error.code } : {}),
    };
    await context.ledger.runFinished(result);
    // Ended here, not by the engine, so the engine's metrics journal never sees it: count it.
    context.metrics?.runFinished(result.status);
    await context.outbox.enqueue({ runId: pending.runId, result, origin, reply });
    await context.outbox.deliver(pending.runId);
  }
}

/** A run over and delivered only needs forgetting; one never journaled gets a last word. */
async function finishLeftover(context: BotContext, message: ProgressMessage): Promise<void> {
  if (message.runStatus === undefined) {
    const payload = { content: RESTARTED_BEFORE_START, embeds: [], components: [], allowedMentions: NO_PINGS };
    const applicationId = context.client.application?.id;
    try {
      if (message.interactionToken !== undefined && applicationId !== undefined) {
        await new InteractionWebhook(
          context.client as Client<true>,
          applicationId,
          message.interactionToken,
        ).editMessage(ORIGINAL, payload);
      } else if (isMessageId(message.messageId)) {
        const channel = await context.client.channels.fetch(message.channelId);
        if (channel?.isSendable()) await channel.messages.edit(message.messageId, payload);
      }
    } catch (error) {
      context.log.warn(
        { err: error, runId: message.runId },
        'could not correct a progress message left by the previous process',
      );
    }
  }
  await context.ledger.clearProgressMessage(message.runId);
  context.log.info(
    { runId: message.runId, journaled: message.runStatus !== undefined },
    'progress message left by the previous process finished',
  );
}

/** Finished in the journal, absent from the outbox; the window keeps a store older than the outbox quiet. */
async function enqueueForgotten(context: BotContext): Promise<number> {
  const since = Date.now() - FORGOTTEN_RESULT_WINDOW_MS;
  let count = 0;
  for (const run of await context.ledger.recentRuns({ limit: RECENT_RUNS_SCANNED })) {
    if (run.finishedAt === undefined || run.finishedAt < since || run.result === undefined) continue;
    const origin = parseOrigin(run.origin);
    if (!origin) continue;
    if (
      (await context.ledger.getDelivery(run.runId, RESULT_DELIVERY_KIND)) ||
      (await context.ledger.getDelivery(run.runId, replyKindOf(origin)))
    )
      continue;
    await context.outbox.enqueue({ runId: run.runId, result: run.result, origin });
    count += 1;
  }
  return count;
}
