/**
 * The handoff file contract (schema 1.1, NOTES.md §2). Lenient mode needs `status` and
 * `result`; strict mode (the default) also `schemaVersion`, `confidence`, `timestamp`, and for
 * a `complete` status a deliverable with a known type and a summary. The messages keep the
 * reference script's wording: they go into the next attempt's retry note, which agents read.
 */
import * as z from 'zod';
import type { Handoff } from './types.ts';

const DELIVERABLE_TYPES = ['document', 'code', 'analysis', 'recommendation', 'review', 'data'] as const;
const REQUIRED_FIELDS = ['status', 'result'] as const;
const STRICT_FIELDS = ['schemaVersion', 'status', 'result', 'confidence', 'timestamp'] as const;

const handoffStatusSchema = z.enum(['complete', 'partial', 'blocked', 'failed']);
const deliverableSchema = z.looseObject({ type: z.enum(DELIVERABLE_TYPES), summary: z.string().trim().min(1) });

/** Presence only: a key whose value is `null` is present, as in the reference (`f in data`). */
export const strictHandoffSchema = z
  .looseObject(Object.fromEntries(STRICT_FIELDS.map((field) => [field, z.unknown()])))
  .extend({ status: handoffStatusSchema, deliverable: z.unknown().optional() })
  .refine((data) => data.status !== 'complete' || deliverableSchema.safeParse(data.deliverable).success, {
    message: 'a complete handoff needs a deliverable with a known type and a summary',
    path: ['deliverable'],
  });

/** Why a handoff was not accepted; the engine's retry policy switches on it. */
export const HandoffProblem = {
  notObject: 'not_object',
  missingFields: 'missing_fields',
  invalidStatus: 'invalid_status',
  failed: 'failed',
  blocked: 'blocked',
  invalidDeliverable: 'invalid_deliverable',
  /** The file names a run or an agent other than the one it was asked of. */
  anotherRun: 'another_run',
  anotherAgent: 'another_agent',
} as const;
export type HandoffProblem = (typeof HandoffProblem)[keyof typeof HandoffProblem];

export type HandoffValidation =
  | { readonly ok: true; readonly handoff: Handoff }
  | { readonly ok: false; readonly problem: HandoffProblem; readonly reason: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function notesOf(data: Record<string, unknown>): string {
  return Object.hasOwn(data, 'notes') ? String(data.notes) : 'no details';
}

function deliverableProblem(deliverable: unknown): string | undefined {
  if (deliverableSchema.safeParse(deliverable).success) return undefined;
  if (!isRecord(deliverable) || Object.keys(deliverable).length === 0) {
    return 'Missing deliverable block — every completed task must include a deliverable';
  }
  if (deliverable.type === undefined || deliverable.type === null || deliverable.type === '') {
    return "Deliverable missing 'type' field";
  }
  if (!deliverableSchema.shape.type.safeParse(deliverable.type).success) {
    return `Invalid deliverable type: '${String(deliverable.type)}' (valid: ${DELIVERABLE_TYPES.join(', ')})`;
  }
  return "Deliverable missing 'summary' field";
}

/** Whom the handoff must be from: a `runId` or `agent` field, when present, must name them. */
export interface HandoffOwner {
  readonly runId: string;
  readonly agent: string;
}

/**
 * The checks run in the reference's order, so the first problem reported is the same one; the
 * owner check comes first, since a handoff naming another run is no answer to this one at all.
 */
export function validateHandoff(data: unknown, strict: boolean, owner?: HandoffOwner): HandoffValidation {
  if (!isRecord(data)) return { ok: false, problem: HandoffProblem.notObject, reason: 'Handoff is not a JSON object' };
  if (owner !== undefined && Object.hasOwn(data, 'runId') && data.runId !== owner.runId)
    return { ok: false, problem: HandoffProblem.anotherRun, reason: 'handoff names another run' };
  if (owner !== undefined && Object.hasOwn(data, 'agent') && data.agent !== owner.agent)
    return { ok: false, problem: HandoffProblem.anotherAgent, reason: 'handoff names another agent' };

  const missing = (strict ? STRICT_FIELDS : REQUIRED_FIELDS).filter((field) => !Object.hasOwn(data, field));
  if (missing.length > 0) {
    return { ok: false, problem: HandoffProblem.missingFields, reason: `Missing fields: ${missing.join(', ')}` };
  }

  const status = handoffStatusSchema.safeParse(data.status);
  if (!status.success) {
    return {
      ok: false,
      problem: HandoffProblem.invalidStatus,
      reason: `Invalid status: '${String(data.status ?? '')}'`,
    };
  }
  if (status.data === 'failed')
    return { ok: false, problem: HandoffProblem.failed, reason: `Agent reported failure: ${notesOf(data)}` };
  if (status.data === 'blocked')
    return { ok: false, problem: HandoffProblem.blocked, reason: `Agent blocked: ${notesOf(data)}` };

  // Fields and status are checked above; what the strict schema has left to refuse is the deliverable.
  const parsed = strict ? strictHandoffSchema.safeParse(data) : undefined;
  if (parsed?.success === false) {
    const reason = deliverableProblem(data.deliverable) ?? parsed.error.issues[0]?.message ?? 'invalid handoff';
    return { ok: false, problem: HandoffProblem.invalidDeliverable, reason };
  }
  return { ok: true, handoff: data as Handoff };
}

/** The reference's "partial with low confidence" rule (dead code there; applied here). */
export function isLowConfidencePartial(handoff: Handoff): boolean {
  return (
    handoff.status === 'partial' && typeof handoff.confidence === 'string' && handoff.confidence.toLowerCase() === 'low'
  );
}
