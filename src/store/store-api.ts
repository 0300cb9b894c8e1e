/**
 * The run store as the bot will use it once its callers await: the same verbs as RunStore
 * (run-store.ts), each resolving to what the SQLite verb returns, over either backend. SQLite stays
 * the default for one machine; PostgreSQL lets several replicas share the state (issue 14).
 */
import type { HandoffTokenStore } from '../engine/handoff-tokens.ts';
import type { RunJournal } from '../engine/types.ts';
import type { ApprovalBook } from './approvals.ts';
import type { ChannelCursors } from './channel-cursors.ts';
import type { Outbox } from './outbox.ts';
import type { Fence } from './postgres/session.ts';
import type { ProgressMessageBook } from './progress-messages.ts';
import type { QueuedRunBook } from './queued-runs.ts';
import type { RunPruner } from './retention.ts';
import type { RunQueries } from './run-queries.ts';

/** Each verb of T, returning a promise of what it returned. */
export type Promised<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : T[K];
};

/** Each verb of T, returning what its promise resolved to: the engine's async interfaces as SQLite implements them. */
export type Synchronous<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => Promise<infer R> ? (...args: A) => R : T[K];
};

/** Every verb of the SQLite store that reads or writes rows. */
export type StoreVerbs = Synchronous<RunJournal> &
  RunQueries &
  Outbox &
  ProgressMessageBook &
  ChannelCursors &
  Synchronous<HandoffTokenStore> &
  ApprovalBook &
  RunPruner &
  QueuedRunBook;

export interface StoreHealth {
  readonly ok: boolean;
  readonly detail?: string;
}

export type AsyncRunStore = Promised<Omit<StoreVerbs, 'deliveryNonce'>> & {
  readonly kind: 'sqlite' | 'postgres';
  /** The file, or the database URL without a password: for messages. */
  readonly location: string;
  /** Pure (a hash of run id and kind), so it stays synchronous. */
  deliveryNonce(runId: string, kind: string): string;
  healthCheck(): Promise<StoreHealth>;
  /** Rejects with HQ_ERR_STORE_UNWRITABLE while the store cannot take writes. */
  assertWritable(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
};

export interface CommonStoreOptions {
  readonly now?: () => number;
}

export type OpenRunStoreOptions = CommonStoreOptions &
  (
    | { readonly kind: 'sqlite'; readonly file: string; readonly busyTimeoutMs?: number }
    | {
        readonly kind: 'postgres';
        /** postgres://user@host:port/database, without the password. */
        readonly url: string;
        /** Else HQ_STORE_PASSWORD or PGPASSWORD from the environment. */
        readonly password?: string;
        /** The leader lease's epoch: when given, every write is refused (HQ_ERR_STORE_FENCED) without it. */
        readonly fence?: Fence;
        readonly poolSize?: number;
      }
  );

export async function openRunStore(options: OpenRunStoreOptions): Promise<AsyncRunStore> {
  if (options.kind === 'sqlite') {
    const { openSqliteAsync } = await import('./sqlite-async.ts');
    return openSqliteAsync(options.file, options);
  }
  const { openPgRunStore } = await import('./postgres/pg-run-store.ts');
  return openPgRunStore(options);
}
