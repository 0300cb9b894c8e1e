/**
 * The PostgreSQL store's connection pool, from a URL without a password plus the password from the
 * environment. The URL is taken apart here rather than handed to `pg` as a connectionString: with
 * one, `pg` replaces a separate password by the URL's (none), and a password never belongs in a
 * config file, a log line or an error message anyway.
 */
import pg from 'pg';
import { ErrorCode, HqError } from '../../errors.ts';

/** Where the password comes from: ours first, then libpq's usual variable. */
export const PASSWORD_VARIABLES = ['HQ_STORE_PASSWORD', 'PGPASSWORD'] as const;
const INT8_OID = 20;
const DEFAULT_POOL_SIZE = 10;
/** A server that does not answer is reported, not waited on for ever. */
const CONNECT_TIMEOUT_MS = 5_000;

export interface PoolOptions {
  readonly url: string;
  /** Overrides the environment (tests); never logged. */
  readonly password?: string;
  readonly max?: number;
}

/** The URL as it may be shown: no password, even if one was written into it. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(an unreadable store URL)';
  }
}

/** The store's password as the environment gives it: the first of PASSWORD_VARIABLES that is set. */
export function passwordFromEnvironment(): string | undefined {
  return PASSWORD_VARIABLES.map((name) => process.env[name]).find((value) => value !== undefined && value !== '');
}

function refuse(why: string): HqError {
  return new HqError(ErrorCode.CONFIG_INVALID, `store.url: ${why}`);
}

export function poolConfig(options: PoolOptions): pg.PoolConfig {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw refuse('is not a URL; write it as postgres://user@host:5432/database');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw refuse(`must start with postgres://, not ${url.protocol}//`);
  }
  if (url.password !== '') {
    throw refuse(`must not hold the password; set ${PASSWORD_VARIABLES[0]} in the environment instead`);
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (database === '' || url.username === '') throw refuse('must name a user and a database: postgres://user@host/db');
  const password = options.password ?? passwordFromEnvironment();
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? 5432 : Number(url.port),
    user: decodeURIComponent(url.username),
    database,
    ...(password === undefined ? {} : { password }),
    max: options.max ?? DEFAULT_POOL_SIZE,
    application_name: 'hq-delegate',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // Epoch ms live in bigint columns; every one fits a double exactly, so they come back as numbers.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format ?? 'text')) as never,
    },
  };
}

/** A pool whose idle-client errors (the server gone) are swallowed: the next query reports them. */
export function openPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool(poolConfig(options));
  pool.on('error', () => {});
  return pool;
}

/**
 * A driver error as a message fit for a log: its code and text, which `pg` builds from the server's
 * report and never from the connection settings.
 */
export function describePgError(error: unknown): string {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return `${typeof code === 'string' ? `${code} ` : ''}${String(message ?? error)}`;
}
