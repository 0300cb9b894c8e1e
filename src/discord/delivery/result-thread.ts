/**
 * The thread a result embed opens in #dl-<agent>, named after the task, where reviewers read the
 * result and talk about it. Discord gives the thread the message's id, and refuses a second one
 * (160004), so a retry after a lost answer finds the first thread instead of making another.
 */
import { DiscordAPIError, Routes, ThreadAutoArchiveDuration, type Client } from 'discord.js';
import type { Config } from '../../config.ts';
import { neutraliseMentions } from '../render/agent-text.ts';
import { truncate } from '../render/limits.ts';
import { resultThreadFallbackName } from '../render/strings.ts';

export const RESULT_THREAD_DELIVERY_KIND = 'result-thread';
/** Discord's bounds for a channel name. */
export const THREAD_NAME_MAX = 100;
const THREAD_ALREADY_CREATED = 160_004;

export function wantsResultThread(config: Pick<Config, 'discord'>, agent: string): boolean {
  return !config.discord.noResultThreadAgents.includes(agent);
}

/** The task on one line, mention syntax defused, at most 100 characters, never empty. */
export function resultThreadName(task: string, agent: string): string {
  const line = neutraliseMentions(task.replace(/\s+/g, ' ').trim());
  const name = truncate(line, THREAD_NAME_MAX).trim();
  return name === '' ? truncate(resultThreadFallbackName(agent), THREAD_NAME_MAX) : name;
}

/**
 * Opens the thread on the result message and returns its id. A thread that already exists for the
 * message counts as opened. Errors are thrown: the outbox tells a bad minute from a refusal.
 */
export async function openResultThread(
  client: Client,
  channelId: string,
  messageId: string,
  name: string,
): Promise<string> {
  try {
    const thread = (await client.rest.post(Routes.threads(channelId, messageId), {
      body: { name, auto_archive_duration: ThreadAutoArchiveDuration.OneWeek },
    })) as { id?: unknown };
    return typeof thread.id === 'string' ? thread.id : messageId;
  } catch (error) {
    if (error instanceof DiscordAPIError && error.code === THREAD_ALREADY_CREATED) return messageId;
    throw error;
  }
}
