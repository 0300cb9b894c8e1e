/**
 * A stored approval (store/approvals.ts) read back for the Discord side: the store keeps opaque
 * JSON, and this is the one place it is trusted again, with zod, like run-origin.ts for origins.
 */
import * as z from 'zod';
import type { ApprovalRule } from '../../access/approval-policy.ts';
import type { ApprovalRecord } from '../../store/approvals.ts';
import type { BotContext } from '../bot-context.ts';
import { restoreReply } from '../delivery/outbox.ts';
import type { ReplyLocation, ReplyTarget } from '../delivery/reply-target.ts';
import type { RememberedDelegation } from '../runs/active-runs.ts';
import { parseOrigin, type RunOrigin } from '../runs/run-origin.ts';
import type { ApprovalCardInput } from './approval-card.ts';

const heldRequestSchema = z.object({
  delegation: z.object({
    agent: z.string().min(1),
    task: z.string(),
    context: z.string().optional(),
    maxAttempts: z.int().optional(),
    timeoutSeconds: z.int().optional(),
    strict: z.boolean().optional(),
  }),
  principals: z.array(z.string()),
});

const ruleSchema = z.object({
  approverRoleIds: z.array(z.string()),
  approverUserIds: z.array(z.string()),
  channel: z.string(),
  ttlMinutes: z.number(),
  allowSelfApproval: z.boolean(),
});

const locationSchema = z.object({
  channelId: z.string(),
  messageId: z.string(),
  interactionToken: z.string().optional(),
  tokenExpiresAt: z.number().optional(),
});

/** What the store keeps as the request: enough to start the run later. */
export interface HeldRequest {
  readonly delegation: RememberedDelegation;
  readonly principals: readonly string[];
}

export interface HeldApproval {
  readonly record: ApprovalRecord;
  readonly request: HeldRequest;
  readonly origin: RunOrigin;
  readonly rule: ApprovalRule;
  readonly reply: ReplyLocation | undefined;
}

/** Undefined when the stored JSON no longer parses (a hand-edited store…). */
export function readHeld(record: ApprovalRecord): HeldApproval | undefined {
  const request = heldRequestSchema.safeParse(record.request);
  const origin = parseOrigin(record.origin);
  const rule = ruleSchema.safeParse(record.rule);
  if (!request.success || !origin || !rule.success) return undefined;
  const reply = locationSchema.safeParse(record.reply);
  return {
    record,
    request: request.data as HeldRequest,
    origin,
    rule: rule.data,
    reply: reply.success ? (reply.data as ReplyLocation) : undefined,
  };
}

export function cardInputOf(held: HeldApproval): ApprovalCardInput {
  const { record, request, origin } = held;
  return {
    runId: record.runId,
    agent: record.agent,
    task: request.delegation.task,
    contextChars: request.delegation.context?.length ?? 0,
    requesterId: origin.requesterId,
    requesterLabel: origin.requesterLabel,
    requestedAt: record.requestedAt,
    expiresAt: record.expiresAt,
    rule: held.rule,
  };
}

/** The requester's reply as it stood when the request was held, in this process or the last one. */
export function heldReply(context: BotContext, held: HeldApproval): ReplyTarget {
  return restoreReply({
    client: context.client,
    log: context.log,
    runId: held.record.runId,
    origin: held.origin,
    progress: held.reply ? { ...held.reply, runId: held.record.runId, recordedAt: held.record.requestedAt } : undefined,
    ledger: context.ledger,
  });
}
