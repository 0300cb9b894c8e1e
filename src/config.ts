/**
 * Configuration is parsed once into a typed value that is passed down; nobody else reads
 * process.env. Tokens come only from the environment, everything else from one JSON file whose
 * every key has a default. A bad value names the file, the key and what was expected.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import { agentAddressFields, checkAddress, endpointOf, sharedAddress } from './engine/agent-address.ts';
import { ConfigError } from './errors.ts';

/** The reference script's port map: the fallback when AGENTS_REGISTRY.json has no entry. */
const REFERENCE_AGENT_PORTS: Readonly<Record<string, number>> = {
  manager: 18800,
  'tech-lead': 18804,
  secretary: 18808,
  auditor: 18812,
  optimizer: 18816,
  'study-builder': 18820,
  'nx-expert': 18824,
  webster: 18828,
};

/** The reference script's delegation table, plus the CLI's `operator` (it may reach every agent). */
export const REFERENCE_ACL: Readonly<Record<string, readonly string[]>> = {
  manager: ['tech-lead', 'auditor', 'optimizer', 'study-builder', 'nx-expert', 'webster', 'secretary'],
  'tech-lead': ['webster', 'nx-expert', 'study-builder', 'secretary'],
  optimizer: ['webster', 'study-builder', 'secretary'],
  operator: Object.keys(REFERENCE_AGENT_PORTS),
};

const AGENT_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const agentName = z
  .string()
  .regex(AGENT_NAME, 'an agent name: lowercase letters, digits, "-" or "_", at most 32 characters');
const principalName = z.string().min(1).max(64);
const snowflake = z.string().regex(/^\d{15,21}$/, 'a Discord id (a snowflake: 15 to 21 digits)');
/** Resolved against the working directory. */
export const DEFAULT_CONFIG_PATH = './hq-delegate.config.json';
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** An agent's address (agent-address.ts), for the agents AGENTS_REGISTRY.json does not name. */
const fallbackAgentSchema = z
  .strictObject({
    ...agentAddressFields,
    /** Whether the gateway should announce the run itself; the bot's embed is the delivery. */
    deliver: z.boolean().optional(),
  })
  .superRefine(checkAddress);

/** Two agents at one address would get each other's tasks (and tokens). */
function refuseSharedAddresses(agents: Record<string, z.infer<typeof fallbackAgentSchema>>, context: z.RefinementCtx) {
  const shared = sharedAddress(Object.entries(agents).map(([name, entry]) => endpointOf(name, entry, '.')));
  if (shared === undefined) return;
  const [first, second, address] = shared;
  context.addIssue({ code: 'custom', message: `agents '${first}' and '${second}' share the address ${address}` });
}
/** Who must approve a delegation before it starts (access/approval-policy.ts combines the levels). */
const approvalRuleSchema = z
  .strictObject({
    approverRoleIds: z.array(snowflake).default([]),
    approverUserIds: z.array(snowflake).default([]),
    /** The channel the approval card is posted in. */
    channel: snowflake,
    /** Counted from the request; fractions allowed (tests use a few seconds). */
    ttlMinutes: z.number().min(0.01).max(10_080).default(60),
    allowSelfApproval: z.boolean().default(false),
  })
  .refine((rule) => rule.approverRoleIds.length + rule.approverUserIds.length > 0, {
    message: 'at least one approver: approverRoleIds or approverUserIds',
  });

/** Where agents PUT their handoffs; it may face other hosts, so it is configured apart from `ops`. */
const handoffListenerSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.int().min(0).max(65_535),
  /** The URL agents are told, e.g. a TLS reverse proxy's `https://hq.example.net`. */
  publicUrl: z
    .url({ protocol: /^https?$/, error: 'an http:// or https:// URL' })
    .transform((url) => url.replace(/\/+$/, '')),
  /** Behind a reverse proxy: throttle bad tokens by the client address it appends to X-Forwarded-For. */
  trustProxy: z.boolean().default(false),
});

/** A postgres store names its database; the URL never carries the password, which is not a config value. */
function checkStoreUrl(store: { kind: string; url?: string | undefined }, ctx: z.RefinementCtx): void {
  if (store.kind === 'postgres' && store.url === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['url'],
      message: 'store.kind "postgres" needs store.url: postgres://user@host/db',
    });
  }
  if (store.url === undefined) return;
  let url: URL;
  try {
    url = new URL(store.url);
  } catch {
    ctx.addIssue({ code: 'custom', path: ['url'], message: 'must be a URL: postgres://user@host:5432/database' });
    return;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    ctx.addIssue({ code: 'custom', path: ['url'], message: 'must start with postgres://' });
  }
  if (url.password !== '') {
    ctx.addIssue({
      code: 'custom',
      path: ['url'],
      message: 'must not hold the password: set HQ_STORE_PASSWORD instead',
    });
  }
}

