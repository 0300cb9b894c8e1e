/**
 * /delegate: hand a task to an agent. The reply shows live progress with a Cancel button and
 * ends with a link to the result embed. Its buttons: `cancel:<runId>` (requester or admin) and
 * `retry:<runId>` (the same delegation again, under the presser's ACL).
 */
import {
  ApplicationCommandOptionType,
  ChannelType,
  InteractionContextType,
  MessageFlags,
  type ButtonInteraction,
  type APIActionRowComponent,
  type APIComponentInMessageActionRow,
  type ChatInputCommandInteraction,
  type RepliableInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { AccessDeniedError, ErrorCode, HqError, UsageError } from '../src/errors.ts';
import { newRunId } from '../src/engine/run-id.ts';
import { rememberedDelegationOf, type RememberedDelegation } from '../src/discord/runs/active-runs.ts';
import {
  actorFromInteraction,
  authorizeDelegation,
  matchingAgents,
  mayCancel,
  reachableAgents,
} from '../src/discord/runs/delegation-access.ts';
import { MAX_CHOICE_NAME, truncate } from '../src/discord/render/limits.ts';
import { NO_PINGS } from '../src/discord/render/no-pings.ts';
import {
  cancelling,
  alreadyRetried,
  cancelNotAllowed,
  GUILD_ONLY,
  outOfRange,
  RESTARTING_NOTICE,
  RUN_ALREADY_ENDED,
  TASK_EMPTY,
  taskTooLong,
  tooOldToRetry,
} from '../src/discord/render/strings.ts';
import { CHANNEL_PROGRESS_NONCE_KIND } from '../src/discord/delivery/outbox.ts';
import { createInteractionReply, ORIGINAL, withNotice } from '../src/discord/delivery/reply-target.ts';
import { runDelegation } from '../src/discord/runs/run-delegation.ts';
import { parseOrigin, type OriginKind } from '../src/discord/runs/run-origin.ts';
import { MAX_CONTEXT_MESSAGES, buildTaskContext } from '../src/discord/context/task-context.ts';
import type { AgentHealth } from '../src/engine/types.ts';
import type { BotContext, Command } from './index.ts';

export const MAX_TASK_LENGTH = 4_000;
export const MIN_TIMEOUT_SECONDS = 10;
export const MAX_TIMEOUT_SECONDS = 3_600;
/** Messages taken from `context_channel` when no count is given. */
export const DEFAULT_CHANNEL_CONTEXT = 10;
/** The store row a Retry press claims: one per retried run, whoever pressed first. */
export const RETRY_CLAIM_KIND = 'retry-claim';

const data = {
  name: 'delegate',
  description: 'Hand a task to an agent; the result is posted in #dl-<agent>',
  contexts: [InteractionContextType.Guild],
  options: [
    {
      type: ApplicationCommandOptionType.String,
      name: 'agent',
      description: 'The agent to delegate to',
      required: true,
      autocomplete: true,
      max_length: 32,
    },
    {
      type: ApplicationCommandOptionType.String,
      name: 'task',
      description: 'What the agent should do',
      required: true,
      min_length: 1,
      max_length: MAX_TASK_LENGTH,
    },
    {
      type: ApplicationCommandOptionType.Integer,
      name: 'context_messages',
      description: 'Attach this many recent messages as untrusted context (0–30)',
      min_value: 0,
      max_value: MAX_CONTEXT_MESSAGES,
    },
    {
      type: ApplicationCommandOptionType.Channel,
      name: 'context_channel',
      description: 'Take the context messages from this channel instead of this one',
      channel_types: [
        ChannelType.GuildText,
        ChannelType.GuildAnnouncement,
        ChannelType.PublicThread,
        ChannelType.PrivateThread,
      ],
    },
    {
      type: ApplicationCommandOptionType.Attachment,
      name: 'context_file',
      description: 'A text file to attach as context',
    },
    {
      type: ApplicationCommandOptionType.Integer,
      name: 'retries',
      description: 'Attempts in total (1–3)',
      min_value: 1,
      max_value: 3,
    },
    {
      type: ApplicationCommandOptionType.Integer,
      name: 'timeout',
      description: `Seconds to wait for each attempt (${MIN_TIMEOUT_SECONDS}–${MAX_TIMEOUT_SECONDS})`,
      min_value: MIN_TIMEOUT_SECONDS,
      max_value: MAX_TIMEOUT_SECONDS,
    },
    {
      type: ApplicationCommandOptionType.Boolean,
      name: 'strict',
      description: 'Validate the handoff strictly (default from config)',
    },
    {
      type: ApplicationCommandOptionType.Boolean,
      name: 'context_required',
      description: 'Refuse the task if the channel context cannot be read (default: send it without)',
    },
  ],
} satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

/** Thrown before deferring, so the router answers it privately. */
function shuttingDown(): HqError {
  return new HqError(ErrorCode.SHUTTING_DOWN, RESTARTING_NOTICE);
}

/**
 * Written before the defer, with the token: a process killed after the defer and before the run
 * is journaled leaves a reply the restart tells to ask again (recovery.ts), not "thinking…" for good.
 */
export async function noteReceived(
  interaction: RepliableInteraction,
  context: BotContext,
  runId: string,
  receivedAt: number,
): Promise<void> {
  await context.ledger.recordProgressMessage(runId, {
    channelId: interaction.channelId ?? '',
    messageId: ORIGINAL,
    interactionToken: interaction.token,
    tokenExpiresAt: receivedAt + context.config().discord.interactionTokenTtlMs,
  });
}

/** Refused or failed before its run began: the marker must not outlive the answer the router gives. */
export async function forgetOnFailure(context: BotContext, runId: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    try {
      await context.ledger.clearProgressMessage(runId);
    } catch (clearError) {
      context.log.warn({ err: clearError, runId }, 'could not forget a delegation that did not start');
    }
    throw error;
  }
}

