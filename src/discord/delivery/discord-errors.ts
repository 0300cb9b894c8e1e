/**
 * Which Discord failures are worth another try: a bad minute (5xx, 429, a network error) that
 * outlasted discord.js's own retries, unlike a 4xx answer, which no retry will change.
 */
import { DiscordAPIError, HTTPError, RateLimitError, RESTJSONErrorCodes } from 'discord.js';

const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

const EXPIRED_TOKEN_CODES: ReadonlySet<number> = new Set([
  RESTJSONErrorCodes.InvalidWebhookToken,
  RESTJSONErrorCodes.UnknownWebhook,
  RESTJSONErrorCodes.UnknownInteraction,
]);

export function isExpiredToken(error: unknown): boolean {
  return error instanceof DiscordAPIError && typeof error.code === 'number' && EXPIRED_TOKEN_CODES.has(error.code);
}

export function isUnknownMessage(error: unknown): boolean {
  return error instanceof DiscordAPIError && error.code === RESTJSONErrorCodes.UnknownMessage;
}

export function isTransient(error: unknown): boolean {
  if (error instanceof DiscordAPIError) return error.status >= 500 || error.status === 429;
  if (error instanceof HTTPError) return error.status >= 500 || error.status === 429;
  if (error instanceof RateLimitError) return true;
  for (let cause: unknown = error, depth = 0; cause instanceof Error && depth < 4; cause = cause.cause, depth += 1) {
    if (cause.name === 'AbortError' || cause.name === 'TimeoutError') return true;
    const code = (cause as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    // undici's fetch wraps every connection failure in a TypeError('fetch failed') with the cause.
    if (cause instanceof TypeError && cause.message === 'fetch failed') return true;
  }
  return false;
}

/** A short word for metrics and logs: `rest_5xx`, `network`, `missing_access`… */
export function discordErrorKind(error: unknown): string {
  if (error instanceof DiscordAPIError) {
    if (error.status >= 500) return 'rest_5xx';
    if (error.code === RESTJSONErrorCodes.MissingAccess) return 'missing_access';
    if (error.code === RESTJSONErrorCodes.MissingPermissions) return 'missing_permissions';
    if (isExpiredToken(error)) return 'token_expired';
    if (error.code === RESTJSONErrorCodes.UnknownChannel) return 'unknown_channel';
    if (error.code === RESTJSONErrorCodes.UnknownMessage) return 'unknown_message';
    return `rest_${error.status}`;
  }
  if (error instanceof HTTPError) return error.status >= 500 ? 'rest_5xx' : `rest_${error.status}`;
  if (error instanceof RateLimitError) return 'rate_limited';
  return isTransient(error) ? 'network' : 'other';
}
