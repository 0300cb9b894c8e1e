/**
 * The shape of a slash-command module and the predicate the loader trusts. `data` is the REST
 * JSON Discord registers; `buttons` maps a custom_id prefix to its handler, so the command that
 * puts a button on a message is the one that answers it.
 */
import type {
  AutocompleteInteraction,
  ButtonInteraction,
  ChatInputCommandInteraction,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import * as z from 'zod';
import type { BotContext } from './bot-context.ts';

export type { BotContext };

export interface Command {
  readonly data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  execute(interaction: ChatInputCommandInteraction, context: BotContext): Promise<void>;
  autocomplete?(interaction: AutocompleteInteraction, context: BotContext): Promise<void>;
  readonly buttons?: Readonly<
    Record<string, (interaction: ButtonInteraction, context: BotContext, argument: string) => Promise<void>>
  >;
}

const handler = z.custom<(...args: never[]) => unknown>((value) => typeof value === 'function', 'a function');

/** Discord's own rules for a CHAT_INPUT command name and description. */
const commandSchema = z.object({
  data: z.looseObject({
    name: z
      .string()
      .regex(/^[-_'\p{Ll}\p{Lo}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u, 'a lowercase command name of 1–32 characters'),
    description: z.string().min(1).max(100),
  }),
  execute: handler,
  autocomplete: handler.optional(),
  buttons: z.record(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/), handler).optional(),
});

export function isCommand(value: unknown): value is Command {
  return commandSchema.safeParse(value).success;
}

/** Buttons carry `<prefix>:<argument>` custom ids (at most 100 characters in all). */
export const BUTTON_ID_SEPARATOR = ':';
