/**
 * `--channel-context`: the channel's recent history read through Discord's REST API with the
 * bot's own token, formatted by the bot's untrusted-context formatter. discord.js is imported
 * here, on demand, so a CLI run without this option never loads it.
 */
import type { Config } from '../config.ts';
import { ErrorCode, HqError, isHqError } from '../errors.ts';

interface ChannelContextQuery {
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
    // The caller asked for history and got none: an error, as in the reference.
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
