/**
 * Where a run's result message is: the store's outbox records the channel and message of the
 * `result-embed` delivery, the run's origin the guild. Both /agents and /runs link to it.
 */
import type { RunStore } from '../../store/run-store.ts';

export const RESULT_DELIVERY_KIND = 'result-embed';

const SNOWFLAKE = /^\d{17,20}$/;

/** The jump link Discord clients open; undefined unless all three are snowflakes. */
export function messageUrl(guildId: unknown, channelId: unknown, messageId: unknown): string | undefined {
  const ids = [guildId, channelId, messageId];
  if (!ids.every((id): id is string => typeof id === 'string' && SNOWFLAKE.test(id))) return undefined;
  return `https://discord.com/channels/${ids.join('/')}`;
}

/**
 * The link to the run's delivered result embed, or undefined while it is not delivered. The
 * guild comes from the run's origin (where it was asked); `fallbackGuildId` covers runs whose
 * origin has none (the CLI's, or a result the store learnt of alone).
 */
export function resultMessageUrl(
  store: Pick<RunStore, 'getDelivery'>,
  run: { readonly runId: string; readonly origin?: Readonly<Record<string, unknown>> | undefined },
  fallbackGuildId: string | null | undefined,
): string | undefined {
  const delivery = store.getDelivery(run.runId, RESULT_DELIVERY_KIND);
  if (delivery?.deliveredAt === undefined) return undefined;
  const guildId =
    typeof run.origin?.['guildId'] === 'string' && run.origin['guildId'] !== ''
      ? run.origin['guildId']
      : fallbackGuildId;
  return messageUrl(guildId, delivery.channelId, delivery.messageId);
}
