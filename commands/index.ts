/**
 * The slash commands: one module per command in this folder, each default-exporting
 * `{ data, execute }` checked with `satisfies Command` (the type lives beside the router, in
 * src/discord/command.ts). `loadCommands()` loads this folder; the composition roots
 * (src/main.ts, src/deploy-commands.ts, the test worlds) call it and hand the same map to the
 * bot and to the registration, so what is registered is exactly what is handled.
 */
import { loadCommandsFrom, type LoadedCommands } from '../src/discord/command-loader.ts';

export type { BotContext, Command } from '../src/discord/command.ts';
export type { LoadedCommands };

export const COMMANDS_DIR = import.meta.dirname;

export function loadCommands(): Promise<LoadedCommands> {
  return loadCommandsFrom(COMMANDS_DIR);
}
