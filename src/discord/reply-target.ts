/**
 * Where the requester watches their run: the deferred interaction reply, or (for an agent's
 * @mention) a reply to their message. Both are edited in place as the run moves.
 *
 * An interaction token lives 15 minutes (`discord.interactionTokenTtlMs` keeps a margin).
 * Past that, or as soon as Discord refuses the token, progress and the final answer continue
 * as a message in the original channel, naming the requester without pinging them. That
 * fallback is this module's whole reason to exist: a long run never ends in an error.
 */
import {
  DiscordAPIError,
  RESTJSONErrorCodes,
  type Message,
  type MessageCreateOptions,
  type RepliableInteraction,
  type SendableChannels,
} from 'discord.js';
import type { Logger } from '../log.ts';
import { MAX_MESSAGE_CONTENT, truncate } from './limits.ts';
import { NO_PINGS } from './no-pings.ts';

export type ReplyPayload = Pick<MessageCreateOptions, 'content' | 'embeds' | 'files' | 'components'>;

export interface ReplyTarget {
  /** Replaces what the requester sees with this payload. */
  show(payload: ReplyPayload): Promise<void>;
  /** 'interaction' while the token works; 'channel' once it has expired (or for a mention). */
  readonly via: () => 'interaction' | 'channel';
}

/** Errors Discord answers when an interaction token is no longer usable. */
const EXPIRED_TOKEN_CODES: ReadonlySet<number> = new Set([
  RESTJSONErrorCodes.InvalidWebhookToken,
  RESTJSONErrorCodes.UnknownWebhook,
  RESTJSONErrorCodes.UnknownInteraction,
]);

function isExpiredToken(error: unknown): boolean {
  return error instanceof DiscordAPIError && typeof error.code === 'number' && EXPIRED_TOKEN_CODES.has(error.code);
}

export function createInteractionReply(
  interaction: RepliableInteraction,
  options: { readonly receivedAt: number; readonly ttlMs: number; readonly requesterId: string; readonly log: Logger; readonly now?: () => number },
): ReplyTarget {
  const now = options.now ?? Date.now;
  let channelMessage: Message | undefined;
  let tokenDead = false;

  async function showInChannel(payload: ReplyPayload): Promise<void> {
    // Every version says why it is here, so the final edit does not drop the requester's name.
    const note = `<@${options.requesterId}>: your /delegate outlived its interaction token, so it continues here.`;
    const content = truncate([note, payload.content].filter(Boolean).join('\n'), MAX_MESSAGE_CONTENT);
    if (channelMessage) {
      await channelMessage.edit({ ...payload, content, allowedMentions: NO_PINGS });
      return;
    }
    const channel = (interaction.channel ?? (interaction.channelId ? await interaction.client.channels.fetch(interaction.channelId) : null)) as SendableChannels | null;
    if (!channel || !('send' in channel)) throw new Error(`the original channel ${interaction.channelId ?? '(none)'} cannot be reached`);
    channelMessage = await channel.send({ ...payload, content, allowedMentions: NO_PINGS });
  }

  return {
    via: () => (tokenDead ? 'channel' : 'interaction'),
    async show(payload) {
      if (!tokenDead && now() - options.receivedAt >= options.ttlMs) {
        tokenDead = true;
        options.log.info({ interactionId: interaction.id }, 'interaction token expired; continuing in the channel');
      }
      if (!tokenDead) {
        try {
          await interaction.editReply({ ...payload, allowedMentions: NO_PINGS });
          return;
        } catch (error) {
          if (!isExpiredToken(error)) throw error;
          tokenDead = true;
          options.log.info({ interactionId: interaction.id, code: (error as DiscordAPIError).code }, 'interaction token refused; continuing in the channel');
        }
      }
      await showInChannel(payload);
    },
  };
}

/** A reply to an agent's message (message_reference, nobody pinged), edited as the run moves. */
export function createMessageReply(message: Message): ReplyTarget {
  let reply: Message | undefined;
  return {
    via: () => 'channel',
    async show(payload) {
      if (reply) {
        reply = await reply.edit({ ...payload, allowedMentions: NO_PINGS });
      } else {
        reply = await message.reply({ ...payload, allowedMentions: NO_PINGS, failIfNotExists: false });
      }
    },
  };
}
