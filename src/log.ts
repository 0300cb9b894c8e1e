/**
 * The one application logger. Tokens never reach a log line: the redact paths below cover
 * every place a secret could ride along (headers, config secrets, raw options).
 */
import { pino, type Bindings, type DestinationStream, type LogFn } from 'pino';

export const REDACT_PATHS = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers["x-openclaw-token"]',
  '*.headers["x-openclaw-token"]',
  'secrets',
  '*.secrets',
  'discordToken',
  '*.discordToken',
  'hooksToken',
  '*.hooksToken',
];

/**
 * What the code asks of a logger: pino's Logger is one; the CLI's deferred logger
 * (src/cli/deferred-logs.ts), which holds lines until pino is loaded, is another.
 */
export interface Logger {
  readonly fatal: LogFn;
  readonly error: LogFn;
  readonly warn: LogFn;
  readonly info: LogFn;
  readonly debug: LogFn;
  child(bindings: Bindings): Logger;
  flush(callback?: (error?: Error) => void): void;
}

export interface LoggerOptions {
  readonly level?: string;
  readonly destination?: DestinationStream;
  /** Epoch ms for each line's `time` (default Date.now): the CLI stamps lines it held with when they were logged. */
  readonly now?: () => number;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const now = options.now;
  return pino(
    {
      name: 'hq-delegate',
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      ...(now === undefined ? {} : { timestamp: () => `,"time":${now()}` }),
    },
    options.destination ?? pino.destination({ dest: 2, sync: false }),
  );
}
