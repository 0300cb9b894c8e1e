/**
 * The handoff file contract (schema 1.1, NOTES.md §2). Lenient mode needs `status` and
 * `result`; strict mode (the default) also `schemaVersion`, `confidence`, `timestamp`, and for
 * a `complete` status a deliverable with a known type and a summary. The messages keep the
 * reference script's wording: they go into the next attempt's retry note, which agents read.
 */
import * as z from 'zod';
import type { Handoff } from './types.ts';

export const HANDOFF_STATUSES = ['complete', 'partial', 'blocked', 'failed'] as const;
export const DELIVERABLE_TYPES = ['document', 'code', 'analysis', 'recommendation', 'review', 'data'] as const;
export const REQUIRED_FIELDS = ['status', 'result'] as const;
export const STRICT_FIELDS = ['schemaVersion', 'status', 'result', 'confidence', 'timestamp'] as const;

/** Presence only: a key whose value is `null` is present, as in the reference (`f in data`). */
function presenceSchema(fields: readonly string[]) {
  return z.looseObject(Object.fromEntries(fields.map((field) => [field, z.unknown()])));
}

export const handoffStatusSchema = z.enum(HANDOFF_STATUSES);
export const deliverableSchema = z.looseObject({
  type: z.enum(DELIVERABLE_TYPES),
  summary: z.string().trim().min(1),
});

// Built once: zod compiles a fast path per schema object, so a schema made per call costs a
// compilation (and its garbage) per handoff — measurable with 500 handoffs in a burst.
const requiredPresenceSchema = presenceSchema(REQUIRED_FIELDS);
const strictPresenceSchema = presenceSchema(STRICT_FIELDS);
const deliverableTypeSchema = z.enum(DELIVERABLE_TYPES);

export const lenientHandoffSchema = presenceSchema(REQUIRED_FIELDS).extend({ status: handoffStatusSchema });
export const strictHandoffSchema = presenceSchema(STRICT_FIELDS)
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
  if (!deliverableTypeSchema.safeParse(deliverable.type).success) {
    return `Invalid deliverable type: '${String(deliverable.type)}' (valid: ${DELIVERABLE_TYPES.join(', ')})`;
  }
  return "Deliverable missing 'summary' field";
}

/** The checks run in the reference's order, so the first problem reported is the same one. */
export function validateHandoff(data: unknown, strict: boolean): HandoffValidation {
  if (!isRecord(data)) return { ok: false, problem: HandoffProblem.notObject, reason: 'Handoff is not a JSON object' };

  const fields = strict ? STRICT_FIELDS : REQUIRED_FIELDS;
  const presence = (strict ? strictPresenceSchema : requiredPresenceSchema).safeParse(data);
  if (!presence.success) {
    const missing = fields.filter((field) => !Object.hasOwn(data, field));
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

  const parsed = (strict ? strictHandoffSchema : lenientHandoffSchema).safeParse(data);
  if (!parsed.success) {
    return {
      ok: false,
      problem: HandoffProblem.invalidDeliverable,
      reason: deliverableProblem(data.deliverable) ?? parsed.error.issues[0]?.message ?? 'invalid handoff',
    };
  }
  return { ok: true, handoff: data as Handoff };
}

/** The reference's "partial with low confidence" rule (dead code there; applied here). */
export function isLowConfidencePartial(handoff: Handoff): boolean {
  return (
    handoff.status === 'partial' && typeof handoff.confidence === 'string' && handoff.confidence.toLowerCase() === 'low'
  );
}
