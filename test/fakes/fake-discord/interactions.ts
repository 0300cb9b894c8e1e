/**
 * Interactions: building INTERACTION_CREATE payloads for the test driver, and the callback +
 * webhook (followup / @original) REST routes with ack deadline and token expiry semantics.
 */
import type { APIApplicationCommandOption, APIAttachment, APIInteraction, APIUser } from 'discord-api-types/v10';
import type { FakeContext } from './context.ts';
import type { Unsubscribe, Waiters } from './emitter.ts';
import { DiscordHttpError, Errors, FormErrors, REQUIRED, badLength, maxLength } from './errors.ts';
import { makeStoredFile, type CallbackRecord, type InteractionRecord, type StoredMessage } from './model.ts';
import type { RouteResult, Router } from './router.ts';
import { MESSAGE_FLAGS, len, validateMessageBody, type MessageBody } from './validate-message.ts';

// ------------------------------------------------------------------------------ driver inputs

export interface FileInput {
  filename: string;
  content: string | Uint8Array;
  contentType?: string;
  description?: string;
}

/**
 * Value of a slash command option. Plain values are typed from the registered command definition
 * (or inferred: string→3, integer→4, boolean→5, non-integer number→10). Object forms make the type
 * explicit and fill `data.resolved`.
 */
export type OptionInput =
  | string
  | number
  | boolean
  | { attachment: FileInput }
  | { user: string }
  | { role: string }
  | { channel: string }
  | { mentionable: string }
  | { type: number; value: string | number | boolean };

export interface SlashCommandInput {
  /** Channel the command is used in. Omit (with no guildId) to use the user's DM with the bot. */
  channelId?: string;
  /** Optional; derived from the channel. If given it must match the channel's guild. */
  guildId?: string;
  userId: string;
  name: string;
  options?: Record<string, OptionInput> | Record<string, unknown>[];
  subcommand?: string;
  subcommandGroup?: string;
  locale?: string;
}

export interface AutocompleteInput extends SlashCommandInput {
  /** Name of the focused option; its value (what the user typed so far) comes from `options[focused]` (default ''). */
  focused: string;
}

export interface ComponentInput {
  messageId: string;
  customId: string;
  userId: string;
  /** Select menu values. */
  values?: string[];
  /** Skip the "component exists and is enabled on that message" check. */
  force?: boolean;
  locale?: string;
}

export interface ModalSubmitInput {
  userId: string;
  /** Text input values by custom_id. */
  fields: Record<string, string>;
  /** Modal custom_id; defaults to the modal opened by `from`. */
  customId?: string;
  /** The interaction (handle or id) that answered with a MODAL; supplies channel/custom_id/message. */
  from?: InteractionHandle | string;
  channelId?: string;
  locale?: string;
}

// ------------------------------------------------------------------------------ store & handle

export class InteractionStore {
  readonly byId = new Map<string, InteractionRecord>();
  readonly byToken = new Map<string, InteractionRecord>();

  add(record: InteractionRecord): void {
    this.byId.set(record.id, record);
    this.byToken.set(record.token, record);
  }
}

/** Returned by the driver methods; lets a test await what the bot did with the interaction. */
export class InteractionHandle {
  readonly record: InteractionRecord;
  readonly #ctx: FakeContext;
  readonly #waiters: Waiters;

  constructor(record: InteractionRecord, ctx: FakeContext, waiters: Waiters) {
    this.record = record;
    this.#ctx = ctx;
    this.#waiters = waiters;
  }

