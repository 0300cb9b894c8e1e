/** A small typed event emitter plus promise-based waiters with timeouts (no polling). */
import { EventEmitter } from 'node:events';

export type Unsubscribe = () => void;

export class TypedEmitter<Events extends object> {
  readonly #ee = new EventEmitter();

  constructor() {
    this.#ee.setMaxListeners(0);
  }

  on<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): Unsubscribe {
    this.#ee.on(event, listener);
    return () => this.#ee.off(event, listener);
  }

  once<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): Unsubscribe {
    this.#ee.once(event, listener);
    return () => this.#ee.off(event, listener);
  }

  off<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): void {
    this.#ee.off(event, listener);
  }

  emit<K extends keyof Events & string>(event: K, payload: Events[K]): void {
    // Listener errors must never break the fake server's request handling.
    // rawListeners: calling a `once` wrapper also removes it.
    for (const listener of this.#ee.rawListeners(event)) {
      try {
        (listener as (p: Events[K]) => void)(payload);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  removeAllListeners(): void {
    this.#ee.removeAllListeners();
  }
}

export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError';
}

interface PendingWaiter {
  reject: (error: Error) => void;
  cleanup: () => void;
}

/**
 * Tracks outstanding waiters so `close()` can reject them, and gives each one a
 * timeout guard (the timer is unref'd so it never keeps the process alive).
 */
export class Waiters {
  readonly #pending = new Set<PendingWaiter>();
  #closed = false;
  readonly defaultTimeoutMs: number;

  constructor(defaultTimeoutMs: number) {
    this.defaultTimeoutMs = defaultTimeoutMs;
  }

  /**
   * `subscribe` receives `resolve` and must return an unsubscribe function. If it
   * resolves synchronously (e.g. the thing already happened) that is fine.
   */
  wait<T>(
    description: string,
    subscribe: (resolve: (value: T) => void) => Unsubscribe,
    timeoutMs: number = this.defaultTimeoutMs,
  ): Promise<T> {
    if (this.#closed) return Promise.reject(new Error(`FakeDiscord is closed (waiting for ${description})`));
    return new Promise<T>((resolve, reject) => {
      let done = false;
      // eslint-disable-next-line prefer-const -- the waiter closes over it before it is assigned
      let unsubscribe: Unsubscribe | undefined;
      let timer: NodeJS.Timeout | undefined;
      const waiter: PendingWaiter = {
        reject: (error) => finish(() => reject(error)),
        cleanup: () => {
          if (timer) clearTimeout(timer);
          unsubscribe?.();
        },
      };
      const finish = (settle: () => void): void => {
        if (done) return;
        done = true;
        this.#pending.delete(waiter);
        waiter.cleanup();
        settle();
      };
      this.#pending.add(waiter);
      unsubscribe = subscribe((value) => finish(() => resolve(value)));
      if (done) {
        unsubscribe();
        return;
      }
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(
          () =>
            finish(() => reject(new WaitTimeoutError(`Timed out after ${timeoutMs} ms waiting for ${description}`))),
          timeoutMs,
        );
        timer.unref();
      }
    });
  }

  close(): void {
    this.#closed = true;
    for (const waiter of [...this.#pending]) waiter.reject(new Error('FakeDiscord was closed while waiting'));
    this.#pending.clear();
  }
}