async function execute(interaction: ChatInputCommandInteraction, context: BotContext): Promise<void> {
  const runId = newRunId();
  await forgetOnFailure(context, runId, () => delegateCommand(interaction, context, runId));
}

async function delegateCommand(
  interaction: ChatInputCommandInteraction,
  context: BotContext,
  runId: string,
): Promise<void> {
  const receivedAt = Date.now();
  if (context.shutdown.aborted) throw shuttingDown();
  const config = context.config();
  const actor = actorFromInteraction(interaction);
  const agent = interaction.options.getString('agent', true).trim().toLowerCase();
  // A lookup, answered before deferring: a refusal is private, never a public "thinking…".
  const principals = authorizeDelegation(actor, agent, config, context.engine);
  if (!interaction.inGuild()) throw new AccessDeniedError(GUILD_ONLY);
  // A store that cannot write could not keep the run: refused privately, before anything is sent.
  await context.ledger.assertWritable();
  await noteReceived(interaction, context, runId, receivedAt);
  // Acknowledge next: Discord allows 3 s, and everything below may be slow.
  const deferred = await interaction.deferReply({ withResponse: true });

  // Discord enforces the declared bounds in its client, but a request can carry anything: check again.
  const options = interaction.options;
  const task = options.getString('task', true).trim();
  if (task.length === 0) throw new UsageError(TASK_EMPTY);
  if (task.length > MAX_TASK_LENGTH) throw new UsageError(taskTooLong(task.length, MAX_TASK_LENGTH));
  const retries = inRange(options, 'retries', 1, 3);
  const timeout = inRange(options, 'timeout', MIN_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS);
  const contextMessages = inRange(options, 'context_messages', 0, MAX_CONTEXT_MESSAGES);
  const contextChannel = options.getChannel('context_channel');
  const contextFile = options.getAttachment('context_file');
  const taskContext = await buildTaskContext(interaction, config, {
    // A context channel without a count means "some of it".
    messages: contextMessages ?? (contextChannel ? DEFAULT_CHANNEL_CONTEXT : 0),
    ...(contextChannel ? { channelId: contextChannel.id } : {}),
    ...(contextFile ? { file: contextFile } : {}),
    required: options.getBoolean('context_required') === true,
  });

  const delegation: RememberedDelegation = {
    agent,
    task,
    ...(taskContext.text !== undefined ? { context: taskContext.text } : {}),
    ...optional('maxAttempts', retries),
    ...optional('timeoutSeconds', timeout),
    ...optional('strict', options.getBoolean('strict')),
  };
  await delegateAndAnswer(
    interaction,
    context,
    delegation,
    principals,
    { runId, receivedAt, originalMessageId: deferred.resource?.message?.id },
    'slash',
    taskContext.notices,
  );
}

