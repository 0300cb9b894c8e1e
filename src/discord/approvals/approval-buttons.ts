/**
 * The card's buttons, `approve:<runId>` and `reject:<runId>`. Only approvers may press, and a
 * requester may not approve their own run unless the rule allows it. The decision is a claim in
 * the store (store/approvals.ts), so however many presses race, one decides and one run starts.
 */
import { ComponentType, TextInputStyle, type ButtonInteraction, type ModalSubmitInteraction } from 'discord.js';
import { isApprover, mayApprove, ApprovalRefusal } from '../../access/approval-policy.ts';
import { AccessDeniedError, ErrorCode, HqError } from '../../errors.ts';
import { ApprovalState } from '../../store/schema.ts';
import type { BotContext } from '../bot-context.ts';
import { NO_PINGS } from '../render/no-pings.ts';
import {
  APPROVAL_UNKNOWN,
  approvalAlreadyDecided,
  REJECT_MODAL_TITLE,
  REJECT_REASON_LABEL,
  approverList,
  notAnApprover,
  SELF_APPROVAL_REFUSED,
} from '../render/strings.ts';
import { actorFromInteraction } from '../runs/delegation-access.ts';
import { APPROVE_BUTTON, REJECT_BUTTON } from './approval-card.ts';
import { BUTTON_ID_SEPARATOR } from '../command.ts';
import {
  decidedCard,
  editCard,
  logDecision,
  startApproved,
  tellRequesterEnded,
  type ApprovalEvents,
} from './approval-decisions.ts';
import { readHeld, type HeldApproval } from './approval-record.ts';

/** The Reject button's modal, and its one text input. */
export const REJECT_MODAL = 'reject-reason';
const REASON_INPUT = 'reason';
const REASON_MAX_CHARS = 300;

interface ButtonDeps {
  readonly events: ApprovalEvents | undefined;
  /** Stops the run's expiry timer once decided. */
  readonly disarm: (runId: string) => void;
}

async function heldFor(context: BotContext, runId: string): Promise<HeldApproval> {
  const record = await context.ledger.getApproval(runId);
  const held = record && readHeld(record);
  if (!held) throw new HqError(ErrorCode.USAGE, APPROVAL_UNKNOWN);
  return held;
}

async function alreadyDecided(context: BotContext, runId: string): Promise<HqError> {
  const now = await context.ledger.getApproval(runId);
  return new HqError(ErrorCode.USAGE, approvalAlreadyDecided(now?.state ?? ApprovalState.expired, now?.decidedBy));
}

/** Checked before anything is claimed: a refusal changes nothing. */
function checkPresser(
  interaction: ButtonInteraction | ModalSubmitInteraction,
  held: HeldApproval,
  approving: boolean,
): void {
  const actor = actorFromInteraction(interaction);
  const approvers = approverList(held.rule.approverRoleIds, held.rule.approverUserIds);
  if (!approving) {
    if (!isApprover(held.rule, actor)) throw new AccessDeniedError(notAnApprover(approvers));
    return;
  }
  const decision = mayApprove(held.rule, actor, held.origin.requesterId);
  if (decision.allowed) return;
  throw new AccessDeniedError(
    decision.code === ApprovalRefusal.selfApproval ? SELF_APPROVAL_REFUSED : notAnApprover(approvers),
  );
}

export function createApprovalButtons(deps: ButtonDeps) {
  const { events, disarm } = deps;

  async function approve(interaction: ButtonInteraction, context: BotContext, runId: string): Promise<void> {
    const held = await heldFor(context, runId);
    checkPresser(interaction, held, true);
    if (held.record.state !== ApprovalState.awaiting) throw await alreadyDecided(context, runId);
    await context.ledger.assertWritable();
    const by = interaction.user.id;
    if (!(await context.ledger.decideApproval(runId, { state: ApprovalState.approved, by })))
      throw await alreadyDecided(context, runId);
    disarm(runId);
    logDecision(events, held, ApprovalState.approved, by);
    context.log.info({ runId, agent: held.record.agent, by }, 'approval granted');
    // Acknowledges the press and shows the decision in one call.
    await interaction.update({ ...decidedCard(held, ApprovalState.approved, by), allowedMentions: NO_PINGS });
    await startApproved(context, held);
  }

  /** Asks for a reason first (optional); the modal's submit decides. */
  async function reject(interaction: ButtonInteraction, context: BotContext, runId: string): Promise<void> {
    const held = await heldFor(context, runId);
    checkPresser(interaction, held, false);
    if (held.record.state !== ApprovalState.awaiting) throw await alreadyDecided(context, runId);
    await interaction.showModal({
      custom_id: `${REJECT_MODAL}${BUTTON_ID_SEPARATOR}${runId}`,
      title: REJECT_MODAL_TITLE,
      components: [
        {
          type: ComponentType.ActionRow,
          components: [
            {
              type: ComponentType.TextInput,
              custom_id: REASON_INPUT,
              label: REJECT_REASON_LABEL,
              style: TextInputStyle.Paragraph,
              required: false,
              max_length: REASON_MAX_CHARS,
            },
          ],
        },
      ],
    });
  }

  async function rejectWithReason(
    interaction: ModalSubmitInteraction,
    context: BotContext,
    runId: string,
  ): Promise<void> {
    const held = await heldFor(context, runId);
    // Checked again: the modal could be submitted by someone whose roles changed since.
    checkPresser(interaction, held, false);
    await context.ledger.assertWritable();
    const by = interaction.user.id;
    const reason = interaction.fields.getTextInputValue(REASON_INPUT).trim().slice(0, REASON_MAX_CHARS) || undefined;
    if (
      !(await context.ledger.decideApproval(runId, {
        state: ApprovalState.rejected,
        by,
        ...(reason ? { reason } : {}),
      }))
    )
      throw await alreadyDecided(context, runId);
    disarm(runId);
    logDecision(events, held, ApprovalState.rejected, by, reason);
    context.log.info({ runId, agent: held.record.agent, by }, 'approval rejected');
    const card = decidedCard(held, ApprovalState.rejected, by, reason);
    if (interaction.isFromMessage()) await interaction.update({ ...card, allowedMentions: NO_PINGS });
    else {
      await interaction.deferUpdate();
      await editCard(context, held, card);
    }
    await tellRequesterEnded(context, held, ApprovalState.rejected, by, reason);
  }

  return {
    buttons: { [APPROVE_BUTTON]: approve, [REJECT_BUTTON]: reject },
    modals: { [REJECT_MODAL]: rejectWithReason },
  };
}
