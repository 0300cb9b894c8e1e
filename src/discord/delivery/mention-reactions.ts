/**
 * The marks on an agent's @mention: 👀 while its run is taken, then ✅ or ❌. Sent by ids over
 * REST, so a restarted bot can finish what an earlier process started without the Message.
 * A reaction that cannot be set is logged, never fatal: the reply carries the real answer.
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

/** The run is over: 👀 off, the verdict on. */
export async function markSettled(
  client: Client,
  channelId: string,
  messageId: string,
  success: boolean,
  log: Logger,
): Promise<void> {
  await unreact(client, channelId, messageId, TAKEN, log);
  await react(client, channelId, messageId, success ? SUCCEEDED : FAILED, log);
}
