/**
 * The orchestration event log: one JSONL file per UTC day (`<logDir>/YYYY-MM-DD.jsonl`), one
 * line per event, in the reference script's shape so existing tooling keeps reading it:
 * `timestamp` (second precision, Z), `runId`, `agent`, `event`, `detail` (≤ 500 chars),
 * `attempt`, `elapsedMs`, then extras. Written through pino with every pino field switched off;
 * the destination is swapped when the UTC day changes. No token is ever passed in here, and
 * the redact paths are a second fence.
 *
 * The fence is paid only where it could matter. pino's redaction clones the line and walks
 * every path on each call (~25 µs a line, three times the rest of the write), and the engine
 * writes two or more lines per run. The fixed fields are strings and numbers, so only `extra`
 * can hold what a redact path matches: a secret's name among its keys, or an object among its
 * values. Lines with such an `extra` go through a redacting logger, the others through a plain
 * one on the same destination.
 */
import path from 'node:path';
import { pino, type DestinationStream } from 'pino';
import { REDACT_PATHS } from '../log.ts';
import { MAX_DETAIL_CHARS, type EventLog } from './events.ts';

/** The redact paths that name a top-level key (`token`), as opposed to a nested one (`*.token`). */
const TOP_LEVEL_SECRET_KEYS: ReadonlySet<string> = new Set(
  REDACT_PATHS.filter((redactPath) => /^[A-Za-z_$][\w$]*$/.test(redactPath)),
);

/** Whether a redact path could match anything in a line carrying these extras. */
export function needsRedaction(extra: Readonly<Record<string, unknown>> | undefined): boolean {
  if (extra === undefined) return false;
  for (const key of Object.keys(extra)) {
    if (TOP_LEVEL_SECRET_KEYS.has(key)) return true;
    const value = extra[key];
    if (typeof value === 'object' && value !== null) return true;
  }
  return false;
}

/** Cut by code points, not UTF-16 units, so a surrogate pair is never split (Python slices the same way). */
export function truncateDetail(text: string, max: number = MAX_DETAIL_CHARS): string {
  if (text.length <= max) return text;
  return Array.from(text.slice(0, max * 2))
    .slice(0, max)
    .join('');
}

export function createEventLog(options: { readonly dir: string; readonly now?: () => Date }): EventLog {
  const now = options.now ?? (() => new Date());
  let day = '';
  let current: ReturnType<typeof pino.destination> | undefined;
  // The line being written: its UTC day and timestamp, set just before the (synchronous) pino call.
  let lineDay = '';
  let lineTimestamp = '';

  const rolling: DestinationStream = {
    write(line: string) {
      if (lineDay !== day || current === undefined) {
        current?.end();
        day = lineDay;
        current = pino.destination({
          dest: path.join(options.dir, `${day}.jsonl`),
          sync: true,
          mkdir: true,
          append: true,
        });
      }
      current.write(line);
    },
  };

  const lineOptions = {
    base: null,
    level: 'info',
    // No level field; pino's timestamp hook then opens the line with the reference's
    // `"timestamp"` (pino expects a leading comma after the level it no longer writes).
    formatters: { level: () => ({}) },
    timestamp: () => `"timestamp":${JSON.stringify(lineTimestamp)}`,
  };
  const plain = pino(lineOptions, rolling);
  const fenced = pino({ ...lineOptions, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, rolling);

  return {
    write(entry) {
      const at = now();
      const iso = at.toISOString();
      lineDay = iso.slice(0, 10);
      lineTimestamp = `${iso.slice(0, 19)}Z`;
      (needsRedaction(entry.extra) ? fenced : plain).info({
        runId: entry.runId,
        agent: entry.agent,
        event: entry.event,
        detail: truncateDetail(entry.detail ?? ''),
        attempt: entry.attempt ?? 1,
        elapsedMs: Math.max(0, Math.round(entry.elapsedMs ?? 0)),
        ...entry.extra,
      });
    },
    close() {
      current?.end();
      current = undefined;
      day = '';
    },
  };
}
