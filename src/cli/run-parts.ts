/**
 * What a CLI run needs once its arguments are good, as one module: run-cli.ts imports it
 * dynamically (after zod's jitless setting), and the CLI bundle makes it one chunk instead of
 * one per part (each chunk is a module for Node's loader to resolve, read, link and run).
 * pino is not among them: it comes later, from log-parts.ts (see deferred-logs.ts).
 */
export { readChannelContext } from './channel-context-source.ts';
export { createDeferredLogs } from './deferred-logs.ts';
export { authorize } from '../access/acl.ts';
export { loadConfig } from '../config.ts';
export { createEngine } from '../engine/engine.ts';
export { engineSettingsOf } from '../engine-settings.ts';
export { EventName } from '../engine/events.ts';
export { newRunId, validateRunId } from '../engine/run-id.ts';
