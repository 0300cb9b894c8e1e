/**
 * WAL checkpoints off the engine's thread. With sqlite's automatic checkpoint, every thousandth
 * page committed makes that commit copy the WAL into the database and fsync both, a stall of
 * 5–20 ms on whichever journal write happens to cross the line. The main connection turns that
 * off (`wal_autocheckpoint = 0`) and this thread, with its own connection, checkpoints instead.
 *
 * Durability does not depend on it: a commit is in the WAL when the verb returns, and the WAL is
 * replayed on open. Checkpoints only keep the WAL from growing; the main connection truncates it
 * back to `journal_size_limit` when it restarts the log after a complete checkpoint.
 *
 * The two threads share a small Int32Array: a count of commits (so an idle store is never
 * checkpointed) and the thread's state (so closing the store can wait for the thread's connection
 * to be gone, and a thread that has not opened yet never will).
 */
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

export const DEFAULT_CHECKPOINT_INTERVAL_MS = 500;
/** How long close() waits for the checkpoint thread to let go of the file. */
export const CHECKPOINTER_CLOSE_WAIT_MS = 5_000;

/** Slots of the shared Int32Array, and the values of its STATE slot. */
export const CheckpointerState = {
  STATE: 0,
  WRITES: 1,
  IDLE: 0,
  OPEN: 1,
  CLOSED: 2,
} as const;

export interface CheckpointerData {
  readonly fileUrl: string;
  readonly intervalMs: number;
  readonly busyTimeoutMs: number;
  readonly shared: SharedArrayBuffer;
}

export type ToCheckpointer = { readonly type: 'checkpoint'; readonly id: number } | { readonly type: 'close' };

export type FromCheckpointer =
  | ({ readonly type: 'checkpointed'; readonly id?: number } & CheckpointResult)
  | { readonly type: 'failed'; readonly id?: number; readonly message: string };

export interface CheckpointResult {
  /** True when a lock kept the checkpoint from copying everything (PASSIVE never waits for one). */
  readonly busy: boolean;
  /** Frames in the WAL when the checkpoint ran. */
  readonly walFrames: number;
  /** Of those, frames now copied into the database file. */
  readonly checkpointedFrames: number;
  readonly durationMs: number;
}

export interface CheckpointerOptions {
  readonly intervalMs: number;
  readonly busyTimeoutMs: number;
  /** Each background checkpoint's result (not those asked for through checkpoint()). */
  readonly onCheckpoint?: (result: CheckpointResult) => void;
  /** The thread failed or died; the caller must checkpoint some other way from now on. */
  readonly onFailure: (error: Error) => void;
}

export interface Checkpointer {
  /** Call after each commit: cheap (one atomic add), and what wakes the next checkpoint. */
  noteWrite(): void;
  /** Checkpoints now on the thread and resolves with the outcome. */
  checkpoint(): Promise<CheckpointResult>;
  /** Stops the thread and waits (bounded) until its connection is closed. Idempotent. */
  close(): void;
}

export function startCheckpointer(file: string, options: CheckpointerOptions): Checkpointer {
  const shared = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
  const data: CheckpointerData = {
    fileUrl: pathToFileURL(file).href,
    intervalMs: options.intervalMs,
    busyTimeoutMs: options.busyTimeoutMs,
    shared: shared.buffer as SharedArrayBuffer,
  };
  const worker = new Worker(new URL('./checkpoint-worker.ts', import.meta.url), { workerData: data, name: 'hq-run-store-checkpointer' });
  // Never what keeps the process alive: losing a pending checkpoint loses nothing.
  worker.unref();

  const waiting = new Map<number, { resolve: (result: CheckpointResult) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let stopped = false;

  const fail = (error: Error): void => {
    if (stopped) return;
    stop();
    options.onFailure(error);
  };
  const rejectWaiting = (error: Error): void => {
    for (const { reject } of waiting.values()) reject(error);
    waiting.clear();
  };

  worker.on('message', (message: FromCheckpointer) => {
    const waiter = message.id === undefined ? undefined : waiting.get(message.id);
    if (message.id !== undefined) waiting.delete(message.id);
    if (message.type === 'failed') {
      const error = new Error(`run store checkpoint failed: ${message.message}`);
      waiter?.reject(error);
      fail(error);
      return;
    }
    const { type: _type, id: _id, ...result } = message;
    if (waiter !== undefined) waiter.resolve(result);
    else options.onCheckpoint?.(result);
  });
  worker.on('error', (error) => fail(new Error(`run store checkpoint thread failed: ${error.message}`, { cause: error })));
  worker.on('exit', (code) => {
    if (!stopped) fail(new Error(`run store checkpoint thread exited (code ${code})`));
  });

  function stop(): void {
    if (stopped) return;
    stopped = true;
    rejectWaiting(new Error('run store checkpointer is closed'));
    const { STATE, IDLE, OPEN, CLOSED } = CheckpointerState;
    // A thread that has not opened its connection yet is told never to (its compareExchange fails).
    const state = Atomics.compareExchange(shared, STATE, IDLE, CLOSED);
    if (state === OPEN) {
      worker.postMessage({ type: 'close' } satisfies ToCheckpointer);
      // Blocking on purpose: when close() returns, no connection of ours holds the file, so the
      // caller's own close is the last one (it checkpoints and removes the WAL) and another
      // process may take the file at once.
      Atomics.wait(shared, STATE, OPEN, CHECKPOINTER_CLOSE_WAIT_MS);
    } else {
      void worker.terminate();
    }
  }

  return {
    noteWrite() {
      Atomics.add(shared, CheckpointerState.WRITES, 1);
    },
    checkpoint() {
      if (stopped) return Promise.reject(new Error('run store checkpointer is closed'));
      const id = nextId++;
      return new Promise<CheckpointResult>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.postMessage({ type: 'checkpoint', id } satisfies ToCheckpointer);
      });
    },
    close: stop,
  };
}
