/** REST v10 routes authenticated with the bot token: gateway, users, applications, channels, guilds. */
import type { APIApplication, APIMessage, APIReaction } from 'discord-api-types/v10';
import type { FakeContext } from './context.ts';
import { DiscordHttpError, Errors, FormErrors } from './errors.ts';
import type { StoredMessage } from './model.ts';
import { P } from './permissions.ts';
import type { RouteResult, Router } from './router.ts';
import { isSnowflake } from './snowflake.ts';
import { TEXT_CHANNEL_TYPES, type ChannelState } from './state.ts';
import { validateAndNormalizeCommands } from './validate-commands.ts';
import { MESSAGE_FLAGS, validateMessageBody, type MessageBody } from './validate-message.ts';

const ok = (body: unknown): RouteResult => ({ status: 200, body });
const noContent = (): RouteResult => ({ status: 204 });

function asBody(body: unknown): MessageBody {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    const errors = new FormErrors();
    errors.add([], 'DICT_TYPE_CONVERT', 'Only dictionaries may be used in a DictType');
    errors.throwIfAny();
  }
  return body as MessageBody;
}

export function applicationJSON(ctx: FakeContext): APIApplication {
  const { options, state } = ctx;
  return {
    id: options.applicationId,
    name: options.applicationName,
    icon: null,
    description: '',
    summary: '',
    type: null,
    hook: true,
    bot_public: true,
    bot_require_code_grant: false,
    verify_key: '0'.repeat(64),
    flags: options.applicationFlags,
    owner: ctx.appOwner,
    team: null,
    bot: state.botUser,
    redirect_uris: [],
    interactions_endpoint_url: null,
    role_connections_verification_url: null,
    approximate_guild_count: state.guilds.size,
    approximate_user_install_count: 0,
    integration_types_config: { '0': {} },
    event_webhooks_status: 1,
    tags: [],
  } as unknown as APIApplication;
}

/** Parses the `{emoji}` route param: URL-decoded unicode emoji or `name:id`. */
export function parseEmoji(raw: string): { id: string | null; name: string; key: string } {
  const value = raw.trim();
  const custom = /^a?:?([\w~]{1,32}):(\d{15,25})$/.exec(value);
  if (custom) return { id: custom[2]!, name: custom[1]!, key: `${custom[1]}:${custom[2]}` };
  if (
    value.length > 0 &&
    !value.includes(':') &&
    /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u.test(value)
  ) {
    return { id: null, name: value, key: value };
  }
  throw Errors.unknownEmoji();
}

