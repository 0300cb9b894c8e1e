/**
 * Leader or standby, for several processes sharing one PostgreSQL database. A standby tries for the
 * lease every `retryMs`, and at once when a leader announces a release. The leader renews every
 * ttl/3 and keeps a LOCAL deadline on the monotonic clock: the moment its last confirmed renewal was
 * sent, plus the ttl, minus a safety margin. The database's expiry is at least that send time plus
 * the ttl (its `now()` runs after the send), so a leader that misses its deadline stops before its
 * lease can expire there and a standby can start.
 *
 * A leader that loses the lease (a renewal refused, failed, unanswered by the deadline, or its
 * connection lost) emits 'lost' and is done: the caller exits, and the supervisor restarts the
 * process, which comes back as a standby. Exiting is the simplest way to be sure nothing in the
 * process keeps acting; the store's epoch check refuses whatever write was already on its way.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import type { Logger } from '../log.ts';
import {
  connectLeaseClient,
  createLeaderLease,
  LEASE_RELEASED_CHANNEL,
  leaseHolderId,
  type LeaderLease,
  type LeaseLogin,
} from '../store/postgres/leader-lease.ts';

export type Role = 'leader' | 'standby';

export const DEFAULT_LEASE_TTL_MS = 10_000;
export const DEFAULT_LEASE_RETRY_MS = 1_000;
/** Share of the ttl kept between the local deadline and the earliest expiry in the database. */
const SAFETY_MARGIN_SHARE = 0.2;
const RENEWALS_PER_TTL = 3;

export interface LeadershipState {
  readonly role: Role;
  /** The fencing token the store checks, while leading. */
  readonly epoch: number | undefined;
  readonly holder: string;
  readonly leaderSince: Date | undefined;
}

export interface LeadershipOptions extends LeaseLogin {
  readonly log: Logger;
  readonly ttlMs?: number;
  readonly retryMs?: number;
  /** Default a fifth of the ttl. */
  readonly safetyMarginMs?: number;
  /** Default host name, pid and a random suffix. */
  readonly holder?: string;
}

interface LeadershipEvents {
  acquired: [epoch: number];
  /** An attempt found another process leading. */
  standby: [];
  /** The caller must stop acting and exit. */
  lost: [reason: string];
  released: [epoch: number];
}

export class Leadership extends EventEmitter<LeadershipEvents> {
  readonly holder: string;
  readonly ttlMs: number;
  readonly retryMs: number;
  readonly #log: Logger;
  readonly #login: LeaseLogin;
  readonly #marginMs: number;
  #role: Role = 'standby';
  #epoch: number | undefined;
  #leaderSince: Date | undefined;
  /** Released, closed or lost: this instance never leads (again). */
  #done = false;
  #client: pg.Client | undefined;
  #lease: LeaderLease | undefined;
  /** The attempt under way, if any. */
  #inFlight: Promise<void> | undefined;
  #wonWhileStopping: number | undefined;
  #attemptAgain = false;
  #failing = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #renewTimer: NodeJS.Timeout | undefined;
  #deadlineTimer: NodeJS.Timeout | undefined;

