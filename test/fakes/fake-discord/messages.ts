/** Builds and edits Discord message objects (mentions, replies, attachments, flags). */
import type { APIAllowedMentions, APIAttachment, APIEmbed, APIMessage, APIUser } from 'discord-api-types/v10';
import { Errors, FormErrors } from './errors.ts';
import { makeStoredFile, StoredMessage, type MessageSource, type StoredFile } from './model.ts';
import { P } from './permissions.ts';
import type { UploadedFile } from './router.ts';
import type { SnowflakeGenerator } from './snowflake.ts';
import type { WorldState } from './state.ts';
import { MESSAGE_FLAGS, type MessageBody } from './validate-message.ts';

export function discordTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+00:00');
}

const USER_MENTION = /<@!?(\d{15,25})>/g;
const ROLE_MENTION = /<@&(\d{15,25})>/g;
const EVERYONE = /@(everyone|here)\b/;

export interface MentionResult {
  mentions: APIUser[];
  mention_roles: string[];
  mention_everyone: boolean;
}

export interface CreateMessageInit {
  channelId: string;
  author: APIUser;
  body: MessageBody;
  files: UploadedFile[];
  source: MessageSource;
  /** MessageType. Default 0 (or 19 when replying). */
  type?: number;
  webhookId?: string;
  applicationId?: string;
  interactionId?: string;
  /** Extra top-level fields (interaction_metadata, interaction…). */
  extra?: Partial<APIMessage>;
  /** Flags forced on top of body.flags (e.g. LOADING for deferred responses). */
  forceFlags?: number;
  ephemeral?: boolean;
  /** Whether allowed_mentions/permissions of the author apply (bot messages) or everything parses (injected). */
  enforceAuthorPermissions: boolean;
}

export class MessageFactory {
  readonly #state: WorldState;
  readonly #ids: SnowflakeGenerator;
  readonly #now: () => number;
  readonly #baseUrl: () => string;
  readonly #attachmentSizeLimit: number;
  readonly files = new Map<string, StoredFile>();

  constructor(deps: {
    state: WorldState;
    ids: SnowflakeGenerator;
    now: () => number;
    baseUrl: () => string;
    attachmentSizeLimit: number;
  }) {
    this.#state = deps.state;
    this.#ids = deps.ids;
    this.#now = deps.now;
    this.#baseUrl = deps.baseUrl;
    this.#attachmentSizeLimit = deps.attachmentSizeLimit;
  }

