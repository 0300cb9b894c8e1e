/**
 * Where the requester watches their run: the deferred interaction reply, or a reply to an
 * agent's @mention, edited in place and recorded (`onMove`) so a restart finds it. Once the
 * interaction token expires or is refused, or a moderator deletes the reply, the reply continues
 * as a channel message. Every
 * create carries a nonce with enforce_nonce, so a repeat after a restart returns the first one.
 */
import {
  InteractionWebhook,
  type Client,
  type Message,
  type MessageCreateOptions,
  type RepliableInteraction,
  type SendableChannels,
} from 'discord.js';
import type { Logger } from '../../log.ts';
import type { ProgressMessageInput } from '../../store/progress-messages.ts';
import { isExpiredToken, isUnknownMessage } from './discord-errors.ts';
import { MAX_MESSAGE_CONTENT, truncate } from '../render/limits.ts';
import { NO_PINGS } from '../render/no-pings.ts';
import { CONTINUED_BELOW, continuedInChannel, replyDeletedInChannel } from '../render/strings.ts';

export type ReplyPayload = Pick<MessageCreateOptions, 'content' | 'embeds' | 'files' | 'components'>;

/** The interaction's original response before its message id is known. */
export const ORIGINAL = '@original';

/** Where the requester's reply is shown now. With `tokenExpiresAt` it is the interaction's original response. */
export type ReplyLocation = ProgressMessageInput;

export interface ReplyTarget {
  /** Replaces what the requester sees; resolves with where it is shown. */
  show(payload: ReplyPayload): Promise<ReplyLocation>;
  readonly via: () => 'interaction' | 'channel';
  /** Where it was last shown (or will be, for a deferred reply). */
  location(): ReplyLocation | undefined;
}

const SNOWFLAKE = /^\d{15,21}$/;

export function isMessageId(id: string | undefined): id is string {
  return id !== undefined && SNOWFLAKE.test(id);
}

async function sendableChannel(client: Client, channelId: string): Promise<SendableChannels> {
  const channel = client.channels.cache.get(channelId) ?? (await client.channels.fetch(channelId));
  if (!channel || !channel.isSendable()) throw new Error(`channel ${channelId} cannot be written to`);
  return channel;
}

export interface ChannelReplyOptions {
  readonly client: Client;
  readonly channelId: string;
  /** A message of ours that already shows this reply (found in the store after a restart). */
  readonly messageId?: string | undefined;
  /** The agent's @mention, which the message answers. */
  readonly replyTo?: string | undefined;
  /** A line every version starts with. */
  readonly note?: string | (() => string) | undefined;
  readonly nonce: string;
  readonly onMove?: ((location: ReplyLocation) => void | Promise<void>) | undefined;
  readonly onCreated?: (() => Promise<void>) | undefined;
}

/** A bot message in a channel, created on the first show and edited after that. */
export function createChannelReply(options: ChannelReplyOptions): ReplyTarget {
  const { client, channelId } = options;
  let messageId = isMessageId(options.messageId) ? options.messageId : undefined;
  let where: ReplyLocation | undefined = messageId === undefined ? undefined : { channelId, messageId };

  return {
    via: () => 'channel',
    location: () => where,
    async show(payload) {
      const note = typeof options.note === 'function' ? options.note() : options.note;
      const content =
        note === undefined
          ? payload.content
          : truncate([note, payload.content].filter(Boolean).join('\n'), MAX_MESSAGE_CONTENT);
      const body = { ...payload, ...(content === undefined ? {} : { content }), allowedMentions: NO_PINGS };
      const channel = await sendableChannel(client, channelId);
      if (messageId !== undefined) {
        try {
          await channel.messages.edit(messageId, body);
          return where!;
        } catch (error) {
          // Someone deleted it: the answer still has to reach them, in a new message.
          if (!isUnknownMessage(error)) throw error;
          messageId = undefined;
        }
      }
      const sent: Message = await channel.send({
        ...body,
        nonce: options.nonce,
        enforceNonce: true,
        ...(options.replyTo === undefined
          ? {}
          : { reply: { messageReference: options.replyTo, failIfNotExists: false } }),
      });
      messageId = sent.id;
      where = { channelId, messageId };
      await options.onMove?.(where);
      await options.onCreated?.();
      return where;
    },
  };
}

export interface TokenReplyOptions {
  readonly client: Client;
  readonly editOriginal: (payload: ReplyPayload & { allowedMentions: typeof NO_PINGS }) => Promise<Message>;
  readonly token: string;
  /** Epoch ms; from then on the bot speaks through a channel message. */
  readonly expiresAt: number;
  readonly channelId: string;
  readonly requesterId: string;
  readonly log: Logger;
  readonly originalMessageId?: string | undefined;
  /** A channel message that already continues this reply (a restart finds it in the store). */
  readonly channelMessageId?: string | undefined;
  readonly nonce: string;
  readonly onMove?: ((location: ReplyLocation) => void | Promise<void>) | undefined;
  readonly now?: (() => number) | undefined;
}

