/**
 * Hot reload of the config file and the agents registry. Their directories are watched, not the
 * files: editors save by renaming a temporary file over the original, and a watch on the old
 * inode would go quiet. A reload applies completely or not at all: a bad edit leaves the last
 * good config in force and costs one log line.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { watchDirectory, type DirectoryWatch } from './engine/directory-watch.ts';
import type { Logger } from './log.ts';
import { isHqError } from './errors.ts';

const DEFAULT_DEBOUNCE_MS = 150;

interface WatchConfigOptions<T> {
  readonly configPath: string;
  readonly registryPath: string;
  /** Reads and validates both files; throws on a bad edit. */
  readonly load: () => T;
  /** Called with each good new config; a throw (or rejection) refuses it like a bad edit. */
  readonly onChange: (config: T) => void | Promise<void>;
  readonly onRefused?: (error: Error) => void;
  readonly log: Logger;
  /** The config already in force; loaded now when omitted. */
  readonly initial?: T;
  /** Editors write in bursts; one reload per burst. */
  readonly debounceMs?: number;
}

export interface ConfigWatcher<T> {
  /** The last good config. */
  current(): T;
  close(): Promise<void>;
}

/** What both files hold right now, to skip reloads that would change nothing. */
function snapshot(files: readonly string[]): string {
  const hash = createHash('sha256');
  for (const file of files) {
    try {
      hash.update(readFileSync(file)).update('\u0000');
    } catch {
      // A missing file is itself a state (the loader decides what it means).
      hash.update('\u0001missing\u0000');
    }
  }
  return hash.digest('hex');
}

/** Resolves once the watch is established, so an edit made after it resolves is seen. */
export async function watchConfig<T>(options: WatchConfigOptions<T>): Promise<ConfigWatcher<T>> {
  const { load, onChange, onRefused, log } = options;
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  const files = [path.resolve(options.configPath), path.resolve(options.registryPath)];
  const targets = new Set(files);
  const dirs = [...new Set(files.map((file) => path.dirname(file)))];

  let current = options.initial === undefined ? load() : options.initial;
  let goodSnapshot = snapshot(files);
  let lastSnapshot = goodSnapshot;
  let trigger = files[0]!;
  let timer: NodeJS.Timeout | undefined;
  let reloading: Promise<void> = Promise.resolve();
  let closed = false;

  function refuse(error: unknown, file: string): void {
    const err = error instanceof Error ? error : new Error(String(error));
    log.error(
      { file, ...(isHqError(err) ? { code: err.code } : {}) },
      `config change refused; the last good config stays in force: ${err.message}`,
    );
    onRefused?.(err);
  }

  async function reload(file: string): Promise<void> {
    if (closed) return;
    const seen = snapshot(files);
    // Events for bytes already judged (a touch, a second event of the same save) change nothing.
    if (seen === lastSnapshot) return;
    lastSnapshot = seen;
    if (seen === goodSnapshot) {
      log.info({ file }, 'config files are back to the version in force');
      return;
    }
    let next: T;
    try {
      next = load();
    } catch (error) {
      refuse(error, file);
      return;
    }
    try {
      await onChange(next);
    } catch (error) {
      refuse(error, file);
      return;
    }
    current = next;
    goodSnapshot = seen;
    log.info({ file }, 'config reloaded');
  }

  function schedule(file: string): void {
    trigger = file;
    clearTimeout(timer);
    timer = setTimeout(() => {
      // One reload at a time, in order: a slow onChange must not race the next edit.
      reloading = reloading.then(() => reload(trigger));
    }, debounceMs);
  }

  function onEntry(dir: string, name: string): void {
    const file = path.join(dir, name);
    if (!targets.has(file)) return;
    // A deleted file is usually a save in progress; if it stays gone, the last good config stays.
    if (!existsSync(file)) return;
    schedule(file);
  }

  const watches: DirectoryWatch[] = [];
  try {
    for (const dir of dirs) {
      watches.push(
        watchDirectory({
          dir,
          log,
          onEntry: (name) => onEntry(dir, name),
          // The system did not say which file: the snapshot tells whether anything changed.
          onUnknown: () => schedule(files[0]!),
        }),
      );
    }
  } catch (error) {
    for (const watch of watches) watch.close();
    throw error;
  }
  log.debug({ files }, 'watching config files');

  return {
    current: () => current,
    async close() {
      closed = true;
      clearTimeout(timer);
      for (const watch of watches) watch.close();
      await reloading;
    },
  };
}
