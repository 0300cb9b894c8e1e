/**
 * /agents: each agent the member may delegate to (every agent for an admin): health, queue depth and last result. Cached health older than
 * HEALTH_STALE_MS is probed again, all at once within PROBE_BUDGET_MS, so one hanging gateway
 * costs seconds, not the command.
 */
import {
  InteractionContextType,
  MessageFlags,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { renderAgentsEmbed, type AgentLastRun, type AgentStatus } from '../src/discord/render/agents-view.ts';
import { NO_PINGS } from '../src/discord/render/no-pings.ts';
import { actorFromInteraction, visibleAgents } from '../src/discord/runs/delegation-access.ts';
import { resultMessageUrl } from '../src/discord/delivery/result-link.ts';
import type { AgentHealth, Engine } from '../src/engine/types.ts';
import type { AsyncRunStore } from '../src/store/store-api.ts';
import type { BotContext, Command } from './index.ts';

/** Twice the bot's background refresh: a cached answer younger than this is shown as it is. */
export const HEALTH_STALE_MS = 60_000;
export const PROBE_BUDGET_MS = 2_000;

const data = {
  name: 'agents',
  description: 'Each agent: health and latency, queue depth, last result',
  contexts: [InteractionContextType.Guild],
} satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

export interface GatherOptions {
  readonly now?: () => number;
  readonly staleMs?: number;
  readonly budgetMs?: number;
  /** For result links of runs whose origin names no guild. */
  readonly guildId?: string | null;
  /** The agents to show (those the member may delegate to); all when absent. */
  readonly only?: readonly string[];
}

export async function gatherAgentStatuses(
  engine: Pick<Engine, 'agents' | 'health' | 'cachedHealth' | 'queueDepth'>,
  store: Pick<AsyncRunStore, 'lastResult' | 'getRun' | 'getDelivery'> | undefined,
  options: GatherOptions = {},
): Promise<AgentStatus[]> {
  const now = options.now ?? Date.now;
  const staleMs = options.staleMs ?? HEALTH_STALE_MS;
  const only = options.only === undefined ? undefined : new Set(options.only);
  const names = engine
    .agents()
    .map((agent) => agent.name)
    .filter((name) => only === undefined || only.has(name));
  const cached = new Map(names.map((name) => [name, engine.cachedHealth(name)] as const));
  const stale = names.filter((name) => {
    const health = cached.get(name);
    return health === undefined || !(now() - health.checkedAt < staleMs);
  });
  const probed = await probeWithin(engine, stale, options.budgetMs ?? PROBE_BUDGET_MS, now);

  return Promise.all(
    names.map(async (name) => {
      const health = probed.get(name) ?? engine.cachedHealth(name) ?? cached.get(name);
      const status: AgentStatus = {
        name,
        queueDepth: engine.queueDepth(name),
        ...(health ? { health } : {}),
        ...(stale.includes(name) && !probed.has(name) ? { probePending: true } : {}),
      };
      return store ? { ...status, lastRun: await lastRunOf(store, name, options.guildId) } : status;
    }),
  );
}

/** What answered within `budgetMs`; the rest keep running and fill the cache. */
async function probeWithin(
  engine: Pick<Engine, 'health'>,
  names: readonly string[],
  budgetMs: number,
  now: () => number,
): Promise<Map<string, AgentHealth>> {
  const answers = new Map<string, AgentHealth>();
  if (names.length === 0) return answers;
  const probes = names.map((agent) =>
    engine.health(agent).then(
      (health) => void answers.set(agent, health),
      // A probe that throws is an answer too: the agent cannot be reached.
      (error: unknown) =>
        void answers.set(agent, {
          agent,
          healthy: false,
          detail: (error as Error)?.message ?? String(error),
          checkedAt: now(),
        }),
    ),
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, budgetMs);
  });
  try {
    await Promise.race([Promise.all(probes), deadline]);
  } finally {
    clearTimeout(timer);
  }
  // A copy: probes that answer later must not change what was already rendered.
  return new Map(answers);
}

async function lastRunOf(
  store: Pick<AsyncRunStore, 'lastResult' | 'getRun' | 'getDelivery'>,
  agent: string,
  guildId: string | null | undefined,
): Promise<AgentLastRun | null> {
  const result = await store.lastResult(agent);
  if (!result) return null;
  const run = await store.getRun(result.runId);
  const url = await resultMessageUrl(store, { runId: result.runId, origin: run?.origin }, guildId);
  return {
    result,
    ...(run?.finishedAt !== undefined ? { finishedAt: run.finishedAt } : {}),
    ...(url ? { url } : {}),
  };
}

async function execute(interaction: ChatInputCommandInteraction, context: BotContext): Promise<void> {
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const only = visibleAgents(actorFromInteraction(interaction), context.config(), context.engine);
  const agents = await gatherAgentStatuses(context.engine, context.store, { guildId: interaction.guildId, only });
  const embed = renderAgentsEmbed({
    agents,
    storeConfigured: context.store !== undefined,
    noneReachable: agents.length === 0 && context.engine.agents().length > 0,
  });
  await interaction.editReply({ embeds: [embed], allowedMentions: NO_PINGS });
}

export default { data, execute } satisfies Command;
