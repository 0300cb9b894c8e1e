/**
 * Gateway v10 over `ws`: HELLO, IDENTIFY→READY(+GUILD_CREATE), heartbeats, RESUME with replay,
 * sequence numbers, intents checks, optional `compress=zlib-stream` and identify `compress`.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { deflateSync } from 'node:zlib';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';

export const Intents = {
  Guilds: 1 << 0,
  GuildMembers: 1 << 1,
  GuildModeration: 1 << 2,
  GuildPresences: 1 << 8,
  GuildMessages: 1 << 9,
  GuildMessageReactions: 1 << 10,
  GuildMessageTyping: 1 << 11,
  DirectMessages: 1 << 12,
  DirectMessageReactions: 1 << 13,
  DirectMessageTyping: 1 << 14,
  MessageContent: 1 << 15,
} as const;

export const PRIVILEGED_INTENTS = Intents.GuildMembers | Intents.GuildPresences | Intents.MessageContent;
const VALID_INTENTS = (1 << 26) - 1;
const MAX_BUFFERED_EVENTS = 5000;

export interface GatewayPayload {
  op: number;
  d: unknown;
  s: number | null;
  t: string | null;
}

export interface IdentifyRecord {
  readonly sessionId: string;
  readonly intents: number;
  readonly shard: [number, number];
  readonly properties: unknown;
  readonly compress: boolean;
  readonly largeThreshold: number | undefined;
  readonly presence: unknown;
  /** Epoch ms. */
  readonly at: number;
}

export class GatewaySession {
  readonly id: string;
  readonly identify: IdentifyRecord;
  seq = 0;
  connection: GatewayConnection | null = null;
  resumable = true;
  readonly buffer: GatewayPayload[] = [];

  constructor(id: string, identify: IdentifyRecord) {
    this.id = id;
    this.identify = identify;
  }

  get intents(): number {
    return this.identify.intents;
  }

  has(intent: number): boolean {
    return (this.identify.intents & intent) === intent;
  }
}

export class GatewayConnection {
  readonly id: number;
  readonly ws: WebSocket;
  readonly query: Record<string, string>;
  readonly zlibStream: boolean;
  identifyCompress = false;
  session: GatewaySession | null = null;
  closedByServer = false;
  #streamStarted = false;

  constructor(id: number, ws: WebSocket, query: Record<string, string>) {
    this.id = id;
    this.ws = ws;
    this.query = query;
    this.zlibStream = query.compress === 'zlib-stream';
  }

  send(payload: GatewayPayload): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    const json = Buffer.from(JSON.stringify(payload));
    if (this.zlibStream) {
      this.ws.send(this.#zlibFrame(json), { binary: true });
    } else if (this.identifyCompress) {
      this.ws.send(deflateSync(json), { binary: true });
    } else {
      this.ws.send(json.toString('utf8'));
    }
  }

  /**
   * One zlib-stream message: (zlib header on the first message) + stored deflate blocks + an
   * empty stored block as the Z_SYNC_FLUSH marker (00 00 ff ff), exactly what a shared-context
   * inflater such as zlib-sync expects. Data is stored, not compressed: valid, and cheap.
   */
  #zlibFrame(data: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.#streamStarted) {
      parts.push(Buffer.from([0x78, 0x01]));
      this.#streamStarted = true;
    }
    for (let offset = 0; offset < data.length; offset += 0xffff) {
      const chunk = data.subarray(offset, offset + 0xffff);
      const header = Buffer.alloc(5);
      header.writeUInt16LE(chunk.length, 1);
      header.writeUInt16LE(~chunk.length & 0xffff, 3);
      parts.push(header, chunk);
    }
    parts.push(Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]));
    return Buffer.concat(parts);
  }
}

