/**
 * The real bot as a child process, for the tests that kill it: `node src/main.ts` with a temp
 * config pointing `discord.apiBase` at a fake Discord in the test process, fake gateways for
 * the agents, and a state directory (the real sqlite file) that outlives each process, so a
 * test can start the bot, SIGTERM or SIGKILL it at a chosen point, and start it again.
 *
 * Readiness and everything else are awaited on the bot's own log lines (pino JSON on
 * stderr) or on the fakes' events; nothing sleeps. Every process started is killed at
 * teardown if the test has not stopped it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseConfigFile, type Config } from '../../src/config.ts';
import { loadCommands } from '../../commands/index.ts';
import { registerCommands } from '../../src/discord/register-commands.ts';
import { createRunStore, type RunStore } from '../../src/store/run-store.ts';
import { FakeDiscord, type FakeDiscordOptions, type FakeGuild } from '../fakes/fake-discord/index.ts';
import {
  handoffText,
  startFakeGateway,
  type FakeGateway,
  type HandoffKind,
  type RequestScript,
} from '../fakes/fake-gateway.ts';
import { FAST_ENGINE_SETTINGS } from '../fakes/engine-harness.ts';
import {
  AGENTS,
  discordSettings,
  seedGuild,
  TEST_ACL,
  teardownStack,
  type AgentName,
  type Scope,
  type TestRoles,
  type TestUsers,
} from './bot-world.ts';

const MAIN = path.resolve(import.meta.dirname, '../../src/main.ts');
const CLOCK_OFFSET = path.resolve(import.meta.dirname, 'clock-offset.ts');
const STORE_CAP = path.resolve(import.meta.dirname, 'store-cap.ts');
const HOOKS_TOKEN = 'test-hooks-token-0123456789';
/**
 * Shared by every process the tests start: discord.js alone takes over a second to compile on
 * a busy 2-core machine, and each test starts the bot two or three times.
 */
const COMPILE_CACHE = path.join(os.tmpdir(), `hq-delegate-compile-cache-${os.userInfo().uid}`);
/** Generous: a busy 2-core machine starts a TypeScript process in a few seconds. */
export const PROCESS_TIMEOUT_MS = 30_000;

export interface LogLine {
  readonly level?: number;
  readonly msg?: string;
  readonly [field: string]: unknown;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** From the last `kill` to the exit. */
  readonly msAfterSignal: number | undefined;
}

export interface BotProcess {
  readonly child: ChildProcess;
  /** Every line the process wrote to stderr, parsed (a line that is not JSON has only `msg`). */
  readonly lines: readonly LogLine[];
  readonly exited: Promise<ExitInfo>;
  /** The ops server's base URL, from its log line. */
  readonly opsUrl: string;
  /** A log line (from line `from` on, default all), existing or future; rejects when the process exits first or time runs out. */
  waitForLog(
    predicate: (line: LogLine) => boolean,
    options?: { readonly from?: number; readonly timeoutMs?: number },
  ): Promise<LogLine>;
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, then the exit. */
  stop(): Promise<ExitInfo>;
  /** The tail of stderr, for assertion messages. */
  stderr(): string;
}

export interface ProcessWorldOptions {
  readonly channels?: readonly string[];
  /** Merged into the config file's `discord` section. */
  readonly discord?: Record<string, unknown>;
  readonly engine?: Record<string, unknown>;
  readonly script?: RequestScript;
  readonly fake?: FakeDiscordOptions;
  /** Merged into the config file (the PostgreSQL store and its lease, say). */
  readonly file?: Record<string, unknown>;
  /** Added to every process's environment. */
  readonly env?: Record<string, string>;
}

export interface StartOptions {
  /** The bot process's `Date.now()` runs this far ahead (clock-offset.ts). */
  readonly clockOffsetMs?: number;
  /** SIGUSR2 then stops the store's file from growing (store-cap.ts): a full disk. */
  readonly storeCap?: boolean;
  /** Another config file for this process (a replica with its own listener port, say). */
  readonly configPath?: string;
  /** The log line `start` resolves on; default "hq-delegate is running" (a leader, ready). */
  readonly until?: string;
}

