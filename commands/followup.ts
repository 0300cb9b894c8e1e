/**
 * /followup: in a result thread, ask the thread's agent again. It is the @mention follow-up
 * (follow-up.ts) as a slash command: same ACL, deny roles, per-author limit and thread context,
 * its result posted in the thread. A slash command reaches the bot without any privileged
 * intent, and its refusals can be private. Anywhere else it is refused, privately.
 */
import {
  ApplicationCommandOptionType,
  InteractionContextType,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { AccessDeniedError, ErrorCode, HqError, UsageError } from '../src/errors.ts';
import { newRunId } from '../src/engine/run-id.ts';
import { resultThreadOf } from '../src/discord/events/follow-up.ts';
import { CHANNEL_PROGRESS_NONCE_KIND } from '../src/discord/delivery/outbox.ts';
import { createInteractionReply } from '../src/discord/delivery/reply-target.ts';
import { authorRateOf } from '../src/discord/runs/author-rate.ts';
import { actorFromInteraction, authorizeDelegation } from '../src/discord/runs/delegation-access.ts';
import { runInThread } from '../src/discord/runs/queued-follow-up.ts';
import {
  FOLLOW_UP_OUTSIDE_THREAD,
  GUILD_ONLY,
  RESTARTING_NOTICE,
  TASK_EMPTY,
  taskTooLong,
  tooManyDelegations,
} from '../src/discord/render/strings.ts';
import { forgetOnFailure, MAX_TASK_LENGTH, noteReceived } from './delegate.ts';
import type { BotContext, Command } from './index.ts';

const data = {
  name: 'followup',
  description: "In a result thread: ask the thread's agent again, with the thread as context",
  contexts: [InteractionContextType.Guild],
  options: [
    {
      type: ApplicationCommandOptionType.String,
      name: 'task',
      description: 'What the agent should do next',
      required: true,
      min_length: 1,
      max_length: MAX_TASK_LENGTH,
    },
  ],
} satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

async function execute(interaction: ChatInputCommandInteraction, context: BotContext): Promise<void> {
  const runId = newRunId();
  await forgetOnFailure(context, runId, () => followUp(interaction, context, runId));
}

async function followUp(interaction: ChatInputCommandInteraction, context: BotContext, runId: string): Promise<void> {
  const receivedAt = Date.now();
  if (context.shutdown.aborted) throw new HqError(ErrorCode.SHUTTING_DOWN, RESTARTING_NOTICE);
  if (!interaction.inGuild() || interaction.channelId === null) throw new AccessDeniedError(GUILD_ONLY);
  // Every refusal below comes before the defer: the router answers it privately.
  const thread = await resultThreadOf(context.ledger, interaction.channelId);
  if (!thread) throw new UsageError(FOLLOW_UP_OUTSIDE_THREAD);
  const config = context.config();
  const principals = authorizeDelegation(actorFromInteraction(interaction), thread.agent, config, context.engine);
  const task = interaction.options.getString('task', true).trim();
  if (task.length === 0) throw new UsageError(TASK_EMPTY);
  if (task.length > MAX_TASK_LENGTH) throw new UsageError(taskTooLong(task.length, MAX_TASK_LENGTH));
  const perMinute = config.discord.mentionsPerBotPerMinute;
  const waitMs = authorRateOf(context).take(interaction.user.id, perMinute);
  if (waitMs > 0) throw new HqError(ErrorCode.RATE_LIMITED, tooManyDelegations(perMinute, waitMs));
  await context.ledger.assertWritable();
  await noteReceived(interaction, context, runId, receivedAt);
  const deferred = await interaction.deferReply({ withResponse: true });

  const ttlMs = config.discord.interactionTokenTtlMs;
  const reply = createInteractionReply(interaction, {
    receivedAt,
    ttlMs,
    requesterId: interaction.user.id,
    log: context.log,
    originalMessageId: deferred.resource?.message?.id,
    nonce: context.ledger.deliveryNonce(runId, CHANNEL_PROGRESS_NONCE_KIND),
    onMove: (location) => context.ledger.recordProgressMessage(runId, location),
    channelId: thread.threadId,
  });
  // runInThread adds the thread's context when the turn starts, and queues behind a running turn.
  await runInThread(
    context,
    {
      runId,
      delegation: { agent: thread.agent, task },
      principals,
      reply,
      origin: {
        kind: 'slash',
        guildId: interaction.guildId,
        channelId: thread.threadId,
        requesterId: interaction.user.id,
        requesterLabel: interaction.user.username,
        interactionId: interaction.id,
        applicationId: interaction.applicationId,
        interactionToken: interaction.token,
        tokenExpiresAt: receivedAt + ttlMs,
        depth: 1,
        threadId: thread.threadId,
      },
    },
    thread,
  );
}

export default { data, execute } satisfies Command;
