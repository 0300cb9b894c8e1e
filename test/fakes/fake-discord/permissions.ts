/** Permission bits (as bigint) and Discord's permission computation incl. channel overwrites. */
import type { APIOverwrite, APIRole } from 'discord-api-types/v10';

export const P = {
  CreateInstantInvite: 1n << 0n,
  KickMembers: 1n << 1n,
  BanMembers: 1n << 2n,
  Administrator: 1n << 3n,
  ManageChannels: 1n << 4n,
  ManageGuild: 1n << 5n,
  AddReactions: 1n << 6n,
  ViewAuditLog: 1n << 7n,
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  SendTTSMessages: 1n << 12n,
  ManageMessages: 1n << 13n,
  EmbedLinks: 1n << 14n,
  AttachFiles: 1n << 15n,
  ReadMessageHistory: 1n << 16n,
  MentionEveryone: 1n << 17n,
  UseExternalEmojis: 1n << 18n,
  Connect: 1n << 20n,
  Speak: 1n << 21n,
  ChangeNickname: 1n << 26n,
  ManageRoles: 1n << 28n,
  ManageWebhooks: 1n << 29n,
  UseApplicationCommands: 1n << 31n,
  CreatePublicThreads: 1n << 35n,
  SendMessagesInThreads: 1n << 38n,
  UseExternalApps: 1n << 50n,
} as const;

/** Every permission bit Discord currently defines (bits 0..52 with a few gaps are all treated as set). */
export const ALL_PERMISSIONS = (1n << 53n) - 1n;

export const DEFAULT_EVERYONE_PERMISSIONS =
  P.CreateInstantInvite |
  P.AddReactions |
  P.ViewChannel |
  P.SendMessages |
  P.EmbedLinks |
  P.AttachFiles |
  P.ReadMessageHistory |
  P.UseExternalEmojis |
  P.Connect |
  P.Speak |
  P.ChangeNickname |
  P.UseApplicationCommands |
  P.CreatePublicThreads |
  P.SendMessagesInThreads |
  P.UseExternalApps;

export const DEFAULT_BOT_PERMISSIONS =
  P.ViewChannel |
  P.SendMessages |
  P.EmbedLinks |
  P.AttachFiles |
  P.ReadMessageHistory |
  P.AddReactions |
  P.UseExternalEmojis |
  P.SendMessagesInThreads |
  P.UseApplicationCommands;

/** What interactions report as permissions inside a DM with the bot. */
export const DM_PERMISSIONS =
  P.AddReactions |
  P.ViewChannel |
  P.SendMessages |
  P.EmbedLinks |
  P.AttachFiles |
  P.ReadMessageHistory |
  P.MentionEveryone |
  P.UseExternalEmojis |
  P.UseApplicationCommands |
  P.UseExternalApps;

export function toBits(value: bigint | string | number | undefined, fallback: bigint): bigint {
  if (value === undefined) return fallback;
  return BigInt(value);
}

export interface PermissionSubject {
  guildId: string;
  ownerId: string;
  userId: string;
  memberRoleIds: readonly string[];
  roles: ReadonlyMap<string, APIRole>;
}

export function basePermissions(s: PermissionSubject): bigint {
  if (s.userId === s.ownerId) return ALL_PERMISSIONS;
  let perms = BigInt(s.roles.get(s.guildId)?.permissions ?? '0');
  for (const roleId of s.memberRoleIds) {
    const role = s.roles.get(roleId);
    if (role) perms |= BigInt(role.permissions);
  }
  if (perms & P.Administrator) return ALL_PERMISSIONS;
  return perms;
}

export function channelPermissions(s: PermissionSubject, overwrites: readonly APIOverwrite[]): bigint {
  let perms = basePermissions(s);
  if (perms & P.Administrator) return ALL_PERMISSIONS;
  const everyone = overwrites.find((o) => o.id === s.guildId);
  if (everyone) perms = (perms & ~BigInt(everyone.deny)) | BigInt(everyone.allow);
  let allow = 0n;
  let deny = 0n;
  for (const o of overwrites) {
    if (o.type === 0 && s.memberRoleIds.includes(o.id)) {
      allow |= BigInt(o.allow);
      deny |= BigInt(o.deny);
    }
  }
  perms = (perms & ~deny) | allow;
  const member = overwrites.find((o) => o.type === 1 && o.id === s.userId);
  if (member) perms = (perms & ~BigInt(member.deny)) | BigInt(member.allow);
  // Without VIEW_CHANNEL nothing else applies in that channel.
  if (!(perms & P.ViewChannel)) return 0n;
  return perms;
}
