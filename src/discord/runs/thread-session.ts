/**
 * One OpenClaw session per result thread, so the agent remembers the conversation. The key is
 * derived from the run that opened the thread: that run is sent before its thread exists, and
 * naming the session after it puts the first task in the same session as every follow-up. The
 * engine forwards it only to agents allowing caller session keys; the others get the thread's
 * context in the prompt alone.
 */
import type { AgentSession } from '../../engine/types.ts';
import type { AsyncRunStore } from '../../store/store-api.ts';
import type { BotContext } from '../bot-context.ts';
import { wantsResultThread } from '../delivery/result-thread.ts';
import type { RunOrigin } from './run-origin.ts';

/** `hook:` is the prefix a gateway admitting caller keys must allow (NOTES.md §1.3). */
export const THREAD_SESSION_PREFIX = 'hook:hq:thread:';

export function threadSession(rootRunId: string): AgentSession {
  return { key: `${THREAD_SESSION_PREFIX}${rootRunId}`, persistent: true };
}

/**
 * The session of a run: its thread's for a follow-up, its own future thread's for a run whose
 * result opens one; none for a run that will have no thread.
 */
export async function sessionOfRun(
  context: Pick<BotContext, 'config'> & { readonly ledger: Pick<AsyncRunStore, 'runIdByResultThread'> },
  runId: string,
  agent: string,
  origin: Pick<RunOrigin, 'threadId'>,
): Promise<AgentSession | undefined> {
  if (origin.threadId !== undefined) {
    const rootRunId = await context.ledger.runIdByResultThread(origin.threadId);
    return rootRunId === undefined ? undefined : threadSession(rootRunId);
  }
  return wantsResultThread(context.config(), agent) ? threadSession(runId) : undefined;
}