export interface GatewayEvents {
  gateway_connect: { connectionId: number; query: Record<string, string> };
  gateway_payload: { connectionId: number; op: number; d: unknown };
  gateway_identify: IdentifyRecord;
  gateway_ready: { sessionId: string };
  gateway_resume: { sessionId: string; fromSeq: number; replayed: number };
  gateway_invalid_session: { connectionId: number; resumable: boolean };
  gateway_close: {
    connectionId: number;
    sessionId: string | null;
    code: number;
    reason: string;
    by: 'client' | 'server';
  };
  gateway_heartbeat: { connectionId: number; sessionId: string | null; seq: number | null };
  dispatch: { sessionId: string; t: string; s: number; d: unknown };
}

export interface GatewayHooks {
  token: () => string;
  heartbeatIntervalMs: () => number;
  ackHeartbeats: () => boolean;
  /** Mask of privileged intents the application is allowed to use. */
  allowedPrivilegedIntents: () => number;
  isDown: () => boolean;
  now: () => number;
  publicUrl: () => string;
  readyData: (session: GatewaySession) => unknown;
  guildCreates: (session: GatewaySession) => unknown[];
  requestGuildMembers: (session: GatewaySession, d: Record<string, unknown>) => void;
  emit: <K extends keyof GatewayEvents>(event: K, payload: GatewayEvents[K]) => void;
}

export class Gateway {
  readonly #wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  readonly #hooks: GatewayHooks;
  readonly sessions: GatewaySession[] = [];
  readonly connections = new Set<GatewayConnection>();
  readonly identifies: IdentifyRecord[] = [];
  #nextConnectionId = 1;

  constructor(hooks: GatewayHooks) {
    this.#hooks = hooks;
  }