  get id(): string {
    return this.record.id;
  }
  get token(): string {
    return this.record.token;
  }
  get payload(): APIInteraction {
    return this.record.payload;
  }
  /** Every callback POST (accepted or rejected), in arrival order. */
  get callbacks(): readonly CallbackRecord[] {
    return this.record.callbacks;
  }
  get ack(): CallbackRecord | undefined {
    return this.record.ack;
  }
  /** ms between dispatch and the accepted acknowledgement. */
  get ackLatencyMs(): number | undefined {
    return this.record.ack?.elapsedMs;
  }
  get originalMessage(): StoredMessage | undefined {
    const id = this.record.originalMessageId;
    return id ? this.#ctx.state.messages.get(id) : undefined;
  }
  get followups(): StoredMessage[] {
    return this.record.followupIds.map((id) => this.#ctx.state.messages.get(id)).filter((m): m is StoredMessage => !!m);
  }

  #onCallback(resolveIf: (cb: CallbackRecord) => boolean, resolve: (cb: CallbackRecord) => void): Unsubscribe {
    return this.#ctx.events.on('interaction_callback', ({ interaction, callback }) => {
      if (interaction === this.record && resolveIf(callback)) resolve(callback);
    });
  }

  /** Resolves with the first accepted callback (immediately if it already happened). */
  acknowledged(timeoutMs?: number): Promise<CallbackRecord> {
    return this.#waiters.wait<CallbackRecord>(
      `acknowledgement of interaction ${this.id}`,
      (resolve) => {
        if (this.record.ack) {
          resolve(this.record.ack);
          return () => {};
        }
        return this.#onCallback((cb) => cb.accepted, resolve);
      },
      timeoutMs,
    );
  }

  /** Resolves with the next callback POST after this call, accepted or not. */
  nextCallback(timeoutMs?: number): Promise<CallbackRecord> {
    return this.#waiters.wait<CallbackRecord>(
      `next callback of interaction ${this.id}`,
      (resolve) => this.#onCallback(() => true, resolve),
      timeoutMs,
    );
  }

  /**
   * Resolves with the `@original` response once `predicate` holds (default: exists and is no
   * longer "thinking…"). Works for replies, deferred replies later edited, and UPDATE_MESSAGE.
   */
  original(predicate: (m: StoredMessage) => boolean = (m) => !m.loading, timeoutMs?: number): Promise<StoredMessage> {
    const check = (): StoredMessage | undefined => {
      const m = this.originalMessage;
      return m && !m.deleted && predicate(m) ? m : undefined;
    };
    return this.#waiters.wait<StoredMessage>(
      `original response of interaction ${this.id}`,
      (resolve) => {
        const now = check();
        if (now) {
          resolve(now);
          return () => {};
        }
        const onMsg = (): void => {
          const m = check();
          if (m) resolve(m);
        };
        const offs = [
          this.#ctx.events.on('message_create', onMsg),
          this.#ctx.events.on('message_update', onMsg),
          this.#ctx.events.on('interaction_callback', onMsg),
        ];
        return () => offs.forEach((off) => off());
      },
      timeoutMs,
    );
  }

  /** Resolves with the n-th (0-based) followup message. */
  followup(index = 0, timeoutMs?: number): Promise<StoredMessage> {
    return this.#waiters.wait<StoredMessage>(
      `followup #${index} of interaction ${this.id}`,
      (resolve) => {
        const check = (): void => {
          const m = this.followups[index];
          if (m) resolve(m);
        };
        check();
        return this.#ctx.events.on('message_create', check);
      },
      timeoutMs,
    );
  }

  /**
   * Resolves when the bot acknowledged, or when the ack deadline passed without one (the user
   * would see "The application did not respond").
   */
  outcome(): Promise<{ acknowledged: boolean; latencyMs: number | undefined }> {
    const deadline = this.record.dispatchedAt + this.#ctx.options.ackDeadlineMs - this.#ctx.now();
    return this.#waiters.wait(
      `outcome of interaction ${this.id}`,
      (resolve) => {
        if (this.record.ack) {
          resolve({ acknowledged: true, latencyMs: this.record.ack.elapsedMs });
          return () => {};
        }
        const timer = setTimeout(
          () => resolve({ acknowledged: false, latencyMs: undefined }),
          Math.max(0, deadline) + 1,
        );
        timer.unref();
        const off = this.#onCallback(
          (cb) => cb.accepted,
          (cb) => resolve({ acknowledged: true, latencyMs: cb.elapsedMs }),
        );
        return () => {
          clearTimeout(timer);
          off();
        };
      },
      Math.max(0, deadline) + 1000,
    );
  }
}

// ------------------------------------------------------------------------------ builder

type Rec = Record<string, unknown>;

export class InteractionBuilder {
  readonly #ctx: FakeContext;
  readonly #store: InteractionStore;

