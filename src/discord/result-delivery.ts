/**
 * Posts a finished run's result embed to `dl-<agent>` (found by name in the guild, or the id
 * in `discord.resultChannels`). A missing channel is not an error of the run: the caller is
 * told why and shows the result to the requester instead, so nothing is lost.
 *
 * This is the one place a result is published, so the durable outbox (issue 5: the store's
 * delivery record, Discord's `nonce` + `enforce_nonce`) slots in here without touching callers.
 */
import { ChannelType, type Client, type GuildTextBasedChannel, type Message } from 'discord.js';
import type { Config } from '../config.ts';
import type { RunResult } from '../engine/types.ts';
import type { Logger } from '../log.ts';
import { NO_PINGS } from './no-pings.ts';
import { renderResultMessage } from './result-embed.ts';

export interface ResultRequester {
  readonly id: string;
  readonly label: string;
}

export type Delivery =
  | { readonly kind: 'posted'; readonly channelId: string; readonly messageId: string; readonly url: string }
  | { readonly kind: 'no-channel'; readonly notice: string }
  | { readonly kind: 'failed'; readonly notice: string };

export function resultChannelName(agent: string): string {
  return `dl-${agent}`;
}

export function missingChannelNotice(agent: string): string {
  return `no #${resultChannelName(agent)} channel: create it or set discord.resultChannels.${agent}`;
}

const TEXT_TYPES: ReadonlySet<ChannelType> = new Set([ChannelType.GuildText, ChannelType.GuildAnnouncement]);

/** The configured channel id wins; otherwise `dl-<agent>` by name among the guild's text channels. */
export async function findResultChannel(client: Client, config: Pick<Config, 'discord'>, guildId: string, agent: string): Promise<GuildTextBasedChannel | undefined> {
  const configured = config.discord.resultChannels[agent];
  if (configured) {
    const channel = await client.channels.fetch(configured).catch(() => null);
    return channel && !channel.isDMBased() && channel.isTextBased() ? channel : undefined;
  }
  const guild = client.guilds.cache.get(guildId) ?? (await client.guilds.fetch(guildId).catch(() => undefined));
  if (!guild) return undefined;
  const name = resultChannelName(agent);
  const byName = (channels: Iterable<unknown>) =>
    [...channels].find((c): c is GuildTextBasedChannel => {
      const channel = c as GuildTextBasedChannel | null;
      return channel !== null && TEXT_TYPES.has(channel.type) && channel.name === name;
    });
  // The cache follows CHANNEL_CREATE/DELETE (Guilds intent); a fetch covers a cold cache.
  return byName(guild.channels.cache.values()) ?? byName((await guild.channels.fetch().catch(() => new Map())).values());
}

export async function deliverResult(input: {
  readonly client: Client;
  readonly config: Pick<Config, 'discord'>;
  readonly log: Logger;
  readonly guildId: string;
  readonly result: RunResult;
  readonly requester: ResultRequester;
}): Promise<Delivery> {
  const { client, config, log, guildId, result, requester } = input;
  const channel = await findResultChannel(client, config, guildId, result.agent);
  if (!channel) {
    log.warn({ runId: result.runId, agent: result.agent }, 'no result channel; the result stays with the requester');
    return { kind: 'no-channel', notice: missingChannelNotice(result.agent) };
  }
  const rendered = renderResultMessage(result, { requesterId: requester.id, requesterLabel: requester.label });
  let message: Message;
  try {
    message = await channel.send({ ...rendered, allowedMentions: NO_PINGS });
  } catch (error) {
    log.error({ err: error, runId: result.runId, channelId: channel.id }, 'posting the result embed failed');
    return { kind: 'failed', notice: `could not post to #${channel.name} (${(error as Error).message}); the result is shown here instead` };
  }
  return { kind: 'posted', channelId: channel.id, messageId: message.id, url: message.url };
}
