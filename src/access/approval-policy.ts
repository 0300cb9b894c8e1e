/**
 * Whether a delegation must wait for a human, and who may give it. Plain values in, no
 * discord.js. The agent's rule applies to every run to that agent; a principal's entry changes it
 * for runs requested under that principal: `false` exempts them, a rule replaces the agent's (and
 * makes that principal's runs to any agent wait). Like the ACL, one exempting principal suffices;
 * among several principal rules the first principal by name decides, so the answer is stable.
 */
import type { Config } from '../config.ts';

export type ApprovalSettings = Config['discord']['approval'];
export type ApprovalRule = ApprovalSettings['agents'][string];

export interface Approver {
  readonly userId: string;
  readonly roleIds: readonly string[];
}

export const ApprovalRefusal = {
  notApprover: 'not_approver',
  selfApproval: 'self_approval',
} as const;
export type ApprovalRefusal = (typeof ApprovalRefusal)[keyof typeof ApprovalRefusal];

export type ApproverDecision = { readonly allowed: true } | { readonly allowed: false; readonly code: ApprovalRefusal };

function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** The rule the run waits under, or undefined when it may start at once. */
export function approvalRuleFor(
  settings: ApprovalSettings,
  agent: string,
  principals: readonly string[],
): ApprovalRule | undefined {
  const entries = [...new Set(principals)]
    .sort()
    .map((principal) => own(settings.principals, principal))
    .filter((entry) => entry !== undefined);
  if (entries.includes(false)) return undefined;
  const byPrincipal = entries.find((entry) => entry !== false);
  return byPrincipal ?? own(settings.agents, agent);
}

export function isApprover(rule: ApprovalRule, who: Approver): boolean {
  return rule.approverUserIds.includes(who.userId) || who.roleIds.some((role) => rule.approverRoleIds.includes(role));
}

/** May `who` approve a run `requesterId` asked for? Rejecting needs only `isApprover`. */
export function mayApprove(rule: ApprovalRule, who: Approver, requesterId: string): ApproverDecision {
  if (!isApprover(rule, who)) return { allowed: false, code: ApprovalRefusal.notApprover };
  if (who.userId === requesterId && !rule.allowSelfApproval)
    return { allowed: false, code: ApprovalRefusal.selfApproval };
  return { allowed: true };
}
