/**
 * The marks on an agent's @mention: 👀 while its run is taken, then ✅ or ❌. Sent by ids over
 * REST, so a restarted bot can finish what an earlier process started without the Message.
 * While a run is taken a reaction that cannot be set is logged, never fatal: the reply carries
 * the real answer. The verdict is an outbox delivery (agents poll reactions), so it throws.
 */
import { Routes, type Client } from 'discord.js';
import type { Logger } from '../../log.ts';

export const TAKEN = '👀';
export const SUCCEEDED = '✅';
export const FAILED = '❌';

async function ownReaction(
  method: 'put' | 'delete',
  client: Client,
  channelId: string,
  messageId: string,
  emoji: string,
  log: Logger,
): Promise<void> {
  try {
    await client.rest[method](Routes.channelMessageOwnReaction(channelId, messageId, encodeURIComponent(emoji)));
  } catch (error) {
    log.warn({ err: error, emoji, messageId }, method === 'put' ? 'could not react' : 'could not remove a reaction');
  }
}

export const react = ownReaction.bind(undefined, 'put');
export const unreact = ownReaction.bind(undefined, 'delete');

/**
 * The run is over: the verdict on, then 👀 off, so a kill in between leaves the verdict showing.
 * Both are idempotent, so the outbox repeats the pair until it is recorded as delivered.
 */
export async function markSettled(client: Client, channelId: string, messageId: string, success: boolean) {
  const route = (emoji: string) => Routes.channelMessageOwnReaction(channelId, messageId, encodeURIComponent(emoji));
  await client.rest.put(route(success ? SUCCEEDED : FAILED));
  await client.rest.delete(route(TAKEN));
}
