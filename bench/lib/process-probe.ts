/**
 * What a process holds, read from the kernel and from Node itself: resident memory, file
 * watchers as Node handles (one `FSEventWrap` per fs.watch) and as inotify watches.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const MIB = 1_024 * 1_024;

export function rssMB(): number {
  return process.memoryUsage.rss() / MIB;
}

/** Peak resident memory of this process since it started. */
export function maxRssMB(): number {
  return (process.resourceUsage().maxRSS * 1_024) / MIB;
}

/** fs.watch handles alive in this process (the handoff and config watches are fs.watch handles). */
export function fsWatchHandles(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'FSEventWrap').length;
}

/** Kernel inotify watches held by a process (Linux), or NaN where /proc cannot tell. */
export function inotifyWatches(pid: number | 'self' = 'self'): number {
  try {
    let watches = 0;
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (target !== 'anon_inode:inotify') continue;
      const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
      watches += info.split('\n').filter((line) => line.startsWith('inotify wd:')).length;
    }
    return watches;
  } catch {
    return Number.NaN;
  }
}

/** Samples RSS every `intervalMs` until stopped; returns the peak seen. */
export function sampleRss(intervalMs = 10): { stop(): number } {
  let peak = rssMB();
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMB());
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssMB());
    },
  };
}