function inRange(
  options: ChatInputCommandInteraction['options'],
  name: string,
  min: number,
  max: number,
): number | null {
  const value = options.getInteger(name);
  if (value !== null && (value < min || value > max)) throw new UsageError(outOfRange(name, min, max));
  return value;
}

function optional<K extends string, V>(key: K, value: V | null): { [P in K]?: V } {
  return (value === null ? {} : { [key]: value }) as { [P in K]?: V };
}

/** Shared by the command and the Retry button; the origin carries the token for a restarted bot. */
async function delegateAndAnswer(
  interaction: ChatInputCommandInteraction | ButtonInteraction,
  context: BotContext,
  delegation: RememberedDelegation,
  principals: readonly string[],
  deferred: { readonly runId: string; readonly receivedAt: number; readonly originalMessageId: string | undefined },
  kind: OriginKind,
  notices: readonly string[] = [],
  channelId: string | undefined = undefined,
): Promise<void> {
  if (!interaction.inGuild() || interaction.channelId === null) throw new AccessDeniedError(GUILD_ONLY);
  const answerIn = channelId ?? interaction.channelId;
  const config = context.config();
  const { runId } = deferred;
  const ttlMs = config.discord.interactionTokenTtlMs;
  const live = createInteractionReply(interaction, {
    receivedAt: deferred.receivedAt,
    ttlMs,
    requesterId: interaction.user.id,
    log: context.log,
    originalMessageId: deferred.originalMessageId,
    nonce: context.ledger.deliveryNonce(runId, CHANNEL_PROGRESS_NONCE_KIND),
    onMove: (location) => context.ledger.recordProgressMessage(runId, location),
    channelId: answerIn,
  });
  const reply = notices.length > 0 ? withNotice(live, notices.join('\n')) : live;
  await runDelegation(context, {
    runId,
    delegation,
    principals,
    reply,
    origin: {
      kind,
      guildId: interaction.guildId,
      channelId: answerIn,
      requesterId: interaction.user.id,
      requesterLabel: interaction.user.username,
      interactionId: interaction.id,
      applicationId: interaction.applicationId,
      interactionToken: interaction.token,
      tokenExpiresAt: deferred.receivedAt + ttlMs,
      depth: 1,
    },
  });
}

async function autocomplete(
  interaction: Parameters<NonNullable<Command['autocomplete']>>[0],
  context: BotContext,
): Promise<void> {
  const focused = interaction.options.getFocused(true);
  if (focused.name !== 'agent') {
    await interaction.respond([]);
    return;
  }
  const reachable = reachableAgents(actorFromInteraction(interaction), context.config(), context.engine);
  const agents = matchingAgents(reachable, String(focused.value).trim().toLowerCase());
  // Cached health only: a probe per keystroke would blow the 3 s budget and hammer the gateways.
  await interaction.respond(
    agents.map((name) => ({
      name: truncate(`${name} — ${describeHealth(context.engine.cachedHealth(name))}`, MAX_CHOICE_NAME),
      value: name,
    })),
  );
}

export function describeHealth(health: AgentHealth | undefined): string {
  if (!health) return 'health unknown';
  if (health.healthy) return `healthy${health.latencyMs !== undefined ? ` ${Math.round(health.latencyMs)} ms` : ''}`;
  return `unhealthy${health.detail ? ` (${health.detail})` : ''}`;
}