  constructor(ctx: FakeContext, store: InteractionStore) {
    this.#ctx = ctx;
    this.#store = store;
  }

  #token(id: string): string {
    const random = Buffer.from(crypto.getRandomValues(new Uint8Array(96))).toString('base64url');
    return `aW50ZXJhY3Rpb246${Buffer.from(id).toString('base64url')}${random}`;
  }

  /** DM channel between the bot and `userId` (created on demand). */
  dmChannelFor(userId: string): string {
    return this.#ctx.state.dmChannelWith(userId);
  }

  #base(
    type: number,
    userId: string,
    channelIdIn: string | undefined,
    guildIdIn: string | undefined,
    locale: string | undefined,
  ): Rec {
    const { state, options } = this.#ctx;
    const user = state.users.get(userId);
    if (!user) throw new Error(`FakeDiscord: unknown user ${userId}`);
    let channelId = channelIdIn;
    if (!channelId) {
      if (guildIdIn) throw new Error('FakeDiscord: channelId is required for guild interactions');
      channelId = this.dmChannelFor(userId);
    }
    const channel = state.requireChannel(channelId);
    if (guildIdIn && guildIdIn !== channel.guildId)
      throw new Error(`FakeDiscord: channel ${channelId} is not in guild ${guildIdIn}`);
    const guildId = channel.guildId;
    const id = this.#ctx.ids.next();
    const base: Rec = {
      id,
      application_id: options.applicationId,
      type,
      token: this.#token(id),
      version: 1,
      locale: locale ?? options.locale,
      entitlements: [],
      entitlement_sku_ids: [],
      attachment_size_limit: options.attachmentSizeLimit,
      channel_id: channelId,
      app_permissions: String(state.permissionsIn(channelId, state.botUserId)),
    };
    if (guildId) {
      const guild = state.requireGuild(guildId);
      if (!guild.members.has(userId))
        throw new Error(`FakeDiscord: user ${userId} is not a member of guild ${guildId}`);
      const perms = state.permissionsIn(channelId, userId);
      base.guild_id = guildId;
      base.guild = { id: guildId, features: [...guild.features], locale: guild.preferredLocale };
      base.guild_locale = guild.preferredLocale;
      base.member = { ...state.memberJSON(guildId, userId), permissions: String(perms) };
      base.channel = { ...state.channelJSON(channelId), permissions: String(perms) };
      base.authorizing_integration_owners = { '0': guildId };
      base.context = 0;
    } else {
      base.user = state.userJSON(userId);
      base.channel = state.channelJSON(channelId);
      base.authorizing_integration_owners = { '0': '0' };
      base.context = 1;
    }
    return base;
  }

  #resolveOption(
    name: string,
    input: unknown,
    def: APIApplicationCommandOption | undefined,
    base: Rec,
    resolved: Record<string, Record<string, unknown>>,
  ): Rec {
    const { state } = this.#ctx;
    const guildId = (base.guild_id as string | undefined) ?? null;
    const channelId = base.channel_id as string;
    const put = (bucket: string, id: string, value: unknown): void => {
      (resolved[bucket] ??= {})[id] = value;
    };
    const resolveUser = (id: string): void => {
      put('users', id, state.userJSON(id));
      if (guildId && state.guilds.get(guildId)?.members.has(id)) {
        put('members', id, {
          ...state.partialMemberJSON(guildId, id),
          permissions: String(state.permissionsIn(channelId, id)),
        });
      }
    };
    const resolveRole = (id: string): void => {
      const role = guildId ? state.guilds.get(guildId)?.roles.get(id) : undefined;
      if (!role) throw new Error(`FakeDiscord: unknown role ${id} for option ${name}`);
      put('roles', id, state.roleJSON(role));
    };
    let type = def?.type as number | undefined;
    let value: unknown = input;
    if (typeof input === 'object' && input !== null) {
      const o = input as Rec;
      if ('attachment' in o) {
        type = 11;
        const file = o.attachment as FileInput;
        const data = typeof file.content === 'string' ? Buffer.from(file.content) : Buffer.from(file.content);
        const id = this.#ctx.ids.next();
        const url = this.#ctx.factory.attachmentUrl(channelId, id, file.filename);
        const attachment: APIAttachment = {
          id,
          filename: file.filename,
          size: data.length,
          url,
          proxy_url: url,
          ephemeral: true,
          ...(file.contentType ? { content_type: file.contentType } : {}),
          ...(file.description ? { description: file.description } : {}),
        };
        this.#ctx.factory.files.set(
          id,
          makeStoredFile({
            id,
            filename: file.filename,
            contentType: file.contentType,
            description: file.description,
            data,
          }),
        );
        put('attachments', id, attachment);
        value = id;
      } else if ('user' in o) {
        type = 6;
        value = o.user;
      } else if ('role' in o) {
        type = 8;
        value = o.role;
      } else if ('channel' in o) {
        type = 7;
        value = o.channel;
      } else if ('mentionable' in o) {
        type = 9;
        value = o.mentionable;
      } else if ('type' in o) {
        type = o.type as number;
        value = o.value;
      }
    }
    type ??= typeof value === 'boolean' ? 5 : typeof value === 'number' ? (Number.isInteger(value) ? 4 : 10) : 3;
    if (def && def.type !== type) throw new Error(`FakeDiscord: option ${name} has type ${def.type}, got ${type}`);
    if (type === 6) resolveUser(String(value));
    else if (type === 8) resolveRole(String(value));
    else if (type === 9) {
      if (state.users.has(String(value))) resolveUser(String(value));
      else resolveRole(String(value));
    } else if (type === 7) {
      const ch = state.requireChannel(String(value));
      put('channels', ch.id, {
        ...(state.channelJSON(ch.id) as unknown as Rec),
        permissions: String(
          state.permissionsIn(
            ch.id,
            (base.member as { user: APIUser } | undefined)?.user.id ?? (base.user as APIUser).id,
          ),
        ),
      });
    }
    const choices = (def as { choices?: { value: unknown }[] } | undefined)?.choices;
    if (choices && !choices.some((c) => c.value === value)) {
      throw new Error(`FakeDiscord: ${JSON.stringify(value)} is not a valid choice for option ${name}`);
    }
    return { name, type, value };
  }

  #commandOptions(input: SlashCommandInput, base: Rec, focused: string | undefined): { data: Rec; commandId: string } {
    const { commands } = this.#ctx;
    const guildId = (base.guild_id as string | undefined) ?? null;
    const def = commands.find(input.name, guildId);
    if (!def && commands.anyRegistered(guildId)) {
      throw new Error(
        `FakeDiscord: slash command /${input.name} is not registered (global or for guild ${guildId ?? '-'})`,
      );
    }
    let defs = def?.options as APIApplicationCommandOption[] | undefined;
    const wrap: { name: string; type: number }[] = [];
    for (const [level, type] of [
      [input.subcommandGroup, 2],
      [input.subcommand, 1],
    ] as const) {
      if (!level) continue;
      const sub = defs?.find((o) => o.name === level && o.type === type);
      if (def && !sub)
        throw new Error(
          `FakeDiscord: /${input.name} has no ${type === 2 ? 'subcommand group' : 'subcommand'} ${level}`,
        );
      defs = (sub as { options?: APIApplicationCommandOption[] } | undefined)?.options ?? (def ? [] : undefined);
      wrap.push({ name: level, type });
    }
    const resolved: Record<string, Record<string, unknown>> = {};
    let options: Rec[];
    if (Array.isArray(input.options)) {
      options = structuredClone(input.options);
    } else {
      const entries = Object.entries(input.options ?? {});
      if (focused !== undefined && !entries.some(([k]) => k === focused)) entries.push([focused, '']);
      options = entries.map(([name, value]) => {
        const optDef = defs?.find((o) => o.name === name);
        if (defs && !optDef) throw new Error(`FakeDiscord: /${input.name} has no option ${name}`);
        if (name === focused) {
          return { name, type: (optDef?.type as number | undefined) ?? 3, value: String(value), focused: true };
        }
        return this.#resolveOption(name, value, optDef, base, resolved);
      });
      if (defs && focused === undefined) {
        for (const d of defs) {
          if ((d as { required?: boolean }).required && !options.some((o) => o.name === d.name)) {
            throw new Error(`FakeDiscord: required option ${d.name} of /${input.name} is missing`);
          }
        }
      }
    }
    for (const level of wrap.reverse()) options = [{ name: level.name, type: level.type, options }];
    const commandId = def?.id ?? commands.idFor('unregistered', 1, input.name);
    const data: Rec = { id: commandId, name: input.name, type: 1 };
    if (options.length) data.options = options;
    if (Object.keys(resolved).length) data.resolved = resolved;
    if (def?.guild_id) data.guild_id = def.guild_id;
    return { data, commandId };
  }

  #record(payload: Rec): InteractionRecord {
    const record: InteractionRecord = {
      id: payload.id as string,
      token: payload.token as string,
      type: payload.type as number,
      payload: payload as unknown as APIInteraction,
      channelId: payload.channel_id as string,
      guildId: (payload.guild_id as string | undefined) ?? null,
      userId: ((payload.member as { user: APIUser } | undefined)?.user ?? (payload.user as APIUser)).id,
      dispatchedAt: this.#ctx.now(),
      callbacks: [],
      ack: undefined,
      originalMessageId: undefined,
      followupIds: [],
      modal: undefined,
      autocompleteChoices: undefined,
    };
    this.#store.add(record);
    return record;
  }

  #dispatch(payload: Rec): InteractionRecord {
    if (this.#ctx.gateway.liveSessions.length === 0) {
      throw new Error('FakeDiscord: no gateway session is connected (log the client in and await ready first)');
    }
    const record = this.#record(payload);
    const delivered = this.#ctx.dispatcher.interactionCreate(payload, record.guildId);
    if (delivered === 0) throw new Error('FakeDiscord: no gateway session received the interaction');
    this.#ctx.events.emit('interaction_create', record);
    return record;
  }

  slashCommand(input: SlashCommandInput): InteractionRecord {
    const base = this.#base(2, input.userId, input.channelId, input.guildId, input.locale);
    base.data = this.#commandOptions(input, base, undefined).data;
    return this.#dispatch(base);
  }

  autocomplete(input: AutocompleteInput): InteractionRecord {
    const base = this.#base(4, input.userId, input.channelId, input.guildId, input.locale);
    const { data } = this.#commandOptions(input, base, input.focused);
    delete data.resolved;
    base.data = data;
    return this.#dispatch(base);
  }

  component(input: ComponentInput): InteractionRecord {
    const { state } = this.#ctx;
    const msg = state.messages.get(input.messageId);
    if (!msg || msg.deleted) throw new Error(`FakeDiscord: unknown message ${input.messageId}`);
    const component = msg.interactiveComponents.find((c) => c.custom_id === input.customId);
    if (!input.force) {
      if (!component)
        throw new Error(`FakeDiscord: message ${msg.id} has no component with custom_id ${input.customId}`);
      if (component.disabled === true) throw new Error(`FakeDiscord: component ${input.customId} is disabled`);
    }
    const base = this.#base(3, input.userId, msg.channelId, undefined, input.locale);
    const componentType = (component?.type as number | undefined) ?? (input.values ? 3 : 2);
    const data: Rec = { custom_id: input.customId, component_type: componentType };
    if (componentType !== 2) data.values = input.values ?? [];
    if (typeof component?.id === 'number') data.id = component.id;
    base.data = data;
    base.message = structuredClone(msg.data);
    return this.#dispatch(base);
  }

  modalSubmit(input: ModalSubmitInput): InteractionRecord {
    const from = typeof input.from === 'string' ? this.#store.byId.get(input.from) : input.from?.record;
    const customId = input.customId ?? from?.modal?.custom_id;
    if (!customId) throw new Error('FakeDiscord: modalSubmit needs customId or an interaction that opened a modal');
    const channelId = input.channelId ?? from?.channelId;
    const base = this.#base(5, input.userId, channelId, undefined, input.locale);
    base.data = {
      custom_id: customId,
      components: Object.entries(input.fields).map(([id, value]) => ({
        type: 1,
        components: [{ type: 4, custom_id: id, value }],
      })),
    };
    if (from?.type === 3) base.message = structuredClone((from.payload as unknown as { message: unknown }).message);
    return this.#dispatch(base);
  }
}

