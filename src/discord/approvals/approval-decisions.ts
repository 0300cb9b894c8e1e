/**
 * What follows a decision, whoever made it (a button, the expiry timer): the event log line, the
 * card showing the decision, the requester told, and for an approval the run started.
 */
import type { EventEntry, EventLog } from '../../engine/event-log.ts';
import { ApprovalState } from '../../store/schema.ts';
import type { BotContext } from '../bot-context.ts';
import { FAILED, react, TAKEN, unreact } from '../delivery/mention-reactions.ts';
import { NO_PINGS } from '../render/no-pings.ts';
import { describeError } from '../events/interaction-router.ts';
import { approvedBy, expiredAt, rejectedBy, runApprovalExpired, runRejected, runStopped } from '../render/strings.ts';
import { runDelegation } from '../runs/run-delegation.ts';
import { renderApprovalCard, type ApprovalCard } from './approval-card.ts';
import { cardInputOf, heldReply, type HeldApproval } from './approval-record.ts';

/** The engine's event log as the Discord side may use it: append only. */
export type ApprovalEvents = Pick<EventLog, 'write'>;

type Decided = Exclude<ApprovalState, typeof ApprovalState.awaiting>;

const EVENT_OF = {
  [ApprovalState.awaiting]: 'approval_requested',
  [ApprovalState.approved]: 'approval_approved',
  [ApprovalState.rejected]: 'approval_rejected',
  [ApprovalState.expired]: 'approval_expired',
} as const satisfies Record<ApprovalState, EventEntry['event']>;

/** One line per request and per decision, with who made it (`system` for an expiry). */
export function logDecision(
  events: ApprovalEvents | undefined,
  held: HeldApproval,
  state: ApprovalState,
  by: string | undefined,
  reason?: string,
): void {
  const { record } = held;
  const who = by ?? 'system';
  events?.write({
    runId: record.runId,
    agent: record.agent,
    event: EVENT_OF[state],
    detail: reason ?? `${state} by ${who}`,
    elapsedMs: Date.now() - record.requestedAt,
    extra: {
      by: who,
      requesterId: record.requesterId,
      expiresAt: new Date(record.expiresAt).toISOString(),
      ...(reason ? { reason } : {}),
    },
  });
}

/** The card with its decision shown and its buttons disabled. */
export function decidedCard(held: HeldApproval, state: Decided, by: string | undefined, reason?: string): ApprovalCard {
  const at = Date.now();
  const line =
    state === ApprovalState.approved
      ? approvedBy(by ?? '', at)
      : state === ApprovalState.rejected
        ? rejectedBy(by ?? '', at, reason)
        : expiredAt(at);
  return renderApprovalCard(cardInputOf(held), { line, approved: state === ApprovalState.approved });
}

/** Edits the card where it was posted (an expiry has no interaction to answer through). */
export async function editCard(context: BotContext, held: HeldApproval, card: ApprovalCard): Promise<void> {
  const where = held.record.card;
  if (!where) return;
  try {
    const channel = await context.client.channels.fetch(where.channelId);
    if (channel?.isSendable()) await channel.messages.edit(where.messageId, { ...card, allowedMentions: NO_PINGS });
  } catch (error) {
    context.log.warn({ err: error, runId: held.record.runId }, 'could not show the decision on the approval card');
  }
}

/** Rejected or expired: the requester's reply says so, and a mention gets its ❌. */
export async function tellRequesterEnded(
  context: BotContext,
  held: HeldApproval,
  state: typeof ApprovalState.rejected | typeof ApprovalState.expired,
  by: string | undefined,
  reason?: string,
): Promise<void> {
  const { record, origin } = held;
  const content =
    state === ApprovalState.rejected
      ? runRejected(record.agent, by ?? '', reason)
      : runApprovalExpired(record.agent, record.expiresAt);
  try {
    await heldReply(context, held).show({ content, embeds: [], components: [] });
  } catch (error) {
    context.log.warn({ err: error, runId: record.runId }, 'could not tell the requester their run will not start');
  }
  // The run never started: no progress record may outlive it (a restart would call it interrupted).
  await context.ledger.clearProgressMessage(record.runId);
  if (origin.kind === 'mention' && origin.messageId !== undefined) {
    await unreact(context.client, origin.channelId, origin.messageId, TAKEN, context.log);
    await react(context.client, origin.channelId, origin.messageId, FAILED, context.log);
  }
}

/** Approved: the run starts as if asked just now, answering in the requester's reply. */
export async function startApproved(context: BotContext, held: HeldApproval): Promise<void> {
  const reply = heldReply(context, held);
  try {
    await runDelegation(context, {
      runId: held.record.runId,
      delegation: held.request.delegation,
      principals: held.request.principals,
      origin: held.origin,
      reply,
      approved: true,
    });
  } catch (error) {
    // Refused by the engine (the ACL or registry changed while it waited): the reply must not still wait.
    await reply.show({ content: runStopped(describeError(error)), embeds: [], components: [] }).catch(() => {});
    await context.ledger.clearProgressMessage(held.record.runId);
    throw error;
  }
}
