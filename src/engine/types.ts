/** The engine's vocabulary (Temporal's words): a run has a stable id, attempts, and one terminal status. */
import type { EventEntry } from './event-log.ts';
import type { EngineHandoffs } from './http-handoffs.ts';

/** Terminal statuses of a run, as they appear in the CLI's JSON `status` field. */
export const RunStatus = {
  complete: 'complete',
  partial: 'partial',
  blocked: 'blocked',
  failed: 'failed',
  timeout: 'timeout',
  malformed: 'malformed',
  error: 'error',
  invalid: 'invalid',
  cancelled: 'cancelled',
} as const;
export type RunStatus = (typeof RunStatus)[keyof typeof RunStatus];

/** complete and partial are success (exit 0); everything else exits 1. */
export function isSuccess(status: RunStatus | 'sent'): boolean {
  return status === RunStatus.complete || status === RunStatus.partial || status === 'sent';
}

/** What a caller asks for; validated (run id, agent, ACL) before any file is touched. */
export interface DelegationRequest {
  /** Omitted: `orch-<unix seconds>-<8 hex>`, the reference script's form. */
  readonly runId?: string;
  readonly agent: string;
  readonly task: string;
  /** Every principal the caller holds (a Discord member may hold several); any one allowing suffices. */
  readonly principals: readonly string[];
  /** Text of the reference script's `--context` file. */
  readonly context?: string;
  readonly maxAttempts?: number;
  /** Per-attempt wait; also sent to the gateway. */
  readonly timeoutSeconds?: number;
  readonly strict?: boolean;
  readonly deliver?: boolean;
  /** false: fire and forget; resolves with status `sent` after the POST. */
  readonly wait?: boolean;
  readonly workflowRunId?: string;
  readonly stepId?: string;
  /** Opaque to the engine; stored with the run so the bot knows where to answer after a restart. */
  readonly origin?: Readonly<Record<string, unknown>>;
  /** A session several runs share; sent only to agents allowing caller session keys (agent-session.ts). */
  readonly session?: AgentSession;
}

/** An OpenClaw session a caller names: `key` (prefix `hook:`), kept across runs when `persistent`. */
export interface AgentSession {
  readonly key: string;
  readonly persistent: boolean;
}

/** The handoff file as the agent wrote it. */
export interface Handoff {
  readonly status: string;
  readonly result: unknown;
  readonly [field: string]: unknown;
}

/** The CLI's JSON shape: the handoff's own fields, then the run's (run-result.ts). */
export interface RunResult {
  readonly status: RunStatus | 'sent';
  readonly result: unknown;
  readonly notes?: string;
  readonly runId: string;
  readonly agent: string;
  readonly latencyMs: number;
  readonly attempts: number;
  readonly workflowRunId?: string;
  readonly stepId?: string;
  /** Stable HQ_ERR_* code when the run did not produce a usable handoff. */
  readonly code?: string;
  readonly [field: string]: unknown;
}

/** Progress, for the Discord side to render. */
export type RunProgress =
  | { readonly type: 'queued'; readonly runId: string; readonly position: number }
  | {
      readonly type: 'sent';
      readonly runId: string;
      readonly attempt: number;
      readonly maxAttempts: number;
      readonly gatewayRunId?: string;
    }
  | {
      readonly type: 'waiting';
      readonly runId: string;
      readonly attempt: number;
      readonly maxAttempts: number;
      readonly startedAt: number;
      readonly deadline: number;
    }
  | { readonly type: 'handoff_seen'; readonly runId: string; readonly attempt: number }
  | {
      readonly type: 'retrying';
      readonly runId: string;
      readonly attempt: number;
      readonly maxAttempts: number;
      readonly reason: string;
    }
  | { readonly type: 'done'; readonly runId: string; readonly result: RunResult };

export interface DelegateOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: RunProgress) => void;
}

export interface AgentHealth {
  readonly agent: string;
  readonly healthy: boolean;
  readonly latencyMs?: number;
  /** Why not healthy. */
  readonly detail?: string;
  readonly checkedAt: number;
}

/** An agent's gateway as the engine reaches it (agent-address.ts reads it from the registry or config). */
export interface AgentEndpoint {
  readonly name: string;
  /** The gateway's origin: `http://host:port` or `https://host[:port]`. */
  readonly url: string;
  /** Absolute path of a PEM file: the CA that signed an https gateway's certificate. */
  readonly ca?: string;
  /** Sent in the payload, for a gateway that hosts several agents. */
  readonly agentId?: string;
  /** Send `sessionKey` (needs hooks.allowRequestSessionKey on the gateway). */
  readonly sessionKey: boolean;
  /** The largest request body the gateway takes. */
  readonly maxBodyBytes: number;
  readonly deliver?: boolean;
  /** How the agent hands its answer back; absent means `file`. */
  readonly handoff?: HandoffMode;
  /** The agent's own handoff directory; default `<handoffDir>/<agent>`. */
  readonly handoffDir?: string;
  /** Set when that directory is polled (a network filesystem) rather than watched. */
  readonly handoffPollMs?: number;
}

/** `file`: the agent writes `<runId>.json` into the handoff directory; `http`: it PUTs it to the listener. */
export type HandoffMode = 'file' | 'http';

/**
 * Where the engine records what it does (the run store, SQLite or PostgreSQL), so a restarted
 * process or a new leader can pick runs up again. Every verb is awaited: a state change is
 * committed before the engine acts on it.
 */
export interface RunJournal {
  runAccepted(run: JournalRun): Promise<void>;
  attemptStarted(runId: string, attempt: number, startedAt: number, deadline: number): Promise<void>;
  attemptSent(runId: string, attempt: number, gatewayRunId: string | undefined): Promise<void>;
  attemptEnded(runId: string, attempt: number, outcome: string, detail: string): Promise<void>;
  runFinished(result: RunResult): Promise<void>;
}

export interface JournalRun {
  readonly runId: string;
  readonly request: DelegationRequest & { readonly runId: string };
  readonly acceptedAt: number;
  /** The secret in the handoff file's name; absent for a run journaled before there was one. */
  readonly handoffSecret?: string | undefined;
}

/** A run as a restarted process finds it: which attempt it was in and until when it may wait. */
export interface ResumableRun extends JournalRun {
  readonly attempt: number;
  /** Epoch ms; absent when the attempt had not been sent yet. */
  readonly deadline?: number;
  readonly attemptStartedAt?: number;
  readonly sent: boolean;
  readonly retryNote?: string;
}

export interface Engine {
  /** Rejects with HqError only for bad requests (usage, run id, unknown agent, access), never for outcomes. */
  delegate(request: DelegationRequest, options?: DelegateOptions): Promise<RunResult>;
  /** Continues a run found in the journal after a restart, without re-sending an attempt that was sent. */
  resume(run: ResumableRun, options?: DelegateOptions): Promise<RunResult>;
  agents(): readonly AgentEndpoint[];
  health(agent: string): Promise<AgentHealth>;
  /** Last known health without probing (autocomplete must never probe per keystroke). */
  cachedHealth(agent: string): AgentHealth | undefined;
  queueDepth(agent: string): number;
  /** An event-log line about a run the engine never ran (a follow-up cancelled while it waited its turn). */
  recordEvent(entry: EventEntry): void;
  /** Where a handoff PUT over HTTP enters (src/handoffs/http-listener.ts). */
  readonly handoffs: EngineHandoffs;
  /** Waiting runs are cancelled with their journal intact. */
  close(): Promise<void>;
}
