/**
 * Group commit for the PostgreSQL store. While every writer slot is busy, writes wait in a queue;
 * a slot that frees takes all that wait (up to a bound) into one transaction. A lone write goes
 * at once, in a transaction of its own. When a batch fails for one write's sake, its writes are
 * retried one per transaction, so that write fails alone and the others commit.
 */
import type { Query } from './session.ts';

type WriteFn = (query: Query) => Promise<unknown>;

interface Pending {
  readonly fn: WriteFn;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

export interface WriteBatcherOptions {
  /** Runs the writes in order in one transaction, committed when it resolves. */
  batch(fns: readonly WriteFn[]): Promise<unknown[]>;
  /**
   * Whether a batch's failure may be one write's alone, worth trying each again on its own; a
   * database that is away or a lost lease fails them all at once instead.
   */
  isolate(error: unknown): boolean;
  /** Transactions at once; default 2, leaving the pool's other connections to reads. */
  readonly slots?: number;
  readonly maxBatch?: number;
}

const DEFAULT_SLOTS = 2;
const DEFAULT_MAX_BATCH = 64;

export function createWriteBatcher(options: WriteBatcherOptions) {
  const slots = options.slots ?? DEFAULT_SLOTS;
  const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
  const queue: Pending[] = [];
  let busy = 0;

  async function runAlone(item: Pending): Promise<void> {
    try {
      const [value] = await options.batch([item.fn]);
      item.resolve(value);
    } catch (error) {
      item.reject(error);
    }
  }

  async function runBatch(items: Pending[]): Promise<void> {
    if (items.length === 1) return runAlone(items[0]!);
    let values: unknown[];
    try {
      values = await options.batch(items.map((item) => item.fn));
    } catch (error) {
      if (!options.isolate(error)) {
        for (const item of items) item.reject(error);
        return;
      }
      // Rolled back whole: each write again on its own, so only the one that cannot commit fails.
      for (const item of items) await runAlone(item);
      return;
    }
    items.forEach((item, i) => item.resolve(values[i]));
  }

  function pump(): void {
    while (busy < slots && queue.length > 0) {
      busy += 1;
      void runBatch(queue.splice(0, maxBatch)).finally(() => {
        busy -= 1;
        pump();
      });
    }
  }

  return {
    write<T>(fn: (query: Query) => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
        pump();
      });
    },
  };
}