  constructor(options: LeadershipOptions) {
    super();
    const { log, ttlMs, retryMs, safetyMarginMs, holder, ...login } = options;
    this.#log = log;
    this.ttlMs = ttlMs ?? DEFAULT_LEASE_TTL_MS;
    this.retryMs = retryMs ?? DEFAULT_LEASE_RETRY_MS;
    this.#marginMs = safetyMarginMs ?? this.ttlMs * SAFETY_MARGIN_SHARE;
    if (this.#marginMs <= 0 || this.#marginMs >= this.ttlMs - this.ttlMs / RENEWALS_PER_TTL)
      throw new RangeError('the lease safety margin must be above 0 and leave room for a renewal');
    this.holder = holder ?? leaseHolderId();
    this.#login = { queryTimeoutMs: this.ttlMs, ...login };
  }

  role(): Role {
    return this.#role;
  }

  state(): LeadershipState {
    return { role: this.#role, epoch: this.#epoch, holder: this.holder, leaderSince: this.#leaderSince };
  }

  /** Resolves with the epoch once this process leads. */
  whenLeader(): Promise<number> {
    if (this.#role === 'leader' && this.#epoch !== undefined) return Promise.resolve(this.#epoch);
    return new Promise((resolve) => this.once('acquired', resolve));
  }

  /** Starts trying for the lease. */
  start(): this {
    void this.#attempt();
    return this;
  }

  /**
   * The planned hand-over (SIGTERM), to call after everything is persisted: expires the lease now
   * and notifies the standbys. True when this process led and released.
   */
  async release(): Promise<boolean> {
    if (this.#done) return false;
    this.#done = true;
    this.#clearTimers();
    await this.#inFlight;
    const lease = this.#lease;
    const epoch = this.#role === 'leader' ? this.#epoch : this.#wonWhileStopping;
    let released = false;
    if (lease !== undefined && epoch !== undefined) {
      try {
        released = await lease.release(epoch);
      } catch (error) {
        this.#log.warn({ err: error, epoch }, 'could not release the leader lease; it runs out after its ttl');
      }
    }
    this.#stepDown();
    await this.#dropClient();
    if (released && epoch !== undefined) {
      this.#log.info({ epoch, holder: this.holder }, 'released the leader lease');
      this.emit('released', epoch);
    }
    return released;
  }

  /** Stops without releasing: a leader's lease then runs out after its ttl. */
  async close(): Promise<void> {
    this.#done = true;
    this.#clearTimers();
    this.#stepDown();
    await this.#dropClient();
  }

  async #attempt(): Promise<void> {
    if (this.#done || this.#role === 'leader') return;
    if (this.#inFlight !== undefined) {
      this.#attemptAgain = true;
      return;
    }
    clearTimeout(this.#retryTimer);
    this.#inFlight = this.#tryOnce();
    await this.#inFlight;
    this.#inFlight = undefined;
    // Re-read through role(): the await above may have made this process the leader.
    if (this.#done || this.role() === 'leader') return;
    if (this.#attemptAgain) {
      this.#attemptAgain = false;
      void this.#attempt();
    } else {
      this.#retryTimer = setTimeout(() => void this.#attempt(), this.retryMs);
    }
  }

  async #tryOnce(): Promise<void> {
    try {
      const lease = await this.#connected();
      const sentAt = performance.now();
      const epoch = await lease.acquire();
      if (this.#failing) this.#log.info('the lease database answers again');
      this.#failing = false;
      // Won while stopping: release() hands it back rather than leave it to run out.
      if (this.#done) this.#wonWhileStopping = epoch;
      else if (epoch !== undefined) this.#becomeLeader(epoch, sentAt);
      else this.emit('standby');
    } catch (error) {
      // Once per outage at warn: a standby retries every second while the database is away.
      if (!this.#failing && !this.#done) this.#log.warn({ err: error }, 'cannot reach the lease database; retrying');
      this.#failing = true;
      await this.#dropClient();
    }
  }

  async #connected(): Promise<LeaderLease> {
    if (this.#lease !== undefined) return this.#lease;
    const client = await connectLeaseClient(this.#login);
    client.on('error', (error) => this.#connectionLost(client, error));
    client.on('end', () => this.#connectionLost(client));
    client.on('notification', (message) => {
      if (message.channel === LEASE_RELEASED_CHANNEL) void this.#attempt();
    });
    this.#client = client;
    this.#lease = createLeaderLease({ client, ttlMs: this.ttlMs, holder: this.holder });
    await client.query(`LISTEN ${LEASE_RELEASED_CHANNEL}`);
    if (this.#done) throw new Error('stopped while connecting');
    return this.#lease;
  }

  #becomeLeader(epoch: number, sentAt: number): void {
    this.#role = 'leader';
    this.#epoch = epoch;
    this.#leaderSince = new Date();
    this.#confirmed(sentAt);
    this.#log.info({ epoch, holder: this.holder }, 'leading');
    this.emit('acquired', epoch);
  }

  /** A renewal sent at `sentAt` was confirmed: move the deadline and plan the next renewal. */
  #confirmed(sentAt: number): void {
    clearTimeout(this.#deadlineTimer);
    clearTimeout(this.#renewTimer);
    const now = performance.now();
    const deadline = sentAt + this.ttlMs - this.#marginMs;
    this.#deadlineTimer = setTimeout(() => this.#lose('no renewal confirmed in time'), deadline - now);
    const nextRenewal = sentAt + this.ttlMs / RENEWALS_PER_TTL;
    this.#renewTimer = setTimeout(() => void this.#renew(), Math.max(0, nextRenewal - now));
  }

  async #renew(): Promise<void> {
    const lease = this.#lease;
    const epoch = this.#epoch;
    if (this.#done || this.#role !== 'leader' || lease === undefined || epoch === undefined) return;
    const sentAt = performance.now();
    let ours: boolean;
    try {
      ours = await lease.renew(epoch);
    } catch (error) {
      this.#lose(`the renewal failed: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    if (this.#done || this.#role !== 'leader' || this.#epoch !== epoch) return;
    if (!ours) this.#lose('the lease is no longer ours');
    else this.#confirmed(sentAt);
  }

  #connectionLost(client: pg.Client, error?: Error): void {
    if (client !== this.#client) return;
    this.#client = undefined;
    this.#lease = undefined;
    client.end().catch(() => {});
    if (this.#role === 'leader') this.#lose(`the lease connection was lost${error ? `: ${error.message}` : ''}`);
    else if (!this.#done) this.#log.debug({ err: error }, 'lease connection lost; the next attempt reconnects');
  }

  #lose(reason: string): void {
    if (this.#done || this.#role !== 'leader') return;
    const epoch = this.#epoch;
    this.#done = true;
    this.#clearTimers();
    this.#stepDown();
    void this.#dropClient();
    this.#log.error({ reason, epoch, holder: this.holder }, 'lost the leader lease; this process must stop acting');
    this.emit('lost', reason);
  }

  #stepDown(): void {
    this.#role = 'standby';
    this.#epoch = undefined;
    this.#leaderSince = undefined;
  }

  #clearTimers(): void {
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#renewTimer);
    clearTimeout(this.#deadlineTimer);
  }

  async #dropClient(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#lease = undefined;
    if (client === undefined) return;
    // Keep a listener: a late socket error on a client being closed must not crash the process.
    client.on('error', () => {});
    await client.end().catch(() => {});
  }
}

/** Constructs and starts: the process is a standby until 'acquired'. */
export function startLeadership(options: LeadershipOptions): Leadership {
  return new Leadership(options).start();
}

/** Counts acquisitions, losses and releases into the metrics. */
export function countLeaseEvents(
  leadership: Leadership,
  metrics: { leaseEvent(event: 'acquired' | 'lost' | 'released'): void },
): void {
  leadership.on('acquired', () => metrics.leaseEvent('acquired'));
  leadership.on('lost', () => metrics.leaseEvent('lost'));
  leadership.on('released', () => metrics.leaseEvent('released'));
}
