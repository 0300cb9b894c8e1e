/**
 * Waits for handoff files. ONE chokidar watcher on the handoff directory serves every run in
 * the process; waiting runs are found by file name (`<runId>.json`) in a Map, so 200 waiting
 * runs cost one inotify watch, not 200.
 *
 * Files are dispatched from chokidar's `raw` events (the fs.watch event and file name, as the
 * kernel reports them). chokidar is told to ignore every entry of the directory: its own view
 * of the files (an lstat and a tree update per event, its `add`/`change` after a throttled
 * re-read) would only repeat what the raw events say, and cost ~10 ms of CPU in a 500-handoff
 * burst and a stat per old file at its first scan. An event without a file name (some platforms)
 * wakes every waiting run, and a slow sweep covers events the OS dropped. An event only marks
 * its file due; due files are read once the loop has taken in that turn's events, one read per
 * file however many events came for it.
 *
 * Agents write the file in place (truncate, then write — NOTES.md §2), so the first event can
 * come with an empty or half-written file. We do not sleep and hope: a file is taken the
 * moment it parses as JSON; one that does not parse is read again on its next change, and is
 * only called malformed once it has stayed the same for `settleMs`. Every read is bounded and
 * refuses what an agent should never leave there: symlinks (lstat, then O_NOFOLLOW), anything
 * that is not a regular file, anything over the size cap.
 */
import { closeSync, constants as fsConstants, fstatSync, lstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import { link, lstat, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { FSWatcher } from 'chokidar';
import type { Logger } from '../log.ts';
import { validateRunId } from './run-id.ts';

/** What the reference kept of a malformed file. */
export const MALFORMED_RAW_CHARS = 2_000;
/** A safety net for an event the OS dropped (inotify queue overflow); not how files are normally found. */
const DEFAULT_SWEEP_MS = 5_000;
const MAX_PREV_FILES = 10_000;

export type HandoffFileResult =
  | { readonly kind: 'handoff'; readonly data: unknown; readonly raw: string }
  | { readonly kind: 'malformed'; readonly raw: string }
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'read_error'; readonly message: string };

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
  /** Counters since start: handoff-named raw events seen, and files opened and read for a waiting run. */
  stats(): WatcherStats;
  close(): Promise<void>;
}

export interface WatcherStats {
  readonly rawEvents: number;
  readonly reads: number;
}

export interface HandoffWatcherOptions {
  readonly dir: string;
  readonly maxBytes: number;
  readonly settleMs: number;
  readonly log: Logger;
  readonly sweepMs?: number;
}

type FileState =
  | { readonly state: 'absent' }
  | { readonly state: 'complete'; readonly data: unknown; readonly raw: string }
  | { readonly state: 'incomplete'; readonly raw: string }
  | { readonly state: 'refused'; readonly reason: string }
  | { readonly state: 'read_error'; readonly message: string };

interface Waiter {
  readonly resolve: (result: WaitResult) => void;
  timer?: NodeJS.Timeout;
  detach?: () => void;
}

