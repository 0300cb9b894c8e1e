/**
 * The orchestrate CLI as a test drives it: a temp dir with a config file for HQ_CONFIG, a
 * registry, one fake gateway as `webster`, and the CLI run as a real child process.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { startFakeGateway, type FakeGateway, type FakeGatewayOptions } from '../fakes/fake-gateway.ts';

/** The bin as package.json declares it (`node <it>` is the npm script). */
export const LAUNCHER = path.resolve(import.meta.dirname, '../../src/cli/orchestrate.mjs');
/** A whole CLI run must end well inside this (a bound, not a timed assertion). */
const RUN_LIMIT_MS = 30_000;

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly json: Record<string, unknown>;
}

export interface CliWorld {
  readonly root: string;
  readonly handoffDir: string;
  readonly logDir: string;
  readonly gateway: FakeGateway;
  run(
    args: readonly string[],
    options?: { env?: NodeJS.ProcessEnv; onSpawn?: (child: ReturnType<typeof spawn>) => void },
  ): Promise<CliRun>;
  events(): Promise<Record<string, unknown>[]>;
}

export interface WorldOptions {
  readonly gateway?: FakeGatewayOptions;
  readonly acl?: Record<string, string[]>;
  readonly operatorPrincipal?: string;
  readonly engine?: Record<string, unknown>;
  readonly discord?: Record<string, unknown>;
  /** Merged into webster's `agents` entry (e.g. `handoff: "http"`). */
  readonly agent?: Record<string, unknown>;
  readonly handoffListener?: Record<string, unknown>;
}

/** A temp dir with a config file for HQ_CONFIG, a registry, and one fake gateway as `webster`. */
export async function cliWorld(t: TestContext, options: WorldOptions = {}): Promise<CliWorld> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'hq-cli-'));
  const gateway = await startFakeGateway(options.gateway);
  t.after(async () => {
    await gateway.close();
    await rm(root, { recursive: true, force: true });
  });
  const configPath = path.join(root, 'hq-delegate.config.json');
  await writeFile(
    path.join(root, 'AGENTS_REGISTRY.json'),
    JSON.stringify({ agents: { webster: { port: gateway.port, ...options.agent } } }),
  );
  await writeFile(
    configPath,
    JSON.stringify({
      paths: { handoffDir: 'handoffs', logDir: 'logs', stateDir: 'state', registryPath: 'AGENTS_REGISTRY.json' },
      agents: { webster: { port: gateway.port, ...options.agent } },
      ...(options.handoffListener ? { handoffListener: options.handoffListener } : {}),
      ...(options.acl ? { acl: options.acl } : {}),
      ...(options.operatorPrincipal ? { operatorPrincipal: options.operatorPrincipal } : {}),
      engine: {
        retryPauseMs: 0,
        sendRetryPauseMs: 0,
        handoffSettleMs: 150,
        completionGraceMs: 300,
        healthTimeoutMs: 2_000,
        ...options.engine,
      },
      ...(options.discord ? { discord: options.discord } : {}),
    }),
  );
  const logDir = path.join(root, 'logs');
  return {
    root,
    handoffDir: path.join(root, 'handoffs'),
    logDir,
    gateway,
    run(args, runOptions = {}) {
      // Only what the CLI needs: no inherited HQ_* or DISCORD_TOKEN, and cwd in the temp dir so no .env is read.
      const env = {
        PATH: process.env.PATH,
        HOME: root,
        HQ_CONFIG: configPath,
        HQ_HOOKS_TOKEN: gateway.token,
        ...runOptions.env,
      };
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [LAUNCHER, ...args], {
          cwd: root,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
        const killer = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
        child.on('error', reject);
        child.on('close', (code) => {
          clearTimeout(killer);
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(stdout) as Record<string, unknown>;
          } catch {
            // text output, or nothing
          }
          resolve({ code, stdout, stderr, json });
        });
        runOptions.onSpawn?.(child);
      });
    },
    async events() {
      const files = await readdir(logDir).catch(() => [] as string[]);
      const texts = await Promise.all(
        files.filter((file) => file.endsWith('.jsonl')).map((file) => readFile(path.join(logDir, file), 'utf8')),
      );
      return texts
        .join('')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    },
  };
}
