/**
 * Where handoffs delivered over HTTP wait for their run: the same verbs as the file watcher
 * (handoff-watcher.ts), so a run of an `http` agent is taken through its attempts by the same
 * code. Each open run has at most one pending text, as a run has at most one handoff file: a
 * delivery settles the waiting attempt at once, or waits for the next look (between attempts).
 */
import path from 'node:path';
import type { HandoffFileResult } from './handoff-file.ts';
import type { HandoffSpot } from './handoff-path.ts';
import type { HandoffWatcher, PeekResult, WaitOptions, WaitResult } from './handoff-watcher.ts';

/** The run a spot belongs to: its file is `<runId>.<secret>.json`, though no file is ever written. */
function runIdOf(file: string): string {
  return path.basename(file).replace(/\.[0-9a-f]{32}\.json$/, '');
}

interface Waiter {
  readonly resolve: (result: WaitResult) => void;
  readonly timer: NodeJS.Timeout;
  readonly detach: () => void;
}

interface Mailbox {
  pending: HandoffFileResult | undefined;
  readonly waiters: Set<Waiter>;
}

export interface HandoffInbox extends HandoffWatcher {
  /** The run takes HTTP handoffs from now until close(runId). */
  open(runId: string): void;
  closeRun(runId: string): void;
  isOpen(runId: string): boolean;
  /** Hands the text to the open run, as if it were its file; false when the run is not open. */
  deliver(runId: string, text: string): boolean;
}

/** Parsed as a handoff file's text is (a BOM and surrounding blanks do not count). */
export function parseHandoffText(text: string): HandoffFileResult {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  try {
    if (trimmed !== '') return { kind: 'handoff', data: JSON.parse(trimmed) as unknown, raw: text };
  } catch {
    // malformed, below
  }
  return { kind: 'malformed', raw: text.slice(0, 2_000) };
}

/** `urlFor(runId)` is what the prompt names instead of a file path. */
export function createHandoffInbox(urlFor: (runId: string) => string): HandoffInbox {
  const boxes = new Map<string, Mailbox>();
  let closed = false;

  function settle(box: Mailbox, waiter: Waiter, result: WaitResult): void {
    if (!box.waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    waiter.detach();
    waiter.resolve(result);
  }

  function closeRun(runId: string): void {
    const box = boxes.get(runId);
    if (box === undefined) return;
    boxes.delete(runId);
    for (const waiter of [...box.waiters]) settle(box, waiter, { kind: 'aborted' });
  }

  return {
    open(runId) {
      if (!boxes.has(runId)) boxes.set(runId, { pending: undefined, waiters: new Set() });
    },
    closeRun,
    isOpen: (runId) => !closed && boxes.has(runId),

    deliver(runId, text) {
      const box = closed ? undefined : boxes.get(runId);
      if (box === undefined) return false;
      const result = parseHandoffText(text);
      const [waiter] = box.waiters;
      if (waiter === undefined) box.pending = result;
      // One attempt waits at a time; should two, both see the same answer, as with a file.
      else for (const each of [...box.waiters]) settle(box, each, result);
      return true;
    },

    prepare() {},
    waiting: () => [...boxes.values()].reduce((sum, box) => sum + box.waiters.size, 0),
    stats: () => ({ events: 0, reads: 0, watches: 0, polls: 0 }),

    waitFor(spot: HandoffSpot, { signal, deadline }: WaitOptions): Promise<WaitResult> {
      const runId = runIdOf(spot.file);
      return new Promise<WaitResult>((resolve) => {
        const box = boxes.get(runId);
        if (closed || box === undefined || signal?.aborted) return resolve({ kind: 'aborted' });
        if (box.pending !== undefined) {
          const pending = box.pending;
          box.pending = undefined;
          return resolve(pending);
        }
        const onAbort = (): void => settle(box, waiter, { kind: 'aborted' });
        const waiter: Waiter = {
          resolve,
          timer: setTimeout(() => settle(box, waiter, { kind: 'timeout' }), Math.max(0, deadline - Date.now())),
          detach: () => signal?.removeEventListener('abort', onAbort),
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        box.waiters.add(waiter);
      });
    },

    async peek(file): Promise<PeekResult> {
      return boxes.get(runIdOf(file))?.pending ?? { kind: 'absent' };
    },

    async moveAside(file) {
      const runId = runIdOf(file);
      const box = boxes.get(runId);
      if (box?.pending === undefined) return undefined;
      box.pending = undefined;
      return `${urlFor(runId)} (set aside)`;
    },

    async close() {
      closed = true;
      for (const runId of [...boxes.keys()]) closeRun(runId);
    },
  };
}
