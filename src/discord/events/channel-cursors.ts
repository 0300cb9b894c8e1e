/**
 * The last message seen per channel, stored so a restarted bot reads what it missed. A mention
 * is held until its run is journaled (or refused), and the cursor never passes a held one: a
 * cursor that lags is harmless, one that runs ahead loses a delegation.
 */
import type { AsyncRunStore } from '../../store/store-api.ts';
import type { Logger } from '../../log.ts';

export interface ChannelCursors {
  /** A message that needs nothing more from the bot. */
  seen(channelId: string, messageId: string): void;
  /** A mention being taken; the returned (idempotent) function releases it. */
  hold(channelId: string, messageId: string): () => void;
}

interface ChannelState {
  readonly held: Set<bigint>;
  readonly waiting: Set<bigint>;
}

const SNOWFLAKE = /^\d{1,20}$/;

export function createChannelCursors(store: Pick<AsyncRunStore, 'setLastSeen'>, log: Logger): ChannelCursors {
  const channels = new Map<string, ChannelState>();

  function stateOf(channelId: string): ChannelState {
    let state = channels.get(channelId);
    if (!state) {
      state = { held: new Set(), waiting: new Set() };
      channels.set(channelId, state);
    }
    return state;
  }

  function write(channelId: string, id: bigint): void {
    // A lost cursor write costs a re-read after a restart, never a delegation.
    store
      .setLastSeen(channelId, id.toString())
      .catch((error: unknown) => log.warn({ err: error, channelId }, 'could not record the channel cursor'));
  }

  function advance(channelId: string, state: ChannelState): void {
    let firstHeld: bigint | undefined;
    for (const id of state.held) if (firstHeld === undefined || id < firstHeld) firstHeld = id;
    let target: bigint | undefined;
    for (const id of state.waiting) {
      if (firstHeld !== undefined && id > firstHeld) continue;
      if (target === undefined || id > target) target = id;
    }
    if (target === undefined) return;
    for (const id of state.waiting) if (id <= target) state.waiting.delete(id);
    write(channelId, target);
    if (state.held.size === 0 && state.waiting.size === 0) channels.delete(channelId);
  }

  return {
    seen(channelId, messageId) {
      if (!SNOWFLAKE.test(channelId) || !SNOWFLAKE.test(messageId)) return;
      const state = stateOf(channelId);
      state.waiting.add(BigInt(messageId));
      advance(channelId, state);
    },
    hold(channelId, messageId) {
      if (!SNOWFLAKE.test(channelId) || !SNOWFLAKE.test(messageId)) return () => {};
      const id = BigInt(messageId);
      stateOf(channelId).held.add(id);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const state = stateOf(channelId);
        state.held.delete(id);
        state.waiting.add(id);
        advance(channelId, state);
      };
    },
  };
}
