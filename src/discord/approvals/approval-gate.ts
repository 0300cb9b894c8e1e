/**
 * Approval before sensitive agents run. `hold` is the hook run-delegation.ts calls as a delegation
 * is about to start: when a rule asks for it (access/approval-policy.ts), the run is journaled as
 * awaiting approval, the requester is told whom it waits for, and a card is posted in the approval
 * channel. Its buttons (approval-buttons.ts) and the expiry timers decide; everything is in the
 * store, so `restore` re-arms the timers from the request time after a restart and old cards work.
 */
import type { ModalSubmitInteraction } from 'discord.js';
import { approvalRuleFor, type ApprovalRule } from '../../access/approval-policy.ts';
import { ErrorCode, HqError } from '../../errors.ts';
import { ApprovalState } from '../../store/schema.ts';
import type { BotContext } from '../bot-context.ts';
import type { Command } from '../command.ts';
import { NO_PINGS } from '../render/no-pings.ts';
import { APPROVAL_CARD_FAILED, approverList, awaitingApproval } from '../render/strings.ts';
import type { DelegationStart } from '../runs/run-delegation.ts';
import { renderApprovalCard } from './approval-card.ts';
import { createApprovalButtons } from './approval-buttons.ts';
import { decidedCard, editCard, logDecision, tellRequesterEnded, type ApprovalEvents } from './approval-decisions.ts';
import { cardInputOf, readHeld, type HeldApproval, type HeldRequest } from './approval-record.ts';

/** The approval card's nonce kind: a resend after a crash returns the first card. */
export const APPROVAL_CARD_NONCE_KIND = 'approval-card';
/** setTimeout's ceiling; a longer wait is re-armed when it fires. */
const MAX_TIMER_MS = 2_147_483_647;

type ButtonHandler = NonNullable<Command['buttons']>[string];
export type ModalHandler = (
  interaction: ModalSubmitInteraction,
  context: BotContext,
  argument: string,
) => Promise<void>;

export interface ApprovalGate {
  /** True when the delegation now waits for an approver (the caller stops there). */
  hold(context: BotContext, start: DelegationStart): Promise<boolean>;
  /** After a restart: every waiting approval's expiry re-armed from its request time. */
  restore(context: BotContext): Promise<void>;
  /** Disarms the timers; the approvals stay in the store for the next start. */
  stop(): void;
  readonly buttons: Readonly<Record<string, ButtonHandler>>;
  /** The Reject button's reason modal, by custom_id prefix. */
  readonly modals: Readonly<Record<string, ModalHandler>>;
}

export interface ApprovalGateOptions {
  readonly events?: ApprovalEvents | undefined;
  /** Told of background work (an expiry), so a shutdown can let it finish. */
  readonly track?: (work: Promise<unknown>) => void;
}

