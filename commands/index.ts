/**
 * The slash commands: one module per command in this folder, each default-exporting
 * `{ data, execute } satisfies Command`. The composition roots hand the map `loadCommands()`
 * returns to both the bot and the registration.
 */
import { loadCommandsFrom, type LoadedCommands } from '../src/discord/command-loader.ts';

export type { BotContext, Command } from '../src/discord/command.ts';
export type { LoadedCommands };

export const COMMANDS_DIR = import.meta.dirname;

export function loadCommands(): Promise<LoadedCommands> {
  return loadCommandsFrom(COMMANDS_DIR);
}