async function cancel(interaction: ButtonInteraction, context: BotContext, runId: string): Promise<void> {
  const run = context.runs.get(runId);
  if (!run) throw new HqError(ErrorCode.USAGE, RUN_ALREADY_ENDED);
  if (!mayCancel(actorFromInteraction(interaction), run.requesterId, context.config())) {
    throw new AccessDeniedError(cancelNotAllowed(run.requesterId));
  }
  run.controller.abort(new Error(`cancelled by ${interaction.user.id}`));
  context.log.info({ runId, by: interaction.user.id }, 'run cancelled from Discord');
  await interaction.reply({ content: cancelling(runId), flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS });
}

/**
 * One press, one run: the first press claims the button in the store (a double-click or a second
 * member gets told so), the button is then disabled, and the retry's progress is shown to the
 * presser alone, not in #dl-<agent> where the button is.
 */
async function retry(interaction: ButtonInteraction, context: BotContext, runId: string): Promise<void> {
  const newRun = newRunId();
  await forgetOnFailure(context, newRun, () => retryRun(interaction, context, runId, newRun));
}

async function retryRun(
  interaction: ButtonInteraction,
  context: BotContext,
  runId: string,
  newRun: string,
): Promise<void> {
  const receivedAt = Date.now();
  if (context.shutdown.aborted) throw shuttingDown();
  const delegation = context.runs.recall(runId) ?? (await recallFromStore(context, runId));
  if (!delegation) throw new HqError(ErrorCode.USAGE, tooOldToRetry(runId));
  // The presser's own rights, not the original requester's; a lookup, so refused before deferring.
  const principals = authorizeDelegation(
    actorFromInteraction(interaction),
    delegation.agent,
    context.config(),
    context.engine,
  );
  await context.ledger.assertWritable();
  const claim = { channelId: interaction.user.id, messageId: interaction.id };
  if (!(await context.ledger.markDelivered(runId, RETRY_CLAIM_KIND, claim))) {
    const holder = (await context.ledger.getDelivery(runId, RETRY_CLAIM_KIND))?.channelId;
    throw new HqError(ErrorCode.USAGE, alreadyRetried(runId, holder));
  }
  await noteReceived(interaction, context, newRun, receivedAt);
  const deferred = await interaction.deferReply({ flags: MessageFlags.Ephemeral, withResponse: true });
  await disableRetryButton(interaction, context);
  // A reply that outlives its token continues where the run was first asked for, not in #dl-<agent>.
  const askedIn = parseOrigin((await context.ledger.getRun(runId))?.origin)?.channelId;
  await delegateAndAnswer(
    interaction,
    context,
    delegation,
    principals,
    { runId: newRun, receivedAt, originalMessageId: deferred.resource?.message?.id },
    'button',
    [],
    askedIn,
  );
}

/** The result message keeps its embed; its Retry button shows it was used. */
async function disableRetryButton(interaction: ButtonInteraction, context: BotContext): Promise<void> {
  const rows = interaction.message.components.map((row) => {
    const json = row.toJSON() as APIActionRowComponent<APIComponentInMessageActionRow>;
    return {
      ...json,
      components: json.components.map((component) =>
        'custom_id' in component && component.custom_id === interaction.customId
          ? { ...component, disabled: true }
          : component,
      ),
    };
  });
  try {
    await interaction.message.edit({ components: rows, allowedMentions: NO_PINGS });
  } catch (error) {
    context.log.debug({ err: error, messageId: interaction.message.id }, 'could not disable the Retry button');
  }
}

/** After a restart the in-memory list is empty; the store still has the run's inputs. */
async function recallFromStore(context: BotContext, runId: string): Promise<RememberedDelegation | undefined> {
  const request = (await context.store?.getRun(runId))?.request;
  return request ? rememberedDelegationOf(request) : undefined;
}

export default {
  data,
  execute,
  autocomplete,
  buttons: { cancel, retry },
} satisfies Command;
