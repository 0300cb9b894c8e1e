/**
 * What the engine reads, and nothing more. The bot and the CLI map their Config onto it with
 * engineSettingsOf (src/engine-settings.ts); tests build one directly.
 *
 * Everything here is read once, when the engine is made (pools, queue, watcher and registry are
 * built on it; changing it needs a restart), except `acl`: a function, read at each delegation,
 * so that a hot-reloaded ACL applies to the next request.
 */
import type { Acl } from '../access/acl.ts';
import type { FallbackAgent } from './agent-registry.ts';

export interface EngineSettings {
  /** Where agents write `<runId>.json`. */
  readonly handoffDir: string;
  /** AGENTS_REGISTRY.json, read first and re-read when it changes. */
  readonly registryPath: string;
  /** Agents the registry does not name. */
  readonly fallbackAgents: Readonly<Record<string, FallbackAgent>>;
  /** The hooks token for an agent's gateway; sent only in the Authorization header. */
  readonly hooksToken: (agent: string) => string | undefined;
  /** What an operator should do about a missing or refused token, e.g. `set HQ_HOOKS_TOKEN or …`. */
  readonly hooksTokenHint: (agent: string) => string;
  /** Who may delegate to whom, as in force at this moment. */
  readonly acl: () => Acl;

  /** Attempts when the request names none (1–3). */
  readonly defaultMaxAttempts: number;
  /** Each attempt's wait when the request names none. */
  readonly defaultTimeoutSeconds: number;
  /** Strict handoff validation when the request does not say. */
  readonly strict: boolean;
  /** Whether the gateway announces the run itself, when neither request nor agent says. */
  readonly deliver: boolean;
  /** Ask the gateway to hold the POST until the agent's run settles (completion mode). */
  readonly waitForCompletion: boolean;
  /** After the gateway says the agent's run ended, how long the handoff may still take. */
  readonly completionGraceMs: number;
  /** Pause before the next attempt after a bad handoff. */
  readonly retryPauseMs: number;
  /** Pause before the next attempt after a failed send. */
  readonly sendRetryPauseMs: number;
  readonly healthTimeoutMs: number;
  readonly sendTimeoutMs: number;
  readonly maxConcurrentPerAgent: number;
  /** Handoff files over this size are refused unread. */
  readonly maxHandoffBytes: number;
  /** How long text that does not parse must stay the same before it is malformed. */
  readonly handoffSettleMs: number;
}
