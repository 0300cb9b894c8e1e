/**
 * The leader lease: one row of `hq_lease` (name 'leader') with a holder, an epoch and an expiry.
 * Whoever holds an unexpired row leads; its epoch is the fencing token the store checks on every
 * write. Every expiry is computed by the database's clock (`now()`), never by a machine's, so two
 * machines whose clocks disagree still agree on who leads. Each verb is one statement.
 *
 * The lease talks over a dedicated `pg.Client`, not the store's pool: a pooled connection could be
 * handed to someone else, and the leadership loop needs to see its own connection die.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';

export const LEASE_NAME = 'leader';
/** The channel a releasing leader notifies, so a standby takes over at once. */
export const LEASE_RELEASED_CHANNEL = 'hq_lease_released';

/** Where to connect; the password travels apart from the URL and is never logged. */
export interface LeaseLogin {
  /** `postgres://user@host:port/database`; a password in it is used only when `password` is unset. */
  readonly url: string;
  readonly password?: string;
  /** Shown in `pg_stat_activity`, so an operator (or a test) can find this connection. */
  readonly applicationName?: string;
  readonly connectTimeoutMs?: number;
  /** A statement not answered by then fails, so a hung connection cannot hold a renewal forever. */
  readonly queryTimeoutMs?: number;
}

/** What `new pg.Client` needs from the URL, parsed here because `pg` drops `password` for a URL without one. */
export interface PgAddress {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

export function parsePgUrl(url: string): PgAddress & { readonly password?: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('the PostgreSQL URL does not parse: expected postgres://user@host:port/database');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')
    throw new Error(`the PostgreSQL URL has scheme ${parsed.protocol}; expected postgres:`);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const database = decodeURIComponent(parsed.pathname.slice(1));
  if (host === '' || database === '') throw new Error('the PostgreSQL URL needs a host and a database name');
  const password = parsed.password === '' ? undefined : decodeURIComponent(parsed.password);
  return {
    host,
    port: parsed.port === '' ? 5432 : Number(parsed.port),
    user: decodeURIComponent(parsed.username),
    database,
    ...(password === undefined ? {} : { password }),
  };
}

/** Host name, pid and a random suffix: unique even for a pid reused after a restart. */
export function leaseHolderId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** A connected client for the lease alone. The caller handles its 'error' event. */
export async function connectLeaseClient(login: LeaseLogin): Promise<pg.Client> {
  const { password: urlPassword, ...address } = parsePgUrl(login.url);
  const password = login.password ?? urlPassword;
  const client = new pg.Client({
    ...address,
    ...(password === undefined ? {} : { password }),
    application_name: login.applicationName ?? 'hq-delegate lease',
    connectionTimeoutMillis: login.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    ...(login.queryTimeoutMs === undefined ? {} : { query_timeout: login.queryTimeoutMs }),
    keepAlive: true,
  });
  // A connect that fails emits 'error' too; without a listener that would throw past the await.
  const swallow = (): void => {};
  client.on('error', swallow);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  } finally {
    client.off('error', swallow);
  }
  return client;
}

export interface LeaderLease {
  readonly holder: string;
  /** The epoch now held (a new one after a takeover, the same one on renewal), or undefined if another leads. */
  acquire(): Promise<number | undefined>;
  /** True when the row is still ours at `epoch` and its expiry was pushed out by the ttl. */
  renew(epoch: number): Promise<boolean>;
  /** Expires the row now, if ours at `epoch`, and notifies the standbys. True when it was ours. */
  release(epoch: number): Promise<boolean>;
}

/**
 * A row counts as expired when `expires_at <= now()`: the complement of the store's write check
 * (`expires_at > now()`), so there is no instant at which both the old and a new holder could write.
 * A takeover, or retaking a row of our own that expired, increments the epoch; a renewal keeps it.
 */
const ACQUIRE = `
  INSERT INTO hq_lease (name, holder, epoch, expires_at)
  VALUES ($1, $2, 1, now() + $3 * interval '1 millisecond')
  ON CONFLICT (name) DO UPDATE SET
    holder = EXCLUDED.holder,
    epoch = CASE WHEN hq_lease.holder = EXCLUDED.holder AND hq_lease.expires_at > now()
                 THEN hq_lease.epoch ELSE hq_lease.epoch + 1 END,
    expires_at = EXCLUDED.expires_at
  WHERE hq_lease.expires_at <= now() OR hq_lease.holder = EXCLUDED.holder
  RETURNING epoch`;

const RENEW = `
  UPDATE hq_lease SET expires_at = now() + $4 * interval '1 millisecond'
  WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > now()
  RETURNING epoch`;

// NOTIFY is delivered at commit, so a standby woken by it already sees the expired row.
const RELEASE = `
  WITH released AS (
    UPDATE hq_lease SET expires_at = now()
    WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > now()
    RETURNING epoch
  )
  SELECT pg_notify('${LEASE_RELEASED_CHANNEL}', epoch::text) FROM released`;

interface LeaseOptions {
  readonly client: pg.Client;
  readonly ttlMs: number;
  readonly holder?: string;
}

export function createLeaderLease(options: LeaseOptions): LeaderLease {
  const { client, ttlMs } = options;
  const holder = options.holder ?? leaseHolderId();
  return {
    holder,
    async acquire() {
      const { rows } = await client.query<{ epoch: string }>(ACQUIRE, [LEASE_NAME, holder, ttlMs]);
      return rows[0] === undefined ? undefined : Number(rows[0].epoch);
    },
    async renew(epoch) {
      const { rowCount } = await client.query(RENEW, [LEASE_NAME, holder, epoch, ttlMs]);
      return rowCount === 1;
    },
    async release(epoch) {
      const { rowCount } = await client.query(RELEASE, [LEASE_NAME, holder, epoch]);
      return rowCount === 1;
    },
  };
}
