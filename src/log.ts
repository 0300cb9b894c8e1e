/** The one application logger. The redact paths cover every place a token could ride along. */
import { pino, type DestinationStream, type Logger } from 'pino';

/** Each path at the top level and one level down. */
export const REDACT_PATHS = [
  'token',
  'authorization',
  'headers.authorization',
  'headers["x-openclaw-token"]',
  'secrets',
  'discordToken',
  'hooksToken',
].flatMap((key) => [key, `*.${key}`]);

export type { Logger };

interface LoggerOptions {
  readonly level?: string;
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: 'hq-delegate',
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    options.destination ?? pino.destination({ dest: 2, sync: false }),
  );
}
