/**
 * The card an approval waits on, in the approval channel: what would run, for whom, until when,
 * and the Approve / Reject buttons. Once decided it shows the decision and its buttons are disabled.
 */
import {
  ButtonStyle,
  ComponentType,
  type APIActionRowComponent,
  type APIButtonComponentWithCustomId,
  type APIEmbed,
} from 'discord.js';
import type { ApprovalRule } from '../../access/approval-policy.ts';
import { MAX_EMBED_FIELD_VALUE, oneLine, truncate } from '../render/limits.ts';
import { approvalCardTitle, approverList, discordTime } from '../render/strings.ts';

export const APPROVE_BUTTON = 'approve';
export const REJECT_BUTTON = 'reject';
/** How much of the task the card shows; the whole task goes to the agent. */
const TASK_EXCERPT_CHARS = 600;
const PENDING_COLOUR = 0xf1c40f;
const APPROVED_COLOUR = 0x2ecc71;
const ENDED_COLOUR = 0x95a5a6;

export interface ApprovalCardInput {
  readonly runId: string;
  readonly agent: string;
  readonly task: string;
  readonly contextChars: number;
  readonly requesterId: string;
  readonly requesterLabel: string;
  readonly requestedAt: number;
  readonly expiresAt: number;
  readonly rule: ApprovalRule;
}

export interface ApprovalCard {
  readonly embeds: APIEmbed[];
  readonly components: APIActionRowComponent<APIButtonComponentWithCustomId>[];
}

/** `decision` is the line the card shows once decided (strings.ts approvedBy…); absent while it waits. */
export function renderApprovalCard(
  input: ApprovalCardInput,
  decision?: { readonly line: string; readonly approved: boolean },
): ApprovalCard {
  const { rule } = input;
  const fields = [
    { name: 'Agent', value: input.agent, inline: true },
    { name: 'Requested by', value: truncate(`<@${input.requesterId}> (${input.requesterLabel})`, 200), inline: true },
    {
      name: 'Context',
      value: input.contextChars > 0 ? `${input.contextChars} characters` : 'none',
      inline: true,
    },
    { name: 'Task', value: truncate(oneLine(input.task), Math.min(TASK_EXCERPT_CHARS, MAX_EMBED_FIELD_VALUE)) },
    { name: 'Approvers', value: truncate(approverList(rule.approverRoleIds, rule.approverUserIds), 1_000) },
    { name: 'Expires', value: `${discordTime(input.expiresAt)} (${discordTime(input.expiresAt, 'R')})` },
    ...(decision ? [{ name: 'Decision', value: truncate(decision.line, MAX_EMBED_FIELD_VALUE) }] : []),
  ];
  const colour = decision === undefined ? PENDING_COLOUR : decision.approved ? APPROVED_COLOUR : ENDED_COLOUR;
  const disabled = decision !== undefined;
  return {
    embeds: [
      {
        title: truncate(approvalCardTitle(input.agent), 256),
        color: colour,
        fields,
        footer: { text: `run ${input.runId}` },
        timestamp: new Date(input.requestedAt).toISOString(),
      },
    ],
    components: [
      {
        type: ComponentType.ActionRow,
        components: [
          {
            type: ComponentType.Button,
            style: ButtonStyle.Success,
            label: 'Approve',
            custom_id: `${APPROVE_BUTTON}:${input.runId}`,
            disabled,
          },
          {
            type: ComponentType.Button,
            style: ButtonStyle.Danger,
            label: 'Reject',
            custom_id: `${REJECT_BUTTON}:${input.runId}`,
            disabled,
          },
        ],
      },
    ],
  };
}
