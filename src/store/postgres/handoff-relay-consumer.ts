/**
 * The leader's side of the handoff relay (handoff-relay.ts): a dedicated connection LISTENs on the
 * channel and, at start, on every notification and after every reconnect, drains the table.
 *
 * A drain (handoff-relay-drain.ts) hands each row to `deliver`, whose answer decides the row:
 * - true: delivered; the row is deleted.
 * - false: not ours to deliver (a run this leader does not know as open); the row is deleted too,
 *   so a handoff for a finished or unknown run cannot come back for ever.
 * - throws: kept, and tried again after `retryMs` or at the next notification; a row that never
 *   delivers is left to retention (retention.ts) to prune.
 * A row is deleted only after it was delivered, so a connection lost between the two delivers it
 * again after the reconnect: at least once, never lost. Never logs the password or the text.
 */
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from '../../log.ts';
import { drainRelay, type RelayDrain, type RelayRow, type RowOutcome } from './handoff-relay-drain.ts';
import { describePgError, poolConfig } from './open-pool.ts';
import { HANDOFF_RELAY_CHANNEL } from './schema.ts';

export type { RelayDrain };

export type DeliverRelayed = (
  runId: string,
  text: string,
  row: { readonly id: number; readonly receivedBy?: string },
) => Promise<boolean> | boolean;

export interface HandoffRelayConsumerOptions {
  /** The store's URL, without a password (open-pool.ts). */
  readonly url: string;
  /** Overrides the environment (open-pool.ts PASSWORD_VARIABLES); never logged. */
  readonly password?: string;
  readonly log: Logger;
  readonly deliver: DeliverRelayed;
  /** The first reconnect's delay, doubled per failure up to MAX_BACKOFF_MS. */
  readonly reconnectMs?: number;
  /** When rows were kept (`deliver` threw), the next drain comes this soon. */
  readonly retryMs?: number;
  /** Between drains with no notification: catches a connection that died without a word. */
  readonly pollMs?: number;
}

/** Events: 'listening', 'drained' (RelayDrain), 'disconnected' (Error | undefined). */
export interface HandoffRelayConsumer extends EventEmitter {
  /** Connects, listens and drains once; rejects if the first connection fails. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export const RELAY_APPLICATION_NAME = 'hq-delegate handoff relay';
const DEFAULT_RECONNECT_MS = 500;
const DEFAULT_RETRY_MS = 5_000;
const DEFAULT_POLL_MS = 30_000;
const MAX_BACKOFF_MS = 30_000;
/** A statement not answered by then fails, and the connection is replaced. */
const QUERY_TIMEOUT_MS = 10_000;

class RelayConsumer extends EventEmitter implements HandoffRelayConsumer {
  readonly #options: HandoffRelayConsumerOptions;
  readonly #log: Logger;
  readonly #reconnectMs: number;
  #client: pg.Client | undefined;
  #done = false;
  #failures = 0;
  #draining: Promise<void> | undefined;
  #again = false;
  // Two timers: a drain finishing on a connection just lost must not cancel the reconnect.
  #reconnectTimer: NodeJS.Timeout | undefined;
  #drainTimer: NodeJS.Timeout | undefined;

  constructor(options: HandoffRelayConsumerOptions) {
    super();
    this.#options = options;
    this.#log = options.log.child({ component: 'handoff-relay' });
    this.#reconnectMs = options.reconnectMs ?? DEFAULT_RECONNECT_MS;
  }

