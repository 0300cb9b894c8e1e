/** The FakeDiscord facade: wires state, REST, gateway and interactions together; test-facing API. */
import type {
  APIApplicationCommand,
  APIChannel,
  APIGuildMember,
  APIOverwrite,
  APIRole,
  APIUser,
  RoleFlags,
  UserFlags,
} from 'discord-api-types/v10';
import { CommandStore, type FakeContext, type FakeDiscordEvents, type ResolvedOptions } from './context.ts';
import { Dispatcher } from './dispatch.ts';
import { TypedEmitter, Waiters, type Unsubscribe } from './emitter.ts';
import { FaultInjector, type FailOptions, type FaultHandle } from './faults.ts';
import { Gateway, Intents, type GatewaySession, type IdentifyRecord } from './gateway.ts';
import { HttpFrontend, type DownMode } from './http.ts';
import {
  InteractionBuilder,
  InteractionHandle,
  InteractionStore,
  registerInteractionRoutes,
  type AutocompleteInput,
  type ComponentInput,
  type FileInput,
  type ModalSubmitInput,
  type SlashCommandInput,
} from './interactions.ts';
import { MessageFactory, discordTimestamp } from './messages.ts';
import type { CallbackRecord, InteractionRecord, RequestLogEntry, StoredFile, StoredMessage } from './model.ts';
import { DEFAULT_BOT_PERMISSIONS, DEFAULT_EVERYONE_PERMISSIONS, toBits } from './permissions.ts';
import { RateLimiter } from './ratelimit.ts';
import { registerRestRoutes, parseEmoji, syncReactions } from './rest-routes.ts';
import { registerThreadRoutes } from './thread-routes.ts';
import { Router, compileMatcher, type RequestMatcher } from './router.ts';
import { SnowflakeGenerator } from './snowflake.ts';
import { WorldState, type ChannelState } from './state.ts';

export interface FakeDiscordOptions {
  /** Bot token the client must use (REST `Authorization: Bot <token>`, gateway IDENTIFY). */
  token?: string;
  botUser?: { id?: string; username?: string; globalName?: string };
  /** Defaults to the bot user id (as on real Discord). */
  applicationId?: string;
  applicationName?: string;
  /** READY `application.flags`. Default: GATEWAY_GUILD_MEMBERS_LIMITED | GATEWAY_MESSAGE_CONTENT_LIMITED. */
  applicationFlags?: number;
  /** HELLO heartbeat_interval. Default 1000 ms (real Discord: 41250). */
  heartbeatIntervalMs?: number;
  /** Interaction callbacks later than this after dispatch get 404 10062. Default 3000. */
  ackDeadlineMs?: number;
  /** Interaction webhook token lifetime; afterwards 401 50027. Default 15 min. */
  interactionTokenTtlMs?: number;
  /** `enforce_nonce` dedup window. Default 5 min. */
  nonceWindowMs?: number;
  /** Privileged intents enabled for the app (others → close 4014). Default: all three. */
  privilegedIntents?: { guildMembers?: boolean; guildPresences?: boolean; messageContent?: boolean };
  /** Members in GUILD_CREATE: `realistic` (default; everyone only with GUILD_PRESENCES, else just the bot) or `all`. */
  guildCreateMembers?: 'realistic' | 'all';
  /** Per-route bucket size/window for the success `X-RateLimit-*` headers (and real 429s when exceeded). Default 50 / 1000 ms. */
  rateLimit?: { limit?: number; windowMs?: number };
  /** `Retry-After` header: exact float seconds (default, fast tests) or `ceil` (integer, like Discord). */
  retryAfterHeader?: 'exact' | 'ceil';
  /** Default timeout of all `waitFor…` helpers. Default 5000 ms. */
  defaultTimeoutMs?: number;
  /** `attachment_size_limit` in interactions and the per-file upload limit. Default 10 MiB. */
  attachmentSizeLimit?: number;
  locale?: string;
  host?: string;
  port?: number;
}

export interface CreateGuildInput {
  id?: string;
  name: string;
  /** Defaults to a freshly created "owner" user (who is a member). */
  ownerId?: string;
  preferredLocale?: string;
  features?: string[];
  /** @everyone permissions (bigint or decimal string). */
  everyonePermissions?: bigint | string;
  /** Permissions of the bot's managed role. */
  botPermissions?: bigint | string;
  /** Text channels to create right away (names). */
  channels?: string[];
}

export interface FakeGuild {
  id: string;
  name: string;
  ownerId: string;
  everyoneRoleId: string;
  botRoleId: string;
  /** Channel ids by name, for channels created through `createGuild({channels})`. */
  channels: Record<string, string>;
}

export interface CreateChannelInput {
  guildId: string;
  name: string;
  /** ChannelType; default 0 (GUILD_TEXT). */
  type?: number;
  id?: string;
  topic?: string;
  parentId?: string;
  position?: number;
  nsfw?: boolean;
  permissionOverwrites?: APIOverwrite[];
  rateLimitPerUser?: number;
}

export interface CreateRoleInput {
  guildId: string;
  name: string;
  id?: string;
  permissions?: bigint | string;
  color?: number;
  hoist?: boolean;
  mentionable?: boolean;
  position?: number;
}