export function createApprovalGate(options: ApprovalGateOptions = {}): ApprovalGate {
  const { events } = options;
  const track = options.track ?? ((work: Promise<unknown>) => void work.catch(() => {}));
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  let stopped = false;

  const disarm = (runId: string): void => {
    clearTimeout(timers.get(runId));
    timers.delete(runId);
  };

  const arm = (context: BotContext, runId: string, expiresAt: number): void => {
    disarm(runId);
    if (stopped) return;
    const wait = expiresAt - Date.now();
    const timer = setTimeout(
      () => {
        timers.delete(runId);
        if (Date.now() < expiresAt) arm(context, runId, expiresAt);
        else track(expire(context, runId));
      },
      Math.min(Math.max(wait, 0), MAX_TIMER_MS),
    );
    timer.unref();
    timers.set(runId, timer);
  };

  async function expire(context: BotContext, runId: string): Promise<void> {
    const record = await context.ledger.getApproval(runId);
    const held = record && readHeld(record);
    if (!held || !(await context.ledger.decideApproval(runId, { state: ApprovalState.expired }))) return;
    logDecision(events, held, ApprovalState.expired, undefined);
    context.log.info({ runId, agent: held.record.agent }, 'approval expired');
    await editCard(context, held, decidedCard(held, ApprovalState.expired, undefined));
    await tellRequesterEnded(context, held, ApprovalState.expired, undefined);
  }

  async function hold(context: BotContext, start: DelegationStart): Promise<boolean> {
    const rule = approvalRuleFor(context.config().discord.approval, start.delegation.agent, start.principals);
    if (rule === undefined) return false;
    await context.ledger.assertWritable();
    const requestedAt = Date.now();
    const request: HeldRequest = { delegation: start.delegation, principals: start.principals };
    await context.ledger.approvalRequested({
      runId: start.runId,
      agent: start.delegation.agent,
      request,
      origin: start.origin,
      rule,
      requesterId: start.origin.requesterId,
      requestedAt,
      expiresAt: requestedAt + Math.round(rule.ttlMinutes * 60_000),
    });
    const held = readHeld((await context.ledger.getApproval(start.runId))!)!;
    logDecision(events, held, ApprovalState.awaiting, start.origin.requesterId);
    context.log.info({ runId: start.runId, agent: held.record.agent }, 'delegation held for approval');
    // Journaled: a mention's cursor may pass it, a restart finds it in the store.
    start.onStarted?.();
    arm(context, start.runId, held.record.expiresAt);
    await tellRequesterWaiting(context, start, held, rule);
    await postCard(context, held);
    return true;
  }

  /** Shown before the card exists, so no approval can race the reply's first version. */
  async function tellRequesterWaiting(
    context: BotContext,
    start: DelegationStart,
    held: HeldApproval,
    rule: ApprovalRule,
  ): Promise<void> {
    const approvers = approverList(rule.approverRoleIds, rule.approverUserIds);
    const where = await start.reply.show({
      content: awaitingApproval(held.record.agent, approvers, held.record.expiresAt),
      embeds: [],
      components: [],
    });
    await context.ledger.approvalReplyMoved(start.runId, where);
    // Not a run in progress: a restart must not take the reply for an interrupted run.
    await context.ledger.clearProgressMessage(start.runId);
  }

  async function postCard(context: BotContext, held: HeldApproval): Promise<void> {
    const { runId } = held.record;
    try {
      const channel = await context.client.channels.fetch(held.rule.channel);
      if (!channel?.isSendable()) throw new Error(`channel ${held.rule.channel} cannot be written to`);
      const sent = await channel.send({
        ...renderApprovalCard(cardInputOf(held)),
        allowedMentions: NO_PINGS,
        nonce: context.ledger.deliveryNonce(runId, APPROVAL_CARD_NONCE_KIND),
        enforceNonce: true,
      });
      await context.ledger.approvalCardPosted(runId, { channelId: sent.channelId, messageId: sent.id });
    } catch (error) {
      // Nobody could approve it: end it now, with the reason, rather than let it expire unseen.
      const reason = 'the approval card could not be posted';
      context.log.error({ err: error, runId }, reason);
      if (await context.ledger.decideApproval(runId, { state: ApprovalState.rejected, reason })) {
        disarm(runId);
        logDecision(events, held, ApprovalState.rejected, undefined, reason);
        await tellRequesterEnded(context, held, ApprovalState.rejected, undefined, reason);
      }
      throw new HqError(ErrorCode.DISCORD, APPROVAL_CARD_FAILED);
    }
  }

  return {
    hold,
    async restore(context) {
      for (const record of await context.ledger.awaitingApprovals()) {
        const held = record.card === undefined ? readHeld(record) : undefined;
        if (held === undefined) {
          arm(context, record.runId, record.expiresAt);
          continue;
        }
        // Killed between sending the card and recording it: the same nonce gives back the first card.
        const posted = postCard(context, held).then(() => arm(context, record.runId, record.expiresAt));
        track(posted.catch(() => {}));
      }
    },
    stop() {
      stopped = true;
      for (const runId of [...timers.keys()]) disarm(runId);
    },
    ...createApprovalButtons({ events, disarm }),
  };
}
