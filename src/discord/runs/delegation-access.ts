/**
 * "Who is this, may they reach that agent?" for the Discord side. The actor comes from what
 * Discord sent with this very interaction or message (roles as of now); access/ decides, and a
 * denial becomes an AccessDeniedError that says why and who can change it.
 */
import type { GuildMember, Interaction, Message } from 'discord.js';
import type { Config } from '../../config.ts';
import type { Engine } from '../../engine/types.ts';
import { AccessDeniedError, ErrorCode, HqError } from '../../errors.ts';
import { AclDenial, allowedTargets, authorize } from '../../access/acl.ts';
import { isAdmin, resolvePrincipals, type DiscordActor } from '../../access/discord-principals.ts';
import { MAX_AUTOCOMPLETE_CHOICES } from '../render/limits.ts';
import { delegationDenied, unknownAgentFor } from '../render/strings.ts';

type AnyMember = GuildMember | { readonly roles: readonly string[] } | null | undefined;

function roleIdsOf(member: AnyMember): string[] {
  if (!member) return [];
  const roles = member.roles;
  return Array.isArray(roles) ? [...(roles as readonly string[])] : [...(roles as GuildMember['roles']).cache.keys()];
}

export function actorFromInteraction(interaction: Interaction): DiscordActor {
  return {
    userId: interaction.user.id,
    roleIds: roleIdsOf(interaction.member as AnyMember),
    isBot: interaction.user.bot,
    guildId: interaction.guildId,
  };
}

export function actorFromMessage(message: Message): DiscordActor {
  return {
    userId: message.author.id,
    roleIds: roleIdsOf(message.member),
    isBot: message.author.bot,
    webhookId: message.webhookId,
    guildId: message.guildId,
  };
}

/** The actor's principals, or AccessDeniedError (webhook, DM, deny role, unmapped). */
export function principalsOf(actor: DiscordActor, config: Config): string[] {
  const resolved = resolvePrincipals(actor, config.discord);
  if (!resolved.ok) throw new AccessDeniedError(resolved.reason);
  return resolved.principals;
}

/**
 * Principals allowed to reach `agent`; throws HQ_ERR_AGENT_UNKNOWN or AccessDeniedError otherwise.
 * An unknown name is answered with the agents this caller may reach, not the whole registry.
 */
export function authorizeDelegation(actor: DiscordActor, agent: string, config: Config, engine: Engine): string[] {
  const principals = principalsOf(actor, config);
  const known = engine.agents().map((endpoint) => endpoint.name);
  const reachable = allowedTargets(principals, config.acl).filter((name) => known.includes(name));
  if (!known.includes(agent)) {
    const shown = isAdmin(actor, config.discord) ? known : reachable;
    throw new HqError(ErrorCode.AGENT_UNKNOWN, unknownAgentFor(agent, shown));
  }
  const decision = authorize(principals, agent, config.acl);
  if (decision.allowed) return principals;
  // Nobody can allow delegating to oneself, so no admin is named for that one.
  const adminCanAllow = decision.code !== AclDenial.selfDelegation;
  throw new AccessDeniedError(
    delegationDenied({ agent, reason: decision.reason, principals, reachable, adminCanAllow }),
  );
}

export function reachableAgents(actor: DiscordActor, config: Config, engine: Engine): string[] {
  const resolved = resolvePrincipals(actor, config.discord);
  if (!resolved.ok) return [];
  const known = new Set(engine.agents().map((endpoint) => endpoint.name));
  return allowedTargets(resolved.principals, config.acl).filter((name) => known.has(name));
}

/** What /agents and autocompletes list: every agent for an admin, those the member may reach otherwise. */
export function visibleAgents(actor: DiscordActor, config: Config, engine: Engine): string[] {
  if (isAdmin(actor, config.discord)) return engine.agents().map((endpoint) => endpoint.name);
  return reachableAgents(actor, config, engine);
}

/** Autocomplete's choices: the names containing what was typed, those starting with it first. */
export function matchingAgents(names: readonly string[], typed: string): string[] {
  return names
    .filter((name) => name.includes(typed))
    .sort((a, b) => Number(!b.startsWith(typed)) - Number(!a.startsWith(typed)) || a.localeCompare(b))
    .slice(0, MAX_AUTOCOMPLETE_CHOICES);
}

export function mayCancel(actor: DiscordActor, requesterId: string, config: Config): boolean {
  return actor.userId === requesterId || isAdmin(actor, config.discord);
}
