/**
 * `npm run deploy-commands`: registers every command the loader accepts, guild-scoped when
 * `discord.guildId` is set (instant, for one server), global otherwise. Uses the same loader
 * as the router, so what is registered is exactly what is handled. A bulk PUT replaces the
 * whole set, so a removed command file disappears from Discord too.
 */
import { REST, Routes, type APIApplication, type RESTPutAPIApplicationCommandsResult } from 'discord.js';
import { config as loadDotenv } from 'dotenv';
import { loadConfig, type Config } from '../config.ts';
import { isHqError } from '../errors.ts';
import { loadCommands } from './command-loader.ts';

export interface DeployResult {
  readonly scope: 'guild' | 'global';
  readonly applicationId: string;
  readonly names: readonly string[];
}

export async function deployCommands(config: Pick<Config, 'discord'>, token: string): Promise<DeployResult> {
  const { commands } = await loadCommands();
  const rest = new REST({ api: config.discord.apiBase }).setToken(token);
  const application = (await rest.get(Routes.currentApplication())) as APIApplication;
  const body = [...commands.values()].map((command) => command.data);
  const guildId = config.discord.guildId;
  const route = guildId ? Routes.applicationGuildCommands(application.id, guildId) : Routes.applicationCommands(application.id);
  const registered = (await rest.put(route, { body })) as RESTPutAPIApplicationCommandsResult;
  return { scope: guildId ? 'guild' : 'global', applicationId: application.id, names: registered.map((command) => command.name) };
}

async function main(): Promise<number> {
  loadDotenv({ quiet: true });
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    console.error(isHqError(error) ? error.message : String(error));
    return 1;
  }
  const token = config.secrets.discordToken;
  if (!token) {
    console.error('DISCORD_TOKEN is not set: copy .env.example to .env and set it (see README)');
    return 1;
  }
  try {
    const result = await deployCommands(config, token);
    const where = result.scope === 'guild' ? `guild ${config.discord.guildId}` : 'globally (may take up to an hour to show everywhere)';
    console.log(`Registered ${result.names.length} command(s) ${where}: ${result.names.map((name) => `/${name}`).join(', ')}`);
    return 0;
  } catch (error) {
    console.error(`Could not register the commands: ${(error as Error).message}`);
    return 1;
  }
}

if (import.meta.main) process.exitCode = await main();
