/**
 * Shared set-up for the engine's tests: temporary directories removed at teardown, a logger
 * whose lines are kept for inspection, and a Config built from the real schema.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { configFileSchema, type Config } from '../../src/config.ts';
import { createLogger, type Logger } from '../../src/log.ts';

export async function tempDir(t: TestContext, prefix = 'hq-engine-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface CapturedLog {
  readonly log: Logger;
  readonly lines: string[];
}

/** A real pino logger (with the app's redaction) writing into an array. */
export function captureLog(level = 'debug'): CapturedLog {
  const lines: string[] = [];
  const log = createLogger({
    level,
    destination: {
      write(line: string) {
        lines.push(line);
      },
    },
  });
  return { log, lines };
}

export type EngineSettings = Partial<Config['engine']>;

export interface TestConfigOptions {
  readonly root: string;
  readonly agents?: Record<string, { port: number; host?: string; deliver?: boolean }>;
  readonly acl?: Record<string, string[]>;
  readonly engine?: EngineSettings;
  readonly tokens?: Record<string, string>;
  readonly sharedToken?: string | undefined;
}

/** Fast pauses by default, so retries cost no wall time; tests override what they prove. */
export function testConfig(options: TestConfigOptions): Config {
  const file = configFileSchema.parse({
    paths: {
      handoffDir: path.join(options.root, 'handoffs'),
      logDir: path.join(options.root, 'logs'),
      stateDir: path.join(options.root, 'state'),
      registryPath: path.join(options.root, 'AGENTS_REGISTRY.json'),
    },
    agents: options.agents ?? {},
    acl: options.acl ?? { operator: Object.keys(options.agents ?? {}) },
    engine: {
      retryPauseMs: 0,
      sendRetryPauseMs: 0,
      handoffSettleMs: 200,
      completionGraceMs: 200,
      healthTimeoutMs: 1_000,
      waitForCompletion: false,
      deliver: false,
      defaultTimeoutSeconds: 5,
      ...options.engine,
    },
  });
  const tokens = options.tokens ?? {};
  const shared = 'sharedToken' in options ? options.sharedToken : 'test-hooks-token-0123456789';
  return {
    ...file,
    configPath: path.join(options.root, 'hq-delegate.config.json'),
    logLevel: 'debug',
    secrets: {
      discordToken: undefined,
      hooksToken: (agent) => tokens[agent] ?? shared,
    },
  };
}

/** Resolves when `predicate` holds, checked after each call of the returned `poke`. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
