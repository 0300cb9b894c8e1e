/**
 * What the orchestrate command prints, byte for byte where the reference script defined it
 * (Python's `json.dumps`, ensure_ascii included). Exit codes: 0 complete/partial/sent, 1 otherwise,
 * 2 for a command line that is wrong (a bad run id included).
 */
import { isSuccess, type RunResult } from '../engine/types.ts';
import { ErrorCode } from '../errors.ts';
import type { OutputFormat } from './parse-args.ts';

export const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
/** Refusals that are the command line's fault: exit 2, as argparse exits for any usage error. */
const USAGE_CODES: ReadonlySet<string> = new Set([ErrorCode.USAGE, ErrorCode.RUN_ID_INVALID]);

export interface Rendered {
  readonly stdout: string;
  /** A line for people, only when stdout alone would not say what went wrong. */
  readonly stderr?: string;
  readonly exitCode: number;
}

/** Python's ensure_ascii: everything outside printable ASCII (DEL included) as \uXXXX, astral as a surrogate pair. */
function escapeNonAscii(json: string): string {
  return json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function isDumpable(value: unknown): boolean {
  return value !== undefined && typeof value !== 'function' && typeof value !== 'symbol';
}

/**
 * `json.dumps(value)` (indent undefined: separators ", " and ": ") or `json.dumps(value, indent=n)`
 * (items one per line, "," then newline). Values JSON cannot hold are skipped as JSON.stringify does.
 */
export function dumpsPython(value: unknown, indent?: number): string {
  const write = (v: unknown, depth: number): string => {
    if (v === null || typeof v !== 'object') return escapeNonAscii(JSON.stringify(v) ?? 'null');
    if (typeof (v as { toJSON?: unknown }).toJSON === 'function')
      return write((v as { toJSON(): unknown }).toJSON(), depth);
    const items = Array.isArray(v)
      ? v.map((item) => write(isDumpable(item) ? item : null, depth + 1))
      : Object.entries(v)
          .filter(([, item]) => isDumpable(item))
          .map(([key, item]) => `${escapeNonAscii(JSON.stringify(key))}: ${write(item, depth + 1)}`);
    const [open, close] = Array.isArray(v) ? ['[', ']'] : ['{', '}'];
    if (items.length === 0) return open + close;
    if (indent === undefined) return open + items.join(', ') + close;
    const inner = '\n' + ' '.repeat(indent * (depth + 1));
    return open + inner + items.join(',' + inner) + '\n' + ' '.repeat(indent * depth) + close;
  };
  return write(value, 0);
}

/** A run that went through the engine: sent (fire-and-forget), or a terminal result. */
export function renderRunResult(result: RunResult, format: OutputFormat): Rendered {
  const exitCode = isSuccess(result.status) ? EXIT_OK : EXIT_FAILED;
  if (result.status === 'sent') {
    // The reference prints this one line whatever --format says.
    return { stdout: dumpsPython({ status: 'sent', runId: result.runId, agent: result.agent }) + '\n', exitCode };
  }
  if (format === 'json') return { stdout: dumpsPython(result, 2) + '\n', exitCode };
  return renderText(result, exitCode);
}

function renderText(result: RunResult, exitCode: number): Rendered {
  const value = result.result;
  const text = typeof value === 'string' ? value : value === null || value === undefined ? '' : dumpsPython(value, 2);
  const failed = exitCode !== EXIT_OK;
  const stderr = failed
    ? `orchestrate: ${result.status}${result.notes ? `: ${String(result.notes)}` : ''}\n`
    : undefined;
  const stdout = text.length > 0 || !failed ? text + '\n' : '';
  return stderr === undefined ? { stdout, exitCode } : { stdout, stderr, exitCode };
}

interface RefusedRequest {
  readonly agent: string;
  readonly runId: string;
  readonly notes: string;
  readonly code: string;
}

/**
 * A request refused before any run started: the reference's `{status, result, notes, agent,
 * runId}` plus `code`, as JSON whatever --format says (as the reference does).
 */
export function renderRefused(refused: RefusedRequest): Rendered {
  const body = {
    status: 'error',
    result: null,
    notes: refused.notes,
    agent: refused.agent,
    runId: refused.runId,
    code: refused.code,
  };
  const exitCode = USAGE_CODES.has(refused.code) ? EXIT_USAGE : EXIT_FAILED;
  return { stdout: dumpsPython(body, 2) + '\n', stderr: `orchestrate: ${refused.notes}\n`, exitCode };
}

export function renderUsageError(message: string, usage: string): Rendered {
  const firstLine = usage.split('\n', 1)[0] ?? '';
  return {
    stdout: '',
    stderr: `${firstLine}\norchestrate: error: ${message}\n(see orchestrate --help)\n`,
    exitCode: EXIT_USAGE,
  };
}
