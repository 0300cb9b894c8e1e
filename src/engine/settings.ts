/**
 * What the engine reads (the bot and the CLI map their Config onto it in src/engine-settings.ts).
 * Read once when the engine is made, except `acl`, read at each delegation so a reload applies.
 */
import type { Acl } from '../access/acl.ts';
import type { AgentAddress } from './agent-address.ts';

export interface EngineSettings {
  /** Holds each agent's own directory, `<handoffDir>/<agent>/`, unless the agent names another. */
  readonly handoffDir: string;
  /** AGENTS_REGISTRY.json, read first and re-read when it changes. */
  readonly registryPath: string;
  /** Agents the registry does not name. */
  readonly fallbackAgents: Readonly<Record<string, AgentAddress>>;
  /** Sent only in the Authorization header. */
  readonly hooksToken: (agent: string) => string | undefined;
  /** What to do about a missing or refused token, e.g. `set HQ_HOOKS_TOKEN or …`. */
  readonly hooksTokenHint: (agent: string) => string;
  readonly acl: () => Acl;
  /** Defaults when the request does not say. */
  readonly defaultMaxAttempts: number;
  readonly defaultTimeoutSeconds: number;
  readonly strict: boolean;
  /** Whether the gateway announces the run itself, when neither request nor agent says. */
  readonly deliver: boolean;
  /** Ask the gateway to hold the POST until the agent's run settles (completion mode). */
  readonly waitForCompletion: boolean;
  /** After the gateway says the agent's run ended, how long the handoff may still take. */
  readonly completionGraceMs: number;
  /** Pauses before the next attempt after a bad handoff, and after a failed send. */
  readonly retryPauseMs: number;
  readonly sendRetryPauseMs: number;
  readonly healthTimeoutMs: number;
  readonly sendTimeoutMs: number;
  readonly maxConcurrentPerAgent: number;
  readonly maxHandoffBytes: number;
  /** How long text that does not parse must stay the same before it is malformed. */
  readonly handoffSettleMs: number;
  /** The handoff listener's public URL; an agent with `handoff: "http"` cannot run without it. */
  readonly handoffPublicUrl?: string | undefined;
}