  computeMentions(
    channelId: string,
    content: string,
    allowed: APIAllowedMentions | undefined,
    opts: { authorId: string; enforcePermissions: boolean; replyToAuthorId?: string | undefined },
  ): MentionResult {
    const channel = this.#state.channels.get(channelId);
    const guild = channel?.guildId ? this.#state.guilds.get(channel.guildId) : undefined;
    const parse = allowed?.parse;
    const userIds = [...content.matchAll(USER_MENTION)].map((m) => m[1] ?? '');
    const roleIds = [...content.matchAll(ROLE_MENTION)].map((m) => m[1] ?? '');

    const allowUser = (id: string): boolean =>
      allowed === undefined || (parse?.includes('users' as never) ?? false) || (allowed.users ?? []).includes(id);
    const allowRole = (id: string): boolean =>
      allowed === undefined || (parse?.includes('roles' as never) ?? false) || (allowed.roles ?? []).includes(id);

    const mentioned = new Set<string>();
    for (const id of userIds) if (this.#state.users.has(id) && allowUser(id)) mentioned.add(id);
    if (opts.replyToAuthorId && this.#state.users.has(opts.replyToAuthorId)) {
      const repliedAllowed = allowed === undefined ? true : allowed.replied_user === true;
      if (repliedAllowed) mentioned.add(opts.replyToAuthorId);
    }
    const authorPerms =
      channel && opts.enforcePermissions && channel.guildId
        ? this.#state.permissionsIn(channelId, opts.authorId)
        : P.MentionEveryone;
    const roles = new Set<string>();
    if (guild) {
      for (const id of roleIds) {
        const role = guild.roles.get(id);
        if (!role || !allowRole(id)) continue;
        if (role.mentionable || (authorPerms & P.MentionEveryone) !== 0n) roles.add(id);
      }
    }
    const everyoneAllowed = allowed === undefined || (parse?.includes('everyone' as never) ?? false);
    const mentionEveryone = everyoneAllowed && EVERYONE.test(content) && (authorPerms & P.MentionEveryone) !== 0n;
    return {
      mentions: [...mentioned].map((id) => this.#state.userJSON(id)),
      mention_roles: [...roles],
      mention_everyone: mentionEveryone,
    };
  }

  attachmentUrl(channelId: string, id: string, filename: string): string {
    return `${this.#baseUrl()}/attachments/${channelId}/${id}/${encodeURIComponent(filename)}`;
  }

  /** Turns uploaded files (+ optional `attachments` metadata) into attachment objects and stores their bytes. */
  #newAttachments(
    channelId: string,
    files: UploadedFile[],
    meta: unknown,
    ephemeral: boolean,
  ): { attachments: APIAttachment[]; stored: StoredFile[] } {
    const metaList = Array.isArray(meta) ? (meta as Record<string, unknown>[]) : [];
    const attachments: APIAttachment[] = [];
    const stored: StoredFile[] = [];
    files.forEach((file, i) => {
      if (file.data.length > this.#attachmentSizeLimit) throw Errors.entityTooLarge();
      const index = file.index ?? i;
      const m = metaList.find((a) => a && String(a.id) === String(index));
      const filename = typeof m?.filename === 'string' ? m.filename : file.filename;
      const description = typeof m?.description === 'string' ? m.description : undefined;
      const id = this.#ids.next();
      const url = this.attachmentUrl(channelId, id, filename);
      const attachment: APIAttachment = {
        id,
        filename,
        size: file.data.length,
        url,
        proxy_url: url,
        ...(file.contentType ? { content_type: file.contentType } : {}),
        ...(description !== undefined ? { description } : {}),
        ...(typeof m?.title === 'string' ? { title: m.title } : {}),
        ...(ephemeral ? { ephemeral: true } : {}),
      };
      attachments.push(attachment);
      const sf = makeStoredFile({ id, filename, contentType: file.contentType, description, data: file.data });
      stored.push(sf);
      this.files.set(id, sf);
    });
    return { attachments, stored };
  }

  #normalizeEmbeds(embeds: unknown): APIEmbed[] {
    if (!Array.isArray(embeds)) return [];
    return (embeds as APIEmbed[]).map((e) => ({ type: 'rich', ...structuredClone(e) }) as APIEmbed);
  }

  #resolveReference(
    channelId: string,
    body: MessageBody,
  ): { reference?: APIMessage['message_reference']; referenced?: APIMessage | undefined; type: number } {
    const ref = body.message_reference as Record<string, unknown> | undefined | null;
    if (!ref) return { type: 0 };
    const refType = typeof ref.type === 'number' ? ref.type : 0;
    const messageId = typeof ref.message_id === 'string' ? ref.message_id : undefined;
    const refChannelId = typeof ref.channel_id === 'string' ? ref.channel_id : channelId;
    const target = messageId ? this.#state.messages.get(messageId) : undefined;
    const valid =
      target && !target.deleted && target.channelId === refChannelId && (refType === 1 || refChannelId === channelId);
    if (!valid) {
      if (ref.fail_if_not_exists === false) return { type: 0 };
      const errors = new FormErrors();
      errors.add(['message_reference'], 'MESSAGE_REFERENCE_UNKNOWN_MESSAGE', 'Unknown message');
      errors.throwIfAny();
    }
    const reference = {
      type: refType,
      channel_id: refChannelId,
      message_id: messageId,
      ...(target?.guildId ? { guild_id: target.guildId } : {}),
    } as APIMessage['message_reference'];
    return {
      reference,
      referenced: refType === 0 ? structuredClone(target!.data) : undefined,
      type: refType === 0 ? 19 : 0,
    };
  }

