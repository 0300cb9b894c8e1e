/** Test-facing record types shared by the fake's modules. */
import type {
  APIActionRowComponent,
  APIAllowedMentions,
  APIAttachment,
  APIEmbed,
  APIInteraction,
  APIMessage,
  APIMessageReference,
  APIMessageTopLevelComponent,
} from 'discord-api-types/v10';

export interface StoredFile {
  /** Attachment id (a snowflake) as exposed in `message.attachments[].id`. */
  readonly id: string;
  readonly filename: string;
  readonly contentType: string | undefined;
  readonly description: string | undefined;
  readonly size: number;
  readonly data: Buffer;
  /** Convenience: `data` decoded as UTF-8. */
  text(): string;
}

export function makeStoredFile(init: Omit<StoredFile, 'text' | 'size'>): StoredFile {
  return { ...init, size: init.data.length, text: () => init.data.toString('utf8') };
}

export type MessageSource =
  /** POST /channels/{id}/messages by the bot */
  | 'channel'
  /** interaction callback type 4/5 (the "@original" response) */
  | 'interaction_response'
  /** POST /webhooks/{app}/{token} */
  | 'followup'
  /** injected by the test through `postMessage` */
  | 'injected';

/** A message as the fake stores it. `data` is always the current API shape (as GET would return it). */
export class StoredMessage {
  readonly id: string;
  readonly channelId: string;
  readonly guildId: string | null;
  readonly source: MessageSource;
  readonly createdAt: number;
  /** Interaction whose response / followup this is, if any. */
  readonly interactionId: string | undefined;
  data: APIMessage;
  /** `allowed_mentions` from the latest create/edit request body that carried one (undefined if never sent). */
  allowedMentions: APIAllowedMentions | undefined;
  /** Every JSON body (create first, then edits) as received, after multipart `payload_json` decoding. */
  readonly requestBodies: unknown[] = [];
  /** Previous versions of `data`, oldest first. */
  readonly history: APIMessage[] = [];
  /** Uploaded file contents by attachment id. */
  readonly files = new Map<string, StoredFile>();
  /** Ephemeral interaction responses are stored but not returned by channel GETs nor dispatched. */
  ephemeral: boolean;
  deleted = false;
  /** Users (ids) who reacted, by emoji key (`name` or `name:id`). */
  readonly reactionUsers = new Map<string, Set<string>>();

  constructor(init: {
    data: APIMessage;
    guildId: string | null;
    source: MessageSource;
    createdAt: number;
    interactionId?: string;
    ephemeral?: boolean;
  }) {
    this.id = init.data.id;
    this.channelId = init.data.channel_id;
    this.guildId = init.guildId;
    this.source = init.source;
    this.createdAt = init.createdAt;
    this.interactionId = init.interactionId;
    this.data = init.data;
    this.ephemeral = init.ephemeral ?? false;
  }

  get authorId(): string {
    return this.data.author.id;
  }
  get content(): string {
    return this.data.content;
  }
  get embeds(): APIEmbed[] {
    return this.data.embeds;
  }
  get components(): APIMessageTopLevelComponent[] {
    return this.data.components ?? [];
  }
  /** Buttons/selects flattened out of action rows (and v2 containers). */
  get interactiveComponents(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    const walk = (node: unknown): void => {
      if (!node || typeof node !== 'object') return;
      const c = node as { type?: number; components?: unknown[]; component?: unknown; accessory?: unknown };
      if (c.type !== undefined && c.type !== 1 && 'custom_id' in c) out.push(c as Record<string, unknown>);
      for (const child of c.components ?? []) walk(child);
      walk(c.component);
      walk(c.accessory);
    };
    for (const row of this.components as (APIActionRowComponent<never> | APIMessageTopLevelComponent)[]) walk(row);
    return out;
  }
  get attachments(): APIAttachment[] {
    return this.data.attachments;
  }
  get flags(): number {
    return this.data.flags ?? 0;
  }
  get messageReference(): APIMessageReference | undefined {
    return this.data.message_reference;
  }
  /** Deferred interaction response still showing "thinking…". */
  get loading(): boolean {
    return (this.flags & (1 << 7)) !== 0;
  }
  get editedAt(): string | null {
    return this.data.edited_timestamp;
  }
}

export interface CallbackRecord {
  /** Interaction response type (4 reply, 5 defer, 6 deferred update, 7 update, 8 autocomplete, 9 modal…). */
  readonly type: number;
  readonly body: unknown;
  /** HTTP status the fake answered with. */
  readonly status: number;
  /** Discord error code when rejected (40060, 10062, 50035…). */
  readonly errorCode: number | undefined;
  readonly accepted: boolean;
  /** Epoch ms when the callback request arrived. */
  readonly at: number;
  /** Milliseconds between the INTERACTION_CREATE dispatch and this callback. */
  readonly elapsedMs: number;
}

export interface InteractionRecord {
  readonly id: string;
  readonly token: string;
  /** 2 command, 3 component, 4 autocomplete, 5 modal submit */
  readonly type: number;
  readonly payload: APIInteraction;
  readonly channelId: string;
  readonly guildId: string | null;
  readonly userId: string;
  /** Epoch ms at dispatch (fake clock). */
  readonly dispatchedAt: number;
  readonly callbacks: CallbackRecord[];
  /** The first accepted callback. */
  ack: CallbackRecord | undefined;
  /** Message id that `@original` refers to (set once a message-producing ack happened). */
  originalMessageId: string | undefined;
  readonly followupIds: string[];
  /** Present after a type 9 (MODAL) callback. */
  modal: { custom_id: string; title: string; components: unknown[] } | undefined;
  /** Present after a type 8 callback. */
  autocompleteChoices: { name: string; value: string | number }[] | undefined;
}

export interface RequestLogEntry {
  readonly seq: number;
  readonly method: string;
  /** Path after `/api/v10`, without the query string, e.g. `/channels/123/messages`. */
  readonly path: string;
  /** Route template, e.g. `POST /channels/:channel_id/messages` (or `METHOD <unknown>`). */
  route: string;
  readonly query: Record<string, string>;
  readonly headers: Record<string, string>;
  /** Parsed JSON body, or the decoded `payload_json` of a multipart body. */
  body: unknown;
  files: { field: string; filename: string; contentType: string | undefined; size: number }[];
  /** Epoch ms (fake clock) when the request arrived. */
  readonly time: number;
  status: number | undefined;
  responseBody: unknown;
  /** True when the response was produced by `failNext` / `setDown`. */
  injected: boolean;
}

export interface ReactionEvent {
  readonly channelId: string;
  readonly messageId: string;
  readonly emoji: string;
  readonly userId: string;
}