  /** Sessions that still receive (or buffer) dispatches. */
  get liveSessions(): GatewaySession[] {
    return this.sessions.filter((s) => s.resumable);
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.#hooks.isDown()) {
      socket.destroy();
      return;
    }
    const url = new URL(req.url ?? '/', 'ws://fake.discord');
    const query = Object.fromEntries(url.searchParams);
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, query));
  }

  #onConnection(ws: WebSocket, query: Record<string, string>): void {
    const conn = new GatewayConnection(this.#nextConnectionId++, ws, query);
    this.connections.add(conn);
    this.#hooks.emit('gateway_connect', { connectionId: conn.id, query });
    ws.on('message', (data, isBinary) => this.#onMessage(conn, data, isBinary));
    ws.on('error', () => {
      /* client vanished; 'close' follows */
    });
    ws.on('close', (code, reason) => this.#onClose(conn, code, reason.toString('utf8')));
    if (query.v !== undefined && query.v !== '10') {
      this.closeConnection(conn, 4012, 'Invalid API version.');
      return;
    }
    if (query.encoding !== undefined && query.encoding !== 'json') {
      this.closeConnection(conn, 4002, 'Error while decoding payload.');
      return;
    }
    conn.send({
      op: 10,
      d: { heartbeat_interval: this.#hooks.heartbeatIntervalMs(), _trace: ['["fake-gateway",{"micros":0}]'] },
      s: null,
      t: null,
    });
  }

  closeConnection(conn: GatewayConnection, code: number, reason = ''): void {
    conn.closedByServer = true;
    if (conn.ws.readyState === conn.ws.OPEN || conn.ws.readyState === conn.ws.CONNECTING) conn.ws.close(code, reason);
  }

  #onClose(conn: GatewayConnection, code: number, reason: string): void {
    this.connections.delete(conn);
    const session = conn.session;
    if (session && session.connection === conn) {
      session.connection = null;
      // Discord invalidates the session when the *client* closes with 1000/1001.
      if (!conn.closedByServer && (code === 1000 || code === 1001)) session.resumable = false;
    }
    this.#hooks.emit('gateway_close', {
      connectionId: conn.id,
      sessionId: session?.id ?? null,
      code,
      reason,
      by: conn.closedByServer ? 'server' : 'client',
    });
  }

  #onMessage(conn: GatewayConnection, data: RawData, _isBinary: boolean): void {
    let payload: { op?: unknown; d?: unknown };
    try {
      const text = Array.isArray(data)
        ? Buffer.concat(data).toString('utf8')
        : Buffer.from(data as ArrayBuffer).toString('utf8');
      payload = JSON.parse(text) as { op?: unknown; d?: unknown };
    } catch {
      this.closeConnection(conn, 4002, 'Error while decoding payload.');
      return;
    }
    if (typeof payload !== 'object' || payload === null || typeof payload.op !== 'number') {
      this.closeConnection(conn, 4002, 'Error while decoding payload.');
      return;
    }
    const op = payload.op;
    const d = payload.d;
    this.#hooks.emit('gateway_payload', { connectionId: conn.id, op, d });
    if (op === 1) {
      this.#hooks.emit('gateway_heartbeat', {
        connectionId: conn.id,
        sessionId: conn.session?.id ?? null,
        seq: typeof d === 'number' ? d : null,
      });
      if (this.#hooks.ackHeartbeats()) conn.send({ op: 11, d: null, s: null, t: null });
      return;
    }
    if (op === 2) return this.#identify(conn, (d ?? {}) as Record<string, unknown>);
    if (op === 6) return this.#resume(conn, (d ?? {}) as Record<string, unknown>);
    if (![3, 4, 8, 31].includes(op)) {
      this.closeConnection(conn, 4001, 'Unknown opcode.');
      return;
    }
    if (!conn.session) {
      this.closeConnection(conn, 4003, 'Not authenticated.');
      return;
    }
    if (op === 8) this.#hooks.requestGuildMembers(conn.session, (d ?? {}) as Record<string, unknown>);
  }

  #tokenOk(token: unknown): boolean {
    const expected = this.#hooks.token();
    return token === expected || token === `Bot ${expected}`;
  }

  #identify(conn: GatewayConnection, d: Record<string, unknown>): void {
    if (conn.session) return this.closeConnection(conn, 4005, 'Already authenticated.');
    if (!this.#tokenOk(d.token)) return this.closeConnection(conn, 4004, 'Authentication failed.');
    const intents = d.intents;
    if (typeof intents !== 'number' || !Number.isInteger(intents) || intents < 0 || (intents & ~VALID_INTENTS) !== 0) {
      return this.closeConnection(conn, 4013, 'Invalid intent(s).');
    }
    if ((intents & PRIVILEGED_INTENTS & ~this.#hooks.allowedPrivilegedIntents()) !== 0) {
      return this.closeConnection(conn, 4014, 'Disallowed intent(s).');
    }
    let shard: [number, number] = [0, 1];
    if (d.shard !== undefined) {
      const s = d.shard;
      if (
        !Array.isArray(s) ||
        s.length !== 2 ||
        typeof s[0] !== 'number' ||
        typeof s[1] !== 'number' ||
        s[1] < 1 ||
        s[0] < 0 ||
        s[0] >= s[1]
      ) {
        return this.closeConnection(conn, 4010, 'Invalid shard.');
      }
      shard = [s[0], s[1]];
    }
    conn.identifyCompress = d.compress === true;
    const sessionId = randomBytes(16).toString('hex');
    const record: IdentifyRecord = {
      sessionId,
      intents,
      shard,
      properties: d.properties,
      compress: d.compress === true,
      largeThreshold: typeof d.large_threshold === 'number' ? d.large_threshold : undefined,
      presence: d.presence,
      at: this.#hooks.now(),
    };
    const session = new GatewaySession(sessionId, record);
    session.connection = conn;
    conn.session = session;
    this.sessions.push(session);
    this.identifies.push(record);
    this.#hooks.emit('gateway_identify', record);
    this.#dispatchTo(session, 'READY', this.#hooks.readyData(session));
    this.#hooks.emit('gateway_ready', { sessionId });
    for (const guild of this.#hooks.guildCreates(session)) this.#dispatchTo(session, 'GUILD_CREATE', guild);
  }

  #resume(conn: GatewayConnection, d: Record<string, unknown>): void {
    if (conn.session) return this.closeConnection(conn, 4005, 'Already authenticated.');
    if (!this.#tokenOk(d.token)) return this.closeConnection(conn, 4004, 'Authentication failed.');
    const session = this.sessions.find((s) => s.id === d.session_id);
    const seq = typeof d.seq === 'number' ? d.seq : -1;
    if (!session || !session.resumable || seq > session.seq || seq < 0) {
      this.#hooks.emit('gateway_invalid_session', { connectionId: conn.id, resumable: false });
      conn.send({ op: 9, d: false, s: null, t: null });
      return;
    }
    const oldest = session.buffer[0]?.s ?? session.seq + 1;
    if (seq + 1 < oldest) {
      // Replay window lost: cannot resume.
      this.#hooks.emit('gateway_invalid_session', { connectionId: conn.id, resumable: false });
      conn.send({ op: 9, d: false, s: null, t: null });
      return;
    }
    if (session.connection && session.connection !== conn)
      this.closeConnection(session.connection, 4000, 'Session resumed elsewhere.');
    session.connection = conn;
    conn.session = session;
    const missed = session.buffer.filter((p) => (p.s ?? 0) > seq);
    for (const payload of missed) conn.send(payload);
    this.#dispatchTo(session, 'RESUMED', {});
    this.#hooks.emit('gateway_resume', { sessionId: session.id, fromSeq: seq, replayed: missed.length });
  }

  #dispatchTo(session: GatewaySession, t: string, d: unknown): void {
    session.seq++;
    const payload: GatewayPayload = { op: 0, d, s: session.seq, t };
    session.buffer.push(payload);
    if (session.buffer.length > MAX_BUFFERED_EVENTS) session.buffer.shift();
    session.connection?.send(payload);
    this.#hooks.emit('dispatch', { sessionId: session.id, t, s: session.seq, d });
  }

  /**
   * Dispatches an event to every live session. `data` may be a function producing per-session
   * data (return undefined to skip a session). `intents` (if given) must all be present.
   */
  dispatch(t: string, data: unknown, opts: { intents?: number; filter?: (s: GatewaySession) => boolean } = {}): number {
    let delivered = 0;
    for (const session of this.liveSessions) {
      if (opts.intents !== undefined && !session.has(opts.intents)) continue;
      if (opts.filter && !opts.filter(session)) continue;
      const d = typeof data === 'function' ? (data as (s: GatewaySession) => unknown)(session) : data;
      if (d === undefined) continue;
      this.#dispatchTo(session, t, d);
      delivered++;
    }
    return delivered;
  }

  /** Sends a raw payload (e.g. op 7 RECONNECT, op 9 INVALID_SESSION, op 1 HEARTBEAT) on every open connection. */
  sendRaw(payload: GatewayPayload): void {
    for (const conn of this.connections) conn.send(payload);
  }

  invalidateSessions(resumable: boolean): void {
    for (const conn of this.connections) {
      if (!resumable && conn.session) conn.session.resumable = false;
      conn.send({ op: 9, d: resumable, s: null, t: null });
    }
  }

  drop(opts: { code?: number; reason?: string; terminate?: boolean; resumable?: boolean } = {}): number {
    let n = 0;
    for (const conn of [...this.connections]) {
      if (opts.resumable === false && conn.session) conn.session.resumable = false;
      conn.closedByServer = true;
      if (opts.terminate) conn.ws.terminate();
      else this.closeConnection(conn, opts.code ?? 4000, opts.reason ?? 'Unknown error.');
      n++;
    }
    return n;
  }

  async close(): Promise<void> {
    for (const conn of this.connections) {
      conn.closedByServer = true;
      conn.ws.terminate();
    }
    this.connections.clear();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}
