/**
 * The text and payload sent to an agent's gateway. The message is byte-identical to the
 * reference script's `send_task` message (a golden test runs the Python function to prove
 * it): agents and their prompts were tuned against that text, so it is not ours to reword.
 */
import { sessionFieldsOf } from './agent-session.ts';
import type { AgentSession } from './types.ts';

export interface PromptInput {
  readonly runId: string;
  readonly agent: string;
  readonly task: string;
  readonly attempt: number;
  /** Why the previous attempt failed; only used from attempt 2 on. */
  readonly prevError?: string | undefined;
  /** The `--context` file's text; empty or absent means none. */
  readonly context?: string | undefined;
  /** Absolute path of `<handoffDir>/<runId>.json`. */
  readonly handoffPath: string;
  /** An `http` agent's PUT target and bearer token: they replace the two lines naming the file. */
  readonly httpHandoff?: HttpHandoffTarget | undefined;
}

export interface HttpHandoffTarget {
  readonly url: string;
  readonly token: string;
}

/** The reference's two lines naming the file, or for an `http` agent the PUT that replaces them. */
function handoffLines(handoffPath: string, http: HttpHandoffTarget | undefined): string[] {
  if (http === undefined)
    return ['IMPORTANT: When you complete this task, write your response as a JSON file to:', handoffPath];
  return [
    'IMPORTANT: When you complete this task, send your response as JSON in an HTTP PUT to:',
    http.url,
    `with the header "Authorization: Bearer ${http.token}" (this token is for this task only), for example:`,
    `curl -fsS -X PUT -H 'Authorization: Bearer ${http.token}' -H 'Content-Type: application/json' --data-binary @response.json '${http.url}'`,
  ];
}

export function buildPrompt(input: PromptInput): string {
  const { runId, agent, task, attempt, prevError, context, handoffPath, httpHandoff } = input;
  const retryNote =
    attempt > 1 && prevError
      ? `\n⚠️ RETRY (attempt ${attempt}): Previous attempt failed: ${prevError}\nPlease try again carefully.\n`
      : '';
  const message = [
    `[ORCHESTRATED TASK — run_id: ${runId}]`,
    retryNote,
    'IMPORTANT: Answer this task DIRECTLY. Do NOT spawn sub-agents, Codex, or background processes.',
    'Use your own knowledge and tools (web_search, web_fetch) directly. Keep your response focused and concise.',
    '',
    task,
    '',
    '---',
    ...handoffLines(handoffPath, httpHandoff),
    '',
    'Use this exact format:',
    '```json',
    '{',
    '  "schemaVersion": "1.1",',
    `  "runId": "${runId}",`,
    `  "agent": "${agent}",`,
    '  "status": "complete",',
    '  "result": "<your findings/output here>",',
    '  "deliverable": {',
    '    "type": "<document|code|analysis|recommendation|review|data>",',
    '    "title": "<short title of what you produced>",',
    '    "path": "<path to artifact file, or null if result is self-contained>",',
    '    "summary": "<one-line summary of the deliverable>"',
    '  },',
    '  "artifacts": [],',
    '  "confidence": "high|medium|low",',
    '  "notes": "<any caveats or open questions>",',
    '  "timestamp": "<ISO-8601 timestamp>"',
    '}',
    '```',
    '',
    'Status values: complete | partial | blocked | failed',
    '⚠️ The "deliverable" block is MANDATORY. Every task must produce a concrete deliverable.',
    'If your result is self-contained in "result", set deliverable.path to null and deliverable.type to "analysis" or "recommendation".',
    'Write the file BEFORE posting to Discord. The orchestrator is waiting for it.',
  ].join('\n');
  return context ? `CONTEXT:\n${context}\n\n${message}` : message;
}

/**
 * The `/hooks/agent` body, field for field as the reference script sent it (see NOTES.md §1.2),
 * except that `sessionKey` goes only to agents configured for it (a gateway with default hooks
 * settings refuses it with 400) and `agentId` only to agents that have one.
 */
export interface AgentPayload {
  readonly message: string;
  readonly name: string;
  readonly sessionKey?: string;
  readonly sessionMode?: 'persistent';
  readonly deliver: boolean;
  readonly channel: 'discord';
  readonly to: string;
  readonly wakeMode: 'now';
  readonly timeoutSeconds: number;
  readonly agentId?: string;
  readonly waitForCompletion?: boolean;
}

export interface PayloadInput extends PromptInput {
  /** The per-attempt wait; the reference sent 600 whatever it waited, so agents kept working after it gave up. */
  readonly timeoutSeconds: number;
  readonly deliver: boolean;
  /** Ask the gateway to answer only when the agent's run has settled (NOTES.md §1.2). */
  readonly waitForCompletion: boolean;
  /** Name the agent's session after the run (the gateway must allow request session keys). */
  readonly sessionKey?: boolean | undefined;
  /** The caller's shared session (a result thread's), joined by the first attempt (agent-session.ts). */
  readonly session?: AgentSession | undefined;
  /** Which agent, on a gateway that hosts several. */
  readonly agentId?: string | undefined;
}

export function buildPayload(input: PayloadInput): AgentPayload {
  const payload: AgentPayload = {
    message: buildPrompt(input),
    name: `orchestrate:${input.runId}`,
    // The per-attempt suffix matters: the gateway serialises requests sharing a session key
    // through completion, so a retry reusing the key would queue behind the attempt it replaces.
    ...(input.sessionKey === true ? sessionFieldsOf(input.runId, input.attempt, input.session) : {}),
    deliver: input.deliver,
    channel: 'discord',
    to: `channel:dl-${input.agent}`,
    wakeMode: 'now',
    timeoutSeconds: Math.max(1, Math.floor(input.timeoutSeconds)),
    ...(input.agentId === undefined ? {} : { agentId: input.agentId }),
  };
  return input.waitForCompletion ? { ...payload, waitForCompletion: true } : payload;
}

/** Which `deliver` wins: the request's override, then the agent's endpoint, then the config default. */
export function resolveDeliver(
  requested: boolean | undefined,
  endpoint: boolean | undefined,
  configDefault: boolean,
): boolean {
  return requested ?? endpoint ?? configDefault;
}