export const configFileSchema = z.strictObject({
  paths: z
    .strictObject({
      handoffDir: z.string().min(1).default('./handoffs'),
      logDir: z.string().min(1).default('./logs'),
      stateDir: z.string().min(1).default('./state'),
      registryPath: z.string().min(1).default('./AGENTS_REGISTRY.json'),
    })
    .prefault({}),
  agents: z
    .record(agentName, fallbackAgentSchema)
    .superRefine(refuseSharedAddresses)
    .default(() =>
      Object.fromEntries(
        Object.entries(REFERENCE_AGENT_PORTS).map(([name, p]) => [name, { port: p, host: '127.0.0.1' }]),
      ),
    ),
  acl: z
    .record(principalName, z.array(agentName))
    .default(() => structuredClone(REFERENCE_ACL) as Record<string, string[]>),
  operatorPrincipal: principalName.default('operator'),
  engine: z
    .strictObject({
      defaultTimeoutSeconds: z.int().min(1).max(86_400).default(300),
      defaultMaxAttempts: z.int().min(1).max(3).default(1),
      strict: z.boolean().default(true),
      /** Pause before the next attempt after a bad handoff (the reference script's 3 s). */
      retryPauseMs: z.int().min(0).max(600_000).default(3_000),
      /** Pause before the next attempt after a failed send (the reference script's 5 s). */
      sendRetryPauseMs: z.int().min(0).max(600_000).default(5_000),
      healthTimeoutMs: z.int().min(50).max(60_000).default(3_000),
      /** The gateway may take 15 s to admit a run before answering 503, so stay above that. */
      sendTimeoutMs: z.int().min(20_000).max(600_000).default(20_000),
      maxConcurrentPerAgent: z.int().min(1).max(1_000).default(4),
      maxHandoffBytes: z
        .int()
        .min(1_024)
        .max(64 * 1_024 * 1_024)
        .default(1_024 * 1_024),
      /** How long a file that does not parse may stay unchanged before it is called malformed. */
      handoffSettleMs: z.int().min(10).max(60_000).default(1_000),
      /** After the gateway says the agent's run ended, how long to wait for the handoff file. */
      completionGraceMs: z.int().min(0).max(600_000).default(3_000),
      waitForCompletion: z.boolean().default(true),
      /** The CLI's default for `deliver`; the bot always sends false (its embed is the delivery). */
      deliver: z.boolean().default(true),
    })
    .prefault({}),
  discord: z
    .strictObject({
      /** discord.js `rest.api`; tests and staging point the real client at another server. */
      apiBase: z.url().default('https://discord.com/api'),
      guildId: snowflake.optional(),
      principals: z
        .strictObject({
          users: z.record(snowflake, z.array(principalName)).default({}),
          roles: z.record(snowflake, z.array(principalName)).default({}),
        })
        .prefault({}),
      /** An agent's own bot account acts as that agent's principal. */
      agentBots: z.record(snowflake, agentName).default({}),
      denyRoleIds: z.array(snowflake).default([]),
      adminRoleIds: z.array(snowflake).default([]),
      /** Overrides the `dl-<agent>` lookup by name. */
      resultChannels: z.record(agentName, snowflake).default({}),
      /** Agents whose result embed opens no thread (every other agent's does). */
      noResultThreadAgents: z.array(agentName).default([]),
      contextMaxChars: z.int().min(200).max(50_000).default(8_000),
      contextFileMaxBytes: z
        .int()
        .min(1)
        .max(8 * 1_024 * 1_024)
        .default(256 * 1_024),
      progressEditIntervalMs: z.int().min(250).max(60_000).default(1_500),
      /** Interaction tokens live 15 min; past this the bot speaks through channel messages. */
      interactionTokenTtlMs: z
        .int()
        .min(1_000)
        .max(15 * 60_000)
        .default(14 * 60_000),
      mentionsPerBotPerMinute: z.int().min(1).max(600).default(6),
      maxChainDepth: z.int().min(1).max(10).default(3),
      missedMentionMaxAgeMinutes: z.int().min(1).max(10_080).default(60),
      /**
       * Asks Discord for the privileged Message Content intent (enable it for the app in the developer
       * portal first): a member's plain message in a result thread is then a follow-up, no mention needed.
       */
      messageContentIntent: z.boolean().default(false),
      /** Per agent; per principal a rule replaces the agent's for that principal's runs, `false` exempts them. */
      approval: z
        .strictObject({
          agents: z.record(agentName, approvalRuleSchema).default({}),
          principals: z.record(principalName, z.union([approvalRuleSchema, z.literal(false)])).default({}),
        })
        .prefault({}),
    })
    .prefault({}),
  ops: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.int().min(0).max(65_535).default(9_464),
    })
    .prefault({}),
  /** Off unless configured: agents with `handoff: "http"` need it. */
  handoffListener: handoffListenerSchema.optional(),
  store: z
    .strictObject({
      /**
       * Finished runs with nothing left to deliver are deleted this many days after they finished
       * (their attempts, deliveries and progress message with them); 0 keeps every run.
       */
      retentionDays: z.int().min(0).max(36_500).default(30),
      /** sqlite (the default, a file under paths.stateDir) or postgres (issue 14; main.ts does not open it yet). */
      kind: z.enum(['sqlite', 'postgres']).default('sqlite'),
      /** postgres://user@host:5432/database, without the password (HQ_STORE_PASSWORD or PGPASSWORD). */
      url: z.string().min(1).optional(),
    })
    .superRefine(checkStoreUrl)
    .prefault({}),
  /**
   * The leader lease, used only with the PostgreSQL store: a standby takes over a dead leader
   * within about `ttlSeconds` (plus one retry), and tries every `retryMs` (default 1000).
   */
  lease: z
    .strictObject({
      ttlSeconds: z.int().min(1).max(300).default(10),
      retryMs: z.int().min(50).max(60_000).optional(),
    })
    .prefault({}),
});

