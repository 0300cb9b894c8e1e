/** The fake's world: users, guilds, roles, members, channels, messages, plus Discord-shaped serializers. */
import type {
  APIChannel,
  APIGuild,
  APIGuildMember,
  APIOverwrite,
  APIRole,
  APIUser,
  GatewayGuildCreateDispatchData,
  GuildMemberFlags,
} from 'discord-api-types/v10';
import type { StoredMessage } from './model.ts';
import { channelPermissions, basePermissions, DM_PERMISSIONS, type PermissionSubject } from './permissions.ts';
import type { SnowflakeGenerator } from './snowflake.ts';

export interface GuildState {
  id: string;
  name: string;
  ownerId: string;
  preferredLocale: string;
  features: string[];
  roles: Map<string, APIRole>;
  channelIds: string[];
  members: Map<string, MemberState>;
  joinedAt: string;
  systemChannelId: string | null;
  /** The managed role created for the bot when it joined. */
  botRoleId: string;
}

export interface MemberState {
  userId: string;
  roles: string[];
  nick: string | null;
  joinedAt: string;
  communicationDisabledUntil: string | null;
}

export interface ChannelState {
  id: string;
  type: number;
  guildId: string | null;
  name: string | null;
  position: number;
  topic: string | null;
  nsfw: boolean;
  parentId: string | null;
  permissionOverwrites: APIOverwrite[];
  rateLimitPerUser: number;
  lastMessageId: string | null;
  /** DM recipients (user ids, the bot excluded). */
  recipients: string[];
  /** A thread's own fields (types 10-12). */
  thread?: { ownerId: string; autoArchiveDuration: number; createdAt: number };
}

/** Channel types that can hold messages. */
export const TEXT_CHANNEL_TYPES = new Set([0, 1, 2, 3, 5, 10, 11, 12, 13]);
export const THREAD_TYPES = new Set([10, 11, 12]);

export class WorldState {
  readonly users = new Map<string, APIUser>();
  readonly guilds = new Map<string, GuildState>();
  readonly channels = new Map<string, ChannelState>();
  readonly messages = new Map<string, StoredMessage>();
  readonly channelMessages = new Map<string, StoredMessage[]>();
  readonly ids: SnowflakeGenerator;
  readonly botUserId: string;

  constructor(ids: SnowflakeGenerator, botUserId: string) {
    this.ids = ids;
    this.botUserId = botUserId;
  }

  get botUser(): APIUser {
    return this.requireUser(this.botUserId);
  }

  requireUser(id: string): APIUser {
    const user = this.users.get(id);
    if (!user) throw new Error(`FakeDiscord: unknown user ${id}`);
    return user;
  }

  requireGuild(id: string): GuildState {
    const guild = this.guilds.get(id);
    if (!guild) throw new Error(`FakeDiscord: unknown guild ${id}`);
    return guild;
  }

  requireChannel(id: string): ChannelState {
    const channel = this.channels.get(id);
    if (!channel) throw new Error(`FakeDiscord: unknown channel ${id}`);
    return channel;
  }

  /** The DM channel between the bot and `userId`, created on first use (as Discord's POST /users/@me/channels does). */
  dmChannelWith(userId: string): string {
    const existing = [...this.channels.values()].find((c) => c.type === 1 && c.recipients.includes(userId));
    if (existing) return existing.id;
    const id = this.ids.next();
    this.channels.set(id, {
      id,
      type: 1,
      guildId: null,
      name: null,
      position: 0,
      topic: null,
      nsfw: false,
      parentId: null,
      permissionOverwrites: [],
      rateLimitPerUser: 0,
      lastMessageId: null,
      recipients: [userId],
    });
    return id;
  }

  requireMember(guildId: string, userId: string): MemberState {
    const member = this.requireGuild(guildId).members.get(userId);
    if (!member) throw new Error(`FakeDiscord: user ${userId} is not a member of guild ${guildId}`);
    return member;
  }

  // ---------------------------------------------------------------- permissions

