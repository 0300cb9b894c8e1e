/**
 * Registers the commands with Discord, guild-scoped when `discord.guildId` is set (instant),
 * global otherwise. A bulk PUT replaces the whole set, so a removed command disappears too.
 */
import { REST, Routes, type APIApplication, type RESTPutAPIApplicationCommandsResult } from 'discord.js';
import type { Config } from '../config.ts';
import type { Command } from './command.ts';

export interface RegisterResult {
  readonly scope: 'guild' | 'global';
  readonly applicationId: string;
  readonly names: readonly string[];
}

export async function registerCommands(
  config: Pick<Config, 'discord'>,
  token: string,
  commands: ReadonlyMap<string, Command>,
): Promise<RegisterResult> {
  const rest = new REST({ api: config.discord.apiBase }).setToken(token);
  const application = (await rest.get(Routes.currentApplication())) as APIApplication;
  const body = [...commands.values()].map((command) => command.data);
  const guildId = config.discord.guildId;
  const route = guildId
    ? Routes.applicationGuildCommands(application.id, guildId)
    : Routes.applicationCommands(application.id);
  const registered = (await rest.put(route, { body })) as RESTPutAPIApplicationCommandsResult;
  return {
    scope: guildId ? 'guild' : 'global',
    applicationId: application.id,
    names: registered.map((command) => command.name),
  };
}
