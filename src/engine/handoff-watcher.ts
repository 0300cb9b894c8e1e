/**
 * Waits for handoff files. ONE chokidar watcher on the handoff directory serves every run in
 * the process; waiting runs are found by file name (`<runId>.json`) in a Map, so 200 waiting
 * runs cost one watch of the directory, not 200.
 *
 * chokidar's `add` and `change` events say a file may have something new; the file is then
 * read by handoff-file.ts, which refuses what an agent should never leave there and waits out
 * a half-written file. An event only marks its file due; due files are read once the loop has
 * taken in that turn's events, one read per file however many events came for it.
 *
 * Every wait also looks once for its file when it registers (a file written before the watcher
 * listened is found that way), and judges the file as it is at its deadline.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { FSWatcher } from 'chokidar';
import type { Logger } from '../log.ts';
import {
  createSettlingRead,
  describeError,
  inspectHandoffFile,
  moveHandoffAside,
  resultAsItIs,
  type HandoffFileResult,
  type SettlingRead,
} from './handoff-file.ts';
import { validateRunId } from './run-id.ts';

export { MALFORMED_RAW_CHARS, type HandoffFileResult } from './handoff-file.ts';

export type WaitResult = HandoffFileResult | { readonly kind: 'timeout' } | { readonly kind: 'aborted' };
export type PeekResult = HandoffFileResult | { readonly kind: 'absent' };

export interface WaitOptions {
  readonly signal?: AbortSignal | undefined;
  /** Epoch ms. At the deadline the file is judged as it is: complete, malformed, or absent (timeout). */
  readonly deadline: number;
}

export interface HandoffWatcher {
  /** Resolves once the watcher is listening; waits started before then still see every file. */
  ready(): Promise<void>;
  waitFor(runId: string, options: WaitOptions): Promise<WaitResult>;
  /** Reads the file present now, once; a file that does not parse is malformed. */
  peek(runId: string): Promise<PeekResult>;
  /** Renames `<runId>.json` aside (`.prev.json`, `.prev.1.json`, …) without overwriting; returns the new path. */
  moveAside(runId: string): Promise<string | undefined>;
  pathFor(runId: string): string;
  /** Runs currently waiting. */
  waiting(): number;
  /** Counters since start: chokidar events for files in the directory, and files opened and read for a waiting run. */
  stats(): WatcherStats;
  close(): Promise<void>;
}

export interface WatcherStats {
  readonly events: number;
  readonly reads: number;
}

export interface HandoffWatcherOptions {
  readonly dir: string;
  readonly maxBytes: number;
  readonly settleMs: number;
  readonly log: Logger;
}

interface Waiter {
  readonly resolve: (result: WaitResult) => void;
  timer?: NodeJS.Timeout;
  detach?: () => void;
}

/** One file that one or more runs wait for (the same run id may be waited on twice). */
interface Slot {
  readonly name: string;
  readonly file: string;
  readonly waiters: Set<Waiter>;
  readonly reader: SettlingRead;
  done: boolean;
}

