/**
 * The script we replace, run the way it runs in production (python3, its inotify path through
 * the shim), pointed at a bench workspace through its SEED_* variables. In CI, ../shared sits
 * beside the clone; without it (or without python3) the reference figures are left out.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { BENCH_HOOKS_TOKEN, REPO_ROOT, type Workspace } from './workspace.ts';

export const REFERENCE_SCRIPT = path.resolve(REPO_ROOT, '../shared/reference/orchestrate.py');
export const REFERENCE_SHIM = path.resolve(REPO_ROOT, '../shared/reference/shim');

/** Why the reference cannot run here, or undefined when it can. */
export function referenceUnavailable(): string | undefined {
  if (!existsSync(REFERENCE_SCRIPT)) return `${REFERENCE_SCRIPT} not found`;
  const python = spawnSync('python3', ['--version'], { stdio: 'ignore' });
  if (python.error || python.status !== 0) return 'python3 not found';
  const curl = spawnSync('curl', ['--version'], { stdio: 'ignore' });
  if (curl.error || curl.status !== 0) return 'curl not found (the reference sends with it)';
  return undefined;
}

export function referenceEnv(workspace: Workspace): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    PYTHONPATH: REFERENCE_SHIM,
    SEED_HANDOFF_DIR: workspace.handoffDir,
    SEED_LOG_DIR: workspace.logDir,
    SEED_REGISTRY_PATH: workspace.registryPath,
    SEED_ORCHESTRATE_DIR: workspace.root,
    SEED_GATEWAY_TOKEN: BENCH_HOOKS_TOKEN,
  };
}

export function referenceCommand(args: readonly string[]): { command: string; args: string[] } {
  return { command: 'python3', args: [REFERENCE_SCRIPT, ...args] };
}
