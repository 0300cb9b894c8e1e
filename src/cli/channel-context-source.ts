/**
 * `--channel-context`: the channel's recent history read through Discord's REST API with the
 * bot's own token (DISCORD_TOKEN), formatted by the bot's own untrusted-context formatter.
 * discord.js is loaded only here, on demand: it costs a quarter of a second of start-up that
 * a plain CLI run should not pay.
 */
import type { Config } from '../config.ts';
import { ErrorCode, HqError, isHqError } from '../errors.ts';

export interface ChannelContextQuery {
  readonly config: Config;
  /** `#name`, `name` or a channel id. */
  readonly channel: string;
  readonly count: number;
}

const REST_TIMEOUT_MS = 15_000;

export async function readChannelContext(query: ChannelContextQuery): Promise<string> {
  const { config, channel, count } = query;
  const token = config.secrets.discordToken;
  if (!token) {
    throw new HqError(
      ErrorCode.CONTEXT_UNAVAILABLE,
      '--channel-context reads the channel with the bot token: set DISCORD_TOKEN in the environment (or in .env)',
    );
  }
  const [{ REST }, { fetchChannelContext, formatUntrustedContext, resolveChannelId }] = await Promise.all([
    import('discord.js'),
    import('../discord/context/channel-context.ts'),
  ]);
  // No sweepers: this REST client lives for one command and must not hold the process open.
  const rest = new REST({
    api: config.discord.apiBase,
    version: '10',
    timeout: REST_TIMEOUT_MS,
    handlerSweepInterval: 0,
    hashSweepInterval: 0,
  });
  rest.setToken(token);
  const label = /^\d+$/.test(channel) ? `<#${channel}>` : channel.startsWith('#') ? channel : `#${channel}`;
  if (config.discord.guildId === undefined && !/^(?:<#)?\d{15,21}>?$/.test(channel.trim())) {
    throw new HqError(
      ErrorCode.CONTEXT_UNAVAILABLE,
      `--channel-context ${label}: looking a channel up by name needs discord.guildId in ${config.configPath}; or give the channel id`,
    );
  }
  try {
    const channelId = await resolveChannelId(rest, config.discord.guildId, channel);
    const messages = await fetchChannelContext(rest, channelId, count, label);
    const text = formatUntrustedContext(messages, { maxChars: config.discord.contextMaxChars, source: label });
    // As the reference does, an empty context is an error: the caller asked for history and got none.
    if (text.length === 0) {
      throw new HqError(
        ErrorCode.CONTEXT_UNAVAILABLE,
        `No messages could be read from ${label}: it is empty, or the bot lacks Read Message History there`,
      );
    }
    return text;
  } catch (error) {
    if (isHqError(error)) throw error;
    throw new HqError(
      ErrorCode.CONTEXT_UNAVAILABLE,
      `Failed to fetch channel context for '${channel}': ${(error as Error).message}`,
      { cause: error },
    );
  }
}
