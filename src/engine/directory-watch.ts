/**
 * One directory watched through `fs.watch`, which says which entry changed. `fs.watch` closes on
 * an error, so an error costs a re-arm a little later and then a look at everything; a re-arm
 * that fails leaves the directory unwatched (waits are then judged at their deadlines).
 * Its sibling `pollDirectory` serves a network filesystem, whose changes raise no file events.
 */
import { watch as watchFs, type FSWatcher } from 'node:fs';
import type { Logger } from '../log.ts';

export const REARM_DELAY_MS = 1_000;

export interface DirectoryWatch {
  readonly dir: string;
  close(): void;
}

interface DirectoryWatchOptions {
  readonly dir: string;
  /** The entry named `name` was created, renamed, removed or written to. */
  readonly onEntry: (name: string) => void;
  /** Something may have changed but the system did not say what: look at every entry of interest. */
  readonly onUnknown: () => void;
  readonly log: Logger;
  /** `fs.watch`, unless a test stands in for it to drive an error. */
  readonly openWatch?: (dir: string) => FSWatcher;
}

const openFsWatch = (dir: string): FSWatcher => watchFs(dir, { encoding: 'utf8' });

/** Watches `dir` at once; throws as `fs.watch` does when the directory cannot be watched. */
export function watchDirectory(options: DirectoryWatchOptions): DirectoryWatch {
  const { dir, onEntry, onUnknown, log } = options;
  const openWatch = options.openWatch ?? openFsWatch;
  let watcher: FSWatcher | undefined;
  let rearming: NodeJS.Timeout | undefined;
  let closed = false;

  function arm(): void {
    const w = openWatch(dir);
    watcher = w;
    // Both 'rename' and 'change' carry the entry's name on Linux; a null name says nothing of
    // which entry it was.
    w.on('change', (_event: string, name: string | Buffer | null) => {
      if (typeof name === 'string' && name !== '') onEntry(name);
      else onUnknown();
    });
    w.on('error', (error: Error) => {
      log.warn({ err: error, dir }, 'directory watch failed; watching it again shortly');
      disarm();
      rearming = setTimeout(rearm, REARM_DELAY_MS).unref();
    });
  }

  function disarm(): void {
    watcher?.close();
    watcher = undefined;
  }

  function rearm(): void {
    rearming = undefined;
    if (closed) return;
    try {
      arm();
    } catch (error) {
      log.error({ err: error, dir }, 'directory could not be watched again; it is no longer watched');
      return;
    }
    onUnknown();
  }

  arm();
  return {
    dir,
    close() {
      if (closed) return;
      closed = true;
      clearTimeout(rearming);
      disarm();
    },
  };
}

/**
 * A directory looked at every `intervalMs` instead of watched: each tick is an `onUnknown`, so
 * the caller looks at the exact files it waits for, never lists the directory.
 */
export function pollDirectory(options: {
  readonly dir: string;
  readonly intervalMs: number;
  readonly onUnknown: () => void;
}): DirectoryWatch {
  const timer = setInterval(options.onUnknown, options.intervalMs).unref();
  return { dir: options.dir, close: () => clearInterval(timer) };
}