export function createHandoffWatcher(options: HandoffWatcherOptions): HandoffWatcher {
  const dir = path.resolve(options.dir);
  const { maxBytes, settleMs, log } = options;
  const slots = new Map<string, Slot>();
  let closed = false;
  let events = 0;
  let reads = 0;
  const countRead = (): void => {
    reads += 1;
  };

  const fileOf = (runId: string): string => path.join(dir, `${validateRunId(runId)}.json`);

  // Events mark files due; one read per due file happens once the events of this turn of the
  // loop are in, so a burst of writes to one file costs one read between them.
  const due = new Set<Slot>();
  let flushing: NodeJS.Immediate | undefined;

  function check(slot: Slot): void {
    if (slot.done) return;
    due.add(slot);
    flushing ??= setImmediate(flush);
  }

  function flush(): void {
    flushing = undefined;
    for (const slot of due) {
      due.delete(slot);
      if (slot.done) continue;
      let result: HandoffFileResult | undefined;
      try {
        result = slot.reader.read();
      } catch (error) {
        result = { kind: 'read_error', message: describeError(error) };
      }
      if (result !== undefined) finish(slot, result);
    }
  }

  /** chokidar's add or change: wake the runs waiting for that file, if any. */
  function onFileEvent(file: string): void {
    if (path.dirname(file) !== dir) return;
    events += 1;
    const slot = slots.get(path.basename(file));
    if (slot !== undefined) check(slot);
  }

  // The directory exists before this returns, so before any POST: an agent must find it.
  mkdirSync(dir, { recursive: true });

  let watcher: FSWatcher | undefined;
  let starting: Promise<void> | undefined;
  /**
   * The watch starts with the first wait (or ready()), on the next turn of the event loop, and
   * chokidar is loaded only then: a run registers its wait and hands its POST to undici in the
   * same turn, so the POST is written before chokidar loads and scans the directory. Nothing is
   * missed: every wait looks at its file once the watcher is ready.
   */
  function start(): Promise<void> {
    if (starting === undefined) {
      starting = startWatching();
      starting.catch((error: unknown) => log.error({ err: error, dir }, 'handoff watcher could not start'));
    }
    return starting;
  }
  async function startWatching(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    if (closed) return;
    const { watch } = await import('chokidar');
    if (closed) return;
    const w = watch(dir, {
      depth: 0,
      ignoreInitial: true,
      followSymlinks: false,
      // Only `<runId>.json` can be a handoff (run ids never start with a dot: no temp files).
      ignored: (candidate: string) => candidate !== dir && !candidate.endsWith('.json'),
    });
    watcher = w;
    w.on('add', onFileEvent);
    w.on('change', onFileEvent);
    w.on('error', (error) => log.warn({ err: error, dir }, 'handoff watcher error'));
    await new Promise<void>((resolve) => w.once('ready', () => resolve()));
  }

  function finish(slot: Slot, result: WaitResult): void {
    if (slot.done) return;
    retire(slot);
    for (const waiter of slot.waiters) settle(waiter, result);
    slot.waiters.clear();
  }

  function retire(slot: Slot): void {
    slot.done = true;
    slot.reader.stop();
    if (slots.get(slot.name) === slot) slots.delete(slot.name);
  }

  function settle(waiter: Waiter, result: WaitResult): void {
    clearTimeout(waiter.timer);
    waiter.detach?.();
    waiter.resolve(result);
  }

  /** One waiter leaves (aborted, or its own deadline); the others, if any, go on waiting. */
  function leave(slot: Slot, waiter: Waiter, result: WaitResult): void {
    if (!slot.waiters.delete(waiter)) return;
    settle(waiter, result);
    if (slot.waiters.size === 0 && !slot.done) retire(slot);
  }

  function judgeAtDeadline(slot: Slot, waiter: Waiter): void {
    const state = inspectHandoffFile(slot.file, maxBytes, countRead);
    if (slot.done || !slot.waiters.has(waiter)) return;
    const result = resultAsItIs(state);
    if (result === undefined) leave(slot, waiter, { kind: 'timeout' });
    else if (result.kind === 'malformed') leave(slot, waiter, result);
    else finish(slot, result);
  }

  function slotFor(file: string): Slot {
    const name = path.basename(file);
    const existing = slots.get(name);
    if (existing !== undefined) return existing;
    const slot: Slot = {
      name,
      file,
      waiters: new Set(),
      done: false,
      reader: createSettlingRead({ file, maxBytes, settleMs, onRead: countRead, onSettleDue: () => check(slot) }),
    };
    slots.set(name, slot);
    return slot;
  }

  return {
    ready: start,
    pathFor: fileOf,
    waiting: () => {
      let count = 0;
      for (const slot of slots.values()) count += slot.waiters.size;
      return count;
    },
    stats: () => ({ events, reads }),

    waitFor(runId, { signal, deadline }) {
      const file = fileOf(runId);
      return new Promise<WaitResult>((resolve) => {
        if (closed || signal?.aborted) {
          resolve({ kind: 'aborted' });
          return;
        }
        const slot = slotFor(file);
        const waiter: Waiter = { resolve };
        slot.waiters.add(waiter);
        if (signal !== undefined) {
          const onAbort = (): void => leave(slot, waiter, { kind: 'aborted' });
          signal.addEventListener('abort', onAbort, { once: true });
          waiter.detach = () => signal.removeEventListener('abort', onAbort);
        }
        waiter.timer = setTimeout(() => judgeAtDeadline(slot, waiter), Math.max(0, deadline - Date.now()));
        // Registered first, looked second: a file written before this line is found by the
        // look, one written after it by the watcher.
        start().then(
          () => check(slot),
          (error: unknown) =>
            finish(slot, {
              kind: 'read_error',
              message: `the handoff watcher could not start: ${describeError(error)}`,
            }),
        );
      });
    },

    async peek(runId) {
      return resultAsItIs(inspectHandoffFile(fileOf(runId), maxBytes)) ?? { kind: 'absent' };
    },

    moveAside: async (runId) => moveHandoffAside(fileOf(runId)),

    async close() {
      if (closed) return;
      closed = true;
      clearImmediate(flushing);
      due.clear();
      for (const slot of [...slots.values()]) finish(slot, { kind: 'aborted' });
      await starting?.catch(() => undefined);
      await watcher?.close();
    },
  };
}