export type ConfigFile = z.infer<typeof configFileSchema>;

/**
 * Set but empty counts as unset: `.env.example` ships `KEY=` lines, and `KEY=` in a shell is an
 * unset variable more often than a choice. Where the key is needed, its absence is then reported
 * saying what to set (main.ts for DISCORD_TOKEN, the gateway client for the hooks tokens).
 */
const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === '' ? undefined : value));

const envSchema = z.object({
  DISCORD_TOKEN: optionalText,
  /** Shared hooks token; HQ_HOOKS_TOKEN_<AGENT> (upper snake case) overrides it per agent. */
  HQ_HOOKS_TOKEN: optionalText,
  HQ_CONFIG: optionalText.transform((value) => value ?? DEFAULT_CONFIG_PATH),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
});

interface Secrets {
  readonly discordToken: string | undefined;
  hooksToken(agent: string): string | undefined;
}

export interface Config extends ConfigFile {
  readonly configPath: string;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly secrets: Secrets;
}

export function agentEnvKey(agent: string): string {
  return `HQ_HOOKS_TOKEN_${agent.toUpperCase().replaceAll('-', '_')}`;
}

function describeIssues(where: string, error: z.ZodError): string {
  return error.issues
    .map((issue) => `${where}: ${issue.path.length > 0 ? issue.path.join('.') : '(top level)'}: ${issue.message}`)
    .join('\n');
}

/** Parses and validates the config file's text; `file` names it in every error. */
export function parseConfigFile(text: string, file: string): ConfigFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  const parsed = configFileSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(describeIssues(file, parsed.error));
  return resolvePaths(parsed.data, path.dirname(path.resolve(file)));
}

function resolvePaths(file: ConfigFile, baseDir: string): ConfigFile {
  const paths = Object.fromEntries(
    Object.entries(file.paths).map(([key, value]) => [key, path.resolve(baseDir, value)]),
  ) as ConfigFile['paths'];
  // A CA file and an agent's own handoff directory are found beside the config that names them.
  const agents = Object.fromEntries(
    Object.entries(file.agents).map(([name, entry]) => [
      name,
      {
        ...entry,
        ...(entry.ca === undefined ? {} : { ca: path.resolve(baseDir, entry.ca) }),
        ...(entry.handoffDir === undefined ? {} : { handoffDir: path.resolve(baseDir, entry.handoffDir) }),
      },
    ]),
  );
  refuseSharedHandoffDirs(paths.handoffDir, agents);
  return { ...file, paths, agents };
}

/** Two agents writing into one directory could answer each other's runs: each needs its own. */
function refuseSharedHandoffDirs(handoffDir: string, agents: ConfigFile['agents']): void {
  const owners = new Map<string, string>();
  for (const [name, agent] of Object.entries(agents)) {
    const dir = agent.handoffDir ?? path.join(handoffDir, name);
    const other = owners.get(dir);
    if (other !== undefined)
      throw new ConfigError(
        `agents.${name}.handoffDir: ${dir} is also agent '${other}''s handoff directory; give each agent its own`,
      );
    owners.set(dir, name);
  }
}

/**
 * Only the implicit default file may be missing (all defaults); one `named` by HQ_CONFIG that
 * is not there is a typo or a failed mount, and running on defaults would ignore it quietly.
 */
function readConfigFile(file: string, named = false): ConfigFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      if (named)
        throw new ConfigError(`${file}: not found (HQ_CONFIG names it; unset HQ_CONFIG to run on the defaults)`, {
          cause: error,
        });
      return resolvePaths(configFileSchema.parse({}), process.cwd());
    }
    throw new ConfigError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {
      cause: error,
    });
  }
  return parseConfigFile(text, file);
}

/** Loads env (dotenv already applied) and the config file it names. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsedEnv = envSchema.safeParse(env);
  if (!parsedEnv.success) throw new ConfigError(describeIssues('environment', parsedEnv.error));
  const { DISCORD_TOKEN, HQ_HOOKS_TOKEN, HQ_CONFIG, LOG_LEVEL } = parsedEnv.data;
  const configPath = path.resolve(HQ_CONFIG);
  const file = readConfigFile(configPath, env.HQ_CONFIG !== undefined && env.HQ_CONFIG !== '');
  const secrets: Secrets = {
    discordToken: DISCORD_TOKEN,
    hooksToken: (agent) => env[agentEnvKey(agent)] || HQ_HOOKS_TOKEN,
  };
  return { ...file, configPath, logLevel: LOG_LEVEL, secrets };
}
