/**
 * The discord.js client with the fewest intents the bot works with.
 *
 * - Guilds: GUILD_CREATE gives the channel list (the `dl-<agent>` lookup) and the roles, and
 *   keeps both current; interactions themselves need no intent.
 * - GuildMessages: MESSAGE_CREATE, so agents can @mention the bot.
 *
 * No privileged gateway intent is requested. A message that @mentions the app carries its
 * content without MESSAGE_CONTENT, which is all the mention grammar needs; member roles are
 * read from the interaction's or message's own `member`, so GUILD_MEMBERS is not needed either.
 * (Reading *other* people's messages for channel context over REST does need the Message
 * Content switch in the developer portal; that is a portal setting, not a gateway intent.)
 */
import { Client, GatewayIntentBits, Partials } from 'discord.js';
import type { Config } from '../config.ts';

export const BOT_INTENTS = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages] as const;

/**
 * How often discord.js repeats a request that failed for a moment (a 5xx, a reset, a timeout),
 * at once; a 429 is waited out apart from these. It is the one retry layer for a bad second:
 * what outlasts it is a bad minute, left to the outbox, which tries again every OUTBOX_RETRY_MS.
 */
export const DISCORD_REST_RETRIES = 3;

export function createDiscordClient(config: Pick<Config, 'discord'>): Client {
  return new Client({
    intents: [...BOT_INTENTS],
    // A reaction or edit on a message sent before start-up arrives uncached; the bot only
    // reacts itself, so a partial Message is the one partial it can meet.
    partials: [Partials.Message],
    rest: { api: config.discord.apiBase, retries: DISCORD_REST_RETRIES },
    // Second safety net: every message path also sets NO_PINGS explicitly.
    allowedMentions: { parse: [], repliedUser: false },
  });
}
