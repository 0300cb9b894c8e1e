/**
 * Waits for handoff files: one directory watch (directory-watch.ts) serves every run waiting in
 * it, found by file name. An event only marks its file due; due files are read (handoff-file.ts)
 * once that turn's events are in, one read per file. Every wait also looks once when it
 * registers, and judges the file as it is at its deadline.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.ts';
import { watchDirectory, type DirectoryWatch } from './directory-watch.ts';
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

export type WaitResult = HandoffFileResult | { readonly kind: 'timeout' } | { readonly kind: 'aborted' };
export type PeekResult = HandoffFileResult | { readonly kind: 'absent' };

export interface WaitOptions {
  readonly signal?: AbortSignal | undefined;
  /** Epoch ms. At the deadline the file is judged as it is: complete, malformed, or absent (timeout). */
  readonly deadline: number;
}

export interface HandoffWatcher {
  /** Resolves once the handoff directory is watched; rejects when it cannot be. */
  ready(): Promise<void>;
  waitFor(runId: string, options: WaitOptions): Promise<WaitResult>;
  /** Reads the file present now, once; a file that does not parse is malformed. */
  peek(runId: string): Promise<PeekResult>;
  /** Renames `<runId>.json` to `.prev.json`, `.prev.1.json`… without overwriting; returns the new path. */
  moveAside(runId: string): Promise<string | undefined>;
  pathFor(runId: string): string;
  waiting(): number;
  stats(): WatcherStats;
  close(): Promise<void>;
}

/** Counters since start (`.json` watch events, file reads), and the directories watched now. */
interface WatcherStats {
  readonly events: number;
  readonly reads: number;
  readonly watches: number;
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
  /** The slots of the file's directory, by file name. */
  readonly home: Map<string, Slot>;
  readonly waiters: Set<Waiter>;
  readonly reader: SettlingRead;
  done: boolean;
}

/** A directory runs wait in: its watch and its waiting files. */
interface WatchedDirectory {
  readonly watch: DirectoryWatch;
  readonly slots: Map<string, Slot>;
}

export function createHandoffWatcher(options: HandoffWatcherOptions): HandoffWatcher {
  const dir = path.resolve(options.dir);
  const { maxBytes, settleMs, log } = options;
  const directories = new Map<string, WatchedDirectory>();
  let closed = false;
  let events = 0;
  let reads = 0;
  const countRead = (): void => {
    reads += 1;
  };

  const fileOf = (runId: string): string => path.join(dir, `${validateRunId(runId)}.json`);

  // The directory exists before this returns, so before any POST: an agent must find it.
  mkdirSync(dir, { recursive: true });

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

  /** Made by the first wait in the directory (or ready()); throws when it cannot be watched. */
  function directoryOf(watchedDir: string): WatchedDirectory {
    const known = directories.get(watchedDir);
    if (known !== undefined) return known;
    const slots = new Map<string, Slot>();
    const watch = watchDirectory({
      dir: watchedDir,
      log,
      // Only `<runId>.json` can be a handoff (run ids never start with a dot: no temp files).
      onEntry: (name) => {
        if (!name.endsWith('.json')) return;
        events += 1;
        const slot = slots.get(name);
        if (slot !== undefined) check(slot);
      },
      onUnknown: () => {
        for (const slot of slots.values()) check(slot);
      },
    });
    const watched = { watch, slots };
    directories.set(watchedDir, watched);
    return watched;
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
    if (slot.home.get(slot.name) === slot) slot.home.delete(slot.name);
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

  function slotFor(file: string, home: Map<string, Slot>): Slot {
    const name = path.basename(file);
    const existing = home.get(name);
    if (existing !== undefined) return existing;
    const slot: Slot = {
      name,
      file,
      home,
      waiters: new Set(),
      done: false,
      reader: createSettlingRead({ file, maxBytes, settleMs, onRead: countRead, onSettleDue: () => check(slot) }),
    };
    home.set(name, slot);
    return slot;
  }

  function register(file: string, waiter: Waiter, signal: AbortSignal | undefined, deadline: number): void {
    let home: Map<string, Slot>;
    try {
      home = directoryOf(path.dirname(file)).slots;
    } catch (error) {
      log.error({ err: error, dir: path.dirname(file) }, 'handoff directory could not be watched');
      waiter.resolve({ kind: 'read_error', message: `the handoff watcher could not start: ${describeError(error)}` });
      return;
    }
    const slot = slotFor(file, home);
    slot.waiters.add(waiter);
    if (signal !== undefined) {
      const onAbort = (): void => leave(slot, waiter, { kind: 'aborted' });
      signal.addEventListener('abort', onAbort, { once: true });
      waiter.detach = () => signal.removeEventListener('abort', onAbort);
    }
    waiter.timer = setTimeout(() => judgeAtDeadline(slot, waiter), Math.max(0, deadline - Date.now()));
    // Watched first, looked second: a file written before this line is found by the look, one
    // written after it by the watch.
    check(slot);
  }

  return {
    async ready() {
      if (!closed) directoryOf(dir);
    },
    pathFor: fileOf,
    waiting: () => {
      let count = 0;
      for (const { slots } of directories.values()) for (const slot of slots.values()) count += slot.waiters.size;
      return count;
    },
    stats: () => ({ events, reads, watches: directories.size }),

    waitFor(runId, { signal, deadline }) {
      const file = fileOf(runId);
      return new Promise<WaitResult>((resolve) => {
        if (closed || signal?.aborted) resolve({ kind: 'aborted' });
        else register(file, { resolve }, signal, deadline);
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
      for (const { watch, slots } of directories.values()) {
        for (const slot of [...slots.values()]) finish(slot, { kind: 'aborted' });
        watch.close();
      }
      directories.clear();
    },
  };
}