interface Slot {
  readonly name: string;
  readonly file: string;
  readonly waiters: Set<Waiter>;
  judgeNext: boolean;
  pendingRaw: string | undefined;
  settleTimer: NodeJS.Timeout | undefined;
  done: boolean;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function describeError(error: unknown): string {
  return `${errorCode(error) ?? 'error'}: ${error instanceof Error ? error.message : String(error)}`;
}

/**
 * lstat, then a bounded read through an fd that refuses to follow a symlink swapped in
 * meanwhile. The buffer is sized to the file as fstat sees it (plus one byte, to notice it
 * grew), never to the cap: 500 handoffs read at once must not mean 500 MiB of buffers.
 *
 * Synchronous on purpose. The directory is local (inotify sees no remote writes), the file a
 * few KiB in the page cache: the five syscalls take ~20 µs, where the same through the thread
 * pool cost ~150 µs of this thread per file (a promise, a FileHandle and a wake-up per step)
 * — 500 handoffs in a burst were ~75 ms of event loop instead of ~10. A missing file costs
 * one lstat and no exception.
 */
function inspectFile(file: string, maxBytes: number, onRead?: () => void): FileState {
  let stats;
  try {
    stats = lstatSync(file, { throwIfNoEntry: false });
  } catch (error) {
    return { state: 'read_error', message: describeError(error) };
  }
  if (stats === undefined) return { state: 'absent' };
  if (stats.isSymbolicLink()) return { state: 'refused', reason: 'it is a symbolic link' };
  if (!stats.isFile()) return { state: 'refused', reason: 'it is not a regular file' };
  if (stats.size > maxBytes) return { state: 'refused', reason: `it is larger than ${maxBytes} bytes (${stats.size})` };
  let fd;
  try {
    // O_NONBLOCK: a FIFO swapped in after the lstat must not hang the open.
    fd = openSync(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return { state: 'absent' };
    if (errorCode(error) === 'ELOOP') return { state: 'refused', reason: 'it is a symbolic link' };
    return { state: 'read_error', message: describeError(error) };
  }
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile()) return { state: 'refused', reason: 'it is not a regular file' };
    if (opened.size > maxBytes) return { state: 'refused', reason: `it is larger than ${maxBytes} bytes (${opened.size})` };
    onRead?.();
    let buffer = Buffer.allocUnsafe(opened.size + 1);
    let length = 0;
    for (;;) {
      const bytesRead = readSync(fd, buffer, length, buffer.length - length, length);
      length += bytesRead;
      // A short read of a regular file is its end (as fs.readFile assumes for a known size).
      if (bytesRead === 0 || length < buffer.length) break;
      if (length > maxBytes) return { state: 'refused', reason: `it is larger than ${maxBytes} bytes` };
      // It grew since the fstat (an agent still writing): read on, up to one byte past the cap.
      const grown = Buffer.allocUnsafe(Math.min(buffer.length * 2, maxBytes + 1));
      buffer.copy(grown, 0, 0, length);
      buffer = grown;
    }
    const raw = buffer.toString('utf8', 0, length);
    const text = raw.replace(/^\uFEFF/, '').trim();
    if (text === '') return { state: 'incomplete', raw };
    try {
      return { state: 'complete', data: JSON.parse(text) as unknown, raw };
    } catch {
      return { state: 'incomplete', raw };
    }
  } catch (error) {
    return { state: 'read_error', message: describeError(error) };
  } finally {
    closeSync(fd);
  }
}

function fileResult(state: FileState): HandoffFileResult | undefined {
  switch (state.state) {
    case 'complete':
      return { kind: 'handoff', data: state.data, raw: state.raw };
    case 'refused':
      return { kind: 'refused', reason: state.reason };
    case 'read_error':
      return { kind: 'read_error', message: state.message };
    default:
      return undefined;
  }
}

