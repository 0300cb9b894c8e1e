/** Where a run's result message is, from its `result-embed` delivery and its origin's guild. */
import type { AsyncRunStore } from '../../store/store-api.ts';
import { RESULT_THREAD_DELIVERY_KIND } from './result-thread.ts';

export const RESULT_DELIVERY_KIND = 'result-embed';

const SNOWFLAKE = /^\d{17,20}$/;

/** The jump link Discord clients open; undefined unless all three are snowflakes. */
export function messageUrl(guildId: unknown, channelId: unknown, messageId: unknown): string | undefined {
  const ids = [guildId, channelId, messageId];
  if (!ids.every((id): id is string => typeof id === 'string' && SNOWFLAKE.test(id))) return undefined;
  return `https://discord.com/channels/${ids.join('/')}`;
}

/** Undefined while not delivered; `fallbackGuildId` covers runs whose origin names no guild (the CLI's). */
export async function resultMessageUrl(
  store: Pick<AsyncRunStore, 'getDelivery'>,
  run: { readonly runId: string; readonly origin?: Readonly<Record<string, unknown>> | undefined },
  fallbackGuildId: string | null | undefined,
): Promise<string | undefined> {
  const delivery = await store.getDelivery(run.runId, RESULT_DELIVERY_KIND);
  if (delivery?.deliveredAt === undefined) return undefined;
  const guildId =
    typeof run.origin?.['guildId'] === 'string' && run.origin['guildId'] !== ''
      ? run.origin['guildId']
      : fallbackGuildId;
  return messageUrl(guildId, delivery.channelId, delivery.messageId);
}

/** A run's thread: for a follow-up the thread it was asked in, else the one its result opened. */
export async function runThreadId(
  store: Pick<AsyncRunStore, 'getDelivery'>,
  run: { readonly runId: string; readonly origin?: Readonly<Record<string, unknown>> | undefined },
): Promise<string | undefined> {
  const askedIn = run.origin?.['threadId'];
  if (typeof askedIn === 'string' && SNOWFLAKE.test(askedIn)) return askedIn;
  const opened = await store.getDelivery(run.runId, RESULT_THREAD_DELIVERY_KIND);
  if (opened?.deliveredAt === undefined) return undefined;
  return typeof opened.messageId === 'string' && SNOWFLAKE.test(opened.messageId) ? opened.messageId : undefined;
}
