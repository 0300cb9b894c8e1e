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

/** The engine's handoffs: a PUT's way in, and a body another replica took (its token used there). */
export interface EngineHandoffs extends HandoffReceiver {
  /** Hands the text to the open run; false when this process has no such run open. */
  deliverRelayed(runId: string, text: string): boolean;
}

export interface HttpHandoffs extends EngineHandoffs {
  /** The prompt's PUT target and a new token for this attempt. */
  issue(runId: string, attempt: number): Promise<{ readonly url: string; readonly token: string }>;
}

export function handoffUrl(publicUrl: string, runId: string): string {
  return `${publicUrl}/v1/handoffs/${encodeURIComponent(runId)}`;
}

export interface HandoffReceiverOptions {
  readonly tokens: Pick<HandoffTokenStore, 'tokenHashes'>;
  /** Whether the run waits for a handoff. */
  isOpen(runId: string): boolean | Promise<boolean>;
  /** Uses the token up and hands the text on, or false when the token already was used. */
  take(runId: string, tokenHash: string, text: string): Promise<boolean>;
  readonly log: Logger;
}

/**
 * The checks every PUT goes through, wherever its text then goes: the run id's shape, one of the
 * run's tokens not yet used, an open run, and text that parses. The engine takes the text
 * itself; a replica that does not lead stores it for the leader (src/handoffs/relay-receiver.ts).
 */
export function createHandoffReceiver(options: HandoffReceiverOptions): HandoffReceiver {
  const { tokens, isOpen, take, log } = options;

  /** The verdict, and the hash of the matching token when it is 'ok'. */
  async function verify(
    runId: string,
    token: string | undefined,
  ): Promise<{ verdict: Exclude<HandoffCheck, 'ok'> } | { verdict: 'ok'; tokenHash: string }> {
    if (!RUN_ID_PATTERN.test(runId)) return { verdict: 'unknown-run' };
    const match = await matchToken(tokens, runId, token);
    if (match.kind === 'no-tokens') return { verdict: 'unknown-run' };
    if (match.kind === 'mismatch') return { verdict: 'unauthorized' };
    if (match.used) return { verdict: 'already-used' };
    if (!(await isOpen(runId))) return { verdict: 'unknown-run' };
    return { verdict: 'ok', tokenHash: match.tokenHash };
  }

  return {
    check: async (runId, token) => (await verify(runId, token)).verdict,
    async receive(runId, token, text) {
      const verified = await verify(runId, token);
      if (verified.verdict !== 'ok') return verified.verdict;
      // Text that does not parse leaves the token unused: the agent may PUT it again, fixed.
      if (parseHandoffText(text).kind === 'malformed') return 'malformed';
      if (!(await take(runId, verified.tokenHash, text))) return 'already-used';
      log.info({ runId, bytes: Buffer.byteLength(text) }, 'handoff received over HTTP');
      return 'accepted';
    },
  };
}

export function createHttpHandoffs(options: {
  readonly tokens: HandoffTokenStore;
  readonly inbox: HandoffInbox;
  readonly publicUrl: string | undefined;
  readonly log: Logger;
}): HttpHandoffs {
  const { tokens, inbox, publicUrl, log } = options;
  const receiver = createHandoffReceiver({
    tokens,
    isOpen: (runId) => inbox.isOpen(runId),
    async take(runId, tokenHash, text) {
      if (!(await tokens.consumeToken(runId, tokenHash))) return false;
      inbox.deliver(runId, text);
      return true;
    },
    log,
  });
  return {
    ...receiver,
    async issue(runId, attempt) {
      if (publicUrl === undefined) throw new Error('issue() needs handoffListener.publicUrl');
      return { url: handoffUrl(publicUrl, runId), token: await issueToken(tokens, runId, attempt) };
    },
    deliverRelayed: (runId, text) => inbox.deliver(runId, text),
  };
}
