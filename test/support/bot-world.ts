/**
 * A whole world for the bot's integration tests: the fake Discord (REST + gateway) with one
 * guild, its channels, roles and members; one fake OpenClaw gateway per agent; a temp dir for
 * handoffs; the real engine; and the real bot, started as in production and pointed at the
 * fake through config. Every piece registers its teardown the moment it exists.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadCommands } from '../../commands/index.ts';
import { configFileSchema, type Config } from '../../src/config.ts';
import { startBot, type Bot } from '../../src/discord/bot.ts';
import type { RecoveryReport } from '../../src/discord/events/recovery.ts';
import { registerCommands } from '../../src/discord/register-commands.ts';
import { createEngine } from '../../src/engine/engine.ts';
import { engineSettingsOf } from '../../src/engine-settings.ts';
import { createEventLog } from '../../src/engine/event-log.ts';
import type { Engine } from '../../src/engine/types.ts';
import { createRunStore, type RunStore } from '../../src/store/run-store.ts';
import { countDiscordErrors } from '../../src/discord/error-metrics.ts';
import { withMetrics } from '../../src/ops/journal-metrics.ts';
import { createMetrics, type Metrics } from '../../src/ops/metrics.ts';
import { EventEmitter } from 'node:events';
import { createLogger, type Logger } from '../../src/log.ts';
import { testConfig } from '../fakes/engine-harness.ts';
import { FakeDiscord, type FakeGuild, type StoredMessage } from '../fakes/fake-discord/index.ts';
import { startFakeGateway, type FakeGateway, type RequestScript } from '../fakes/fake-gateway.ts';
import { asAsyncStore } from '../../src/store/sqlite-async.ts';

export const AGENTS = ['webster', 'tech-lead', 'secretary'] as const;
export type AgentName = (typeof AGENTS)[number];

/** Who may delegate to whom in these tests. */
export const TEST_ACL = {
  manager: ['webster', 'tech-lead', 'secretary'],
  'tech-lead': ['webster', 'secretary'],
  webster: ['secretary'],
  secretary: [],
} as const;

export interface WorldOptions {
  /** Channels beside `general` and the dl- channels. Default: dl-webster and dl-tech-lead (no dl-secretary). */
  readonly channels?: readonly string[];
  /** Merged into the `discord` section; a function gets the seeded users', channels' and roles' ids. */
  readonly discord?:
    | Record<string, unknown>
    | ((users: TestUsers, channels: Readonly<Record<string, string>>, roles: TestRoles) => Record<string, unknown>);
  /** Default TEST_ACL. */
  readonly acl?: Record<string, readonly string[]>;
  readonly script?: RequestScript;
  readonly engine?: Partial<Config['engine']>;
  readonly fake?: Parameters<typeof FakeDiscord.start>[0];
  /** Default debug (kept in `logLines`); benches use warn. */
  readonly logLevel?: string;
  /** The run store in <root>/state/runs.sqlite, as in production. Default true. */
  readonly store?: boolean;
  /** How often the outbox tries pending deliveries again (after discord.js's own retries). Default 250 ms. */
  readonly deliveryRetryEveryMs?: number;
  /** More of an agent's config entry than its port (e.g. sessionKey). */
  readonly agents?: Partial<Record<AgentName, Record<string, unknown>>>;
}