export interface ProcessWorld {
  readonly fake: FakeDiscord;
  readonly guild: FakeGuild;
  readonly channels: Readonly<Record<string, string>>;
  readonly users: TestUsers;
  readonly roles: TestRoles;
  readonly gateways: Readonly<Record<AgentName, FakeGateway>>;
  readonly dir: string;
  readonly configPath: string;
  readonly handoffDir: string;
  readonly storePath: string;
  /** The config file as last written. */
  configFile(): Record<string, unknown>;
  /** Replaces the config file the way editors save (a new file renamed over it). */
  writeConfig(text: string): Promise<void>;
  /** Starts `node src/main.ts` and resolves once it logs "hq-delegate is running". */
  start(options?: StartOptions): Promise<BotProcess>;
  /** The run store file, opened in the test process (closed at teardown). */
  openStore(): RunStore;
  /**
   * Writes the run's handoff as its agent would (a temp file renamed into place), at the path
   * the prompt named: the agent's directory and the secret the store journaled for the run.
   */
  writeHandoff(runId: string, agent: string, kind?: HandoffKind): Promise<void>;
}

export async function startProcessWorld(t: Scope, options: ProcessWorldOptions = {}): Promise<ProcessWorld> {
  const onTeardown = teardownStack(t);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hq-process-'));
  onTeardown(() => rm(dir, { recursive: true, force: true }));

  const gateways = {} as Record<AgentName, FakeGateway>;
  for (const agent of AGENTS) {
    const gateway = await startFakeGateway({
      token: HOOKS_TOKEN,
      ...(options.script ? { script: options.script } : {}),
    });
    onTeardown(() => gateway.close());
    gateways[agent] = gateway;
  }
  const fake = await FakeDiscord.start({
    heartbeatIntervalMs: 30_000,
    defaultTimeoutMs: PROCESS_TIMEOUT_MS,
    ...options.fake,
  });
  onTeardown(() => fake.close());
  const { guild, roles, users } = seedGuild(fake, options.channels);

  const configPath = path.join(dir, 'hq-delegate.config.json');
  let file: Record<string, unknown> = {
    paths: { handoffDir: './handoffs', logDir: './logs', stateDir: './state', registryPath: './AGENTS_REGISTRY.json' },
    agents: Object.fromEntries(AGENTS.map((agent) => [agent, { port: gateways[agent].port }])),
    acl: structuredClone(TEST_ACL),
    engine: {
      ...FAST_ENGINE_SETTINGS,
      defaultTimeoutSeconds: 60,
      ...options.engine,
    },
    discord: { ...discordSettings(fake, guild, roles, users), progressEditIntervalMs: 250, ...options.discord },
    ops: { port: 0 },
    ...options.file,
  };
  const text = JSON.stringify(file, null, 2);
  await writeFile(configPath, text);
  const parsed: Config = {
    ...parseConfigFile(text, configPath),
    configPath,
    logLevel: 'warn',
    secrets: { discordToken: fake.token, hooksToken: () => HOOKS_TOKEN },
  };
  await registerCommands(parsed, fake.token, (await loadCommands()).commands);

  const stores: RunStore[] = [];
  onTeardown(() => stores.forEach((store) => store.close()));

  return {
    fake,
    guild,
    channels: guild.channels,
    users,
    roles,
    gateways,
    dir,
    configPath,
    handoffDir: parsed.paths.handoffDir,
    storePath: path.join(parsed.paths.stateDir, 'runs.sqlite'),
    configFile: () => structuredClone(file),
    async writeConfig(next) {
      const temporary = `${configPath}.tmp-${process.pid}`;
      await writeFile(temporary, next);
      await rename(temporary, configPath);
      try {
        file = JSON.parse(next) as Record<string, unknown>;
      } catch {
        // A broken edit is the point of some tests; `configFile()` keeps the last JSON.
      }
    },
    async start(startOptions = {}) {
      const env = {
        ...options.env,
        DISCORD_TOKEN: fake.token,
        HQ_CONFIG: startOptions.configPath ?? configPath,
        HQ_HOOKS_TOKEN: HOOKS_TOKEN,
        LOG_LEVEL: 'info',
      };
      const offset = startOptions.clockOffsetMs;
      const bot = spawnBot(dir, offset === undefined ? env : { ...env, TEST_CLOCK_OFFSET_MS: String(offset) }, [
        ...(offset === undefined ? [] : ['--import', CLOCK_OFFSET]),
        ...(startOptions.storeCap ? ['--import', STORE_CAP] : []),
      ]);
      onTeardown(async () => {
        if (bot.child.exitCode === null && bot.child.signalCode === null) bot.kill('SIGKILL');
        await bot.exited;
      });
      const until = startOptions.until ?? 'hq-delegate is running';
      await bot.waitForLog((line) => line.msg === until);
      return bot;
    },
    openStore() {
      const store = createRunStore(path.join(parsed.paths.stateDir, 'runs.sqlite'));
      stores.push(store);
      return store;
    },
    async writeHandoff(runId, agent, kind = 'valid') {
      const store = createRunStore(path.join(parsed.paths.stateDir, 'runs.sqlite'));
      const secret = store.listResumable().find((run) => run.runId === runId)?.handoffSecret;
      store.close();
      if (secret === undefined) throw new Error(`run ${runId} is not open in the store`);
      const target = path.join(parsed.paths.handoffDir, agent, `${runId}.${secret}.json`);
      await writeFile(`${target}.tmp`, handoffText(kind, runId, agent));
      await rename(`${target}.tmp`, target);
    },
  };
}

