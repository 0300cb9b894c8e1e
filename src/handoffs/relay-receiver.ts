/**
 * HTTP handoffs on a replica of the PostgreSQL store, leader or standby alike: a PUT goes through
 * the engine's checks against the shared store (the run's token hashes, the run open there), then
 * its token is used up and its text stored for the leader in one statement (relayHandoff). The
 * leader's relay consumer hands it to the run. An agent may PUT to whichever replica its load
 * balancer picks.
 */
import { createHandoffReceiver, type HandoffReceiver } from '../engine/http-handoffs.ts';
import type { Logger } from '../log.ts';
import { relayHandoff } from '../store/postgres/handoff-relay.ts';
import { openPool } from '../store/postgres/open-pool.ts';
import type { AsyncRunStore } from '../store/store-api.ts';

export interface RelayReceiver extends HandoffReceiver {
  close(): Promise<void>;
}

export interface RelayReceiverOptions {
  /** The store's URL; the password comes from the environment, as the store's does. */
  readonly url: string;
  readonly store: Pick<AsyncRunStore, 'getRun' | 'tokenHashes'>;
  /** This replica, for the leader's log. */
  readonly receivedBy: string;
  readonly log: Logger;
}

/** Few connections: a PUT is two reads and one write. */
const POOL_SIZE = 2;

export function createRelayReceiver(options: RelayReceiverOptions): RelayReceiver {
  const { store, receivedBy, log } = options;
  // Its own pool: the store's writes are fenced by the lease, and a standby holds none.
  const pool = openPool({ url: options.url, max: POOL_SIZE });
  const receiver = createHandoffReceiver({
    tokens: store,
    isOpen: async (runId) => (await store.getRun(runId))?.status === 'running',
    take: async (runId, tokenHash, text) =>
      (await relayHandoff(pool, runId, text, { tokenHash, receivedBy })) !== undefined,
    log,
  });
  return { ...receiver, close: () => pool.end() };
}
