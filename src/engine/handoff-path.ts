/**
 * Where a run's handoff is written: `<agent's directory>/<runId>.<secret>.json`. The run id is
 * public (progress replies, embeds, the event log); the secret is known only to the prompt and
 * the journal, so nobody but the agent that was asked can name the one file the run reads.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { validateRunId } from './run-id.ts';

const SECRET_BYTES = 16;
const SECRET_PATTERN = /^[0-9a-f]{32}$/;

/** Where one run waits: its exact file, and how its directory is watched. */
export interface HandoffSpot {
  readonly file: string;
  /** Set for a directory on a network filesystem: looked at every interval instead of fs.watch'ed. */
  readonly pollIntervalMs?: number | undefined;
}

/** A new run's secret: 128 random bits, unrelated to the run id. */
export function newHandoffSecret(): string {
  return randomBytes(SECRET_BYTES).toString('hex');
}

export function isHandoffSecret(value: unknown): value is string {
  return typeof value === 'string' && SECRET_PATTERN.test(value);
}

export function handoffFileOf(agentDir: string, runId: string, secret: string): string {
  if (!isHandoffSecret(secret)) throw new Error('a handoff secret is 32 lowercase hex digits');
  return path.join(path.resolve(agentDir), `${validateRunId(runId)}.${secret}.json`);
}

/** The agent's own directory: configured, or `<handoffDir>/<agent>`. */
export function agentHandoffDir(handoffDir: string, agent: string, configured?: string): string {
  return path.resolve(configured ?? path.join(handoffDir, agent));
}

/**
 * Makes an agent's directory owner-only (0700). The parents are made with the usual mode so a
 * gateway given access to its own directory can reach it. An existing directory is left as it
 * is: a chmod would reset the ACL mask an operator granted the gateway through.
 */
export function makeAgentDirectory(dir: string): void {
  mkdirSync(path.dirname(dir), { recursive: true });
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/** The file's path with the secret cut out: what a log line or an error may say. */
export function publicNameOf(file: string): string {
  return path.join(path.dirname(file), path.basename(file).replace(/\.[0-9a-f]{32}(?=\.)/, '.…'));
}

/**
 * Removes the run's handoff file and, when it made more than one attempt (only a later attempt
 * sets a file aside), the `.prev` files of its earlier ones. Never throws.
 */
export function removeRunHandoffs(file: string, attempts: number): number {
  let removed = 0;
  try {
    unlinkSync(file);
    removed += 1;
  } catch {
    // Absent (a timeout), or gone already.
  }
  if (attempts <= 1) return removed;
  const dir = path.dirname(file);
  const stem = path.basename(file, '.json');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!isPrevNameOf(stem, name)) continue;
    try {
      unlinkSync(path.join(dir, name));
      removed += 1;
    } catch {
      // Gone already, or not ours to remove: nothing the run can do about it.
    }
  }
  return removed;
}

function isPrevNameOf(stem: string, name: string): boolean {
  if (!name.startsWith(`${stem}.prev.`) || !name.endsWith('.json')) return false;
  const middle = name.slice(`${stem}.prev.`.length, -'.json'.length);
  return middle === '' || /^\d+$/.test(middle);
}