  async start(): Promise<void> {
    try {
      await this.#connect();
    } catch (error) {
      clearTimeout(this.#reconnectTimer);
      throw error;
    }
    await this.#drain();
  }

  async close(): Promise<void> {
    this.#done = true;
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#drainTimer);
    await this.#draining?.catch(() => {});
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    const { url, password } = this.#options;
    const client = new pg.Client({
      ...poolConfig({ url, ...(password === undefined ? {} : { password }) }),
      application_name: RELAY_APPLICATION_NAME,
      query_timeout: QUERY_TIMEOUT_MS,
      keepAlive: true,
    });
    // A failed connect emits 'error' too; without a listener that would throw past the await.
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client));
    client.on('notification', (message) => {
      if (message.channel === HANDOFF_RELAY_CHANNEL) void this.#drain();
    });
    try {
      await client.connect();
      this.#client = client;
      await client.query(`LISTEN ${HANDOFF_RELAY_CHANNEL}`);
    } catch (error) {
      if (this.#client === client) this.#client = undefined;
      await client.end().catch(() => {});
      throw error;
    }
    if (this.#done) {
      // close() came while connecting: it could not end a client it had not seen yet.
      this.#client = undefined;
      await client.end().catch(() => {});
      return;
    }
    if (this.#failures > 0) this.#log.info('the handoff relay listens again');
    this.#failures = 0;
    this.emit('listening');
  }

  #lost(client: pg.Client, error?: Error): void {
    if (client !== this.#client) return;
    this.#client = undefined;
    client.end().catch(() => {});
    if (this.#done) return;
    this.#log.warn({ detail: error && describePgError(error) }, 'the handoff relay connection was lost; reconnecting');
    this.emit('disconnected', error);
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    clearTimeout(this.#reconnectTimer);
    const delay = Math.min(this.#reconnectMs * 2 ** this.#failures++, MAX_BACKOFF_MS);
    if (!this.#done) this.#reconnectTimer = setTimeout(() => void this.#reconnect(), delay);
  }

  async #reconnect(): Promise<void> {
    try {
      await this.#connect();
    } catch (error) {
      const detail = describePgError(error);
      if (this.#failures === 1) this.#log.warn({ detail }, 'cannot reach the database for the handoff relay; retrying');
      this.#scheduleReconnect();
      return;
    }
    await this.#drain();
  }

  /** One drain at a time on the one connection; a call during a drain makes it go round again. */
  #drain(): Promise<void> {
    if (this.#draining !== undefined) {
      this.#again = true;
      return this.#draining;
    }
    this.#draining = this.#drainWhileAsked().finally(() => (this.#draining = undefined));
    return this.#draining;
  }

  async #drainWhileAsked(): Promise<void> {
    do {
      this.#again = false;
      const client = this.#client;
      if (client === undefined || this.#done) return;
      try {
        const drain = await drainRelay(client, (row) => this.#deliver(row));
        this.emit('drained', drain);
        clearTimeout(this.#drainTimer);
        const { retryMs = DEFAULT_RETRY_MS, pollMs = DEFAULT_POLL_MS } = this.#options;
        const next = drain.kept > 0 ? retryMs : pollMs;
        if (!this.#done) this.#drainTimer = setTimeout(() => void this.#drain(), next);
      } catch (error) {
        // A failed statement leaves the connection in doubt: replace it (which drains again).
        this.#lost(client, error as Error);
        if (this.#client === undefined) return;
      }
    } while (this.#again && !this.#done);
  }

  async #deliver(row: RelayRow): Promise<RowOutcome> {
    const runId = row.run_id;
    try {
      const text = JSON.parse(row.text_json) as string;
      const receivedBy = row.received_by ?? undefined;
      const taken = await this.#options.deliver(runId, text, { id: row.id, ...(receivedBy ? { receivedBy } : {}) });
      if (taken) return 'delivered';
      this.#log.info({ runId, relayId: row.id }, 'a relayed handoff for a run not open here was dropped');
      return 'dropped';
    } catch (error) {
      this.#log.warn({ runId, relayId: row.id, err: error }, 'a relayed handoff was not delivered; kept for a retry');
      return 'kept';
    }
  }
}

/** The consumer, not yet connected: call start() (the leader does on taking the lease). */
export function startHandoffRelayConsumer(options: HandoffRelayConsumerOptions): HandoffRelayConsumer {
  return new RelayConsumer(options);
}
