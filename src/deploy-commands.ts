/**
 * `npm run deploy-commands`: dotenv → config → the commands in commands/ → register them with
 * Discord (discord/register-commands.ts). Wiring only, like main.ts.
 */
import { config as loadDotenv } from 'dotenv';
import { loadCommands } from '../commands/index.ts';
import { loadConfig, type Config } from './config.ts';
import { registerCommands } from './discord/register-commands.ts';
import { isHqError } from './errors.ts';

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
    const { commands } = await loadCommands();
    const result = await registerCommands(config, token, commands);
    const where =
      result.scope === 'guild'
        ? `guild ${config.discord.guildId}`
        : 'globally (may take up to an hour to show everywhere)';
    console.log(
      `Registered ${result.names.length} command(s) ${where}: ${result.names.map((name) => `/${name}`).join(', ')}`,
    );
    return 0;
  } catch (error) {
    console.error(`Could not register the commands: ${(error as Error).message}`);
    return 1;
  }
}

process.exitCode = await main();
