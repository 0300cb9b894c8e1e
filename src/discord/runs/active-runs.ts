/**
 * The runs this process is driving right now, for the Cancel button, and the inputs of the last
 * few hundred, for the Retry button.
 */
import type { DelegationRequest } from '../../engine/types.ts';

export interface ActiveRun {
  readonly runId: string;
  readonly agent: string;
  /** A member, or an agent's bot account. */
  readonly requesterId: string;
  /** 1 for a human's /delegate; n+1 for a mention made inside a run of depth n. */
  readonly depth: number;
  readonly controller: AbortController;
  readonly startedAt: number;
}

/** What the Retry button needs to run "the same delegation" again. */
export type RememberedDelegation = Pick<
  DelegationRequest,
  'agent' | 'task' | 'context' | 'maxAttempts' | 'timeoutSeconds' | 'strict'
>;

export function rememberedDelegationOf(request: RememberedDelegation): RememberedDelegation {
  return {
    agent: request.agent,
    task: request.task,
    ...(request.context ? { context: request.context } : {}),
    ...(request.maxAttempts !== undefined ? { maxAttempts: request.maxAttempts } : {}),
    ...(request.timeoutSeconds !== undefined ? { timeoutSeconds: request.timeoutSeconds } : {}),
    ...(request.strict !== undefined ? { strict: request.strict } : {}),
  };
}

export interface ActiveRuns {
  add(run: ActiveRun): void;
  remove(runId: string): void;
  get(runId: string): ActiveRun | undefined;
  size(): number;
  remember(runId: string, delegation: RememberedDelegation): void;
  recall(runId: string): RememberedDelegation | undefined;
}

export const REMEMBERED_DELEGATIONS_MAX = 500;

export function createActiveRuns(): ActiveRuns {
  const active = new Map<string, ActiveRun>();
  // Insertion order is age order, so the oldest entry is the first key.
  const remembered = new Map<string, RememberedDelegation>();

  return {
    add(run) {
      active.set(run.runId, run);
    },
    remove(runId) {
      active.delete(runId);
    },
    get(runId) {
      return active.get(runId);
    },
    size() {
      return active.size;
    },
    remember(runId, delegation) {
      remembered.delete(runId);
      remembered.set(runId, delegation);
      while (remembered.size > REMEMBERED_DELEGATIONS_MAX) {
        const oldest = remembered.keys().next().value;
        if (oldest === undefined) break;
        remembered.delete(oldest);
      }
    },
    recall(runId) {
      return remembered.get(runId);
    },
  };
}
