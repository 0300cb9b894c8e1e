/**
 * Waits for handoff files: one directory watch (directory-watch.ts) serves every run waiting in
 * it, found by exact file name; anything else in the directory is never read. A directory on a
 * network filesystem is polled instead: each tick looks at the exact files waited for. An event
 * only marks its file due; due files are read (handoff-file.ts) once that turn's events are in,
 * one read per file. Every wait also looks once when it registers, and judges the file as it is
 * at its deadline.
 */
import path from 'node:path';
import type { Logger } from '../log.ts';
import { pollDirectory, watchDirectory, type DirectoryWatch } from './directory-watch.ts';
import {
  createSettlingRead,
  describeError,
  errorCode,
  inspectHandoffFile,
  moveHandoffAside,
  resultAsItIs,
  type HandoffFileResult,
  type SettlingRead,
} from './handoff-file.ts';
import { makeAgentDirectory, type HandoffSpot } from './handoff-path.ts';

export type WaitResult = HandoffFileResult | { readonly kind: 'timeout' } | { readonly kind: 'aborted' };
export type PeekResult = HandoffFileResult | { readonly kind: 'absent' };

export interface WaitOptions {
  readonly signal?: AbortSignal | undefined;
  /** Epoch ms. At the deadline the file is judged as it is: complete, malformed, or absent (timeout). */
  readonly deadline: number;
}

export interface HandoffWatcher {
  /**
   * Makes the spot's directory (owner-only) and watches or polls it, before the agent is told
   * the path. Throws when the directory cannot be made; a watch that fails is reported by waitFor.
   */
  prepare(spot: HandoffSpot): void;
  waitFor(spot: HandoffSpot, options: WaitOptions): Promise<WaitResult>;
  /** Reads the file present now, once; a file that does not parse is malformed. */
  peek(file: string): Promise<PeekResult>;
  /** Renames `<name>.json` to `.prev.json`, `.prev.1.json`… without overwriting; returns the new path. */
  moveAside(file: string): Promise<string | undefined>;
  waiting(): number;
  stats(): WatcherStats;
  close(): Promise<void>;
}

/** Counters since start (`.json` watch events, file reads), and the directories watched and polled now. */
interface WatcherStats {
  readonly events: number;
  readonly reads: number;
  readonly watches: number;
  readonly polls: number;
}

export interface HandoffWatcherOptions {
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

/** A directory runs wait in: its watch (or poll) and its waiting files. */
interface WatchedDirectory {
  readonly watch: DirectoryWatch;
  readonly polled: boolean;
  readonly slots: Map<string, Slot>;
}

export function createHandoffWatcher(options: HandoffWatcherOptions): HandoffWatcher {
  const { maxBytes, settleMs, log } = options;
  const directories = new Map<string, WatchedDirectory>();
  let closed = false;
  let events = 0;
  let reads = 0;
  const countRead = (): void => {
    reads += 1;
  };

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

  /**
   * Made by the first wait in the directory (or prepare()); throws when it cannot be watched. How
   * it is watched is settled then: an agent's directory and its polling are fixed in its config.
   */
  function directoryOf(watchedDir: string, pollIntervalMs: number | undefined): WatchedDirectory {
    const known = directories.get(watchedDir);
    if (known !== undefined) return known;
    const slots = new Map<string, Slot>();
    const onUnknown = (): void => {
      for (const slot of slots.values()) check(slot);
    };
    const watch =
      pollIntervalMs === undefined
        ? watchDirectory({
            dir: watchedDir,
            log,
            // Only a waited-for name is read: a file under any other name never touches a run.
            onEntry: (name) => {
              if (!name.endsWith('.json')) return;
              events += 1;
              const slot = slots.get(name);
              if (slot !== undefined) check(slot);
            },
            onUnknown,
          })
        : pollDirectory({ dir: watchedDir, intervalMs: pollIntervalMs, onUnknown });
    const watched = { watch, slots, polled: pollIntervalMs !== undefined };
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

  function register(spot: HandoffSpot, waiter: Waiter, signal: AbortSignal | undefined, deadline: number): void {
    const file = path.resolve(spot.file);
    let home: Map<string, Slot>;
    try {
      home = directoryOf(path.dirname(file), spot.pollIntervalMs).slots;
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
    prepare(spot) {
      const watchedDir = path.dirname(path.resolve(spot.file));
      // A directory watched already exists: a burst of runs makes it once, not once a run.
      if (directories.has(watchedDir)) return;
      makeAgentDirectory(watchedDir);
      if (closed) return;
      try {
        directoryOf(watchedDir, spot.pollIntervalMs);
      } catch (error) {
        log.warn({ err: error, dir: watchedDir }, 'handoff directory could not be watched yet');
      }
    },
    waiting: () => {
      let count = 0;
      for (const { slots } of directories.values()) for (const slot of slots.values()) count += slot.waiters.size;
      return count;
    },
    stats: () => {
      const polls = [...directories.values()].filter((watched) => watched.polled).length;
      return { events, reads, watches: directories.size - polls, polls };
    },

    waitFor(spot, { signal, deadline }) {
      return new Promise<WaitResult>((resolve) => {
        if (closed || signal?.aborted) resolve({ kind: 'aborted' });
        else register(spot, { resolve }, signal, deadline);
      });
    },

    async peek(file) {
      return resultAsItIs(inspectHandoffFile(file, maxBytes)) ?? { kind: 'absent' };
    },

    async moveAside(file) {
      try {
        return await moveHandoffAside(file);
      } catch (error) {
        // Node's message names the file, and its name carries the run's secret.
        const code = errorCode(error);
        if (code === undefined) throw error;
        throw new Error(`the handoff file could not be set aside (${code})`, { cause: error });
      }
    },

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
