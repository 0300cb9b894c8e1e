/**
 * The CLI's logger and event log before pino is loaded. Loading pino and making its loggers
 * takes ~10–15 ms of a run's start-up, and nothing a run does before its POST needs a line on
 * disk that early. These stand-ins hold each line, with the time it was logged at, until
 * `attach()` hands them to the real logger and event log (the CLI loads pino once the POST is
 * out, while the agent works); from then on every call goes straight through.
 *
 * Lines are written in the order they were logged, each stamped with its own time: the real
 * writers are made with `clock` as their time source, which reads a held line's time while it
 * is replayed. A held line keeps the objects it was given and is serialised at replay; the
 * engine logs fresh objects, so what is written is what was logged.
 */
import type { Bindings, LogFn } from 'pino';
import type { EventEntry, EventLog } from '../engine/events.ts';
import type { Logger } from '../log.ts';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug';
const LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug'];

/** One logger of the tree: the root, or a child made before pino was there. */
interface Node {
  readonly parent: Node | undefined;
  readonly bindings: Bindings;
  real: Logger | undefined;
}

type Held =
  | { readonly kind: 'line'; readonly node: Node; readonly level: Level; readonly args: readonly unknown[]; readonly at: number }
  | { readonly kind: 'flush'; readonly node: Node; readonly callback: ((error?: Error) => void) | undefined }
  | { readonly kind: 'event'; readonly entry: EventEntry; readonly at: number }
  | { readonly kind: 'close' };

export interface DeferredLogs {
  readonly log: Logger;
  readonly eventLog: EventLog;
  /** The time source to make the real writers with (epoch ms). */
  readonly clock: () => number;
  /** Whether the real writers are in place. */
  readonly attached: () => boolean;
  /** Writes what was held, in order, then passes every call through. Once. */
  attach(real: { readonly log: Logger; readonly eventLog: EventLog }): void;
}

export function createDeferredLogs(options: { readonly now?: () => number } = {}): DeferredLogs {
  const now = options.now ?? Date.now;
  const held: Held[] = [];
  let replayingAt: number | undefined;
  let realEvents: EventLog | undefined;
  const root: Node = { parent: undefined, bindings: {}, real: undefined };

  const realOf = (node: Node): Logger => {
    if (node.real === undefined) {
      // Attached: the root is real, so a child's parent chain ends in a real logger.
      node.real = realOf(node.parent as Node).child(node.bindings);
    }
    return node.real;
  };

  /** Hands one line to the real logger of its node. */
  const writeLine = (node: Node, level: Level, args: readonly unknown[]): void =>
    (realOf(node)[level] as (...args: unknown[]) => void)(...args);

  function loggerFor(node: Node): Logger {
    const method = (level: Level): LogFn =>
      ((...args: unknown[]) => {
        if (root.real !== undefined) writeLine(node, level, args);
        else held.push({ kind: 'line', node, level, args, at: now() });
      }) as LogFn;
    const logger = Object.fromEntries(LEVELS.map((level) => [level, method(level)])) as Record<Level, LogFn>;
    return {
      ...logger,
      child: (bindings) => (root.real !== undefined ? realOf(node).child(bindings) : loggerFor({ parent: node, bindings, real: undefined })),
      flush: (callback) => {
        if (root.real !== undefined) realOf(node).flush(callback);
        else held.push({ kind: 'flush', node, callback });
      },
    };
  }

  return {
    log: loggerFor(root),
    eventLog: {
      write(entry) {
        if (realEvents !== undefined) realEvents.write(entry);
        else held.push({ kind: 'event', entry, at: now() });
      },
      close() {
        if (realEvents !== undefined) realEvents.close();
        else held.push({ kind: 'close' });
      },
    },
    clock: () => replayingAt ?? now(),
    attached: () => root.real !== undefined,
    attach(real) {
      if (root.real !== undefined) throw new Error('the deferred logs are attached already');
      root.real = real.log;
      realEvents = real.eventLog;
      try {
        for (const item of held) {
          if (item.kind === 'line') {
            replayingAt = item.at;
            writeLine(item.node, item.level, item.args);
          } else if (item.kind === 'event') {
            replayingAt = item.at;
            real.eventLog.write(item.entry);
          } else if (item.kind === 'flush') {
            realOf(item.node).flush(item.callback);
          } else {
            real.eventLog.close();
          }
        }
      } finally {
        replayingAt = undefined;
        held.length = 0;
      }
    },
  };
}