export interface World {
  readonly fake: FakeDiscord;
  readonly guild: FakeGuild;
  readonly channels: Readonly<Record<string, string>>;
  readonly gateways: Readonly<Record<AgentName, FakeGateway>>;
  readonly config: Config;
  readonly engine: Engine;
  readonly bot: Bot;
  /** Absent with `store: false`. */
  readonly store: RunStore | undefined;
  /** Counted as main counts them: the engine's journal wrapped by withMetrics, the bot's own, Discord's errors. */
  readonly metrics: Metrics;
  readonly logLines: string[];
  /**
   * Stops the bot as main does on SIGTERM and starts a new engine and bot on the same store and
   * fake Discord (an in-process restart); resolves with what the new bot recovered.
   */
  restart(): Promise<RecoveryReport | undefined>;
  /** A log line (parsed) already written or still to come, e.g. the outbox's "result delivered". */
  waitForLog(
    predicate: (entry: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  readonly roles: { readonly leads: string; readonly admins: string; readonly denied: string };
  /**
   * alice: role leads (→ manager); bob: user id (→ tech-lead); erin: user id (→ secretary, whose
   * ACL row is empty); carol: unmapped; dana: admin role only; websterBot: webster's bot account;
   * strangerBot: a bot not in discord.agentBots.
   */
  readonly users: Readonly<Record<'alice' | 'bob' | 'carol' | 'dana' | 'erin' | 'websterBot' | 'strangerBot', string>>;
}

export type TestUsers = World['users'];
export type TestRoles = World['roles'];

/** The guild every bot test runs in: `general`, the dl- channels, three roles and seven members. */
export function seedGuild(
  fake: FakeDiscord,
  channels: readonly string[] = ['dl-webster', 'dl-tech-lead'],
): { guild: FakeGuild; roles: TestRoles; users: TestUsers } {
  const guild = fake.createGuild({ name: 'HQ', channels: ['general', ...channels] });
  const leads = fake.createRole({ guildId: guild.id, name: 'leads' }).id;
  const admins = fake.createRole({ guildId: guild.id, name: 'admins' }).id;
  const denied = fake.createRole({ guildId: guild.id, name: 'denied' }).id;
  const users = {
    alice: fake.createMember({ guildId: guild.id, username: 'alice', roles: [leads] }).id,
    bob: fake.createMember({ guildId: guild.id, username: 'bob' }).id,
    carol: fake.createMember({ guildId: guild.id, username: 'carol' }).id,
    dana: fake.createMember({ guildId: guild.id, username: 'dana', roles: [admins] }).id,
    erin: fake.createMember({ guildId: guild.id, username: 'erin' }).id,
    websterBot: fake.createMember({ guildId: guild.id, username: 'webster-bot', bot: true }).id,
    strangerBot: fake.createMember({ guildId: guild.id, username: 'stranger-bot', bot: true }).id,
  };
  return { guild, roles: { leads, admins, denied }, users };
}

/** The `discord` config section for that guild: who maps to which principal, admins, denials. */
export function discordSettings(
  fake: FakeDiscord,
  guild: FakeGuild,
  roles: TestRoles,
  users: TestUsers,
): Record<string, unknown> {
  return {
    apiBase: fake.apiBase,
    guildId: guild.id,
    principals: {
      users: { [users.bob]: ['tech-lead'], [users.erin]: ['secretary'] },
      roles: { [roles.leads]: ['manager'] },
    },
    agentBots: { [users.websterBot]: 'webster' },
    adminRoleIds: [roles.admins],
    denyRoleIds: [roles.denied],
  };
}

/** Where a world registers its teardown: a node:test TestContext, or the demo's own list. */
export interface Scope {
  after(fn: () => unknown): void;
}

/**
 * A teardown stack on `t`: node:test runs `after` hooks first-in first-out, a world must come
 * down last-in first-out (the bot before the fake Discord it is connected to).
 */
export function teardownStack(t: Scope): (step: () => unknown) => void {
  const steps: (() => unknown)[] = [];
  t.after(async () => {
    for (const step of steps.reverse()) await step();
  });
  return (step) => void steps.push(step);
}

export async function startWorld(t: Scope, options: WorldOptions = {}): Promise<World> {
  const onTeardown = teardownStack(t);
  const root = await mkdtemp(path.join(os.tmpdir(), 'hq-bot-'));
  onTeardown(() => rm(root, { recursive: true, force: true }));
  const { log, lines, waitForLog } = captureLog(options.logLevel ?? 'debug');

  const gateways = {} as Record<AgentName, FakeGateway>;
  for (const agent of AGENTS) {
    const gateway = await startFakeGateway({
      token: 'test-hooks-token-0123456789',
      ...(options.script ? { script: options.script } : {}),
    });
    onTeardown(() => gateway.close());
    gateways[agent] = gateway;
  }

  const fake = await FakeDiscord.start({ heartbeatIntervalMs: 30_000, ...options.fake });
  onTeardown(() => fake.close());
  const { guild, roles, users } = seedGuild(fake, options.channels);
  const base = testConfig({
    root,
    agents: Object.fromEntries(
      AGENTS.map((agent) => [agent, { port: gateways[agent].port, ...options.agents?.[agent] }]),
    ),
    acl: structuredClone(options.acl ?? TEST_ACL) as unknown as Record<string, string[]>,
    ...(options.engine ? { engine: options.engine } : {}),
  });
  const discord = configFileSchema.shape.discord.parse({
    ...discordSettings(fake, guild, roles, users),
    progressEditIntervalMs: 250,
    ...(typeof options.discord === 'function' ? options.discord(users, guild.channels, roles) : options.discord),
  });
  const config: Config = {
    ...base,
    discord,
    secrets: { discordToken: fake.token, hooksToken: base.secrets.hooksToken },
  };

  const { commands } = await loadCommands();
  await registerCommands(config, fake.token, commands);
  const store = options.store === false ? undefined : createRunStore(path.join(config.paths.stateDir, 'runs.sqlite'));
  if (store) onTeardown(() => store.close());
  // The bot and engine take the async interface; tests read the same connection synchronously.
  const asyncStore = store && asAsyncStore(store);
  const metrics = createMetrics({ defaultMetrics: false });
  const launch = async (): Promise<{ engine: Engine; bot: Bot; stop: () => Promise<void> }> => {
    const eventLog = createEventLog({ dir: config.paths.logDir });
    const engine = createEngine({
      settings: engineSettingsOf(config),
      log,
      eventLog,
      journal: withMetrics(asyncStore, metrics),
      sendRetryDelaysMs: [0, 0],
    });
    const bot = startBot({
      config,
      engine,
      log,
      metrics,
      commands,
      healthRefreshMs: 60_000,
      deliveryRetryEveryMs: options.deliveryRetryEveryMs ?? 250,
      eventLog,
      ...(asyncStore ? { store: asyncStore } : {}),
    });
    countDiscordErrors(bot.client, metrics);
    // As main does: stop taking work, close the engine under the runs, then the connection.
    const stop = async (): Promise<void> => {
      bot.beginShutdown();
      await engine.close();
      await bot.stop({ graceMs: 1_000 });
    };
    await bot.ready;
    await bot.recovered;
    return { engine, bot, stop };
  };
  let current = await launch();
  onTeardown(() => current.stop());

  return {
    fake,
    guild,
    channels: guild.channels,
    gateways,
    config,
    get engine() {
      return current.engine;
    },
    get bot() {
      return current.bot;
    },
    store,
    metrics,
    logLines: lines,
    waitForLog,
    roles,
    users,
    async restart() {
      await current.stop();
      current = await launch();
      return current.bot.recovered;
    },
  };
}

/** The app's logger writing into an array, with a way to await a line. */
function captureLog(level: string): { log: Logger; lines: string[]; waitForLog: World['waitForLog'] } {
  const lines: string[] = [];
  const written = new EventEmitter();
  const log = createLogger({
    level,
    destination: {
      write(line: string) {
        lines.push(line);
        written.emit('line');
      },
    },
  });
  const waitForLog: World['waitForLog'] = (predicate, timeoutMs = 10_000) =>
    new Promise((resolve, reject) => {
      let checked = 0;
      const check = (): void => {
        for (; checked < lines.length; checked += 1) {
          const entry = JSON.parse(lines[checked]!) as Record<string, unknown>;
          if (predicate(entry)) {
            clearTimeout(timer);
            written.off('line', check);
            resolve(entry);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        written.off('line', check);
        reject(new Error(`no such log line within ${timeoutMs} ms`));
      }, timeoutMs);
      written.on('line', check);
      check();
    });
  return { log, lines, waitForLog };
}

/** Every message the bot sent (created or edited) carried allowed_mentions that ping nobody. */
export function assertNoPings(world: Pick<World, 'fake'>): void {
  const offenders: string[] = [];
  for (const message of world.fake.botMessages()) {
    for (const body of message.requestBodies) {
      // A deferred response ("thinking…") carries nothing that could ping.
      const data = ((body as { data?: unknown })?.data ?? body) as Record<string, unknown> | undefined;
      const carries = (key: string): boolean => {
        const value = data?.[key];
        return Array.isArray(value) ? value.length > 0 : typeof value === 'string' && value.length > 0;
      };
      if (!['content', 'embeds', 'components', 'attachments'].some(carries)) continue;
      const mentions = (
        body as { allowed_mentions?: { parse?: unknown[]; users?: unknown[]; roles?: unknown[] } } | undefined
      )?.allowed_mentions;
      const ok =
        mentions !== undefined &&
        Array.isArray(mentions.parse) &&
        mentions.parse.length === 0 &&
        !mentions.users?.length &&
        !mentions.roles?.length;
      if (!ok) offenders.push(`${message.id} (${message.source}): ${JSON.stringify(mentions)}`);
    }
  }
  if (offenders.length > 0)
    throw new Error(`messages sent without allowed_mentions { parse: [] }:\n${offenders.join('\n')}`);
}

/** The text an ephemeral refusal (or any follow-up) of an interaction carries. */
export function texts(messages: readonly StoredMessage[]): string {
  return messages.map((message) => message.content).join('\n');
}

/**
 * The answer an interaction got that only its user may see: an ephemeral reply or follow-up,
 * never a public message. (When a public deferred reply is deleted and followed up, the fake
 * Discord currently folds the follow-up into the deleted "thinking…" message; that is still
 * not public, so it is accepted here too.)
 */
export async function privateAnswer(
  world: Pick<World, 'fake'>,
  interactionId: string,
  timeoutMs = 5_000,
): Promise<StoredMessage> {
  const find = (): StoredMessage | undefined =>
    world.fake.allMessages().find((m) => m.interactionId === interactionId && m.content.length > 0 && !m.loading);
  const found =
    find() ??
    (await new Promise<StoredMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        offs.forEach((off) => off());
        reject(new Error(`no answer to interaction ${interactionId} within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = (): void => {
        const message = find();
        if (!message) return;
        clearTimeout(timer);
        offs.forEach((off) => off());
        resolve(message);
      };
      const offs = [world.fake.on('message_create', check), world.fake.on('message_update', check)];
    }));
  if (!found.ephemeral && !found.deleted)
    throw new Error(`the answer to interaction ${interactionId} is public: ${found.content}`);
  return found;
}