// ------------------------------------------------------------------------------ REST routes

const ALLOWED_CALLBACKS: Record<number, number[]> = {
  1: [1],
  2: [4, 5, 9, 10, 12],
  3: [4, 5, 6, 7, 9, 10, 12],
  4: [8],
  5: [4, 5, 6, 7, 10, 12],
};

function asBody(body: unknown): MessageBody {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    const errors = new FormErrors();
    errors.add([], 'DICT_TYPE_CONVERT', 'Only dictionaries may be used in a DictType');
    errors.throwIfAny();
  }
  return body as MessageBody;
}

export function registerInteractionRoutes(router: Router, ctx: FakeContext, store: InteractionStore): void {
  const { state, factory, dispatcher, options } = ctx;

  const responseMessageType = (rec: InteractionRecord): number => {
    if (rec.type === 2) return (rec.payload as unknown as { data: { type: number } }).data.type === 1 ? 20 : 23;
    return 19;
  };

  const metadata = (rec: InteractionRecord, followup: boolean): Rec => {
    const p = rec.payload as unknown as Rec;
    const user = ((p.member as { user: APIUser } | undefined)?.user ?? p.user) as APIUser;
    const meta: Rec = {
      id: rec.id,
      type: rec.type,
      user,
      authorizing_integration_owners: p.authorizing_integration_owners,
    };
    if (rec.type === 2) {
      meta.name = (p.data as { name: string }).name;
      meta.command_type = (p.data as { type: number }).type;
    }
    if (rec.type === 3) meta.interacted_message_id = (p.message as { id: string }).id;
    if (followup && rec.originalMessageId) meta.original_response_message_id = rec.originalMessageId;
    const extra: Rec = { interaction_metadata: meta };
    if (rec.type === 2) {
      extra.interaction = {
        id: rec.id,
        type: rec.type,
        name: (p.data as { name: string }).name,
        user,
        ...(p.member ? { member: { ...(p.member as Rec), user: undefined, permissions: undefined } } : {}),
      };
    }
    return extra;
  };

  const createResponseMessage = (
    rec: InteractionRecord,
    body: MessageBody,
    files: RouteContextFiles,
    source: 'interaction_response' | 'followup',
    forceFlags = 0,
  ): StoredMessage => {
    const msg = factory.create({
      channelId: rec.channelId,
      author: state.botUser,
      body,
      files,
      source,
      type: source === 'followup' ? 0 : responseMessageType(rec),
      webhookId: options.applicationId,
      applicationId: options.applicationId,
      interactionId: rec.id,
      extra: metadata(rec, source === 'followup') as never,
      forceFlags,
      enforceAuthorPermissions: false,
    });
    dispatcher.messageCreate(msg);
    ctx.events.emit('message_create', msg);
    return msg;
  };

  const editMessage = (msg: StoredMessage, body: MessageBody, files: RouteContextFiles): void => {
    validateMessageBody(body, {
      mode: 'edit',
      fileCount: files.length,
      effectiveFlags: msg.flags,
      resultIsEmpty: () => factory.wouldBeEmpty(msg, body, files.length),
    });
    factory.edit(msg, body, files, { enforcePermissions: false, clearLoading: true });
    dispatcher.messageUpdate(msg);
    ctx.events.emit('message_update', msg);
  };

  // ---------------------------------------------------------------- POST callback
  router.add({
    method: 'POST',
    pattern: '/interactions/:interaction_id/:interaction_token/callback',
    auth: false,
    major: ['interaction_id'],
    handler: ({ req, params, log }) => {
      const rec = store.byId.get(params.interaction_id!);
      if (!rec) throw Errors.unknownInteraction();
      if (rec.token !== params.interaction_token) throw Errors.invalidWebhookToken();
      const body = (req.body ?? {}) as { type?: unknown; data?: unknown };
      const type = typeof body.type === 'number' ? body.type : -1;
      const elapsedMs = log.time - rec.dispatchedAt;
      const record = (status: number, errorCode: number | undefined): CallbackRecord => {
        const cb: CallbackRecord = {
          type,
          body: structuredClone(req.body),
          status,
          errorCode,
          accepted: errorCode === undefined,
          at: log.time,
          elapsedMs,
        };
        rec.callbacks.push(cb);
        if (cb.accepted) rec.ack = cb;
        ctx.events.emit('interaction_callback', { interaction: rec, callback: cb });
        return cb;
      };
      let resourceMessage: StoredMessage | undefined;
      try {
        if (rec.ack) throw Errors.alreadyAcknowledged();
        if (elapsedMs > options.ackDeadlineMs) throw Errors.unknownInteraction();
        const allowed = ALLOWED_CALLBACKS[rec.type] ?? [];
        if (!allowed.includes(type)) {
          const errors = new FormErrors();
          errors.add(['type'], 'BASE_TYPE_CHOICES', `Value must be one of {${allowed.join(', ')}}.`);
          errors.throwIfAny();
        }
        const data = asBody(body.data);
        switch (type) {
          case 4: {
            validateMessageBody(data, { mode: 'create', fileCount: req.files.length });
            resourceMessage = createResponseMessage(rec, data, req.files, 'interaction_response');
            rec.originalMessageId = resourceMessage.id;
            break;
          }
          case 5: {
            const flags = (typeof data.flags === 'number' ? data.flags : 0) & MESSAGE_FLAGS.Ephemeral;
            resourceMessage = createResponseMessage(
              rec,
              { content: '', flags },
              [],
              'interaction_response',
              MESSAGE_FLAGS.Loading,
            );
            rec.originalMessageId = resourceMessage.id;
            break;
          }
          case 6: {
            const messageId = (rec.payload as unknown as { message?: { id: string } }).message?.id;
            rec.originalMessageId = messageId;
            break;
          }
          case 7: {
            const messageId = (rec.payload as unknown as { message?: { id: string } }).message?.id;
            const msg = messageId ? state.messages.get(messageId) : undefined;
            if (!msg || msg.deleted) throw Errors.unknownMessage();
            editMessage(msg, data, req.files);
            rec.originalMessageId = msg.id;
            resourceMessage = msg;
            break;
          }
          case 8: {
            const errors = new FormErrors();
            const choices = (data as { choices?: unknown }).choices;
            if (!Array.isArray(choices)) errors.add(['data', 'choices'], ...REQUIRED);
            else {
              if (choices.length > 25) errors.add(['data', 'choices'], ...maxLength(25));
              choices.forEach((c: unknown, i: number) => {
                const choice = (c ?? {}) as { name?: unknown; value?: unknown };
                if (typeof choice.name !== 'string' || choice.name.length === 0)
                  errors.add(['data', 'choices', i, 'name'], ...REQUIRED);
                else if (len(choice.name) > 100) errors.add(['data', 'choices', i, 'name'], ...badLength(1, 100));
                if (typeof choice.value === 'string' && len(choice.value) > 100)
                  errors.add(['data', 'choices', i, 'value'], ...maxLength(100));
                else if (typeof choice.value !== 'string' && typeof choice.value !== 'number')
                  errors.add(['data', 'choices', i, 'value'], ...REQUIRED);
              });
            }
            errors.throwIfAny();
            rec.autocompleteChoices = structuredClone(choices as { name: string; value: string | number }[]);
            break;
          }
          case 9: {
            const errors = new FormErrors();
            const m = data as { custom_id?: unknown; title?: unknown; components?: unknown };
            if (typeof m.custom_id !== 'string' || m.custom_id.length === 0)
              errors.add(['data', 'custom_id'], ...REQUIRED);
            else if (len(m.custom_id) > 100) errors.add(['data', 'custom_id'], ...maxLength(100));
            if (typeof m.title !== 'string' || m.title.length === 0) errors.add(['data', 'title'], ...REQUIRED);
            else if (len(m.title) > 45) errors.add(['data', 'title'], ...maxLength(45));
            if (!Array.isArray(m.components) || m.components.length < 1 || m.components.length > 5) {
              errors.add(['data', 'components'], ...badLength(1, 5));
            }
            errors.throwIfAny();
            rec.modal = structuredClone(m as { custom_id: string; title: string; components: unknown[] });
            break;
          }
          default:
            break;
        }
      } catch (error) {
        if (error instanceof DiscordHttpError) record(error.status, error.body.code);
        throw error;
      }
      record(req.query.get('with_response') === 'true' ? 200 : 204, undefined);
      if (req.query.get('with_response') !== 'true') return { status: 204 };
      const response: Rec = {
        interaction: {
          id: rec.id,
          type: rec.type,
          ...(resourceMessage
            ? {
                response_message_id: resourceMessage.id,
                response_message_loading: resourceMessage.loading,
                response_message_ephemeral: resourceMessage.ephemeral,
              }
            : {}),
        },
      };
      if (type !== 6) response.resource = { type, ...(resourceMessage ? { message: resourceMessage.data } : {}) };
      return { status: 200, body: response };
    },
  });

  // ---------------------------------------------------------------- webhook (interaction token) routes
  const byToken = (webhookId: string, token: string): InteractionRecord => {
    if (webhookId !== options.applicationId) throw Errors.unknownWebhook();
    const rec = store.byToken.get(token);
    if (!rec) throw Errors.invalidWebhookToken();
    if (ctx.now() - rec.dispatchedAt > options.interactionTokenTtlMs) throw Errors.invalidWebhookToken();
    return rec;
  };

  const ownedMessage = (rec: InteractionRecord, messageId: string): StoredMessage => {
    const id = messageId === '@original' ? rec.originalMessageId : messageId;
    const owned = id !== undefined && (id === rec.originalMessageId || rec.followupIds.includes(id));
    const msg = owned && id ? state.messages.get(id) : undefined;
    if (!msg || msg.deleted) throw Errors.unknownMessage();
    return msg;
  };

  router.add({
    method: 'POST',
    pattern: '/webhooks/:webhook_id/:token',
    auth: false,
    major: ['webhook_id', 'token'],
    handler: ({ req, params }): RouteResult => {
      const rec = byToken(params.webhook_id!, params.token!);
      if (!rec.ack || rec.ack.type === 8) throw Errors.unknownWebhook();
      const body = asBody(req.body);
      validateMessageBody(body, { mode: 'create', fileCount: req.files.length });
      const wait = req.query.get('wait') === 'true';
      const original = rec.originalMessageId ? state.messages.get(rec.originalMessageId) : undefined;
      let msg: StoredMessage;
      if (original && original.loading && !original.deleted && rec.ack.type === 5) {
        // The first followup after a deferred reply replaces the "thinking…" message; once that
        // message was deleted, Discord posts the followup as a new message.
        editMessage(original, { ...body, flags: undefined }, req.files);
        msg = original;
      } else {
        msg = createResponseMessage(rec, body, req.files, 'followup');
        rec.followupIds.push(msg.id);
      }
      return wait ? { status: 200, body: msg.data } : { status: 204 };
    },
  });

  router.add({
    method: 'GET',
    pattern: '/webhooks/:webhook_id/:token/messages/:message_id',
    auth: false,
    major: ['webhook_id', 'token'],
    handler: ({ params }) => ({
      status: 200,
      body: ownedMessage(byToken(params.webhook_id!, params.token!), params.message_id!).data,
    }),
  });

  router.add({
    method: 'PATCH',
    pattern: '/webhooks/:webhook_id/:token/messages/:message_id',
    auth: false,
    major: ['webhook_id', 'token'],
    handler: ({ params, req }) => {
      const rec = byToken(params.webhook_id!, params.token!);
      const msg = ownedMessage(rec, params.message_id!);
      editMessage(msg, asBody(req.body), req.files);
      return { status: 200, body: msg.data };
    },
  });

  router.add({
    method: 'DELETE',
    pattern: '/webhooks/:webhook_id/:token/messages/:message_id',
    auth: false,
    major: ['webhook_id', 'token'],
    handler: ({ params }) => {
      const rec = byToken(params.webhook_id!, params.token!);
      const msg = ownedMessage(rec, params.message_id!);
      msg.deleted = true;
      dispatcher.messageDelete(msg);
      ctx.events.emit('message_delete', msg);
      return { status: 204 };
    },
  });
}

type RouteContextFiles = Parameters<FakeContext['factory']['create']>[0]['files'];
