/**
 * The machine-readable answer to an agent's @mention: a ```json block with the CLI's result shape
 * plus `resultUrl`, in one message. Too long, `result` is cut, large extras are named in `omitted`
 * and `"truncated": true` says so; the JSON always parses, and backticks are written as \u0060.
 */
import type { RunResult } from '../../engine/types.ts';
import { MAX_MESSAGE_CONTENT } from './limits.ts';

/** The CLI's key order: how it ended, what came back, then the run's facts. */
const CORE_KEYS = [
  'status',
  'result',
  'notes',
  'runId',
  'agent',
  'latencyMs',
  'attempts',
  'workflowRunId',
  'stepId',
  'code',
] as const;
const CORE_STRING_MAX = 200;
const NOTES_MAX = 500;
const EXTRA_JSON_MAX = 200;
const URL_MAX = 512;

export function renderMachineBlock(
  result: RunResult,
  resultMessageUrl?: string,
  maxChars: number = MAX_MESSAGE_CONTENT,
): string {
  const record = result as Readonly<Record<string, unknown>>;
  const extras = Object.keys(record).filter(
    (key) => !(CORE_KEYS as readonly string[]).includes(key) && key !== 'resultUrl' && key !== 'truncated',
  );
  const url = typeof resultMessageUrl === 'string' && resultMessageUrl.length <= URL_MAX ? resultMessageUrl : undefined;

  const whole: Record<string, unknown> = {};
  for (const key of CORE_KEYS) whole[key] = record[key];
  for (const key of extras) whole[key] = record[key];
  if (url !== undefined) whole.resultUrl = url;
  const full = block(whole);
  if (full.length <= maxChars) return full;

  // Too long: keep the facts, shrink the rest, then give `result` whatever room is left.
  const base: Record<string, unknown> = {};
  for (const key of CORE_KEYS)
    base[key] = key === 'result' ? '' : capString(record[key], key === 'notes' ? NOTES_MAX : CORE_STRING_MAX);
  const omitted: string[] = [];
  for (const key of extras) {
    if (jsonLength(record[key]) <= EXTRA_JSON_MAX) base[key] = record[key];
    else omitted.push(key);
  }
  if (url !== undefined) base.resultUrl = url;
  const text = resultText(record.result);
  base.resultChars = text.length;
  if (omitted.length > 0) base.omitted = omitted;
  base.truncated = true;

  const withResult = (n: number): string => block({ ...base, result: prefix(text, n) });
  if (withResult(0).length <= maxChars) {
    let lo = 0;
    let hi = Math.min(text.length, maxChars);
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (withResult(mid).length <= maxChars) lo = mid;
      else hi = mid - 1;
    }
    return withResult(lo);
  }
  // Even an empty result does not fit (a tiny maxChars): only the facts that identify the run.
  const minimal = block({
    status: capString(record.status, 40),
    runId: capString(record.runId, 128),
    agent: capString(record.agent, 64),
    truncated: true,
  });
  return minimal.length <= maxChars ? minimal : block({ truncated: true });
}

function block(value: Record<string, unknown>): string {
  const json = JSON.stringify(value, null, 2).replaceAll('`', '\\u0060');
  return `\`\`\`json\n${json}\n\`\`\``;
}

function resultText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function capString(value: unknown, max: number): unknown {
  return typeof value === 'string' && value.length > max ? prefix(value, max) : value;
}

/** The first `n` UTF-16 units, one fewer when that would split a surrogate pair. */
function prefix(text: string, n: number): string {
  let end = Math.min(n, text.length);
  const last = text.charCodeAt(end - 1);
  if (end > 0 && end < text.length && last >= 0xd8_00 && last <= 0xdb_ff) end -= 1;
  return text.slice(0, end);
}

function jsonLength(value: unknown): number {
  try {
    return JSON.stringify(value)?.length ?? 0;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}
