/**
 * Who a Discord caller is, in the ACL's terms: the principals their user id, roles or agent bot
 * account map to under `discord` in the config file; the ACL then decides where they may
 * delegate. Plain values in, no discord.js: the router and the mention handler build the actor.
 */
import type { Config } from '../config.ts';
import { ErrorCode } from '../errors.ts';

export interface DiscordActor {
  readonly userId: string;
  /** The member's role ids; the guild id (the @everyone role) counts even when absent. */
  readonly roleIds: readonly string[];
  readonly isBot: boolean;
  /** Set when the message came through a webhook: its author is whatever name the sender chose. */
  readonly webhookId?: string | null;
  /** Absent or null in DMs. */
  readonly guildId?: string | null | undefined;
}

type DiscordConfig = Config['discord'];

type PrincipalResolution =
  | { readonly ok: true; readonly principals: string[] }
  | { readonly ok: false; readonly code: typeof ErrorCode.ACCESS_DENIED; readonly reason: string };

/** A refusal says what to ask an admin for, never which config key to edit: members cannot see it. */
export function resolvePrincipals(actor: DiscordActor, discord: DiscordConfig): PrincipalResolution {
  const refusal = refuseOutright(actor, discord);
  if (refusal !== undefined) return deny(refusal);
  const roles = effectiveRoles(actor);
  if (roles.some((role) => discord.denyRoleIds.includes(role))) {
    return deny(
      'You hold a role that may not delegate; it overrides every other grant. Ask an admin of this bot if that is wrong.',
    );
  }
  if (actor.isBot) {
    const agent = ownValue(discord.agentBots, actor.userId);
    if (agent !== undefined) return { ok: true, principals: [agent] };
    return deny(
      'Only registered agent bots may delegate: this bot account is not registered as an agent. Ask an admin of hq-delegate to register it.',
    );
  }
  const principals = new Set<string>(ownValue(discord.principals.users, actor.userId) ?? []);
  for (const role of roles)
    for (const principal of ownValue(discord.principals.roles, role) ?? []) principals.add(principal);
  if (principals.size === 0) {
    return deny(
      'You are not mapped to any principal, so you may not delegate. Ask an admin of this bot to grant your user or one of your roles the right to delegate.',
    );
  }
  return { ok: true, principals: [...principals] };
}

/** Admins may cancel anyone's run. Webhooks, DMs, other servers and denied members are never admins. */
export function isAdmin(actor: DiscordActor, discord: DiscordConfig): boolean {
  if (refuseOutright(actor, discord) !== undefined) return false;
  const roles = effectiveRoles(actor);
  if (roles.some((role) => discord.denyRoleIds.includes(role))) return false;
  return roles.some((role) => discord.adminRoleIds.includes(role));
}

/** Refusals that no mapping can lift. */
function refuseOutright(actor: DiscordActor, discord: DiscordConfig): string | undefined {
  if (actor.webhookId !== undefined && actor.webhookId !== null && actor.webhookId !== '') {
    return 'Webhooks cannot delegate, whatever name they post under: only members and registered agent bots can.';
  }
  if (actor.guildId === undefined || actor.guildId === null || actor.guildId === '') {
    return '/delegate works only in the server, not in direct messages: your roles there decide what you may do.';
  }
  if (discord.guildId !== undefined && actor.guildId !== discord.guildId) {
    return 'This bot takes delegations only in its own server.';
  }
  return undefined;
}

function effectiveRoles(actor: DiscordActor): string[] {
  const roles = [...actor.roleIds];
  if (typeof actor.guildId === 'string' && !roles.includes(actor.guildId)) roles.push(actor.guildId);
  return roles;
}

/** Own keys only: a lookup must never reach Object.prototype. */
function ownValue<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function deny(reason: string): PrincipalResolution {
  return { ok: false, code: ErrorCode.ACCESS_DENIED, reason };
}
