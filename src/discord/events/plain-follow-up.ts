/**
 * A plain message in a result thread (no mention of the bot) is a follow-up only when the bot
 * reads message content: without the privileged MESSAGE_CONTENT intent Discord sends such a
 * message with empty content. Only members' messages count: an agent's bot posts its answers in
 * the thread too, and taking those as tasks would start a loop, so bots must still @mention.
 */
import { GatewayIntentBits, type Client, type Message } from 'discord.js';
import type { AsyncRunStore } from '../../store/store-api.ts';
import { resultThreadOf } from './follow-up.ts';

export function readsMessageContent(client: Client): boolean {
  return client.options.intents.has(GatewayIntentBits.MessageContent);
}

/** True for a person's non-empty, non-system message in a result thread, when content is read. */
export async function isPlainFollowUp(
  client: Client,
  ledger: Pick<AsyncRunStore, 'runIdByResultThread' | 'getRun'>,
  message: Message,
): Promise<boolean> {
  if (!readsMessageContent(client) || !message.inGuild()) return false;
  if (message.author.bot || message.webhookId !== null || message.system) return false;
  if (message.content.trim() === '') return false;
  return (await resultThreadOf(ledger, message.channelId)) !== undefined;
}