  create(init: CreateMessageInit): StoredMessage {
    const { body, channelId } = init;
    const channel = this.#state.requireChannel(channelId);
    const now = this.#now();
    const id = this.#ids.next();
    const flagsIn = typeof body.flags === 'number' ? body.flags : 0;
    const ephemeral = init.ephemeral ?? (flagsIn & MESSAGE_FLAGS.Ephemeral) !== 0;
    const flags = (flagsIn | (init.forceFlags ?? 0)) & ~(ephemeral ? 0 : MESSAGE_FLAGS.Ephemeral);
    const content = typeof body.content === 'string' ? body.content : '';
    const { reference, referenced, type: refMessageType } = this.#resolveReference(channelId, body);
    const allowed = (body.allowed_mentions ?? undefined) as APIAllowedMentions | undefined;
    const mentions = this.computeMentions(channelId, content, allowed, {
      authorId: init.author.id,
      enforcePermissions: init.enforceAuthorPermissions,
      replyToAuthorId: referenced?.author.id,
    });
    let embeds = this.#normalizeEmbeds(body.embeds);
    if (
      init.enforceAuthorPermissions &&
      channel.guildId &&
      !init.webhookId &&
      (this.#state.permissionsIn(channelId, init.author.id) & P.EmbedLinks) === 0n
    ) {
      embeds = []; // Discord silently drops embeds without EMBED_LINKS.
    }
    const { attachments, stored } = this.#newAttachments(channelId, init.files, body.attachments, ephemeral);
    const data: APIMessage = {
      type: init.type ?? refMessageType,
      content,
      mentions: mentions.mentions,
      mention_roles: mentions.mention_roles,
      attachments,
      embeds,
      timestamp: discordTimestamp(now),
      edited_timestamp: null,
      flags,
      components: Array.isArray(body.components) ? structuredClone(body.components) : [],
      id,
      channel_id: channelId,
      author: structuredClone(init.author),
      pinned: false,
      mention_everyone: mentions.mention_everyone,
      tts: body.tts === true,
      ...(body.nonce !== undefined && body.nonce !== null ? { nonce: body.nonce as string | number } : {}),
      ...(init.webhookId ? { webhook_id: init.webhookId } : {}),
      ...(init.applicationId ? { application_id: init.applicationId } : {}),
      ...(reference ? { message_reference: reference } : {}),
      ...(referenced ? { referenced_message: referenced } : {}),
      ...(channel.type === 11 || channel.type === 12 ? { position: this.#state.messagesIn(channelId).length } : {}),
      ...init.extra,
    };
    const msg = new StoredMessage({
      data,
      guildId: channel.guildId,
      source: init.source,
      createdAt: now,
      ...(init.interactionId ? { interactionId: init.interactionId } : {}),
      ephemeral,
    });
    msg.allowedMentions = allowed;
    msg.requestBodies.push(structuredClone(body));
    for (const f of stored) msg.files.set(f.id, f);
    this.#state.addMessage(msg);
    return msg;
  }

  /** True if applying `body` to `msg` would leave it without any content. */
  wouldBeEmpty(msg: StoredMessage, body: MessageBody, newFiles: number): boolean {
    const content = body.content !== undefined ? (body.content ?? '') : msg.data.content;
    const embeds = body.embeds !== undefined ? ((body.embeds as unknown[] | null) ?? []) : msg.data.embeds;
    const components =
      body.components !== undefined ? ((body.components as unknown[] | null) ?? []) : (msg.data.components ?? []);
    const attachments =
      body.attachments !== undefined
        ? ((body.attachments as unknown[] | null) ?? []).length
        : msg.data.attachments.length;
    return (
      (typeof content !== 'string' || content.length === 0) &&
      embeds.length === 0 &&
      components.length === 0 &&
      attachments + newFiles === 0 &&
      (msg.data.sticker_items?.length ?? 0) === 0 &&
      !msg.data.poll
    );
  }

  edit(
    msg: StoredMessage,
    body: MessageBody,
    files: UploadedFile[],
    opts: { enforcePermissions: boolean; clearLoading?: boolean },
  ): void {
    const before = structuredClone(msg.data);
    const next: APIMessage = structuredClone(msg.data);
    if (body.content !== undefined) next.content = typeof body.content === 'string' ? body.content : '';
    if (body.embeds !== undefined) next.embeds = this.#normalizeEmbeds(body.embeds);
    if (body.components !== undefined)
      next.components = Array.isArray(body.components) ? structuredClone(body.components) : [];
    if (body.flags !== undefined && body.flags !== null) {
      // Only SUPPRESS_EMBEDS / IS_COMPONENTS_V2 can be changed on edit; EPHEMERAL etc. stay as they were.
      const mutable = MESSAGE_FLAGS.SuppressEmbeds | MESSAGE_FLAGS.IsComponentsV2;
      next.flags = ((next.flags ?? 0) & ~mutable) | ((body.flags as number) & mutable);
    }
    if (opts.clearLoading) next.flags = (next.flags ?? 0) & ~MESSAGE_FLAGS.Loading;
    let kept = next.attachments;
    if (body.attachments !== undefined) {
      const keepIds = new Set(((body.attachments as Record<string, unknown>[] | null) ?? []).map((a) => String(a?.id)));
      kept = next.attachments.filter((a) => keepIds.has(a.id));
    }
    const { attachments, stored } = this.#newAttachments(msg.channelId, files, body.attachments, msg.ephemeral);
    next.attachments = [...kept, ...attachments];
    for (const f of stored) msg.files.set(f.id, f);
    if (body.allowed_mentions !== undefined)
      msg.allowedMentions = (body.allowed_mentions ?? undefined) as APIAllowedMentions | undefined;
    if (body.content !== undefined || body.allowed_mentions !== undefined) {
      const m = this.computeMentions(msg.channelId, next.content, msg.allowedMentions, {
        authorId: next.author.id,
        enforcePermissions: opts.enforcePermissions,
        replyToAuthorId: next.referenced_message?.author.id,
      });
      next.mentions = m.mentions;
      next.mention_roles = m.mention_roles;
      next.mention_everyone = m.mention_everyone;
    }
    const wasLoading = ((before.flags ?? 0) & MESSAGE_FLAGS.Loading) !== 0;
    // Filling in a deferred "thinking…" response is not shown as an edit.
    next.edited_timestamp = wasLoading && opts.clearLoading ? null : discordTimestamp(this.#now());
    msg.history.push(before);
    msg.requestBodies.push(structuredClone(body));
    msg.data = next;
  }
}
