/**
 * Discord's bad minutes in `hq_delegate_discord_errors_total{kind}`: 429s, 5xx, rate-limit
 * waits, gateway drops and errors. discord.js retries them all; the count shows it had to.
 */
import { Events, RESTEvents, type Client } from 'discord.js';
import type { Metrics } from '../ops/metrics.ts';

export const DiscordErrorKind = {
  rest429: 'rest_429',
  rest5xx: 'rest_5xx',
  /** A request waited because its bucket (or the global limit) was exhausted. */
  rateLimited: 'rate_limited',
  gatewayReconnect: 'gateway_reconnect',
  /** Closed with a code it will not reconnect after (bad token, disallowed intents…). */
  gatewayDisconnect: 'gateway_disconnect',
  gatewayError: 'gateway_error',
} as const;
export type DiscordErrorKind = (typeof DiscordErrorKind)[keyof typeof DiscordErrorKind];

/** Returns a function that stops counting. */
export function countDiscordErrors(client: Client, metrics: Metrics): () => void {
  const onResponse = (_request: unknown, response: { readonly status: number }): void => {
    if (response.status === 429) metrics.discordError(DiscordErrorKind.rest429);
    else if (response.status >= 500 && response.status <= 599) metrics.discordError(DiscordErrorKind.rest5xx);
  };
  const onRateLimited = (): void => metrics.discordError(DiscordErrorKind.rateLimited);
  const onReconnecting = (): void => metrics.discordError(DiscordErrorKind.gatewayReconnect);
  const onDisconnect = (): void => metrics.discordError(DiscordErrorKind.gatewayDisconnect);
  const onShardError = (): void => metrics.discordError(DiscordErrorKind.gatewayError);

  client.rest.on(RESTEvents.Response, onResponse);
  client.rest.on(RESTEvents.RateLimited, onRateLimited);
  client.on(Events.ShardReconnecting, onReconnecting);
  client.on(Events.ShardDisconnect, onDisconnect);
  client.on(Events.ShardError, onShardError);

  return () => {
    client.rest.off(RESTEvents.Response, onResponse);
    client.rest.off(RESTEvents.RateLimited, onRateLimited);
    client.off(Events.ShardReconnecting, onReconnecting);
    client.off(Events.ShardDisconnect, onDisconnect);
    client.off(Events.ShardError, onShardError);
  };
}