export interface CreateUserInput {
  username: string;
  id?: string;
  bot?: boolean;
  globalName?: string | null;
}

export interface PostMessageInput {
  channelId: string;
  /** Author (a user; must be a member for guild channels). Omit when `webhook` is set. */
  authorId?: string;
  /** Post as a webhook (sets `webhook_id`; author is the webhook's pseudo-user). */
  webhook?: { id?: string; username?: string };
  content?: string;
  embeds?: Record<string, unknown>[];
  components?: Record<string, unknown>[];
  attachments?: FileInput[];
  /** Override the mentioned user ids (default: parsed from `<@id>` in content). */
  mentions?: string[];
  /** Override mentioned role ids (default: parsed from `<@&id>`). */
  mentionRoles?: string[];
  /** Reply to a message. */
  replyTo?: string;
  flags?: number;
  /** Exact fields to merge into the stored message (escape hatch). */
  extra?: Record<string, unknown>;
}

export interface WaitOptions {
  timeoutMs?: number;
}

const DEFAULT_TOKEN = 'ODk0MzIxMDk4NzY1NDMyMTA5.fake.discord-bot-token';

export class FakeDiscord {
  readonly events = new TypedEmitter<FakeDiscordEvents>();
  readonly options: ResolvedOptions;
  readonly #ids: SnowflakeGenerator;
  readonly #state: WorldState;
  readonly #router = new Router();
  readonly #faults = new FaultInjector();
  readonly #rateLimiter: RateLimiter;
  readonly #http: HttpFrontend;
  readonly #gateway: Gateway;
  readonly #dispatcher: Dispatcher;
  readonly #factory: MessageFactory;
  readonly #commands: CommandStore;
  readonly #interactions = new InteractionStore();
  readonly #builder: InteractionBuilder;
  readonly #waiters: Waiters;
  readonly #log: RequestLogEntry[] = [];
  readonly #ctx: FakeContext;
  readonly #host: string;
  #port = 0;
  #seq = 0;
  #clockOffset = 0;
  #down: DownMode | null = null;
  #ackHeartbeats = true;
  #closed = false;

  /** Starts HTTP + gateway on 127.0.0.1 (port 0 by default). */
  static async start(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
    const fake = new FakeDiscord(options);
    fake.#port = await fake.#http.listen(fake.#host, options.port ?? 0);
    return fake;
  }

