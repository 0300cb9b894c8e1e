/** Turns world changes into gateway dispatches with Discord's intent rules applied per session. */
import type { APIMessage } from 'discord-api-types/v10';
import { Intents, type Gateway, type GatewaySession } from './gateway.ts';
import type { StoredMessage } from './model.ts';
import type { WorldState } from './state.ts';

export class Dispatcher {
  readonly #state: WorldState;
  readonly #gateway: Gateway;
  /** `realistic`: GUILD_CREATE lists all members only with GUILD_PRESENCES (else just the bot); `all`: always everyone. */
  readonly #guildCreateMembers: 'realistic' | 'all';

  constructor(state: WorldState, gateway: Gateway, guildCreateMembers: 'realistic' | 'all') {
    this.#state = state;
    this.#gateway = gateway;
    this.#guildCreateMembers = guildCreateMembers;
  }

  guildCreateFor(session: GatewaySession, guildId: string): unknown {
    const guild = this.#state.requireGuild(guildId);
    const everyone = this.#guildCreateMembers === 'all' || session.has(Intents.GuildPresences);
    const memberIds = everyone ? [...guild.members.keys()] : [this.#state.botUserId];
    return this.#state.guildCreateJSON(guildId, memberIds);
  }

  /** Guilds belonging to a session's shard. */
  guildsForSession(session: GatewaySession): string[] {
    const [shardId, shardCount] = session.identify.shard;
    return [...this.#state.guilds.keys()].filter((id) => Number((BigInt(id) >> 22n) % BigInt(shardCount)) === shardId);
  }

  #inShard(session: GatewaySession, guildId: string | null): boolean {
    if (guildId === null) return session.identify.shard[0] === 0;
    return this.guildsForSession(session).includes(guildId);
  }

  guildCreate(guildId: string): void {
    this.#gateway.dispatch('GUILD_CREATE', (s: GatewaySession) => this.guildCreateFor(s, guildId), {
      intents: Intents.Guilds,
      filter: (s) => this.#inShard(s, guildId),
    });
  }

  guildEvent(t: string, guildId: string, d: unknown, intent: number = Intents.Guilds): void {
    this.#gateway.dispatch(t, d, { intents: intent, filter: (s) => this.#inShard(s, guildId) });
  }

  /** MESSAGE_CREATE / MESSAGE_UPDATE payload for one session (MESSAGE_CONTENT rules applied). */
  #messagePayload(session: GatewaySession, msg: StoredMessage): unknown {
    const data = structuredClone(msg.data) as APIMessage & Record<string, unknown>;
    const botId = this.#state.botUserId;
    const isDm = msg.guildId === null;
    // Discord adds the channel's type to MESSAGE_CREATE/UPDATE; discord.js needs it to build an uncached DM channel.
    const channelType = this.#state.channels.get(msg.channelId)?.type;
    if (channelType !== undefined) data.channel_type = channelType;
    if (msg.guildId) {
      data.guild_id = msg.guildId;
      const guild = this.#state.guilds.get(msg.guildId);
      if (!data.webhook_id && guild?.members.has(data.author.id))
        data.member = this.#state.partialMemberJSON(msg.guildId, data.author.id);
      data.mentions = data.mentions.map((u) =>
        guild?.members.has(u.id) ? { ...u, member: this.#state.partialMemberJSON(msg.guildId!, u.id) } : u,
      );
    }
    // A mention of the app's managed role is taken as a mention of the app here (unverified
    // against Discord; the bot's own handling does not depend on it when MESSAGE_CONTENT is on).
    const botRoleId = msg.guildId ? this.#state.guilds.get(msg.guildId)?.botRoleId : undefined;
    const privileged =
      session.has(Intents.MessageContent) ||
      isDm ||
      data.author.id === botId ||
      data.mentions.some((u) => u.id === botId) ||
      (botRoleId !== undefined && (data.mention_roles ?? []).includes(botRoleId));
    if (!privileged) {
      data.content = '';
      data.embeds = [];
      data.attachments = [];
      data.components = [];
      delete data.poll;
    }
    return data;
  }

  #messageIntent(msg: StoredMessage): number {
    return msg.guildId === null ? Intents.DirectMessages : Intents.GuildMessages;
  }

  messageCreate(msg: StoredMessage): void {
    if (msg.ephemeral) return;
    this.#gateway.dispatch('MESSAGE_CREATE', (s: GatewaySession) => this.#messagePayload(s, msg), {
      intents: this.#messageIntent(msg),
      filter: (s) => this.#inShard(s, msg.guildId),
    });
  }

  messageUpdate(msg: StoredMessage): void {
    if (msg.ephemeral) return;
    this.#gateway.dispatch('MESSAGE_UPDATE', (s: GatewaySession) => this.#messagePayload(s, msg), {
      intents: this.#messageIntent(msg),
      filter: (s) => this.#inShard(s, msg.guildId),
    });
  }

  messageDelete(msg: StoredMessage): void {
    if (msg.ephemeral) return;
    const d: Record<string, unknown> = { id: msg.id, channel_id: msg.channelId };
    if (msg.guildId) d.guild_id = msg.guildId;
    this.#gateway.dispatch('MESSAGE_DELETE', d, {
      intents: this.#messageIntent(msg),
      filter: (s) => this.#inShard(s, msg.guildId),
    });
  }

  reaction(
    kind: 'add' | 'remove',
    msg: StoredMessage,
    userId: string,
    emoji: { id: string | null; name: string | null },
  ): void {
    const d: Record<string, unknown> = {
      user_id: userId,
      channel_id: msg.channelId,
      message_id: msg.id,
      emoji,
      burst: false,
      type: 0,
    };
    if (msg.guildId) {
      d.guild_id = msg.guildId;
      if (kind === 'add' && this.#state.guilds.get(msg.guildId)?.members.has(userId))
        d.member = this.#state.memberJSON(msg.guildId, userId);
    }
    if (kind === 'add') {
      d.message_author_id = msg.authorId;
      d.burst_colors = [];
    }
    const intent = msg.guildId === null ? Intents.DirectMessageReactions : Intents.GuildMessageReactions;
    this.#gateway.dispatch(kind === 'add' ? 'MESSAGE_REACTION_ADD' : 'MESSAGE_REACTION_REMOVE', d, {
      intents: intent,
      filter: (s) => this.#inShard(s, msg.guildId),
    });
  }

  interactionCreate(payload: unknown, guildId: string | null): number {
    return this.#gateway.dispatch('INTERACTION_CREATE', payload, { filter: (s) => this.#inShard(s, guildId) });
  }
}
