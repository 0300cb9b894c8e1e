/**
 * Discord's bad minutes as figures: every REST answer that is a 429 or a 5xx, every request the
 * REST client held back on a rate limit, and every gateway drop or error, counted in
 * `hq_delegate_discord_errors_total{kind}`. discord.js retries all of these itself (429 after
 * `retry_after`, 5xx with backoff, a dropped gateway by resuming); the count is how an operator
 * sees that it had to.
 */
import { Events, RESTEvents, type Client } from 'discord.js';
import type { Metrics } from '../ops/metrics.ts';

/** The `kind` label values this module counts. */
export const DiscordErrorKind = {
  /** A REST answer 429: Discord refused a request for its rate limit (retried after retry_after). */
  rest429: 'rest_429',
  /** A REST answer 500–599 (retried by discord.js up to its retry limit). */
  rest5xx: 'rest_5xx',
  /** A request waited because its bucket (or the global limit) was exhausted. */
  rateLimited: 'rate_limited',
  /** The gateway connection closed; the shard is resuming or identifying again. */
  gatewayReconnect: 'gateway_reconnect',
  /** The gateway closed with a code it will not reconnect after (bad token, disallowed intents…). */
  gatewayDisconnect: 'gateway_disconnect',
  /** An error on the gateway's WebSocket. */
  gatewayError: 'gateway_error',
} as const;
export type DiscordErrorKind = (typeof DiscordErrorKind)[keyof typeof DiscordErrorKind];

/**
 * Starts counting on `client` (before or after login). Returns a function that stops counting.
 * The REST `response` listener makes discord.js hand every response to it; only the status is read.
 */
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