function spawnBot(
  cwd: string,
  env: Record<string, string>,
  nodeArgs: readonly string[],
): BotProcess & { opsUrl: string } {
  // Only what the process needs: no DISCORD_TOKEN or HQ_* from the developer's shell.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(DISCORD_|HQ_|LOG_LEVEL$)/.test(key)),
  );
  const child = spawn(process.execPath, [...nodeArgs, MAIN], {
    cwd,
    env: { NODE_COMPILE_CACHE: COMPILE_CACHE, ...inherited, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines: LogLine[] = [];
  const listeners = new Set<() => void>();
  let raw = '';
  let pending = '';
  let signalledAt: number | undefined;
  let exitInfo: ExitInfo | undefined;

  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    raw = (raw + chunk).slice(-20_000);
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const text = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (text.trim() === '') continue;
      try {
        lines.push(JSON.parse(text) as LogLine);
      } catch {
        lines.push({ msg: text });
      }
    }
    for (const listener of [...listeners]) listener();
  });
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = {
        code,
        signal,
        msAfterSignal: signalledAt === undefined ? undefined : performance.now() - signalledAt,
      };
      resolve(exitInfo);
      for (const listener of [...listeners]) listener();
    });
  });

  const bot: BotProcess & { opsUrl: string } = {
    child,
    lines,
    exited,
    get opsUrl(): string {
      const line = lines.find((entry) => entry.msg === 'ops server listening');
      if (typeof line?.url !== 'string') throw new Error('the ops server has not said where it listens');
      return line.url;
    },
    stderr: () => raw.slice(-4_000),
    waitForLog(predicate, options = {}) {
      const timeoutMs = options.timeoutMs ?? PROCESS_TIMEOUT_MS;
      return new Promise<LogLine>((resolve, reject) => {
        let checked = options.from ?? 0;
        const check = (): void => {
          for (; checked < lines.length; checked += 1) {
            if (predicate(lines[checked]!)) return done(() => resolve(lines[checked]!));
          }
          if (exitInfo)
            done(() =>
              reject(
                new Error(
                  `the bot exited (${exitInfo!.code ?? exitInfo!.signal}) before the awaited log line:\n${bot.stderr()}`,
                ),
              ),
            );
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`no such log line within ${timeoutMs} ms:\n${bot.stderr()}`))),
          timeoutMs,
        );
        const done = (settle: () => void): void => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
    kill(signal) {
      signalledAt = performance.now();
      child.kill(signal);
    },
    async stop() {
      bot.kill('SIGTERM');
      return exited;
    },
  };
  return bot;
}
