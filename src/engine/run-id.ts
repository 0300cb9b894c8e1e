/**
 * Run ids name the handoff file (`<runId>.json`), so one is checked before anything touches
 * the disk: the reference script used `--run-id` unchecked, which let `../../x` escape the
 * handoff directory.
 */
import { randomBytes } from 'node:crypto';
import { RunIdError } from '../errors.ts';

export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Returns the id unchanged, or throws RunIdError (HQ_ERR_RUN_ID_INVALID). */
export function validateRunId(runId: string): string {
  if (typeof runId !== 'string' || !RUN_ID_PATTERN.test(runId)) throw new RunIdError(String(runId));
  return runId;
}

/** `orch-<unix seconds>-<8 hex>`, the reference script's form. */
export function newRunId(now: number = Date.now()): string {
  return `orch-${Math.floor(now / 1_000)}-${randomBytes(4).toString('hex')}`;
}
