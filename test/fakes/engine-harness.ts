/**
 * Shared set-up for the engine's tests: temporary directories removed at teardown, a logger
 * whose lines are kept for inspection, a Config built from the real schema, a journal that
 * records its calls, and a full engine wired to a fake gateway.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { configFileSchema, REFERENCE_ACL, type Config } from '../../src/config.ts';
import type { AgentAddress } from '../../src/engine/agent-address.ts';
import { createEngine } from '../../src/engine/engine.ts';
import { engineSettingsOf } from '../../src/engine-settings.ts';
import { createEventLog } from '../../src/engine/event-log.ts';
import type { Engine, JournalRun, RunJournal, RunProgress, RunResult } from '../../src/engine/types.ts';
import { createLogger, type Logger } from '../../src/log.ts';
import { startFakeGateway, type FakeGateway, type FakeGatewayOptions } from './fake-gateway.ts';

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

export type EngineTuning = Partial<Config['engine']>;

export interface TestConfigOptions {
  readonly root: string;
  readonly agents?: Record<string, AgentAddress>;
  readonly acl?: Record<string, string[]>;
  readonly engine?: EngineTuning | undefined;
  readonly tokens?: Record<string, string>;
  readonly sharedToken?: string | undefined;
}

/** No pauses and short settle/grace/health windows: retries cost no wall time in tests. */
export const FAST_ENGINE_SETTINGS = {
  retryPauseMs: 0,
  sendRetryPauseMs: 0,
  handoffSettleMs: 150,
  completionGraceMs: 150,
  healthTimeoutMs: 1_000,
  waitForCompletion: false,
} as const;

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
      ...FAST_ENGINE_SETTINGS,
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

export interface JournalCall {
  readonly method: keyof RunJournal;
  readonly args: readonly unknown[];
}

/** A RunJournal that keeps every call, in order. */
export function recordingJournal(): RunJournal & { readonly calls: JournalCall[]; methods(): string[] } {
  const calls: JournalCall[] = [];
  const record =
    (method: keyof RunJournal) =>
    async (...args: unknown[]): Promise<void> => {
      calls.push({ method, args });
    };
  return {
    calls,
    methods: () => calls.map((call) => call.method),
    runAccepted: record('runAccepted') as (run: JournalRun) => Promise<void>,
    attemptStarted: record('attemptStarted'),
    attemptSent: record('attemptSent'),
    attemptEnded: record('attemptEnded'),
    runFinished: record('runFinished') as (result: RunResult) => Promise<void>,
  };
}

export interface EngineFixture {
  readonly root: string;
  readonly handoffDir: string;
  readonly gateway: FakeGateway;
  readonly engine: Engine;
  readonly config: Config;
  readonly captured: CapturedLog;
  readonly journal: ReturnType<typeof recordingJournal>;
  /** Every JSONL event line written so far, parsed. */
  events(): Promise<Record<string, unknown>[]>;
  /** Every JSONL event line, raw. */
  eventLines(): Promise<string[]>;
}

export interface FixtureOptions {
  readonly gateway?: FakeGatewayOptions;
  readonly engine?: EngineTuning;
  readonly acl?: Record<string, string[]>;
  /** The token the engine sends; default the fake gateway's. */
  readonly token?: string;
  readonly agent?: string;
  /** More of the agent's config entry than its port (sessionKey, agentId, maxBodyBytes…). */
  readonly agentEntry?: Omit<AgentAddress, 'port' | 'url' | 'host'>;
}

/**
 * An engine on a fake gateway registered as agent `tech-lead` (or `options.agent`), with the
 * reference ACL. Teardown, in order: engine, gateway, directory.
 */
export async function engineFixture(t: TestContext, options: FixtureOptions = {}): Promise<EngineFixture> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'hq-engine-'));
  const gateway = await startFakeGateway(options.gateway);
  const agent = options.agent ?? 'tech-lead';
  const config = testConfig({
    root,
    agents: { [agent]: { port: gateway.port, ...options.agentEntry } },
    acl: options.acl ?? (REFERENCE_ACL as Record<string, string[]>),
    engine: options.engine,
    sharedToken: options.token ?? gateway.token,
  });
  const captured = captureLog();
  const journal = recordingJournal();
  const engine = createEngine({
    settings: engineSettingsOf(config),
    log: captured.log,
    eventLog: createEventLog({ dir: config.paths.logDir }),
    journal,
    sendRetryDelaysMs: [0, 0],
  });
  t.after(async () => {
    await engine.close();
    await gateway.close();
    await rm(root, { recursive: true, force: true });
  });
  const eventLines = async (): Promise<string[]> => {
    const files = await readdir(config.paths.logDir).catch(() => [] as string[]);
    const texts = await Promise.all(files.sort().map((file) => readFile(path.join(config.paths.logDir, file), 'utf8')));
    return texts
      .join('')
      .split('\n')
      .filter((line) => line !== '');
  };
  return {
    root,
    handoffDir: config.paths.handoffDir,
    gateway,
    engine,
    config,
    captured,
    journal,
    eventLines,
    events: async () => (await eventLines()).map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** Collects progress events; `until(type)` resolves when one of that type arrives. */
export function progressRecorder(): {
  readonly seen: RunProgress[];
  readonly onProgress: (progress: RunProgress) => void;
  until<T extends RunProgress['type']>(type: T): Promise<Extract<RunProgress, { type: T }>>;
} {
  const seen: RunProgress[] = [];
  const waiters: { type: string; resolve: (progress: RunProgress) => void }[] = [];
  return {
    seen,
    onProgress(progress) {
      seen.push(progress);
      for (const waiter of waiters.filter((candidate) => candidate.type === progress.type)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(progress);
      }
    },
    until(type) {
      const already = seen.find((progress) => progress.type === type);
      if (already !== undefined) return Promise.resolve(already as never);
      return new Promise((resolve) => waiters.push({ type, resolve: resolve as (progress: RunProgress) => void }));
    },
  };
}