  #subject(guild: GuildState, userId: string): PermissionSubject {
    return {
      guildId: guild.id,
      ownerId: guild.ownerId,
      userId,
      memberRoleIds: guild.members.get(userId)?.roles ?? [],
      roles: guild.roles,
    };
  }

  /** Guild-level permissions of a member. */
  guildPermissions(guildId: string, userId: string): bigint {
    return basePermissions(this.#subject(this.requireGuild(guildId), userId));
  }

  /** Effective permissions of a user in a channel (threads inherit their parent's overwrites). */
  permissionsIn(channelId: string, userId: string): bigint {
    const channel = this.requireChannel(channelId);
    if (channel.guildId === null) return DM_PERMISSIONS;
    const guild = this.requireGuild(channel.guildId);
    if (!guild.members.has(userId) && guild.ownerId !== userId) return 0n;
    const source = THREAD_TYPES.has(channel.type) && channel.parentId ? this.channels.get(channel.parentId) : channel;
    return channelPermissions(this.#subject(guild, userId), source?.permissionOverwrites ?? []);
  }

  // ---------------------------------------------------------------- serializers

  userJSON(id: string): APIUser {
    return { ...this.requireUser(id) };
  }

  memberJSON(guildId: string, userId: string): APIGuildMember {
    const m = this.requireMember(guildId, userId);
    return {
      user: this.userJSON(userId),
      nick: m.nick,
      avatar: null,
      banner: null,
      roles: [...m.roles],
      joined_at: m.joinedAt,
      premium_since: null,
      deaf: false,
      mute: false,
      flags: 0 as GuildMemberFlags,
      pending: false,
      communication_disabled_until: m.communicationDisabledUntil,
    };
  }

  /** Member object without `user`, as nested in MESSAGE_CREATE / mentions. */
  partialMemberJSON(guildId: string, userId: string): Omit<APIGuildMember, 'user'> {
    const { user: _user, ...rest } = this.memberJSON(guildId, userId);
    return rest;
  }

  roleJSON(role: APIRole): APIRole {
    return { ...role, ...(role.tags ? { tags: { ...role.tags } } : {}) };
  }

  channelJSON(id: string, opts: { withGuildId?: boolean } = {}): APIChannel {
    const c = this.requireChannel(id);
    if (c.type === 1) {
      return {
        id: c.id,
        type: 1,
        last_message_id: c.lastMessageId,
        flags: 0,
        recipients: c.recipients.map((u) => this.userJSON(u)),
      } as unknown as APIChannel;
    }
    const out: Record<string, unknown> = {
      id: c.id,
      type: c.type,
      name: c.name,
      position: c.position,
      permission_overwrites: c.permissionOverwrites.map((o) => ({ ...o })),
      parent_id: c.parentId,
      nsfw: c.nsfw,
      flags: 0,
    };
    if (opts.withGuildId !== false) out.guild_id = c.guildId;
    if (c.thread) {
      out.owner_id = c.thread.ownerId;
      out.message_count = this.messagesIn(c.id).length;
      out.member_count = 1;
      out.thread_metadata = {
        archived: false,
        auto_archive_duration: c.thread.autoArchiveDuration,
        archive_timestamp: new Date(c.thread.createdAt).toISOString(),
        locked: false,
        create_timestamp: new Date(c.thread.createdAt).toISOString(),
      };
    }
    if (c.type !== 4) {
      out.topic = c.topic;
      out.last_message_id = c.lastMessageId;
      out.rate_limit_per_user = c.rateLimitPerUser;
    }
    if (c.type === 2 || c.type === 13) {
      out.bitrate = 64000;
      out.user_limit = 0;
      out.rtc_region = null;
    }
    return out as unknown as APIChannel;
  }

  guildJSON(id: string): APIGuild {
    const g = this.requireGuild(id);
    return {
      id: g.id,
      name: g.name,
      icon: null,
      icon_hash: null,
      splash: null,
      discovery_splash: null,
      owner_id: g.ownerId,
      afk_channel_id: null,
      afk_timeout: 300,
      widget_enabled: false,
      widget_channel_id: null,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      roles: [...g.roles.values()].map((r) => this.roleJSON(r)),
      emojis: [],
      features: [...g.features] as APIGuild['features'],
      mfa_level: 0,
      application_id: null,
      system_channel_id: g.systemChannelId,
      system_channel_flags: 0,
      rules_channel_id: null,
      max_members: 500000,
      max_presences: null,
      vanity_url_code: null,
      description: null,
      banner: null,
      premium_tier: 0,
      premium_subscription_count: 0,
      preferred_locale: g.preferredLocale as APIGuild['preferred_locale'],
      public_updates_channel_id: null,
      max_video_channel_users: 25,
      max_stage_video_channel_users: 50,
      nsfw_level: 0,
      stickers: [],
      premium_progress_bar_enabled: false,
      hub_type: null,
      safety_alerts_channel_id: null,
      incidents_data: null,
      region: 'deprecated',
    } as unknown as APIGuild;
  }

  /**
   * GUILD_CREATE payload. `memberIds` selects which members are included (Discord only sends
   * everyone when the session can see presences; otherwise just the bot itself).
   */
  guildCreateJSON(id: string, memberIds: Iterable<string>): GatewayGuildCreateDispatchData {
    const g = this.requireGuild(id);
    const members: APIGuildMember[] = [];
    for (const userId of memberIds) if (g.members.has(userId)) members.push(this.memberJSON(id, userId));
    const channels = g.channelIds
      .map((cid) => this.requireChannel(cid))
      .filter((c) => !THREAD_TYPES.has(c.type))
      .map((c) => this.channelJSON(c.id, { withGuildId: false }));
    const threads = g.channelIds
      .map((cid) => this.requireChannel(cid))
      .filter((c) => THREAD_TYPES.has(c.type))
      .map((c) => this.channelJSON(c.id));
    return {
      ...this.guildJSON(id),
      joined_at: g.joinedAt,
      large: g.members.size > 250,
      unavailable: false,
      member_count: g.members.size,
      voice_states: [],
      members,
      channels,
      threads,
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
      lazy: true,
      embedded_activities: [],
    } as unknown as GatewayGuildCreateDispatchData;
  }

  // ---------------------------------------------------------------- messages

  addMessage(message: StoredMessage): void {
    this.messages.set(message.id, message);
    let list = this.channelMessages.get(message.channelId);
    if (!list) {
      list = [];
      this.channelMessages.set(message.channelId, list);
    }
    list.push(message);
    const channel = this.channels.get(message.channelId);
    if (channel && !message.ephemeral) channel.lastMessageId = message.id;
  }

  /** Non-deleted messages of a channel, oldest first. */
  messagesIn(channelId: string, opts: { includeEphemeral?: boolean; includeDeleted?: boolean } = {}): StoredMessage[] {
    return (this.channelMessages.get(channelId) ?? []).filter(
      (m) => (opts.includeDeleted || !m.deleted) && (opts.includeEphemeral !== false || !m.ephemeral),
    );
  }
}
