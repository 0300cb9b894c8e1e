/**
 * A throwaway world for one scenario: temp handoff/log/state dirs, an AGENTS_REGISTRY.json
 * (read by both the engine and the reference script), and a config file for HQ_CONFIG.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
/** The hooks token the fake gateways accept; a fixed test value, not a secret. */
export const BENCH_HOOKS_TOKEN = 'bench-hooks-token';

export interface Workspace {
  readonly root: string;
  readonly handoffDir: string;
  readonly logDir: string;
  readonly stateDir: string;
  readonly registryPath: string;
  readonly configPath: string;
  /** Environment for the CLI (and the engine's secrets) pointing at this workspace. */
  readonly env: NodeJS.ProcessEnv;
  dispose(): void;
}

export interface WorkspaceOptions {
  /** agent name → port on 127.0.0.1 */
  readonly agents: Readonly<Record<string, number>>;
  /** Merged over the defaults into the config file's `engine` section. */
  readonly engine?: Readonly<Record<string, unknown>>;
  readonly acl?: Readonly<Record<string, readonly string[]>>;
  /** Merged into every agent's config entry (e.g. `handoff: "http"`). */
  readonly agentFields?: Readonly<Record<string, unknown>>;
  /** More top-level config keys (e.g. `handoffListener`). */
  readonly extraConfig?: Readonly<Record<string, unknown>>;
  /** Merged into an agent's entry in the config file's `agents` (e.g. `handoffPoll`). */
  readonly agentConfig?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

export function createWorkspace(label: string, options: WorkspaceOptions): Workspace {
  const root = mkdtempSync(path.join(os.tmpdir(), `hq-bench-${label}-`));
  const dirs = { handoffDir: 'handoffs', logDir: 'logs', stateDir: 'state' } as const;
  for (const dir of Object.values(dirs)) mkdirSync(path.join(root, dir));
  const registryPath = path.join(root, 'AGENTS_REGISTRY.json');
  // An agent the registry names is reached only as the registry says, so its extra fields go there too.
  const agents = Object.fromEntries(
    Object.entries(options.agents).map(([name, port]) => [
      name,
      { port, ...options.agentFields, ...options.agentConfig?.[name] },
    ]),
  );
  writeFileSync(registryPath, JSON.stringify({ agents }, null, 2));
  const configPath = path.join(root, 'hq-delegate.config.json');
  const config = {
    paths: {
      handoffDir: dirs.handoffDir,
      logDir: dirs.logDir,
      stateDir: dirs.stateDir,
      registryPath: 'AGENTS_REGISTRY.json',
    },
    agents: Object.fromEntries(
      Object.entries(options.agents).map(([name, port]) => [
        name,
        { port, host: '127.0.0.1', ...options.agentFields, ...options.agentConfig?.[name] },
      ]),
    ),
    ...(options.acl ? { acl: options.acl } : {}),
    ...options.extraConfig,
    engine: { retryPauseMs: 0, sendRetryPauseMs: 0, ...options.engine },
  };
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  return {
    root,
    handoffDir: path.join(root, dirs.handoffDir),
    logDir: path.join(root, dirs.logDir),
    stateDir: path.join(root, dirs.stateDir),
    registryPath,
    configPath,
    env: { HQ_CONFIG: configPath, HQ_HOOKS_TOKEN: BENCH_HOOKS_TOKEN, LOG_LEVEL: 'warn' },
    dispose() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}
