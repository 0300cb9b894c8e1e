/** Shared context handed to the route modules, and the typed event map of the fake. */
import type { APIApplicationCommand, APIChannel, APIUser } from 'discord-api-types/v10';
import type { Dispatcher } from './dispatch.ts';
import type { TypedEmitter } from './emitter.ts';
import type { Gateway, GatewayEvents } from './gateway.ts';
import type { MessageFactory } from './messages.ts';
import type { CallbackRecord, InteractionRecord, ReactionEvent, RequestLogEntry, StoredMessage } from './model.ts';
import type { SnowflakeGenerator } from './snowflake.ts';
import type { WorldState } from './state.ts';

export interface FakeDiscordEvents extends GatewayEvents {
  /** A REST request arrived (body decoded, not yet answered). */
  request_start: RequestLogEntry;
  /** A REST request was answered (`status` and `responseBody` set). */
  request: RequestLogEntry;
  /** A request was answered by `failNext`, `setDown` or the fake's own rate limiter. */
  request_failed: RequestLogEntry;
  message_create: StoredMessage;
  thread_create: APIChannel;
  message_update: StoredMessage;
  message_delete: StoredMessage;
  reaction_add: ReactionEvent;
  reaction_remove: ReactionEvent;
  interaction_create: InteractionRecord;
  interaction_callback: { interaction: InteractionRecord; callback: CallbackRecord };
  commands_registered: { guildId: string | null; commands: APIApplicationCommand[] };
}

export interface ResolvedOptions {
  token: string;
  applicationId: string;
  applicationFlags: number;
  applicationName: string;
  heartbeatIntervalMs: number;
  ackDeadlineMs: number;
  interactionTokenTtlMs: number;
  nonceWindowMs: number;
  allowedPrivilegedIntents: number;
  guildCreateMembers: 'realistic' | 'all';
  attachmentSizeLimit: number;
  locale: string;
}

export class CommandStore {
  global: APIApplicationCommand[] = [];
  readonly guild = new Map<string, APIApplicationCommand[]>();
  readonly #ids = new Map<string, string>();
  readonly #snowflakes: SnowflakeGenerator;

  constructor(ids: SnowflakeGenerator) {
    this.#snowflakes = ids;
  }

  idFor(scope: string, type: number, name: string): string {
    const key = `${scope}|${type}|${name}`;
    let id = this.#ids.get(key);
    if (!id) {
      id = this.#snowflakes.next();
      this.#ids.set(key, id);
    }
    return id;
  }

  version(): string {
    return this.#snowflakes.next();
  }

  /** Chat-input command visible in a guild (guild commands shadow global ones). */
  find(name: string, guildId: string | null, type = 1): APIApplicationCommand | undefined {
    const fromGuild = guildId ? this.guild.get(guildId)?.find((c) => c.name === name && c.type === type) : undefined;
    return fromGuild ?? this.global.find((c) => c.name === name && c.type === type);
  }

  anyRegistered(guildId: string | null): boolean {
    return this.global.length > 0 || (guildId !== null && (this.guild.get(guildId)?.length ?? 0) > 0);
  }
}

export interface FakeContext {
  readonly state: WorldState;
  readonly ids: SnowflakeGenerator;
  readonly factory: MessageFactory;
  readonly dispatcher: Dispatcher;
  readonly gateway: Gateway;
  readonly commands: CommandStore;
  readonly options: ResolvedOptions;
  readonly events: TypedEmitter<FakeDiscordEvents>;
  readonly appOwner: APIUser;
  now(): number;
  gatewayUrl(): string;
}
