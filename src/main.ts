/**
 * Wiring only: dotenv → config → logger → engine → Discord → ops server; SIGTERM/SIGINT stop
 * it cleanly. A missing token or a bad config ends with one line that says what to do.
 */
import { config as loadDotenv } from 'dotenv';
import { loadConfig, type Config } from './config.ts';
import { startBot } from './discord/bot.ts';
import { createEngine } from './engine/engine.ts';
import { ConfigError } from './errors.ts';
import { createLogger } from './log.ts';
import { createMetrics } from './metrics.ts';
import { startOpsServer } from './ops/ops-server.ts';

const STOP_DEADLINE_MS = 10_000;

async function main(): Promise<number> {
  loadDotenv({ quiet: true });
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }
  if (!config.secrets.discordToken) {
    console.error('DISCORD_TOKEN is not set: copy .env.example to .env and set it (see README)');
    return 1;
  }

  const log = createLogger({ level: config.logLevel });
  const engine = createEngine({ config, log });
  const metrics = createMetrics({ queueDepth: () => engine.agents().map((agent) => [agent.name, engine.queueDepth(agent.name)] as const) });
  const bot = startBot({ config, engine, log, metrics });
  const ops = await startOpsServer({
    host: config.ops.host,
    port: config.ops.port,
    log,
    metrics,
    checks: { discord: () => ({ ok: bot.client.isReady(), detail: bot.client.isReady() ? 'connected' : 'not connected' }) },
  });

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    const deadline = setTimeout(() => {
      log.error('did not stop within 10 s; exiting');
      process.exit(1);
    }, STOP_DEADLINE_MS);
    deadline.unref();
    await bot.stop();
    await engine.close();
    await ops.close();
    log.flush();
    process.exitCode = 0;
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  try {
    await bot.ready;
  } catch (error) {
    log.fatal({ err: error }, 'could not connect to Discord');
    await stop('startup failure');
    return 1;
  }
  log.info({ ops: ops.url }, 'hq-delegate is running');
  return 0;
}

const code = await main();
if (code !== 0) process.exitCode = code;
