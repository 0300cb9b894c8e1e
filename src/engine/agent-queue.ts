/**
 * Per-agent concurrency limit with a FIFO queue. An agent's gateway runs one model session per
 * request, so a burst of delegations to one agent waits here instead of piling onto it. A
 * waiting run sees its position (1 = next) every time it changes, and leaves the queue the
 * moment its signal aborts.
 */

export interface QueueSlot {
  /** Gives the place to the next waiter. Safe to call more than once. */
  release(): void;
  /** Whether the run had to wait for a place. */
  readonly waited: boolean;
}

export interface AcquireOptions {
  readonly signal?: AbortSignal | undefined;
  readonly onPosition?: ((position: number) => void) | undefined;
}

export interface AgentQueue {
  acquire(agent: string, options?: AcquireOptions): Promise<QueueSlot>;
  /** Runs waiting for a place (not counting those running). */
  waiting(agent: string): number;
  /** Runs holding a place. */
  active(agent: string): number;
}

interface Waiter {
  readonly onPosition: ((position: number) => void) | undefined;
  readonly grant: () => void;
}

interface Lane {
  active: number;
  readonly waiters: Waiter[];
}

export function createAgentQueue(options: { readonly limit: number | ((agent: string) => number) }): AgentQueue {
  const lanes = new Map<string, Lane>();
  const limitOf = (agent: string): number =>
    Math.max(1, typeof options.limit === 'function' ? options.limit(agent) : options.limit);

  function laneOf(agent: string): Lane {
    let lane = lanes.get(agent);
    if (lane === undefined) {
      lane = { active: 0, waiters: [] };
      lanes.set(agent, lane);
    }
    return lane;
  }

  function announcePositions(lane: Lane, from: number): void {
    for (let index = from; index < lane.waiters.length; index += 1) lane.waiters[index]?.onPosition?.(index + 1);
  }

  function makeSlot(agent: string, lane: Lane, waited: boolean): QueueSlot {
    let released = false;
    return {
      waited,
      release() {
        if (released) return;
        released = true;
        lane.active -= 1;
        const next = lane.waiters.shift();
        if (next !== undefined) {
          lane.active += 1;
          next.grant();
          announcePositions(lane, 0);
        } else if (lane.active === 0) {
          lanes.delete(agent);
        }
      },
    };
  }

  return {
    acquire(agent, { signal, onPosition } = {}) {
      if (signal?.aborted) return Promise.reject(signal.reason as Error);
      const lane = laneOf(agent);
      if (lane.waiters.length === 0 && lane.active < limitOf(agent)) {
        lane.active += 1;
        return Promise.resolve(makeSlot(agent, lane, false));
      }
      return new Promise<QueueSlot>((resolve, reject) => {
        const onAbort = (): void => {
          const index = lane.waiters.indexOf(waiter);
          if (index === -1) return;
          lane.waiters.splice(index, 1);
          announcePositions(lane, index);
          if (lane.active === 0 && lane.waiters.length === 0) lanes.delete(agent);
          reject(signal?.reason);
        };
        const waiter: Waiter = {
          onPosition,
          grant: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve(makeSlot(agent, lane, true));
          },
        };
        lane.waiters.push(waiter);
        signal?.addEventListener('abort', onAbort, { once: true });
        onPosition?.(lane.waiters.length);
      });
    },
    waiting: (agent) => lanes.get(agent)?.waiters.length ?? 0,
    active: (agent) => lanes.get(agent)?.active ?? 0,
  };
}
