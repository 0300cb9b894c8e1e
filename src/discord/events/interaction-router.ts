/**
 * The one interactionCreate listener and the single error boundary: a handler throws an error
 * fit for the person who clicked, and this answers it ephemerally whatever state the
 * interaction is in, guarded so a failed reply cannot take the router down.
 */
import { Events, MessageFlags, type Client, type Interaction, type RepliableInteraction } from 'discord.js';
import { BUTTON_ID_SEPARATOR, type Command } from '../command.ts';
import { ErrorCode, isHqError } from '../../errors.ts';
import { InteractionResult } from '../../ops/metrics.ts';
import type { BotContext } from '../bot-context.ts';
import { NO_PINGS } from '../render/no-pings.ts';
import { cancelQueued, QUEUED_CANCEL_PREFIX } from '../runs/queued-follow-up.ts';
import { BUTTON_NOT_HANDLED, UNEXPECTED_ERROR, unknownCommand } from '../render/strings.ts';

type ButtonHandler = NonNullable<Command['buttons']>[string];

export interface InteractionRouter {
  handle(interaction: Interaction): Promise<void>;
  detach(): void;
}

export function attachInteractionRouter(
  client: Client,
  commands: ReadonlyMap<string, Command>,
  context: BotContext,
  /** Told of every interaction being handled, so a shutdown can let them finish. */
  track: (work: Promise<unknown>) => void = () => {},
): InteractionRouter {
  const buttons = new Map<string, { command: string; handle: ButtonHandler }>();
  for (const command of commands.values()) {
    for (const [prefix, handle] of Object.entries(command.buttons ?? {})) {
      const owner = buttons.get(prefix);
      if (owner) {
        context.log.warn(
          { prefix, command: command.data.name, owner: owner.command },
          'button prefix already owned by another command; ignored',
        );
        continue;
      }
      buttons.set(prefix, { command: command.data.name, handle });
    }
  }
  // A waiting follow-up's Cancel: put there by a mention, not by a command.
  if (!buttons.has(QUEUED_CANCEL_PREFIX))
    buttons.set(QUEUED_CANCEL_PREFIX, { command: 'follow-up', handle: cancelQueued });
  // The approval card's buttons belong to no command (discord/approvals/).
  for (const [prefix, handle] of Object.entries(context.approvals?.buttons ?? {}))
    if (!buttons.has(prefix)) buttons.set(prefix, { command: 'approval', handle });

  async function handle(interaction: Interaction): Promise<void> {
    const started = performance.now();
    const log = context.log.child({
      interactionId: interaction.id,
      userId: interaction.user.id,
      guildId: interaction.guildId ?? undefined,
    });
    let name = '(unknown)';
    try {
      if (interaction.isChatInputCommand()) {
        name = interaction.commandName;
        const command = commands.get(name);
        if (!command) throw new UnhandledInteraction(unknownCommand(name));
        await command.execute(interaction, context);
      } else if (interaction.isAutocomplete()) {
        name = `${interaction.commandName}:autocomplete`;
        const command = commands.get(interaction.commandName);
        if (command?.autocomplete) await command.autocomplete(interaction, context);
        else await interaction.respond([]);
      } else if (interaction.isButton()) {
        const cut = interaction.customId.indexOf(BUTTON_ID_SEPARATOR);
        const prefix = cut === -1 ? interaction.customId : interaction.customId.slice(0, cut);
        const argument = cut === -1 ? '' : interaction.customId.slice(cut + 1);
        const owner = buttons.get(prefix);
        name = `button:${prefix}`;
        if (!owner) throw new UnhandledInteraction(BUTTON_NOT_HANDLED);
        await owner.handle(interaction, context, argument);
      } else if (interaction.isModalSubmit()) {
        const cut = interaction.customId.indexOf(BUTTON_ID_SEPARATOR);
        const prefix = cut === -1 ? interaction.customId : interaction.customId.slice(0, cut);
        const handle = context.approvals?.modals[prefix];
        name = `modal:${prefix}`;
        if (!handle) throw new UnhandledInteraction(BUTTON_NOT_HANDLED);
        await handle(interaction, context, cut === -1 ? '' : interaction.customId.slice(cut + 1));
      } else {
        return;
      }
      // Autocomplete fires per keystroke: worth a line only when debugging.
      log[interaction.isAutocomplete() ? 'debug' : 'info'](
        { command: name, ms: Math.round(performance.now() - started) },
        'interaction handled',
      );
      context.metrics?.interaction(name, InteractionResult.success);
    } catch (error) {
      const expected = isHqError(error) || error instanceof UnhandledInteraction;
      const denied = isHqError(error) && error.code === ErrorCode.ACCESS_DENIED;
      context.metrics?.interaction(name, denied ? InteractionResult.denied : InteractionResult.failure);
      log[expected ? 'info' : 'error'](
        { command: name, err: error, ms: Math.round(performance.now() - started) },
        'interaction failed',
      );
      await answerError(interaction, error, log);
    }
  }

  const listener = (interaction: Interaction) => track(handle(interaction));
  client.on(Events.InteractionCreate, listener);
  return {
    handle,
    detach: () => void client.off(Events.InteractionCreate, listener),
  };
}

class UnhandledInteraction extends Error {}

/** What the person sees: the HqError's own message, or a neutral line for a bug. */
export function describeError(error: unknown): string {
  if (isHqError(error) || error instanceof UnhandledInteraction) return error.message;
  return UNEXPECTED_ERROR;
}

async function answerError(interaction: Interaction, error: unknown, log: BotContext['log']): Promise<void> {
  try {
    if (interaction.isAutocomplete()) {
      if (!interaction.responded) await interaction.respond([]);
      return;
    }
    if (!interaction.isRepliable()) return;
    await replyEphemerally(interaction, `❌ ${describeError(error)}`);
  } catch (replyError) {
    log.warn({ err: replyError }, 'could not tell the user about the error');
  }
}

/** Deferred publicly, the "thinking…" message is deleted: editing it would make the refusal public. */
async function replyEphemerally(interaction: RepliableInteraction, content: string): Promise<void> {
  const payload = { content, flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS } as const;
  if (!interaction.deferred && !interaction.replied) {
    await interaction.reply(payload);
    return;
  }
  if (interaction.deferred && !interaction.replied) {
    if (interaction.ephemeral) {
      await interaction.editReply({ content, embeds: [], components: [], allowedMentions: NO_PINGS });
      return;
    }
    try {
      await interaction.deleteReply();
    } catch {
      await interaction.editReply({ content, embeds: [], components: [], allowedMentions: NO_PINGS });
      return;
    }
  }
  await interaction.followUp(payload);
}
