/**
 * Posts a finished run's result embed to `dl-<agent>` (by name, or `discord.resultChannels`), or,
 * for a follow-up, into the result thread it was asked in.
 * A missing channel is not the run's error: the caller shows the result to the requester instead.
 * The outbox decides when, and records where it landed.
 */
import { ChannelType, type Client, type GuildTextBasedChannel, type Message } from 'discord.js';
import type { Config } from '../../config.ts';
import type { RunResult } from '../../engine/types.ts';
import type { Logger } from '../../log.ts';
import { isTransient } from './discord-errors.ts';
import { NO_PINGS } from '../render/no-pings.ts';
import { renderResultMessage } from '../render/result-embed.ts';
import { missingResultChannel, resultPostFailed } from '../render/strings.ts';

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
  return missingResultChannel(resultChannelName(agent), agent);
}

const TEXT_TYPES: ReadonlySet<ChannelType> = new Set([ChannelType.GuildText, ChannelType.GuildAnnouncement]);

/** A lookup that failed for a moment (Discord down) must not read as "there is no such channel". */
function unlessTransient<T>(fallback: T): (error: unknown) => T {
  return (error) => {
    if (isTransient(error)) throw error;
    return fallback;
  };
}

/** The configured channel id wins; otherwise `dl-<agent>` by name among the guild's text channels. */
export async function findResultChannel(
  client: Client,
  config: Pick<Config, 'discord'>,
  guildId: string,
  agent: string,
): Promise<GuildTextBasedChannel | undefined> {
  const configured = config.discord.resultChannels[agent];
  if (configured) {
    const channel = await client.channels.fetch(configured).catch(unlessTransient(null));
    return channel && !channel.isDMBased() && channel.isTextBased() ? channel : undefined;
  }
  const guild =
    client.guilds.cache.get(guildId) ?? (await client.guilds.fetch(guildId).catch(unlessTransient(undefined)));
  if (!guild) return undefined;
  const name = resultChannelName(agent);
  const byName = (channels: Iterable<unknown>) =>
    [...channels].find((c): c is GuildTextBasedChannel => {
      const channel = c as GuildTextBasedChannel | null;
      return channel !== null && TEXT_TYPES.has(channel.type) && channel.name === name;
    });
  // The cache follows CHANNEL_CREATE/DELETE (Guilds intent); a fetch covers a cold cache.
  return (
    byName(guild.channels.cache.values()) ??
    byName((await guild.channels.fetch().catch(unlessTransient(new Map()))).values())
  );
}

type Rendered = ReturnType<typeof renderResultMessage>;

/** Same embed, pings and nonce wherever it goes: the nonce makes a repeat return the first message. */
function sendResult(channel: GuildTextBasedChannel, rendered: Rendered, nonce: string): Promise<Message> {
  return channel.send({ ...rendered, allowedMentions: NO_PINGS, nonce, enforceNonce: true });
}

/**
 * A follow-up's result, into its thread. Undefined when Discord refuses for good (the thread is gone,
 * archived and locked, or closed to the bot): the caller posts in #dl-<agent> rather than lose it.
 */
async function postInThread(
  input: { readonly client: Client; readonly log: Logger; readonly onError?: (error: unknown) => void },
  threadId: string,
  rendered: Rendered,
  nonce: string,
): Promise<Delivery | undefined> {
  try {
    const thread = await input.client.channels.fetch(threadId);
    if (!thread || thread.isDMBased() || !thread.isThread()) return undefined;
    const message = await sendResult(thread, rendered, nonce);
    return { kind: 'posted', channelId: thread.id, messageId: message.id, url: message.url };
  } catch (error) {
    input.onError?.(error);
    if (isTransient(error)) throw error;
    input.log.warn(
      { err: error, threadId },
      'the follow-up thread refused the result; posting it in the agent channel',
    );
    return undefined;
  }
}

/** A transient failure that outlasted discord.js's retries is thrown: the outbox tries again later. */
export async function postResult(input: {
  readonly client: Client;
  readonly config: Pick<Config, 'discord'>;
  readonly log: Logger;
  readonly guildId: string;
  readonly result: RunResult;
  readonly requester: ResultRequester;
  readonly nonce: string;
  /** A follow-up's result thread: the embed goes there first. */
  readonly threadId?: string | undefined;
  readonly onError?: (error: unknown) => void;
}): Promise<Delivery> {
  const { client, config, log, guildId, result, requester } = input;
  const rendered = renderResultMessage(result, { requesterId: requester.id, requesterLabel: requester.label });
  if (input.threadId !== undefined) {
    const inThread = await postInThread(input, input.threadId, rendered, input.nonce);
    if (inThread) return inThread;
  }
  const channel = await findResultChannel(client, config, guildId, result.agent);
  if (!channel) {
    log.warn({ runId: result.runId, agent: result.agent }, 'no result channel; the result stays with the requester');
    return { kind: 'no-channel', notice: missingChannelNotice(result.agent) };
  }
  let message: Message;
  try {
    message = await sendResult(channel, rendered, input.nonce);
  } catch (error) {
    input.onError?.(error);
    if (isTransient(error)) throw error;
    log.error({ err: error, runId: result.runId, channelId: channel.id }, 'posting the result embed failed');
    return { kind: 'failed', notice: resultPostFailed(channel.name, (error as Error).message) };
  }
  return { kind: 'posted', channelId: channel.id, messageId: message.id, url: message.url };
}
