/**
 * An OpenClaw gateway takes a body of 256 KiB at most and answers a larger one with 413, after
 * the whole upload. The body is measured here first (the serialized JSON, in bytes), so a run
 * that cannot fit is refused before anything is sent, with the sizes an operator needs.
 */
import { RequestTooLargeError } from '../errors.ts';
import type { AgentPayload } from './prompt.ts';
import type { AgentEndpoint } from './types.ts';

/**
 * Room kept for what is not known when a request is accepted: the handoff path (per agent and
 * per run) and, on a retry, the retry note are only settled when an attempt is sent.
 */
export const UNSETTLED_ALLOWANCE_BYTES = 1_024;

export function bodyBytes(payload: AgentPayload): number {
  return Buffer.byteLength(JSON.stringify(payload), 'utf8');
}

/** Undefined when the body fits; else what to tell the person who asked. */
export function oversizeMessage(
  endpoint: Pick<AgentEndpoint, 'name' | 'maxBodyBytes'>,
  size: number,
  context: string | undefined,
): string | undefined {
  const limit = endpoint.maxBodyBytes;
  if (size <= limit) return undefined;
  const contextBytes = Buffer.byteLength(context ?? '', 'utf8');
  const ofWhich = contextBytes > 0 ? `, of which the context is ${contextBytes} bytes` : '';
  return (
    `The request to '${endpoint.name}' would be ${size} bytes${ofWhich}; its gateway accepts at most ` +
    `${limit} bytes. Shorten the ${contextBytes > 0 ? 'context' : 'task'} by at least ${size - limit} bytes.`
  );
}

/** Throws RequestTooLargeError when the body, with `allowance` bytes more, is over the agent's limit. */
export function refuseOversizedRequest(
  endpoint: Pick<AgentEndpoint, 'name' | 'maxBodyBytes'>,
  payload: AgentPayload,
  context: string | undefined,
  allowance = 0,
): void {
  const message = oversizeMessage(endpoint, bodyBytes(payload) + allowance, context);
  if (message !== undefined) throw new RequestTooLargeError(message);
}
