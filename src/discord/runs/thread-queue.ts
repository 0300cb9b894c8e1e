/**
 * One run at a time per result thread, first come first served: the runs of a thread share one
 * agent session (thread-session.ts), and the gateway would hold a second request on that key
 * until the first completes anyway, where nobody could see or cancel it. Here a follow-up waits
 * visibly, its author may withdraw it, and it starts once the run ahead has ended and delivered,
 * so its context holds that run's result. Memory only: queued runs are in the store
 * (queued-runs.ts), and a restarted process enters them again in order (queued-follow-up.ts).
 */

export interface ThreadTurn {
  readonly runId: string;
  /** The turn's run, from start to delivery. */
  readonly start: () => Promise<unknown>;
}

export interface ThreadQueue {
  /** The run a new turn would wait behind (the last waiting, else the one going on), if any. */
  last(threadId: string): string | undefined;
  /** Whether the run waits for its turn (entered, not started, not withdrawn). */
  isWaiting(runId: string): boolean;
  /**
   * Starts the turn now if the thread is free, else after the turns ahead. Resolves once it has
   * run, was withdrawn, or was dropped by the shutdown (it stays queued in the store then).
   */
  enter(threadId: string, turn: ThreadTurn): Promise<void>;
  /** Takes a waiting turn out, exactly once; false if it is not waiting. */
  withdraw(runId: string): boolean;
}

interface Waiting extends ThreadTurn {
  readonly done: () => void;
}

interface Thread {
  current: string | undefined;
  readonly waiting: Waiting[];
}

export function createThreadQueue(shutdown: AbortSignal): ThreadQueue {
  const threads = new Map<string, Thread>();
  const waitingIn = new Map<string, string>();

  function run(threadId: string, thread: Thread, turn: ThreadTurn, done: () => void): void {
    thread.current = turn.runId;
    void Promise.resolve()
      .then(turn.start)
      .catch(() => {})
      .finally(() => {
        done();
        next(threadId, thread);
      });
  }

  function next(threadId: string, thread: Thread): void {
    thread.current = undefined;
    // Once the bot stops, a waiting turn stays queued in the store for the restart.
    const turn = shutdown.aborted ? undefined : thread.waiting.shift();
    if (turn === undefined) {
      if (thread.waiting.length === 0) threads.delete(threadId);
      return;
    }
    waitingIn.delete(turn.runId);
    run(threadId, thread, turn, turn.done);
  }

  shutdown.addEventListener(
    'abort',
    () => {
      for (const thread of threads.values()) for (const turn of thread.waiting.splice(0)) turn.done();
      waitingIn.clear();
    },
    { once: true },
  );

  return {
    last(threadId) {
      const thread = threads.get(threadId);
      return thread?.waiting.at(-1)?.runId ?? thread?.current;
    },
    isWaiting: (runId) => waitingIn.has(runId),
    enter(threadId, turn) {
      return new Promise<void>((resolve) => {
        let thread = threads.get(threadId);
        if (thread === undefined) {
          thread = { current: undefined, waiting: [] };
          threads.set(threadId, thread);
        }
        if (thread.current === undefined && thread.waiting.length === 0) {
          run(threadId, thread, turn, resolve);
          return;
        }
        if (shutdown.aborted) return resolve();
        thread.waiting.push({ ...turn, done: resolve });
        waitingIn.set(turn.runId, threadId);
      });
    },
    withdraw(runId) {
      const threadId = waitingIn.get(runId);
      const thread = threadId === undefined ? undefined : threads.get(threadId);
      const index = thread?.waiting.findIndex((turn) => turn.runId === runId) ?? -1;
      if (thread === undefined || index === -1) return false;
      const [turn] = thread.waiting.splice(index, 1);
      waitingIn.delete(runId);
      turn?.done();
      return true;
    },
  };
}