export function registerRestRoutes(router: Router, ctx: FakeContext): void {
  const { state, factory, dispatcher, options } = ctx;
  const botId = (): string => state.botUserId;
  const nonces = new Map<string, { messageId: string; at: number }>();

  /** Resolves a channel the bot can see and checks permissions like Discord (50001 / 50013). */
  const access = (channelId: string, needed: bigint[] = []): ChannelState => {
    const channel = state.channels.get(channelId);
    if (!channel) throw Errors.unknownChannel();
    if (channel.guildId) {
      const perms = state.permissionsIn(channelId, botId());
      if (!(perms & P.ViewChannel)) throw Errors.missingAccess();
      for (const bit of needed) if (!(perms & bit)) throw Errors.missingPermissions();
    } else if (!channel.recipients.length) {
      throw Errors.missingAccess();
    }
    return channel;
  };

  const messageIn = (channelId: string, messageId: string): StoredMessage => {
    const msg = state.messages.get(messageId);
    if (!msg || msg.channelId !== channelId || msg.deleted || msg.ephemeral) throw Errors.unknownMessage();
    return msg;
  };

  const guildOf = (guildId: string) => {
    const guild = state.guilds.get(guildId);
    if (!guild) throw Errors.unknownGuild();
    if (!guild.members.has(botId())) throw Errors.missingAccess();
    return guild;
  };

  const checkApp = (applicationId: string): void => {
    if (applicationId !== options.applicationId) throw Errors.missingAccess();
  };

  // ------------------------------------------------------------------ gateway / users / apps
  router.add({
    method: 'GET',
    pattern: '/gateway/bot',
    auth: true,
    handler: () =>
      ok({
        url: ctx.gatewayUrl(),
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 86_400_000, max_concurrency: 1 },
      }),
  });
  router.add({ method: 'GET', pattern: '/gateway', auth: false, handler: () => ok({ url: ctx.gatewayUrl() }) });
  router.add({ method: 'GET', pattern: '/users/@me', auth: true, handler: () => ok(state.botUser) });
  router.add({
    method: 'POST',
    pattern: '/users/@me/channels',
    auth: true,
    handler: ({ req }) => {
      const recipient = (req.body as { recipient_id?: unknown } | undefined)?.recipient_id;
      if (typeof recipient !== 'string' || !state.users.has(recipient)) {
        const errors = new FormErrors();
        errors.add(['recipient_id'], 'BASE_TYPE_REQUIRED', 'This field is required');
        errors.throwIfAny();
      }
      const id = state.dmChannelWith(recipient as string);
      return ok(state.channelJSON(id));
    },
  });
  router.add({
    method: 'GET',
    pattern: '/users/:user_id',
    auth: true,
    handler: ({ params }) => {
      const user = state.users.get(params.user_id!);
      if (!user) throw Errors.unknownUser();
      return ok(user);
    },
  });
  router.add({ method: 'GET', pattern: '/applications/@me', auth: true, handler: () => ok(applicationJSON(ctx)) });
  router.add({
    method: 'GET',
    pattern: '/oauth2/applications/@me',
    auth: true,
    handler: () => ok(applicationJSON(ctx)),
  });

  // ------------------------------------------------------------------ application commands
  const putCommands = (applicationId: string, guildId: string | null, body: unknown): RouteResult => {
    checkApp(applicationId);
    if (guildId) guildOf(guildId);
    const commands = validateAndNormalizeCommands(body, {
      applicationId: options.applicationId,
      guildId,
      ids: ctx.commands,
      version: () => ctx.commands.version(),
    });
    if (guildId) ctx.commands.guild.set(guildId, commands);
    else ctx.commands.global = commands;
    ctx.events.emit('commands_registered', { guildId, commands: structuredClone(commands) });
    return ok(commands);
  };
  router.add({
    method: 'PUT',
    pattern: '/applications/:application_id/commands',
    auth: true,
    handler: ({ params, req }) => putCommands(params.application_id!, null, req.body),
  });
  router.add({
    method: 'GET',
    pattern: '/applications/:application_id/commands',
    auth: true,
    handler: ({ params }) => {
      checkApp(params.application_id!);
      return ok(ctx.commands.global);
    },
  });
  router.add({
    method: 'PUT',
    pattern: '/applications/:application_id/guilds/:guild_id/commands',
    auth: true,
    major: ['guild_id'],
    handler: ({ params, req }) => putCommands(params.application_id!, params.guild_id!, req.body),
  });
  router.add({
    method: 'GET',
    pattern: '/applications/:application_id/guilds/:guild_id/commands',
    auth: true,
    major: ['guild_id'],
    handler: ({ params }) => {
      checkApp(params.application_id!);
      guildOf(params.guild_id!);
      return ok(ctx.commands.guild.get(params.guild_id!) ?? []);
    },
  });

  // ------------------------------------------------------------------ channels & messages
  router.add({
    method: 'GET',
    pattern: '/channels/:channel_id',
    auth: true,
    major: ['channel_id'],
    handler: ({ params }) => ok(state.channelJSON(access(params.channel_id!).id)),
  });

  router.add({
    method: 'POST',
    pattern: '/channels/:channel_id/messages',
    auth: true,
    major: ['channel_id'],
    handler: ({ req, params }) => {
      const channelId = params.channel_id!;
      const existing = state.channels.get(channelId);
      if (!existing) throw Errors.unknownChannel();
      if (!TEXT_CHANNEL_TYPES.has(existing.type)) throw Errors.nonTextChannel();
      const body = asBody(req.body);
      const needed = [P.SendMessages];
      if (req.files.length > 0) needed.push(P.AttachFiles);
      if (body.message_reference) needed.push(P.ReadMessageHistory);
      if (existing.type === 11 || existing.type === 12) needed[0] = P.SendMessagesInThreads;
      const channel = access(channelId, needed);
      if (channel.type === 1 && channel.recipients.every((id) => state.users.get(id)?.bot)) {
        throw new DiscordHttpError(403, { code: 50007, message: 'Cannot send messages to this user' });
      }
      validateMessageBody(body, { mode: 'create', fileCount: req.files.length });
      const nonce = body.nonce;
      const nonceKey =
        nonce !== undefined && nonce !== null && body.enforce_nonce === true
          ? `${botId()}|${String(nonce)}`
          : undefined;
      if (nonceKey) {
        const prior = nonces.get(nonceKey);
        const priorMsg = prior ? state.messages.get(prior.messageId) : undefined;
        if (prior && priorMsg && !priorMsg.deleted && ctx.now() - prior.at <= options.nonceWindowMs) {
          return ok(priorMsg.data);
        }
      }
      const msg = factory.create({
        channelId,
        author: state.botUser,
        body: { ...body, flags: typeof body.flags === 'number' ? body.flags & ~MESSAGE_FLAGS.Ephemeral : body.flags },
        files: req.files,
        source: 'channel',
        enforceAuthorPermissions: true,
      });
      if (nonceKey) nonces.set(nonceKey, { messageId: msg.id, at: ctx.now() });
      dispatcher.messageCreate(msg);
      ctx.events.emit('message_create', msg);
      return ok(msg.data);
    },
  });

  router.add({
    method: 'GET',
    pattern: '/channels/:channel_id/messages',
    auth: true,
    major: ['channel_id'],
    handler: ({ req, params }) => {
      const channel = access(params.channel_id!);
      const q = req.query;
      const errors = new FormErrors();
      let limit = 50;
      if (q.has('limit')) {
        const raw = q.get('limit') ?? '';
        const n = Number(raw);
        if (!/^-?\d+$/.test(raw)) errors.add(['limit'], 'NUMBER_TYPE_COERCE', `Value "${raw}" is not int.`);
        else if (n < 1) errors.add(['limit'], 'NUMBER_TYPE_MIN', 'int value should be greater than or equal to 1.');
        else if (n > 100) errors.add(['limit'], 'NUMBER_TYPE_MAX', 'int value should be less than or equal to 100.');
        else limit = n;
      }
      for (const key of ['before', 'after', 'around']) {
        const v = q.get(key);
        if (v !== null && !isSnowflake(v)) errors.add([key], 'NUMBER_TYPE_COERCE', `Value "${v}" is not snowflake.`);
      }
      errors.throwIfAny();
      if (channel.guildId && !(state.permissionsIn(channel.id, botId()) & P.ReadMessageHistory)) return ok([]);
      const all = state.messagesIn(channel.id, { includeEphemeral: false });
      const big = (id: string): bigint => BigInt(id);
      let picked: StoredMessage[];
      const around = q.get('around');
      const before = q.get('before');
      const after = q.get('after');
      if (around) {
        const pivot = big(around);
        const older = all.filter((m) => big(m.id) < pivot);
        const newerOrEq = all.filter((m) => big(m.id) >= pivot);
        const half = Math.floor(limit / 2);
        const takeNewer = Math.min(newerOrEq.length, limit - Math.min(half, older.length));
        const takeOlder = Math.min(older.length, limit - takeNewer);
        picked = [...older.slice(older.length - takeOlder), ...newerOrEq.slice(0, takeNewer)];
      } else if (before) {
        const b = big(before);
        const older = all.filter((m) => big(m.id) < b);
        picked = older.slice(Math.max(0, older.length - limit));
      } else if (after) {
        const a = big(after);
        picked = all.filter((m) => big(m.id) > a).slice(0, limit);
      } else {
        picked = all.slice(Math.max(0, all.length - limit));
      }
      return ok(picked.reverse().map((m) => m.data));
    },
  });

  router.add({
    method: 'GET',
    pattern: '/channels/:channel_id/messages/:message_id',
    auth: true,
    major: ['channel_id'],
    handler: ({ params }) => {
      const channel = access(params.channel_id!, [P.ReadMessageHistory]);
      return ok(messageIn(channel.id, params.message_id!).data);
    },
  });

  router.add({
    method: 'PATCH',
    pattern: '/channels/:channel_id/messages/:message_id',
    auth: true,
    major: ['channel_id'],
    handler: ({ req, params }) => {
      const channel = access(params.channel_id!);
      const msg = messageIn(channel.id, params.message_id!);
      const body = asBody(req.body);
      if (msg.authorId !== botId()) {
        const onlyFlags = Object.keys(body).every((k) => k === 'flags');
        if (!onlyFlags) throw Errors.cannotEditOthers();
        if (channel.guildId && !(state.permissionsIn(channel.id, botId()) & P.ManageMessages))
          throw Errors.missingPermissions();
      }
      if (req.files.length > 0) access(channel.id, [P.AttachFiles]);
      validateMessageBody(body, {
        mode: 'edit',
        fileCount: req.files.length,
        effectiveFlags: msg.flags,
        resultIsEmpty: () => factory.wouldBeEmpty(msg, body, req.files.length),
      });
      factory.edit(msg, body, req.files, { enforcePermissions: true });
      dispatcher.messageUpdate(msg);
      ctx.events.emit('message_update', msg);
      return ok(msg.data);
    },
  });

  router.add({
    method: 'DELETE',
    pattern: '/channels/:channel_id/messages/:message_id',
    auth: true,
    major: ['channel_id'],
    handler: ({ params }) => {
      const channel = access(params.channel_id!);
      const msg = messageIn(channel.id, params.message_id!);
      if (
        msg.authorId !== botId() &&
        channel.guildId &&
        !(state.permissionsIn(channel.id, botId()) & P.ManageMessages)
      ) {
        throw Errors.missingPermissions();
      }
      msg.deleted = true;
      dispatcher.messageDelete(msg);
      ctx.events.emit('message_delete', msg);
      return noContent();
    },
  });

  const reactionRoute = (method: 'PUT' | 'DELETE'): void =>
    router.add({
      method,
      pattern: '/channels/:channel_id/messages/:message_id/reactions/:emoji/@me',
      auth: true,
      major: ['channel_id'],
      handler: ({ params }) => {
        const channel = access(params.channel_id!, [P.ReadMessageHistory]);
        const msg = messageIn(channel.id, params.message_id!);
        const emoji = parseEmoji(params.emoji!);
        const users = msg.reactionUsers.get(emoji.key) ?? new Set<string>();
        if (method === 'PUT') {
          if (users.has(botId())) return noContent();
          if (users.size === 0 && channel.guildId && !(state.permissionsIn(channel.id, botId()) & P.AddReactions)) {
            throw Errors.missingPermissions();
          }
          users.add(botId());
          msg.reactionUsers.set(emoji.key, users);
        } else {
          if (!users.delete(botId())) return noContent();
          if (users.size === 0) msg.reactionUsers.delete(emoji.key);
        }
        syncReactions(msg, botId());
        dispatcher.reaction(method === 'PUT' ? 'add' : 'remove', msg, botId(), { id: emoji.id, name: emoji.name });
        ctx.events.emit(method === 'PUT' ? 'reaction_add' : 'reaction_remove', {
          channelId: channel.id,
          messageId: msg.id,
          emoji: emoji.key,
          userId: botId(),
        });
        return noContent();
      },
    });
  reactionRoute('PUT');
  reactionRoute('DELETE');

  router.add({
    method: 'POST',
    pattern: '/channels/:channel_id/typing',
    auth: true,
    major: ['channel_id'],
    handler: ({ params }) => {
      access(params.channel_id!, [P.SendMessages]);
      return noContent();
    },
  });

  // ------------------------------------------------------------------ guilds
  router.add({
    method: 'GET',
    pattern: '/guilds/:guild_id',
    auth: true,
    major: ['guild_id'],
    handler: ({ params, req }) => {
      const guild = guildOf(params.guild_id!);
      const out: Record<string, unknown> = { ...state.guildJSON(guild.id) };
      if (req.query.get('with_counts') === 'true') {
        out.approximate_member_count = guild.members.size;
        out.approximate_presence_count = 0;
      }
      return ok(out);
    },
  });
  router.add({
    method: 'GET',
    pattern: '/guilds/:guild_id/channels',
    auth: true,
    major: ['guild_id'],
    handler: ({ params }) => {
      const guild = guildOf(params.guild_id!);
      return ok(guild.channelIds.map((id) => state.channelJSON(id)));
    },
  });
  router.add({
    method: 'GET',
    pattern: '/guilds/:guild_id/roles',
    auth: true,
    major: ['guild_id'],
    handler: ({ params }) => ok([...guildOf(params.guild_id!).roles.values()].map((r) => state.roleJSON(r))),
  });
  router.add({
    method: 'GET',
    pattern: '/guilds/:guild_id/members/:user_id',
    auth: true,
    major: ['guild_id'],
    handler: ({ params }) => {
      const guild = guildOf(params.guild_id!);
      const userId = params.user_id!;
      if (!isSnowflake(userId)) throw Errors.unknownUser();
      if (!guild.members.has(userId)) throw Errors.unknownMember();
      return ok(state.memberJSON(guild.id, userId));
    },
  });
  router.add({
    method: 'GET',
    pattern: '/guilds/:guild_id/members',
    auth: true,
    major: ['guild_id'],
    handler: ({ params, req }) => {
      const guild = guildOf(params.guild_id!);
      if (!(options.allowedPrivilegedIntents & (1 << 1))) throw Errors.missingAccess();
      const limit = Math.min(1000, Math.max(1, Number(req.query.get('limit') ?? '1') || 1));
      const after = BigInt(req.query.get('after') ?? '0');
      const ids = [...guild.members.keys()]
        .filter((id) => BigInt(id) > after)
        .sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
      return ok(ids.slice(0, limit).map((id) => state.memberJSON(guild.id, id)));
    },
  });
}

/** Rebuilds `message.reactions` from the per-emoji user sets (`me` relative to the bot). */
export function syncReactions(msg: StoredMessage, botId: string): void {
  const reactions: APIReaction[] = [];
  for (const [key, users] of msg.reactionUsers) {
    const [name, id] = key.includes(':') ? (key.split(':') as [string, string]) : [key, null];
    reactions.push({
      count: users.size,
      count_details: { burst: 0, normal: users.size },
      me: users.has(botId),
      me_burst: false,
      emoji: { id, name },
      burst_colors: [],
    });
  }
  const data: APIMessage = msg.data;
  if (reactions.length) data.reactions = reactions;
  else delete data.reactions;
}