export function createHandoffWatcher(options: HandoffWatcherOptions): HandoffWatcher {
  const dir = path.resolve(options.dir);
  const { maxBytes, settleMs, log } = options;
  const slots = new Map<string, Slot>();
  let closed = false;
  let rawEvents = 0;
  let reads = 0;
  const countRead = (): void => {
    reads += 1;
  };

  const fileOf = (runId: string): string => path.join(dir, `${validateRunId(runId)}.json`);

  // Events mark files due; one read per due file happens once the events of this turn of the
  // loop are in (fs.watch hands over everything inotify queued in one go), so a rename's raw
  // event, chokidar's add for it and a burst of writes to one file cost one read between them.
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
      try {
        read(slot);
      } catch (error) {
        finish(slot, { kind: 'read_error', message: describeError(error) });
      }
    }
  }

  function wake(name: string): void {
    const slot = slots.get(name);
    if (slot !== undefined) check(slot);
  }

  /**
   * fs.watch's own event, straight from chokidar. Only events of the directory's own watch
   * count (`filename` is then a name in it); an event without a name (some platforms) wakes
   * every waiting run, which is rare and costs one look each.
   */
  function onRaw(event: string, filename: unknown, details: unknown): void {
    if ((details as { readonly watchedPath?: unknown } | undefined)?.watchedPath !== dir) return;
    if (event !== 'rename' && event !== 'change') return;
    if (typeof filename !== 'string' || filename === '') {
      for (const slot of slots.values()) check(slot);
      return;
    }
    if (!filename.endsWith('.json') || filename.includes(path.sep)) return;
    rawEvents += 1;
    wake(filename);
  }

  // The directory exists before this returns, so before any POST: an agent must find it.
  mkdirSync(dir, { recursive: true });

  let watcher: FSWatcher | undefined;
  let starting: Promise<void> | undefined;
  /**
   * The watch starts with the first wait (or ready()), on the next turn of the event loop, and
   * chokidar is loaded only then. A run registers its wait and sends its POST in the same turn,
   * so the POST never queues behind chokidar's loading and first scan (~5–15 ms of a CLI run's
   * start-up; the scan grows with the files left in the directory): the watcher starts while the
   * agent works. Nothing is missed: every wait looks at its file once the watcher is ready.
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
      awaitWriteFinish: false,
      // The directory only: its entries reach us as raw events (see the top of this file).
      ignored: (candidate: string) => candidate !== dir,
    });
    watcher = w;
    w.on('raw', onRaw);
    w.on('error', (error) => log.warn({ err: error, dir }, 'handoff watcher error'));
    await new Promise<void>((resolve) => w.once('ready', () => resolve()));
  }

  const sweepMs = options.sweepMs ?? DEFAULT_SWEEP_MS;
  const sweep =
    sweepMs > 0
      ? setInterval(() => {
          for (const slot of slots.values()) check(slot);
        }, sweepMs).unref()
      : undefined;

  function finish(slot: Slot, result: WaitResult): void {
    if (slot.done) return;
    slot.done = true;
    clearTimeout(slot.settleTimer);
    if (slots.get(slot.name) === slot) slots.delete(slot.name);
    for (const waiter of slot.waiters) settle(waiter, result);
    slot.waiters.clear();
  }

  function settle(waiter: Waiter, result: WaitResult): void {
    clearTimeout(waiter.timer);
    waiter.detach?.();
    waiter.resolve(result);
  }

  function leave(slot: Slot, waiter: Waiter, result: WaitResult): void {
    if (!slot.waiters.delete(waiter)) return;
    settle(waiter, result);
    if (slot.waiters.size === 0 && !slot.done) {
      slot.done = true;
      clearTimeout(slot.settleTimer);
      if (slots.get(slot.name) === slot) slots.delete(slot.name);
    }
  }

  function armSettle(slot: Slot): void {
    clearTimeout(slot.settleTimer);
    slot.settleTimer = setTimeout(() => {
      slot.judgeNext = true;
      check(slot);
    }, settleMs);
  }

  function read(slot: Slot): void {
    if (slot.done) return;
    const judge = slot.judgeNext;
    slot.judgeNext = false;
    const state = inspectFile(slot.file, maxBytes, countRead);
    const result = fileResult(state);
    if (result !== undefined) {
      finish(slot, result);
    } else if (state.state === 'absent') {
      slot.pendingRaw = undefined;
      clearTimeout(slot.settleTimer);
    } else if (state.state === 'incomplete') {
      if (judge && state.raw === slot.pendingRaw) {
        finish(slot, { kind: 'malformed', raw: state.raw.slice(0, MALFORMED_RAW_CHARS) });
      } else if (state.raw !== slot.pendingRaw || judge) {
        slot.pendingRaw = state.raw;
        armSettle(slot);
      }
    }
  }

  function judgeAtDeadline(slot: Slot, waiter: Waiter): void {
    const state = inspectFile(slot.file, maxBytes, countRead);
    if (slot.done || !slot.waiters.has(waiter)) return;
    const result = fileResult(state);
    if (result !== undefined) {
      finish(slot, result);
    } else if (state.state === 'incomplete') {
      leave(slot, waiter, { kind: 'malformed', raw: state.raw.slice(0, MALFORMED_RAW_CHARS) });
    } else {
      leave(slot, waiter, { kind: 'timeout' });
    }
  }

  return {
    ready: start,
    pathFor: fileOf,
    waiting: () => {
      let count = 0;
      for (const slot of slots.values()) count += slot.waiters.size;
      return count;
    },
    stats: () => ({ rawEvents, reads }),

    waitFor(runId, { signal, deadline }) {
      const file = fileOf(runId);
      const name = path.basename(file);
      return new Promise<WaitResult>((resolve) => {
        if (closed || signal?.aborted) {
          resolve({ kind: 'aborted' });
          return;
        }
        let slot = slots.get(name);
        if (slot === undefined) {
          slot = { name, file, waiters: new Set(), judgeNext: false, pendingRaw: undefined, settleTimer: undefined, done: false };
          slots.set(name, slot);
        }
        const current = slot;
        const waiter: Waiter = { resolve };
        current.waiters.add(waiter);
        if (signal !== undefined) {
          const onAbort = (): void => leave(current, waiter, { kind: 'aborted' });
          signal.addEventListener('abort', onAbort, { once: true });
          waiter.detach = () => signal.removeEventListener('abort', onAbort);
        }
        waiter.timer = setTimeout(() => judgeAtDeadline(current, waiter), Math.max(0, deadline - Date.now()));
        // Registered first, looked second: a file written before this line is found by the
        // look, one written after it by the watcher.
        start().then(
          () => check(current),
          (error: unknown) => finish(current, { kind: 'read_error', message: `the handoff watcher could not start: ${describeError(error)}` }),
        );
      });
    },

    async peek(runId) {
      const state = inspectFile(fileOf(runId), maxBytes);
      if (state.state === 'absent') return { kind: 'absent' };
      if (state.state === 'incomplete') return { kind: 'malformed', raw: state.raw.slice(0, MALFORMED_RAW_CHARS) };
      return fileResult(state) ?? { kind: 'absent' };
    },

    async moveAside(runId) {
      const file = fileOf(runId);
      // The usual case, a fresh run: no file. Looked at without an exception (a failed link()
      // makes an Error with a stack: ~0.1 ms a run, 500 in a burst).
      if (lstatSync(file, { throwIfNoEntry: false }) === undefined) return undefined;
      const base = file.slice(0, -'.json'.length);
      for (let index = 0; index < MAX_PREV_FILES; index += 1) {
        const target = index === 0 ? `${base}.prev.json` : `${base}.prev.${index}.json`;
        try {
          // link() fails if the target exists, where rename() would silently overwrite it.
          await link(file, target);
        } catch (error) {
          const code = errorCode(error);
          if (code === 'EEXIST') continue;
          if (code === 'ENOENT') return undefined;
          if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV' && code !== 'EMLINK') throw error;
          // A filesystem without hard links: check, then rename (only this process names .prev files).
          try {
            await lstat(target);
            continue;
          } catch (statError) {
            if (errorCode(statError) !== 'ENOENT') throw statError;
          }
          await rename(file, target);
          return target;
        }
        await unlink(file);
        return target;
      }
      throw new Error(`more than ${MAX_PREV_FILES} earlier handoff files for run ${runId}`);
    },

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweep);
      clearImmediate(flushing);
      due.clear();
      for (const slot of [...slots.values()]) finish(slot, { kind: 'aborted' });
      await starting?.catch(() => undefined);
      await watcher?.close();
    },
  };
}