  private constructor(opts: FakeDiscordOptions) {
    this.#host = opts.host ?? '127.0.0.1';
    this.#ids = new SnowflakeGenerator(() => this.now());
    const botId = opts.botUser?.id ?? this.#ids.next();
    const pi = opts.privilegedIntents ?? {};
    this.options = {
      token: opts.token ?? DEFAULT_TOKEN,
      applicationId: opts.applicationId ?? botId,
      applicationFlags: opts.applicationFlags ?? (1 << 15) | (1 << 19),
      applicationName: opts.applicationName ?? opts.botUser?.username ?? 'hq-delegate',
      heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 1000,
      ackDeadlineMs: opts.ackDeadlineMs ?? 3000,
      interactionTokenTtlMs: opts.interactionTokenTtlMs ?? 15 * 60_000,
      nonceWindowMs: opts.nonceWindowMs ?? 5 * 60_000,
      allowedPrivilegedIntents:
        (pi.guildMembers === false ? 0 : Intents.GuildMembers) |
        (pi.guildPresences === false ? 0 : Intents.GuildPresences) |
        (pi.messageContent === false ? 0 : Intents.MessageContent),
      guildCreateMembers: opts.guildCreateMembers ?? 'realistic',
      attachmentSizeLimit: opts.attachmentSizeLimit ?? 10 * 1024 * 1024,
      locale: opts.locale ?? 'en-US',
    };
    this.#waiters = new Waiters(opts.defaultTimeoutMs ?? 5000);
    this.#state = new WorldState(this.#ids, botId);
    this.#state.users.set(botId, {
      id: botId,
      username: opts.botUser?.username ?? 'hq-delegate',
      global_name: opts.botUser?.globalName ?? null,
      discriminator: '0',
      avatar: null,
      bot: true,
      flags: 0 as UserFlags,
      public_flags: 0 as UserFlags,
      verified: true,
      mfa_enabled: false,
    } as APIUser);
    const ownerId = this.#ids.next();
    const appOwner: APIUser = {
      id: ownerId,
      username: 'app-owner',
      global_name: null,
      discriminator: '0',
      avatar: null,
      public_flags: 0 as UserFlags,
    };
    this.#state.users.set(ownerId, appOwner);
    this.#rateLimiter = new RateLimiter(opts.rateLimit?.limit ?? 50, opts.rateLimit?.windowMs ?? 1000, () =>
      this.now(),
    );
    this.#commands = new CommandStore(this.#ids);
    this.#factory = new MessageFactory({
      state: this.#state,
      ids: this.#ids,
      now: () => this.now(),
      baseUrl: () => this.baseUrl,
      attachmentSizeLimit: this.options.attachmentSizeLimit,
    });
    this.#gateway = new Gateway({
      token: () => this.options.token,
      heartbeatIntervalMs: () => this.options.heartbeatIntervalMs,
      ackHeartbeats: () => this.#ackHeartbeats,
      allowedPrivilegedIntents: () => this.options.allowedPrivilegedIntents,
      isDown: () => this.#down !== null,
      now: () => this.now(),
      publicUrl: () => this.gatewayUrl,
      readyData: (session) => this.#readyData(session),
      guildCreates: (session) =>
        this.#dispatcher.guildsForSession(session).map((id) => this.#dispatcher.guildCreateFor(session, id)),
      requestGuildMembers: (session, d) => this.#requestGuildMembers(session, d),
      emit: (event, payload) => this.events.emit(event, payload as FakeDiscordEvents[typeof event]),
    });
    this.#dispatcher = new Dispatcher(this.#state, this.#gateway, this.options.guildCreateMembers);
    this.#ctx = {
      state: this.#state,
      ids: this.#ids,
      factory: this.#factory,
      dispatcher: this.#dispatcher,
      gateway: this.#gateway,
      commands: this.#commands,
      options: this.options,
      events: this.events,
      appOwner,
      now: () => this.now(),
      gatewayUrl: () => this.gatewayUrl,
    };
    this.#builder = new InteractionBuilder(this.#ctx, this.#interactions);
    registerRestRoutes(this.#router, this.#ctx);
    registerThreadRoutes(this.#router, this.#ctx);
    registerInteractionRoutes(this.#router, this.#ctx, this.#interactions);
    this.#http = new HttpFrontend({
      router: this.#router,
      faults: this.#faults,
      rateLimiter: this.#rateLimiter,
      token: () => this.options.token,
      down: () => this.#down,
      now: () => this.now(),
      retryAfterHeader: opts.retryAfterHeader ?? 'exact',
      nextSeq: () => ++this.#seq,
      onRequestStart: (entry) => {
        this.#log.push(entry);
        this.events.emit('request_start', entry);
      },
      onRequestDone: (entry) => this.events.emit('request', entry),
      onInjected: (entry) => this.events.emit('request_failed', entry),
      file: (id) => this.#factory.files.get(id),
      onUpgrade: (req, socket, head) => this.#gateway.handleUpgrade(req, socket, head),
    });
  }

  // ====================================================================== addresses & identity

  get port(): number {
    return this.#port;
  }
  /** `http://127.0.0.1:<port>` */
  get baseUrl(): string {
    return `http://${this.#host}:${this.#port}`;
  }
  /** Pass as discord.js `rest.api`: `http://127.0.0.1:<port>/api` (the client appends `/v10`). */
  get apiBase(): string {
    return `${this.baseUrl}/api`;
  }
  /** What GET /gateway/bot returns as `url` (also READY's `resume_gateway_url`). */
  get gatewayUrl(): string {
    return `ws://${this.#host}:${this.#port}`;
  }
  get token(): string {
    return this.options.token;
  }
  get applicationId(): string {
    return this.options.applicationId;
  }
  get botUser(): APIUser {
    return this.#state.botUser;
  }

  /** Fake clock (epoch ms, sub-ms precision) used for deadlines, TTLs, nonce windows, timestamps. */
  now(): number {
    return performance.timeOrigin + performance.now() + this.#clockOffset;
  }

  /** Moves the fake clock forward (e.g. to expire interaction tokens without waiting). */
  advanceClock(ms: number): void {
    this.#clockOffset += ms;
  }

  // ====================================================================== world building

  createUser(input: CreateUserInput): APIUser {
    const id = input.id ?? this.#ids.next();
    if (this.#state.users.has(id)) throw new Error(`FakeDiscord: user ${id} already exists`);
    const user: APIUser = {
      id,
      username: input.username,
      global_name: input.globalName ?? (input.bot ? null : input.username),
      discriminator: input.bot ? '0000' : '0',
      avatar: null,
      public_flags: 0 as UserFlags,
      flags: 0 as UserFlags,
      ...(input.bot ? { bot: true } : {}),
    };
    this.#state.users.set(id, user);
    return { ...user };
  }

  createGuild(input: CreateGuildInput): FakeGuild {
    const id = input.id ?? this.#ids.next();
    if (this.#state.guilds.has(id)) throw new Error(`FakeDiscord: guild ${id} already exists`);
    const ownerId =
      input.ownerId ?? this.createUser({ username: `${input.name.toLowerCase().replace(/\W+/g, '-')}-owner` }).id;
    const joinedAt = discordTimestamp(this.now());
    const botRoleId = this.#ids.next();
    const roles = new Map<string, APIRole>();
    roles.set(
      id,
      this.#role(id, '@everyone', toBits(input.everyonePermissions, DEFAULT_EVERYONE_PERMISSIONS), { position: 0 }),
    );
    roles.set(
      botRoleId,
      this.#role(botRoleId, this.#state.botUser.username, toBits(input.botPermissions, DEFAULT_BOT_PERMISSIONS), {
        position: 1,
        managed: true,
        tags: { bot_id: this.#state.botUserId },
      }),
    );
    this.#state.guilds.set(id, {
      id,
      name: input.name,
      ownerId,
      preferredLocale: input.preferredLocale ?? this.options.locale,
      features: input.features ?? [],
      roles,
      channelIds: [],
      members: new Map(),
      joinedAt,
      systemChannelId: null,
      botRoleId,
    });
    const guild = this.#state.requireGuild(id);
    guild.members.set(ownerId, { userId: ownerId, roles: [], nick: null, joinedAt, communicationDisabledUntil: null });
    guild.members.set(this.#state.botUserId, {
      userId: this.#state.botUserId,
      roles: [botRoleId],
      nick: null,
      joinedAt,
      communicationDisabledUntil: null,
    });
    const channels: Record<string, string> = {};
    for (const name of input.channels ?? []) channels[name] = this.#addChannel({ guildId: id, name }).id;
    this.#dispatcher.guildCreate(id);
    return { id, name: input.name, ownerId, everyoneRoleId: id, botRoleId, channels };
  }

  #role(id: string, name: string, permissions: bigint, extra: Partial<APIRole> = {}): APIRole {
    return {
      id,
      name,
      color: 0,
      colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
      hoist: false,
      icon: null,
      unicode_emoji: null,
      position: 0,
      permissions: permissions.toString(),
      managed: false,
      mentionable: false,
      flags: 0 as RoleFlags,
      ...extra,
    };
  }

  #addChannel(input: CreateChannelInput): ChannelState {
    const guild = this.#state.requireGuild(input.guildId);
    const id = input.id ?? this.#ids.next();
    if (this.#state.channels.has(id)) throw new Error(`FakeDiscord: channel ${id} already exists`);
    const channel: ChannelState = {
      id,
      type: input.type ?? 0,
      guildId: guild.id,
      name: input.name,
      position: input.position ?? guild.channelIds.length,
      topic: input.topic ?? null,
      nsfw: input.nsfw ?? false,
      parentId: input.parentId ?? null,
      permissionOverwrites: input.permissionOverwrites ?? [],
      rateLimitPerUser: input.rateLimitPerUser ?? 0,
      lastMessageId: null,
      recipients: [],
    };
    this.#state.channels.set(id, channel);
    guild.channelIds.push(id);
    return channel;
  }

  /** Creates a guild channel; dispatches CHANNEL_CREATE to connected sessions. */
  createChannel(input: CreateChannelInput): APIChannel {
    const channel = this.#addChannel(input);
    this.#dispatcher.guildEvent('CHANNEL_CREATE', input.guildId, this.#state.channelJSON(channel.id));
    return this.#state.channelJSON(channel.id);
  }

  /** Replaces a channel's permission overwrites; dispatches CHANNEL_UPDATE. */
  setChannelOverwrites(channelId: string, overwrites: APIOverwrite[]): void {
    const channel = this.#state.requireChannel(channelId);
    channel.permissionOverwrites = structuredClone(overwrites);
    if (channel.guildId)
      this.#dispatcher.guildEvent('CHANNEL_UPDATE', channel.guildId, this.#state.channelJSON(channelId));
  }

  /** DM channel between the bot and a user (created on demand). */
  dmChannel(userId: string): APIChannel {
    this.#state.requireUser(userId);
    return this.#state.channelJSON(this.#builder.dmChannelFor(userId));
  }

  createRole(input: CreateRoleInput): APIRole {
    const guild = this.#state.requireGuild(input.guildId);
    const id = input.id ?? this.#ids.next();
    const role = this.#role(id, input.name, toBits(input.permissions, 0n), {
      color: input.color ?? 0,
      colors: { primary_color: input.color ?? 0, secondary_color: null, tertiary_color: null },
      hoist: input.hoist ?? false,
      mentionable: input.mentionable ?? false,
      position: input.position ?? guild.roles.size,
    });
    guild.roles.set(id, role);
    this.#dispatcher.guildEvent('GUILD_ROLE_CREATE', guild.id, {
      guild_id: guild.id,
      role: this.#state.roleJSON(role),
    });
    return this.#state.roleJSON(role);
  }

  updateRole(guildId: string, roleId: string, patch: Partial<Omit<CreateRoleInput, 'guildId' | 'id'>>): APIRole {
    const guild = this.#state.requireGuild(guildId);
    const role = guild.roles.get(roleId);
    if (!role) throw new Error(`FakeDiscord: unknown role ${roleId}`);
    if (patch.name !== undefined) role.name = patch.name;
    if (patch.permissions !== undefined) role.permissions = toBits(patch.permissions, 0n).toString();
    if (patch.color !== undefined) role.color = patch.color;
    if (patch.hoist !== undefined) role.hoist = patch.hoist;
    if (patch.mentionable !== undefined) role.mentionable = patch.mentionable;
    if (patch.position !== undefined) role.position = patch.position;
    this.#dispatcher.guildEvent('GUILD_ROLE_UPDATE', guildId, { guild_id: guildId, role: this.#state.roleJSON(role) });
    return this.#state.roleJSON(role);
  }

  /** Adds a user to a guild; dispatches GUILD_MEMBER_ADD (GUILD_MEMBERS intent). */
  addMember(input: { guildId: string; userId: string; roles?: string[]; nick?: string }): APIGuildMember {
    const guild = this.#state.requireGuild(input.guildId);
    this.#state.requireUser(input.userId);
    if (guild.members.has(input.userId))
      throw new Error(`FakeDiscord: ${input.userId} is already a member of ${guild.id}`);
    this.#checkRoles(input.guildId, input.roles ?? []);
    guild.members.set(input.userId, {
      userId: input.userId,
      roles: [...(input.roles ?? [])],
      nick: input.nick ?? null,
      joinedAt: discordTimestamp(this.now()),
      communicationDisabledUntil: null,
    });
    this.#dispatcher.guildEvent(
      'GUILD_MEMBER_ADD',
      guild.id,
      { ...this.#state.memberJSON(guild.id, input.userId), guild_id: guild.id },
      Intents.GuildMembers,
    );
    return this.#state.memberJSON(guild.id, input.userId);
  }

  /** createUser + addMember in one go. */
  createMember(input: {
    guildId: string;
    username: string;
    roles?: string[];
    bot?: boolean;
    id?: string;
    nick?: string;
  }): APIUser {
    const user = this.createUser({
      username: input.username,
      ...(input.id ? { id: input.id } : {}),
      ...(input.bot ? { bot: true } : {}),
    });
    this.addMember({
      guildId: input.guildId,
      userId: user.id,
      ...(input.roles ? { roles: input.roles } : {}),
      ...(input.nick ? { nick: input.nick } : {}),
    });
    return user;
  }

  #checkRoles(guildId: string, roleIds: string[]): void {
    const guild = this.#state.requireGuild(guildId);
    for (const r of roleIds)
      if (!guild.roles.has(r) || r === guildId) throw new Error(`FakeDiscord: unknown role ${r} in guild ${guildId}`);
  }

  /** Replaces a member's roles; dispatches GUILD_MEMBER_UPDATE (GUILD_MEMBERS intent). */
  updateMemberRoles(guildId: string, userId: string, roleIds: string[]): APIGuildMember {
    const member = this.#state.requireMember(guildId, userId);
    this.#checkRoles(guildId, roleIds);
    member.roles = [...roleIds];
    const json = this.#state.memberJSON(guildId, userId);
    this.#dispatcher.guildEvent('GUILD_MEMBER_UPDATE', guildId, { ...json, guild_id: guildId }, Intents.GuildMembers);
    return json;
  }

  removeMember(guildId: string, userId: string): void {
    const guild = this.#state.requireGuild(guildId);
    if (!guild.members.delete(userId)) throw new Error(`FakeDiscord: ${userId} is not a member of ${guildId}`);
    this.#dispatcher.guildEvent(
      'GUILD_MEMBER_REMOVE',
      guildId,
      { guild_id: guildId, user: this.#state.userJSON(userId) },
      Intents.GuildMembers,
    );
  }

  // ====================================================================== driving the bot

  /** Dispatches INTERACTION_CREATE (APPLICATION_COMMAND, chat input). */
  sendSlashCommand(input: SlashCommandInput): InteractionHandle {
    return new InteractionHandle(this.#builder.slashCommand(input), this.#ctx, this.#waiters);
  }

  /** Dispatches an autocomplete interaction and resolves with the choices the bot answered (type 8). */
  async sendAutocomplete(
    input: AutocompleteInput,
    opts: WaitOptions = {},
  ): Promise<{ name: string; value: string | number }[]> {
    const handle = new InteractionHandle(this.#builder.autocomplete(input), this.#ctx, this.#waiters);
    const ack = await handle.acknowledged(opts.timeoutMs);
    if (ack.type !== 8) throw new Error(`FakeDiscord: autocomplete answered with callback type ${ack.type}`);
    return handle.record.autocompleteChoices ?? [];
  }

  /** Clicks a button on a stored message (type 3 MESSAGE_COMPONENT). */
  clickButton(input: ComponentInput): InteractionHandle {
    return new InteractionHandle(this.#builder.component(input), this.#ctx, this.#waiters);
  }

  /** Picks values in a select menu on a stored message. */
  selectMenu(input: ComponentInput & { values: string[] }): InteractionHandle {
    return new InteractionHandle(this.#builder.component(input), this.#ctx, this.#waiters);
  }

  /** Submits a modal (type 5), usually the one opened by `from`. */
  submitModal(input: ModalSubmitInput): InteractionHandle {
    return new InteractionHandle(this.#builder.modalSubmit(input), this.#ctx, this.#waiters);
  }

  /** Stores a user/webhook message and dispatches MESSAGE_CREATE (with parsed mentions). */
  postMessage(input: PostMessageInput): StoredMessage {
    const channel = this.#state.requireChannel(input.channelId);
    let author: APIUser;
    let webhookId: string | undefined;
    if (input.webhook) {
      webhookId = input.webhook.id ?? this.#ids.next();
      author = {
        id: webhookId,
        username: input.webhook.username ?? 'Webhook',
        global_name: null,
        discriminator: '0000',
        avatar: null,
        bot: true,
      };
    } else {
      if (!input.authorId) throw new Error('FakeDiscord: postMessage needs authorId or webhook');
      author = this.#state.userJSON(input.authorId);
      if (channel.guildId && !this.#state.requireGuild(channel.guildId).members.has(author.id)) {
        throw new Error(`FakeDiscord: ${author.id} is not a member of guild ${channel.guildId}`);
      }
    }
    const files = (input.attachments ?? []).map((f, i) => ({
      field: `files[${i}]`,
      index: i,
      filename: f.filename,
      contentType: f.contentType,
      data: typeof f.content === 'string' ? Buffer.from(f.content) : Buffer.from(f.content),
    }));
    const msg = this.#factory.create({
      channelId: channel.id,
      author,
      body: {
        content: input.content ?? '',
        ...(input.embeds ? { embeds: input.embeds } : {}),
        ...(input.components ? { components: input.components } : {}),
        ...(input.flags !== undefined ? { flags: input.flags } : {}),
        ...(input.replyTo ? { message_reference: { message_id: input.replyTo, channel_id: channel.id } } : {}),
      },
      files,
      source: 'injected',
      ...(webhookId ? { webhookId } : {}),
      enforceAuthorPermissions: false,
    });
    if (input.mentions) msg.data.mentions = input.mentions.map((id) => this.#state.userJSON(id));
    if (input.mentionRoles) msg.data.mention_roles = [...input.mentionRoles];
    if (input.extra) Object.assign(msg.data, input.extra);
    this.#dispatcher.messageCreate(msg);
    this.events.emit('message_create', msg);
    return msg;
  }

  /**
   * The author edits a message they posted: the content is replaced, its mentions parsed again,
   * and MESSAGE_UPDATE dispatched with the whole message, as Discord does for a content edit.
   */
  editUserMessage(messageId: string, content: string): StoredMessage {
    const msg = this.#state.messages.get(messageId);
    if (!msg || msg.deleted) throw new Error(`FakeDiscord: unknown message ${messageId}`);
    this.#factory.edit(msg, { content }, [], { enforcePermissions: false });
    this.#dispatcher.messageUpdate(msg);
    this.events.emit('message_update', msg);
    return msg;
  }

  /**
   * A moderator deletes any message (the bot's too, interaction responses included): MESSAGE_DELETE
   * is dispatched, and every later edit of it gets 404 with code 10008 Unknown Message.
   */
  deleteMessage(messageId: string): StoredMessage {
    const msg = this.#state.messages.get(messageId);
    if (!msg || msg.deleted) throw new Error(`FakeDiscord: unknown message ${messageId}`);
    msg.deleted = true;
    this.#dispatcher.messageDelete(msg);
    this.events.emit('message_delete', msg);
    return msg;
  }

  /** A user reacts to a message; dispatches MESSAGE_REACTION_ADD. */
  addReaction(input: { channelId: string; messageId: string; userId: string; emoji: string }): void {
    const msg = this.#state.messages.get(input.messageId);
    if (!msg || msg.channelId !== input.channelId) throw new Error(`FakeDiscord: unknown message ${input.messageId}`);
    const emoji = parseEmoji(input.emoji);
    const users = msg.reactionUsers.get(emoji.key) ?? new Set<string>();
    users.add(input.userId);
    msg.reactionUsers.set(emoji.key, users);
    syncReactions(msg, this.#state.botUserId);
    this.#dispatcher.reaction('add', msg, input.userId, { id: emoji.id, name: emoji.name });
    this.events.emit('reaction_add', {
      channelId: msg.channelId,
      messageId: msg.id,
      emoji: emoji.key,
      userId: input.userId,
    });
  }

  /**
   * Dispatches an arbitrary event (`t`, `d`) to every live session; returns how many received it.
   * `intents`: only sessions that identified with all these intent bits.
   */
  dispatch(t: string, d: unknown, opts: { intents?: number } = {}): number {
    return this.#gateway.dispatch(t, d, opts);
  }

  // ====================================================================== gateway control

  /**
   * Closes every gateway connection. Default: close code 4000 (client resumes). `terminate: true`
   * kills the TCP socket without a close frame (client sees 1006 and resumes). `resumable: false`
   * invalidates the session so the client must re-identify.
   */
  dropConnection(opts: { code?: number; reason?: string; terminate?: boolean; resumable?: boolean } = {}): number {
    return this.#gateway.drop(opts);
  }

  /** Sends op 9 INVALID_SESSION (d = resumable) on every connection. */
  invalidateSession(resumable = false): void {
    this.#gateway.invalidateSessions(resumable);
  }

  /** Sends op 7 RECONNECT (the client closes and resumes). */
  requestReconnect(): void {
    this.#gateway.sendRaw({ op: 7, d: null, s: null, t: null });
  }

  /** Sends op 1 (server-requested heartbeat). */
  requestHeartbeat(): void {
    this.#gateway.sendRaw({ op: 1, d: null, s: null, t: null });
  }

  /** Stop answering heartbeats (the client will consider the connection a zombie and reconnect). */
  setHeartbeatAck(enabled: boolean): void {
    this.#ackHeartbeats = enabled;
  }

  /** Every IDENTIFY received (intents, properties, shard…), oldest first. */
  get identifies(): readonly IdentifyRecord[] {
    return this.#gateway.identifies;
  }

  /** Intents of the most recent IDENTIFY. */
  get lastIdentifyIntents(): number | undefined {
    return this.#gateway.identifies.at(-1)?.intents;
  }

  get sessions(): readonly { id: string; seq: number; intents: number; connected: boolean; resumable: boolean }[] {
    return this.#gateway.sessions.map((s) => ({
      id: s.id,
      seq: s.seq,
      intents: s.intents,
      connected: s.connection !== null,
      resumable: s.resumable,
    }));
  }

  get connectedGateways(): number {
    return this.#gateway.connections.size;
  }

  // ====================================================================== faults

  /** Fail the next matching REST request(s) with a 429 (default) or any status. */
  failNext(matcher: RequestMatcher, opts: FailOptions = {}): FaultHandle {
    return this.#faults.add(matcher, opts);
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  /**
   * Outage: REST connections are reset (or answered with `restStatus`), gateway connections are
   * terminated and new upgrades refused. `setDown(false)` restores service.
   */
  setDown(down: boolean, opts: { restStatus?: number } = {}): void {
    this.#down = down ? { rest: opts.restStatus ?? 'reset' } : null;
    if (down) this.#gateway.drop({ terminate: true });
  }

  get isDown(): boolean {
    return this.#down !== null;
  }

  // ====================================================================== observability

  /** Answered-or-in-flight REST requests, oldest first, optionally filtered. */
  requests(matcher?: RequestMatcher): RequestLogEntry[] {
    if (!matcher) return [...this.#log];
    const test = compileMatcher(matcher);
    return this.#log.filter((e) => test(e));
  }

  /** Messages of a channel, oldest first (deleted excluded; ephemeral responses included unless told otherwise). */
  messagesIn(channelId: string, opts: { includeEphemeral?: boolean; includeDeleted?: boolean } = {}): StoredMessage[] {
    return this.#state.messagesIn(channelId, {
      includeEphemeral: opts.includeEphemeral ?? true,
      includeDeleted: opts.includeDeleted ?? false,
    });
  }

  /** Every stored message in creation order (including deleted and ephemeral ones). */
  allMessages(): StoredMessage[] {
    return [...this.#state.messages.values()];
  }

  /** Messages authored by the bot (channel sends, interaction responses, followups). */
  botMessages(): StoredMessage[] {
    return this.allMessages().filter((m) => m.authorId === this.#state.botUserId);
  }

  message(id: string): StoredMessage | undefined {
    return this.#state.messages.get(id);
  }

  interaction(id: string): InteractionRecord | undefined {
    return this.#interactions.byId.get(id);
  }

  /** Callback POSTs for an interaction (accepted and rejected), in order. */
  interactionResponses(interactionId: string): readonly CallbackRecord[] {
    return this.#interactions.byId.get(interactionId)?.callbacks ?? [];
  }

  /** The `@original` response message for an interaction token. */
  originalResponse(token: string): StoredMessage | undefined {
    const id = this.#interactions.byToken.get(token)?.originalMessageId;
    return id ? this.#state.messages.get(id) : undefined;
  }

  /** Commands registered with PUT …/commands (global when no guildId). */
  registeredCommands(guildId?: string): readonly APIApplicationCommand[] {
    return guildId ? (this.#commands.guild.get(guildId) ?? []) : this.#commands.global;
  }

  /** Bytes of an uploaded attachment (message attachment or interaction option). */
  file(attachmentId: string): StoredFile | undefined {
    return this.#factory.files.get(attachmentId);
  }

  channel(channelId: string): APIChannel {
    return this.#state.channelJSON(channelId);
  }

  /** The threads opened from messages of a channel, oldest first. */
  threadsIn(parentId: string): APIChannel[] {
    return [...this.#state.channels.values()]
      .filter((channel) => channel.thread !== undefined && channel.parentId === parentId)
      .map((channel) => this.#state.channelJSON(channel.id));
  }

  member(guildId: string, userId: string): APIGuildMember {
    return this.#state.memberJSON(guildId, userId);
  }

  // ====================================================================== awaiting

  on<K extends keyof FakeDiscordEvents & string>(
    event: K,
    listener: (payload: FakeDiscordEvents[K]) => void,
  ): Unsubscribe {
    return this.events.on(event, listener);
  }

  once<K extends keyof FakeDiscordEvents & string>(
    event: K,
    listener: (payload: FakeDiscordEvents[K]) => void,
  ): Unsubscribe {
    return this.events.once(event, listener);
  }

  off<K extends keyof FakeDiscordEvents & string>(event: K, listener: (payload: FakeDiscordEvents[K]) => void): void {
    this.events.off(event, listener);
  }

  /** Resolves with the next `event` payload matching `predicate` (future events only). */
  waitFor<K extends keyof FakeDiscordEvents & string>(
    event: K,
    predicate: (payload: FakeDiscordEvents[K]) => boolean = () => true,
    opts: WaitOptions = {},
  ): Promise<FakeDiscordEvents[K]> {
    return this.#waiters.wait(
      `event ${event}`,
      (resolve) => this.events.on(event, (p) => predicate(p) && resolve(p)),
      opts.timeoutMs,
    );
  }

  /** Resolves when the next matching REST request has been answered (future requests only). */
  nextRequest(matcher: RequestMatcher, opts: WaitOptions = {}): Promise<RequestLogEntry> {
    const test = compileMatcher(matcher);
    return this.#waiters.wait(
      `request ${String(matcher)}`,
      (resolve) => this.events.on('request', (e) => test(e) && resolve(e)),
      opts.timeoutMs,
    );
  }

  /** Like nextRequest, but also resolves with an already answered matching request (the first one after `sinceSeq`). */
  waitForRequest(matcher: RequestMatcher, opts: WaitOptions & { sinceSeq?: number } = {}): Promise<RequestLogEntry> {
    const test = compileMatcher(matcher);
    const since = opts.sinceSeq ?? 0;
    return this.#waiters.wait(
      `request ${String(matcher)}`,
      (resolve) => {
        const past = this.#log.find((e) => e.seq > since && e.status !== undefined && test(e));
        if (past) {
          resolve(past);
          return () => {};
        }
        return this.events.on('request', (e) => e.seq > since && test(e) && resolve(e));
      },
      opts.timeoutMs,
    );
  }

  /** Sequence number of the last logged request (use as `sinceSeq`). */
  get lastRequestSeq(): number {
    return this.#seq;
  }

  /**
   * Resolves with a (non-deleted) message in `channelId` matching `predicate` — an existing one
   * or the next created/edited one.
   */
  waitForMessage(
    channelId: string,
    predicate: (m: StoredMessage) => boolean = () => true,
    opts: WaitOptions = {},
  ): Promise<StoredMessage> {
    return this.#waiters.wait(
      `message in channel ${channelId}`,
      (resolve) => {
        const existing = this.messagesIn(channelId).find(predicate);
        if (existing) {
          resolve(existing);
          return () => {};
        }
        const check = (m: StoredMessage): void => {
          if (m.channelId === channelId && !m.deleted && predicate(m)) resolve(m);
        };
        const offs = [this.events.on('message_create', check), this.events.on('message_update', check)];
        return () => offs.forEach((off) => off());
      },
      opts.timeoutMs,
    );
  }

  /** Next message created from now on (optionally in one channel / matching a predicate). */
  nextMessage(
    channelId?: string,
    predicate: (m: StoredMessage) => boolean = () => true,
    opts: WaitOptions = {},
  ): Promise<StoredMessage> {
    return this.waitFor(
      'message_create',
      (m) => (channelId === undefined || m.channelId === channelId) && predicate(m),
      opts,
    );
  }

  /** Next successful IDENTIFY (READY sent). */
  waitForReady(opts: WaitOptions = {}): Promise<{ sessionId: string }> {
    return this.waitFor('gateway_ready', () => true, opts);
  }

  /** Next successful RESUME. */
  waitForResume(opts: WaitOptions = {}): Promise<{ sessionId: string; fromSeq: number; replayed: number }> {
    return this.waitFor('gateway_resume', () => true, opts);
  }

  // ====================================================================== internals

  #readyData(session: GatewaySession): unknown {
    return {
      v: 10,
      user_settings: {},
      user: { ...this.#state.botUser, email: null, verified: true, mfa_enabled: false },
      guilds: this.#dispatcher.guildsForSession(session).map((id) => ({ id, unavailable: true })),
      session_id: session.id,
      session_type: 'normal',
      resume_gateway_url: this.gatewayUrl,
      shard: session.identify.shard,
      application: { id: this.options.applicationId, flags: this.options.applicationFlags },
      private_channels: [],
      relationships: [],
      presences: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: ['fake-region'],
      auth: {},
      _trace: ['["fake-gateway",{"micros":0}]'],
    };
  }

  #requestGuildMembers(session: GatewaySession, d: Record<string, unknown>): void {
    const guildIds = Array.isArray(d.guild_id) ? (d.guild_id as string[]) : [String(d.guild_id)];
    const userIds = Array.isArray(d.user_ids)
      ? (d.user_ids as string[])
      : typeof d.user_ids === 'string'
        ? [d.user_ids]
        : undefined;
    const query = typeof d.query === 'string' ? d.query.toLowerCase() : undefined;
    const limit = typeof d.limit === 'number' && d.limit > 0 ? d.limit : Infinity;
    for (const guildId of guildIds) {
      const guild = this.#state.guilds.get(guildId);
      if (!guild) continue;
      let ids = [...guild.members.keys()];
      if (userIds) ids = ids.filter((id) => userIds.includes(id));
      else if (query !== undefined)
        ids = ids.filter((id) => this.#state.requireUser(id).username.toLowerCase().startsWith(query));
      ids = ids.slice(0, limit);
      const chunk: Record<string, unknown> = {
        guild_id: guildId,
        members: ids.map((id) => this.#state.memberJSON(guildId, id)),
        chunk_index: 0,
        chunk_count: 1,
      };
      if (userIds) chunk.not_found = userIds.filter((id) => !guild.members.has(id));
      if (d.nonce !== undefined) chunk.nonce = d.nonce;
      if (d.presences === true) chunk.presences = [];
      this.#gateway.dispatch('GUILD_MEMBERS_CHUNK', chunk, { filter: (s) => s === session });
    }
  }

  /** Shuts everything down: terminates gateway clients, closes the HTTP server, rejects pending waiters. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#waiters.close();
    await Promise.all([this.#gateway.close(), this.#http.close()]);
    this.events.removeAllListeners();
  }
}
