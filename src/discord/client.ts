/**
 * The discord.js client with the fewest intents: Guilds (channels for the `dl-<agent>` lookup),
 * GuildMessages (@mentions, whose content arrives without the privileged MESSAGE_CONTENT) and
 * DirectMessages (a DM @mention is refused with a reason, not ignored). Roles come with each
 * interaction or message, so GUILD_MEMBERS is not needed either. MESSAGE_CONTENT is asked for
 * only when the operator turns on discord.messageContentIntent (plain follow-ups in result threads).
 */
import { Client, GatewayIntentBits, Partials } from 'discord.js';
import type { Config } from '../config.ts';

export const BOT_INTENTS = [
  GatewayIntentBits.Guilds,
  GatewayIntentBits.GuildMessages,
  GatewayIntentBits.DirectMessages,
] as const;

/** The one retry layer for a bad second; a bad minute is left to the outbox. */
export const DISCORD_REST_RETRIES = 3;

export function createDiscordClient(config: Pick<Config, 'discord'>): Client {
  return new Client({
    intents: config.discord.messageContentIntent
      ? [...BOT_INTENTS, GatewayIntentBits.MessageContent]
      : [...BOT_INTENTS],
    // A message sent before start-up arrives uncached; a DM channel is never cached before its first message.
    partials: [Partials.Message, Partials.Channel],
    rest: { api: config.discord.apiBase, retries: DISCORD_REST_RETRIES },
    // A second safety net: every message path also sets NO_PINGS.
    allowedMentions: { parse: [], repliedUser: false },
  });
}
