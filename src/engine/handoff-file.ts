/**
 * One handoff file: read the only way an agent's file may be read, and set aside. Every read is
 * bounded and refuses a symbolic link (lstat, then O_NOFOLLOW), anything not a regular file
 * (O_NONBLOCK, so a FIFO cannot hang the open) and anything over the size cap. Agents write in
 * place (NOTES.md §2), so text that does not parse is malformed only once it has settled.
 */
import { closeSync, constants as fsConstants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import { link, lstat, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

/** What the reference kept of a malformed file. */
const MALFORMED_RAW_CHARS = 2_000;
const MAX_PREV_FILES = 10_000;

export type HandoffFileResult =
  | { readonly kind: 'handoff'; readonly data: unknown; readonly raw: string }
  | { readonly kind: 'malformed'; readonly raw: string }
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'read_error'; readonly message: string };

/** One look at the file. `incomplete`: it does not parse (yet). */
export type HandoffFileState =
  | { readonly state: 'absent' }
  | { readonly state: 'complete'; readonly data: unknown; readonly raw: string }
  | { readonly state: 'incomplete'; readonly raw: string }
  | { readonly state: 'refused'; readonly reason: string }
  | { readonly state: 'read_error'; readonly message: string };

export function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

export function describeError(error: unknown): string {
  return `${errorCode(error) ?? 'error'}: ${error instanceof Error ? error.message : String(error)}`;
}

/** An error about `file` without its path: the name carries the run's secret. */
function describeFileError(error: unknown, file: string): string {
  return describeError(error).replaceAll(`'${file}'`, 'the handoff file').replaceAll(file, 'the handoff file');
}

/**
 * Synchronous, so a read cannot interleave with the next event for the same file. The buffer is
 * sized to the file (plus one byte, to notice it grew), never to the cap. `onRead` counts reads.
 */
export function inspectHandoffFile(file: string, maxBytes: number, onRead?: () => void): HandoffFileState {
  let stats;
  try {
    stats = lstatSync(file, { throwIfNoEntry: false });
  } catch (error) {
    return { state: 'read_error', message: describeFileError(error, file) };
  }
  if (stats === undefined) return { state: 'absent' };
  if (stats.isSymbolicLink()) return { state: 'refused', reason: 'it is a symbolic link' };
  if (!stats.isFile()) return { state: 'refused', reason: 'it is not a regular file' };
  if (stats.size > maxBytes) return { state: 'refused', reason: `it is larger than ${maxBytes} bytes (${stats.size})` };
  let fd;
  try {
    fd = openSync(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return { state: 'absent' };
    if (errorCode(error) === 'ELOOP') return { state: 'refused', reason: 'it is a symbolic link' };
    return { state: 'read_error', message: describeFileError(error, file) };
  }
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile()) return { state: 'refused', reason: 'it is not a regular file' };
    if (opened.size > maxBytes)
      return { state: 'refused', reason: `it is larger than ${maxBytes} bytes (${opened.size})` };
    onRead?.();
    const raw = readBounded(fd, opened.size, maxBytes);
    if (raw === undefined) return { state: 'refused', reason: `it is larger than ${maxBytes} bytes` };
    return parse(raw);
  } catch (error) {
    return { state: 'read_error', message: describeFileError(error, file) };
  } finally {
    closeSync(fd);
  }
}

/** Undefined when the file is over the cap. */
function readBounded(fd: number, size: number, maxBytes: number): string | undefined {
  let buffer = Buffer.allocUnsafe(size + 1);
  let length = 0;
  for (;;) {
    const bytesRead = readSync(fd, buffer, length, buffer.length - length, length);
    length += bytesRead;
    // A short read of a regular file is its end (as fs.readFile assumes for a known size).
    if (bytesRead === 0 || length < buffer.length) break;
    if (length > maxBytes) return undefined;
    // It grew since the fstat (an agent still writing): read on.
    const grown = Buffer.allocUnsafe(Math.min(buffer.length * 2, maxBytes + 1));
    buffer.copy(grown, 0, 0, length);
    buffer = grown;
  }
  return buffer.toString('utf8', 0, length);
}

function parse(raw: string): HandoffFileState {
  const text = raw.replace(/^\uFEFF/, '').trim();
  if (text === '') return { state: 'incomplete', raw };
  try {
    return { state: 'complete', data: JSON.parse(text) as unknown, raw };
  } catch {
    return { state: 'incomplete', raw };
  }
}

/** What a look says for good: a handoff, a refusal or a read error; undefined while absent or not parsing. */
export function settledResultOf(state: HandoffFileState): HandoffFileResult | undefined {
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

/** The file judged as it is, with no more time to settle: one that does not parse is malformed. */
export function resultAsItIs(state: HandoffFileState): HandoffFileResult | undefined {
  if (state.state === 'incomplete') return malformed(state.raw);
  return settledResultOf(state);
}

function malformed(raw: string): HandoffFileResult {
  return { kind: 'malformed', raw: raw.slice(0, MALFORMED_RAW_CHARS) };
}

export interface SettlingRead {
  /** The file's result once there is one; undefined while absent or still being written. */
  read(): HandoffFileResult | undefined;
  stop(): void;
}

/**
 * Reads of one file perhaps still being written: taken the moment it parses; text that does not
 * is malformed once unchanged for `settleMs` (then `onSettleDue` asks for one more read()).
 */
export function createSettlingRead(options: {
  readonly file: string;
  readonly maxBytes: number;
  readonly settleMs: number;
  readonly onSettleDue: () => void;
  readonly onRead?: () => void;
}): SettlingRead {
  const { file, maxBytes, settleMs, onSettleDue, onRead } = options;
  let pendingRaw: string | undefined;
  let settleTimer: NodeJS.Timeout | undefined;
  let judgeNext = false;

  function armSettle(): void {
    clearTimeout(settleTimer);
    settleTimer = setTimeout(() => {
      judgeNext = true;
      onSettleDue();
    }, settleMs);
  }

  return {
    read() {
      const judge = judgeNext;
      judgeNext = false;
      const state = inspectHandoffFile(file, maxBytes, onRead);
      const result = settledResultOf(state);
      if (result !== undefined) {
        clearTimeout(settleTimer);
        return result;
      }
      if (state.state === 'absent') {
        pendingRaw = undefined;
        clearTimeout(settleTimer);
      } else if (state.state === 'incomplete') {
        if (judge && state.raw === pendingRaw) {
          clearTimeout(settleTimer);
          return malformed(state.raw);
        }
        if (state.raw !== pendingRaw || judge) {
          pendingRaw = state.raw;
          armSettle();
        }
      }
      return undefined;
    },
    stop: () => clearTimeout(settleTimer),
  };
}

export async function moveHandoffAside(file: string): Promise<string | undefined> {
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
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV' && code !== 'EMLINK')
        throw error;
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
  throw new Error(`more than ${MAX_PREV_FILES} earlier handoff files in ${path.dirname(base)}`);
}
