/**
 * Protocol-level fake Discord (REST v10 + gateway v10) for tests: the REAL discord.js Client runs
 * against it.
 *
 * ## Pointing discord.js at it
 *
 *   const fake = await FakeDiscord.start();
 *   const guild = fake.createGuild({ name: 'HQ', channels: ['dl-webster'] });
 *   const client = new Client({ intents: [...], rest: { api: fake.apiBase } });   // http://127.0.0.1:<port>/api
 *   await client.login(fake.token);
 *
 * - REST: @discordjs/rest builds `${rest.api}/v${rest.version}${route}`, so `rest.api` must be
 *   `http://127.0.0.1:<port>/api` (NOT including `/v10`). The fake serves `/api/v10/...`.
 * - Gateway: discovered via `GET /gateway/bot` → `{ url: 'ws://127.0.0.1:<port>', shards: 1,
 *   session_start_limit }`; the client connects to `${url}?v=10&encoding=json`. READY's
 *   `resume_gateway_url` is the same URL. HTTP and gateway share one port.
 * - Compression: discord.js 14 asks for `compress=zlib-stream` only when the optional `zlib-sync`
 *   package is installed (there is no client option to turn it off). The fake supports it anyway
 *   (valid zlib stream of stored deflate blocks + Z_SYNC_FLUSH suffix), as well as IDENTIFY
 *   `compress: true`. So NO extra client option is needed; the bot only has to pass
 *   `rest: { api }` from its config.
 * - Re-identify after a non-resumable disconnect is throttled by @discordjs/ws itself (~5 s
 *   between IDENTIFYs per client). Resumes are not throttled (~0.5 s reconnect delay).
 * - `Retry-After` on 429 is sent as exact float seconds by default (fast tests); real Discord
 *   rounds up to whole seconds (`retryAfterHeader: 'ceil'`).
 * - Empty messages are rejected like Discord does: 400 `{ code: 50006, "Cannot send an empty message" }`.
 *
 * See fake-discord.ts for the full API (world building, driving, awaiting, fault injection).
 */
export {
  FakeDiscord,
  type CreateChannelInput,
  type CreateGuildInput,
  type CreateRoleInput,
  type CreateUserInput,
  type FakeDiscordOptions,
  type FakeGuild,
  type PostMessageInput,
  type WaitOptions,
} from './fake-discord.ts';
export type { FakeDiscordEvents } from './context.ts';
export type { DiscordErrorBody, ErrorTree } from './errors.ts';
export { WaitTimeoutError } from './emitter.ts';
export type { FailOptions, FaultHandle } from './faults.ts';
export { Intents, PRIVILEGED_INTENTS, type IdentifyRecord } from './gateway.ts';
export {
  InteractionHandle,
  type AutocompleteInput,
  type ComponentInput,
  type FileInput,
  type ModalSubmitInput,
  type OptionInput,
  type SlashCommandInput,
} from './interactions.ts';
export {
  StoredMessage,
  type CallbackRecord,
  type InteractionRecord,
  type RequestLogEntry,
  type StoredFile,
} from './model.ts';
export {
  ALL_PERMISSIONS,
  DEFAULT_BOT_PERMISSIONS,
  DEFAULT_EVERYONE_PERMISSIONS,
  P as PermissionBits,
} from './permissions.ts';
export type { RequestMatcher } from './router.ts';
