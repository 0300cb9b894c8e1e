/**
 * A caller's OpenClaw session for a run: one key several runs share (a conversation), sent only
 * to agents whose config allows caller session keys (`sessionKey: true`). The gateway refuses
 * keys outside its allowedSessionKeyPrefixes, which must admit `hook:` (NOTES.md §1.3).
 */
import { UsageError } from '../errors.ts';
import type { AgentEndpoint, AgentSession, DelegationRequest } from './types.ts';

const SESSION_KEY = /^hook:[A-Za-z0-9:_.-]{1,200}$/;

/**
 * The request as this agent takes it: a session kept (and checked) only where the agent allows
 * caller keys, so the journal of a run keeps exactly what its attempts send.
 */
export function withAgentSession<T extends DelegationRequest>(request: T, endpoint: AgentEndpoint): T {
  if (request.session === undefined) return request;
  if (!endpoint.sessionKey) {
    const { session: _dropped, ...rest } = request;
    return rest as T;
  }
  const { key, persistent } = request.session as Partial<AgentSession>;
  if (typeof key !== 'string' || !SESSION_KEY.test(key) || typeof persistent !== 'boolean')
    throw new UsageError('The session key must start with "hook:" and use letters, digits, ":", "_", "." or "-"');
  return request;
}

/**
 * The session fields of attempt `attempt`. Only the first attempt joins the shared session: the
 * gateway serialises requests sharing a key through completion, so a retry there would wait
 * behind the very attempt it replaces (which may still run) and hit the admission timeout. A
 * retry takes its own key; the conversation's context still travels in its prompt.
 */
export function sessionFieldsOf(
  runId: string,
  attempt: number,
  session: AgentSession | undefined,
): { readonly sessionKey: string; readonly sessionMode?: 'persistent' } {
  if (session !== undefined && attempt === 1)
    return { sessionKey: session.key, ...(session.persistent ? { sessionMode: 'persistent' as const } : {}) };
  return { sessionKey: `hook:orchestrate:${runId}:${attempt}` };
}