/** The interaction's original response while its token lives, then a message in the channel. */
function createTokenReply(options: TokenReplyOptions): ReplyTarget {
  const now = options.now ?? Date.now;
  const { client, channelId, log } = options;
  let originalId = isMessageId(options.originalMessageId) ? options.originalMessageId : undefined;
  let tokenDead = isMessageId(options.channelMessageId) || options.token === '';
  let originalDeleted = false;
  let where: ReplyLocation | undefined = tokenDead
    ? undefined
    : {
        channelId,
        messageId: originalId ?? ORIGINAL,
        interactionToken: options.token,
        tokenExpiresAt: options.expiresAt,
      };

  const channel = createChannelReply({
    client,
    channelId,
    messageId: options.channelMessageId,
    // Every version says why it is here, so the final edit does not drop the requester's name.
    note: () =>
      originalDeleted ? replyDeletedInChannel(options.requesterId) : continuedInChannel(options.requesterId),
    nonce: options.nonce,
    onMove: async (location) => {
      where = location;
      await options.onMove?.(location);
    },
    onCreated: correctOriginal,
  });

  /** The original reply would otherwise keep its last progress (and a live Cancel button) for good. */
  async function correctOriginal(): Promise<void> {
    if (originalId === undefined) return;
    try {
      const target = await sendableChannel(client, channelId);
      await target.messages.edit(originalId, {
        content: CONTINUED_BELOW,
        embeds: [],
        components: [],
        allowedMentions: NO_PINGS,
      });
    } catch (error) {
      log.debug({ err: error, messageId: originalId }, 'could not correct the original reply');
    }
  }

  return {
    via: () => (tokenDead ? 'channel' : 'interaction'),
    location: () => where,
    async show(payload) {
      if (!tokenDead && now() >= options.expiresAt) {
        tokenDead = true;
        log.info({ channelId }, 'interaction token expired; continuing in the channel');
      }
      if (!tokenDead) {
        try {
          const message = await options.editOriginal({ ...payload, allowedMentions: NO_PINGS });
          const moved = originalId !== message.id;
          originalId = message.id;
          where = {
            channelId,
            messageId: message.id,
            interactionToken: options.token,
            tokenExpiresAt: options.expiresAt,
          };
          if (moved) await options.onMove?.(where);
          return where;
        } catch (error) {
          if (isUnknownMessage(error)) {
            // A moderator deleted the reply: every later edit would get 10008 too.
            tokenDead = true;
            originalDeleted = true;
            originalId = undefined;
            log.info({ channelId }, 'the interaction reply was deleted; continuing in the channel');
            return channel.show(payload);
          }
          if (!isExpiredToken(error)) throw error;
          tokenDead = true;
          log.info(
            { channelId, code: (error as { code?: unknown }).code },
            'interaction token refused; continuing in the channel',
          );
        }
      }
      return channel.show(payload);
    },
  };
}

/** The same reply with a line on top of every version (e.g. context the task went without). */
export function withNotice(reply: ReplyTarget, notice: string): ReplyTarget {
  return {
    via: reply.via,
    location: () => reply.location(),
    show: (payload) =>
      reply.show({
        ...payload,
        content: truncate([notice, payload.content].filter(Boolean).join('\n'), MAX_MESSAGE_CONTENT),
      }),
  };
}

/** The live /delegate (or Retry) reply: editReply keeps discord.js's own view of the interaction right. */
export function createInteractionReply(
  interaction: RepliableInteraction,
  options: Pick<TokenReplyOptions, 'requesterId' | 'log' | 'nonce' | 'originalMessageId' | 'onMove' | 'now'> & {
    readonly receivedAt: number;
    readonly ttlMs: number;
    /** Where the reply continues once the token is gone; default the interaction's channel. */
    readonly channelId?: string | undefined;
  },
): ReplyTarget {
  const { receivedAt, ttlMs, channelId, ...rest } = options;
  return createTokenReply({
    ...rest,
    client: interaction.client,
    editOriginal: (payload) => interaction.editReply(payload),
    token: interaction.token,
    expiresAt: receivedAt + ttlMs,
    channelId: channelId ?? interaction.channelId ?? '',
  });
}

/** The same reply after a restart: the original through the stored token while it lives. */
export function createRestoredTokenReply(
  options: Omit<TokenReplyOptions, 'editOriginal'> & { readonly applicationId: string },
): ReplyTarget {
  const webhook =
    options.token === ''
      ? undefined
      : new InteractionWebhook(options.client as Client<true>, options.applicationId, options.token);
  return createTokenReply({
    ...options,
    editOriginal: async (payload) => {
      if (!webhook) throw new Error('no interaction token');
      return webhook.editMessage(ORIGINAL, payload);
    },
  });
}
