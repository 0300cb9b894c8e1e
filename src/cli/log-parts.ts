/**
 * pino's writers for a CLI run, loaded once the run's POST is out or when it ends, whichever
 * comes first (src/cli/deferred-logs.ts holds the lines until then). One module, so the CLI
 * bundle makes pino and both writers one chunk.
 */
export { createEventLog } from '../engine/event-log.ts';
export { createLogger } from '../log.ts';
