/**
 * Wiring only: dotenv → config → logger → store → engine → handoff listener → Discord → retention
 * → config watcher → ops server. SIGTERM/SIGINT take no new work and close the engine under the waiting runs (the
 * journal keeps them open for the next start), then everything else, and exit 0.
 */
import { config as loadDotenv } from 'dotenv';
import { loadCommands } from '../commands/index.ts';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { watchConfig, type ConfigWatcher } from './config-watcher.ts';
import { loadConfig, type Config } from './config.ts';
import { startBot } from './discord/bot.ts';
import { createEngine } from './engine/engine.ts';
import { createEventLog } from './engine/event-log.ts';
import { engineSettingsOf } from './engine-settings.ts';
import { countDiscordErrors } from './discord/error-metrics.ts';
import { ConfigError, isHqError } from './errors.ts';
import { startHandoffListener, type HandoffListener } from './handoffs/http-listener.ts';
import { withMetrics } from './ops/journal-metrics.ts';
import { assertHotReloadable, liveConfig } from './live-config.ts';
import { createLogger } from './log.ts';
import { createMetrics } from './ops/metrics.ts';
import { startOpsServer } from './ops/ops-server.ts';
import { createRunStore } from './store/run-store.ts';
import { startRetention } from './store/retention.ts';

const STOP_DEADLINE_MS = 10_000;
const STORE_FILE = 'runs.sqlite';

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
  let store: ReturnType<typeof createRunStore>;
  try {
    for (const dir of [config.paths.stateDir, config.paths.handoffDir, config.paths.logDir])
      mkdirSync(dir, { recursive: true });
    store = createRunStore(path.join(config.paths.stateDir, STORE_FILE));
  } catch (error) {
    console.error(
      isHqError(error)
        ? error.message
        : `cannot prepare the state, handoff and log directories: ${(error as Error).message}`,
    );
    return 1;
  }
  // eslint-disable-next-line prefer-const -- assigned below, read by current() before then
  let watcher: ConfigWatcher<Config> | undefined;
  const current = (): Config => watcher?.current() ?? config;
  const metrics = createMetrics({
    queueDepth: () => engine.agents().map((agent) => [agent.name, engine.queueDepth(agent.name)] as const),
  });
  const eventLog = createEventLog({ dir: config.paths.logDir });
  const engine = createEngine({
    settings: engineSettingsOf(liveConfig(config, current)),
    log,
    eventLog,
    journal: withMetrics(store, metrics),
    handoffTokens: store,
  });
  let handoffListener: HandoffListener | undefined;
  if (config.handoffListener !== undefined) {
    try {
      handoffListener = await startHandoffListener({
        ...config.handoffListener,
        receiver: engine.handoffs,
        maxBytes: config.engine.maxHandoffBytes,
        log,
      });
    } catch (error) {
      console.error(isHqError(error) ? error.message : `cannot start the handoff listener: ${String(error)}`);
      await engine.close();
      store.close();
      return 1;
    }
  }
  const { commands, skipped } = await loadCommands();
  for (const skip of skipped) log.warn(skip, 'command module skipped');
  const bot = startBot({ config, currentConfig: current, engine, log, metrics, store, commands, eventLog });
  const retention = startRetention({ store, log, retentionDays: () => current().store.retentionDays });
  countDiscordErrors(bot.client, metrics);
  watcher = await watchConfig({
    configPath: config.configPath,
    registryPath: config.paths.registryPath,
    load: () => loadConfig(),
    onChange: (next) => assertHotReloadable(config, next),
    log,
    initial: config,
  });
  const ops = await startOpsServer({
    host: config.ops.host,
    port: config.ops.port,
    log,
    metrics,
    checks: { discord: () => bot.health(), store: () => store.healthCheck() },
  });

  let stopping = false;
  const stop = async (signal: string, exitCode = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    const deadline = setTimeout(() => {
      log.error('did not stop within 10 s; exiting');
      process.exit(1);
    }, STOP_DEADLINE_MS);
    deadline.unref();
    bot.beginShutdown();
    await engine.close();
    await handoffListener?.close();
    await bot.stop();
    await watcher?.close();
    await ops.close();
    await retention.stop();
    store.close();
    log.info({ signal }, 'stopped; open runs are kept for the next start');
    await new Promise<void>((resolve) => log.flush(() => resolve()));
    // Nothing is left to wait for; an idle keep-alive socket must not hold the exit.
    process.exit(exitCode);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  try {
    await bot.ready;
  } catch (error) {
    if (stopping) return 0;
    log.fatal({ err: error }, 'could not connect to Discord');
    await stop('startup failure', 1);
    return 1;
  }
  log.info({ ops: ops.url }, 'hq-delegate is running');
  return 0;
}

const code = await main();
if (code !== 0) process.exitCode = code;
