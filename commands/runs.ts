/**
 * /runs: the most recent runs, newest first, filtered by agent, status and "mine". A task is its
 * requester's words, so admins see every run, others their own and those of agents they may reach.
 */
import {
  ApplicationCommandOptionType,
  InteractionContextType,
  MessageFlags,
  type AutocompleteInteraction,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { isAdmin } from '../src/access/discord-principals.ts';
import {
  actorFromInteraction,
  matchingAgents,
  reachableAgents,
  visibleAgents,
} from '../src/discord/runs/delegation-access.ts';
import { MAX_CHOICE_NAME, truncate } from '../src/discord/render/limits.ts';
import { NO_PINGS } from '../src/discord/render/no-pings.ts';
import { onlyOwnRunsOf, RUNS_WITHOUT_STORE } from '../src/discord/render/strings.ts';
import { resultMessageUrl, runThreadId } from '../src/discord/delivery/result-link.ts';
import {
  DEFAULT_RUNS_LISTED,
  MAX_RUNS_LISTED,
  describeRunStatus,
  renderRunsEmbed,
  type RunsFilters,
} from '../src/discord/render/runs-view.ts';
import { RunStatus } from '../src/engine/types.ts';
import { ErrorCode, HqError } from '../src/errors.ts';
import { RUNNING, type RunRecord, type StoredRunStatus } from '../src/store/run-store.ts';
import type { BotContext, Command } from './index.ts';
import type { AsyncRunStore } from '../src/store/store-api.ts';

/** Every status a stored run can have, in the order a person scans them. */
export const RUN_STATUS_CHOICES: readonly StoredRunStatus[] = [RUNNING, ...Object.values(RunStatus), 'sent'];

const data = {
  name: 'runs',
  description: 'Recent runs, newest first, each linking its result',
  contexts: [InteractionContextType.Guild],
  options: [
    {
      type: ApplicationCommandOptionType.String,
      name: 'agent',
      description: 'Only runs of this agent',
      autocomplete: true,
      max_length: 32,
    },
    {
      type: ApplicationCommandOptionType.String,
      name: 'status',
      description: 'Only runs in this state',
      choices: RUN_STATUS_CHOICES.map((status) => ({ name: describeRunStatus(status).word, value: status })),
    },
    { type: ApplicationCommandOptionType.Boolean, name: 'mine', description: 'Only the runs you asked for' },
    {
      type: ApplicationCommandOptionType.Integer,
      name: 'limit',
      description: `How many runs (1–${MAX_RUNS_LISTED}, default ${DEFAULT_RUNS_LISTED})`,
      min_value: 1,
      max_value: MAX_RUNS_LISTED,
    },
  ],
} satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

export interface RunsAudience {
  readonly userId: string;
  readonly seesAll: boolean;
  /** The agents this person may delegate to: their runs are visible whoever asked for them. */
  readonly agents: readonly string[];
}

export interface VisibleRuns {
  readonly runs: RunRecord[];
  readonly notes: string[];
}

/** Asks the store once per visible agent and once for the caller's own runs, so the limit is exact. */
export async function findVisibleRuns(
  store: Pick<AsyncRunStore, 'recentRuns'>,
  filters: RunsFilters,
  audience: RunsAudience,
): Promise<VisibleRuns> {
  const base = {
    limit: filters.limit,
    ...(filters.agent !== undefined ? { agent: filters.agent } : {}),
    ...(filters.status !== undefined ? { status: filters.status } : {}),
  };
  if (audience.seesAll || filters.mine === true) {
    return {
      runs: await store.recentRuns({ ...base, ...(filters.mine === true ? { requesterId: audience.userId } : {}) }),
      notes: [],
    };
  }
  const notes: string[] = [];
  let agents = audience.agents;
  if (filters.agent !== undefined) {
    agents = agents.filter((agent) => agent === filters.agent);
    if (agents.length === 0) notes.push(onlyOwnRunsOf(filters.agent));
  }
  const byId = new Map<string, RunRecord>();
  const batches = await Promise.all([
    store.recentRuns({ ...base, requesterId: audience.userId }),
    ...agents.map((agent) => store.recentRuns({ ...base, agent })),
  ]);
  for (const batch of batches) for (const run of batch) byId.set(run.runId, run);
  const runs = [...byId.values()]
    .sort((a, b) => b.acceptedAt - a.acceptedAt || b.runId.localeCompare(a.runId))
    .slice(0, filters.limit);
  return { runs, notes };
}

function notConfigured(): HqError {
  return new HqError(ErrorCode.CONFIG_INVALID, RUNS_WITHOUT_STORE);
}

async function execute(interaction: ChatInputCommandInteraction, context: BotContext): Promise<void> {
  const { store } = context;
  if (!store) throw notConfigured();
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const config = context.config();
  const actor = actorFromInteraction(interaction);
  const agent = interaction.options.getString('agent')?.trim().toLowerCase();
  const status = interaction.options.getString('status') ?? undefined;
  const filters: RunsFilters = {
    limit: Math.min(Math.max(interaction.options.getInteger('limit') ?? DEFAULT_RUNS_LISTED, 1), MAX_RUNS_LISTED),
    ...(agent ? { agent } : {}),
    ...(status !== undefined && RUN_STATUS_CHOICES.includes(status as StoredRunStatus)
      ? { status: status as StoredRunStatus }
      : {}),
    ...(interaction.options.getBoolean('mine') === true ? { mine: true } : {}),
  };
  const seesAll = isAdmin(actor, config.discord);
  const { runs, notes } = await findVisibleRuns(store, filters, {
    userId: interaction.user.id,
    seesAll,
    agents: seesAll ? [] : reachableAgents(actor, config, context.engine),
  });
  const embed = renderRunsEmbed({
    runs: await Promise.all(
      runs.map(async (run) => {
        const resultUrl = await resultMessageUrl(store, run, interaction.guildId);
        const threadId = await runThreadId(store, run);
        return { run, ...(resultUrl ? { resultUrl } : {}), ...(threadId ? { threadId } : {}) };
      }),
    ),
    filters,
    notes,
  });
  await interaction.editReply({ embeds: [embed], allowedMentions: NO_PINGS });
}

async function autocomplete(interaction: AutocompleteInteraction, context: BotContext): Promise<void> {
  const focused = interaction.options.getFocused(true);
  if (focused.name !== 'agent') {
    await interaction.respond([]);
    return;
  }
  const agents = visibleAgents(actorFromInteraction(interaction), context.config(), context.engine);
  const names = matchingAgents(agents, String(focused.value).trim().toLowerCase());
  await interaction.respond(names.map((name) => ({ name: truncate(name, MAX_CHOICE_NAME), value: name })));
}

export default { data, execute, autocomplete } satisfies Command;
