/**
 * The engine's side of HTTP handoffs: the token an attempt's prompt carries, and the one entry
 * point a delivered body takes to its run (src/handoffs/http-listener.ts calls it). A body is
 * taken only for an open run of an `http` agent, with one of that run's tokens not yet used;
 * nothing here looks at any other run.
 */
import type { Logger } from '../log.ts';
import type { HandoffInbox } from './handoff-inbox.ts';
import { parseHandoffText } from './handoff-inbox.ts';
import { issueToken, matchToken, type HandoffTokenStore } from './handoff-tokens.ts';
import { RUN_ID_PATTERN } from './run-id.ts';

/** What a PUT may do: `ok` before its body is read; `accepted` once the run has it. */
export type HandoffCheck = 'ok' | 'unknown-run' | 'unauthorized' | 'already-used';
export type HandoffReceipt = Exclude<HandoffCheck, 'ok'> | 'accepted' | 'malformed';

export interface HandoffReceiver {
  /** Cheap, and reads no body: the listener asks before it reads one. */
  check(runId: string, token: string | undefined): Promise<HandoffCheck>;
  /** Takes the body to the run as its handoff text and uses the token up, or says why not. */
  receive(runId: string, token: string | undefined, text: string): Promise<HandoffReceipt>;
}

export interface HttpHandoffs extends HandoffReceiver {
  /** The prompt's PUT target and a new token for this attempt. */
  issue(runId: string, attempt: number): Promise<{ readonly url: string; readonly token: string }>;
}

export function handoffUrl(publicUrl: string, runId: string): string {
  return `${publicUrl}/v1/handoffs/${encodeURIComponent(runId)}`;
}

export function createHttpHandoffs(options: {
  readonly tokens: HandoffTokenStore;
  readonly inbox: HandoffInbox;
  readonly publicUrl: string | undefined;
  readonly log: Logger;
}): HttpHandoffs {
  const { tokens, inbox, publicUrl, log } = options;

  async function check(runId: string, token: string | undefined): Promise<HandoffCheck> {
    if (!RUN_ID_PATTERN.test(runId)) return 'unknown-run';
    const match = await matchToken(tokens, runId, token);
    if (match.kind === 'no-tokens') return 'unknown-run';
    if (match.kind === 'mismatch') return 'unauthorized';
    if (match.used) return 'already-used';
    return inbox.isOpen(runId) ? 'ok' : 'unknown-run';
  }

  return {
    async issue(runId, attempt) {
      if (publicUrl === undefined) throw new Error('issue() needs handoffListener.publicUrl');
      return { url: handoffUrl(publicUrl, runId), token: await issueToken(tokens, runId, attempt) };
    },
    check,
    async receive(runId, token, text) {
      const verdict = await check(runId, token);
      if (verdict !== 'ok') return verdict;
      // Text that does not parse leaves the token unused: the agent may PUT it again, fixed.
      if (parseHandoffText(text).kind === 'malformed') return 'malformed';
      const match = await matchToken(tokens, runId, token);
      if (match.kind !== 'match' || !(await tokens.consumeToken(runId, match.tokenHash))) return 'already-used';
      inbox.deliver(runId, text);
      log.info({ runId, bytes: Buffer.byteLength(text) }, 'handoff received over HTTP');
      return 'accepted';
    },
  };
}
