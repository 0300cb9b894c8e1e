/**
 * Wiring only: dotenv → config → logger → (the leader lease, with PostgreSQL) → store → config
 * watcher → ops server → once leading: engine, handoff listener, Discord, retention
 * (leader-services.ts). With SQLite the process leads alone. SIGTERM/SIGINT take no new work and
 * close the engine under the waiting runs (the store keeps them open for the next leader), release
 * the lease so a standby takes over at once, then close the rest and exit 0. A leader that loses
 * its lease exits 1 at once: the store already refuses its writes, and its supervisor restarts it
 * as a standby.
 */
import { config as loadDotenv } from 'dotenv';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { watchConfig, type ConfigWatcher } from './config-watcher.ts';
import { loadConfig, type Config } from './config.ts';
import { createEventLog } from './engine/event-log.ts';
import { ConfigError, isHqError } from './errors.ts';
import { startHandoffListener, type HandoffListener } from './handoffs/http-listener.ts';
import { createRelayReceiver, type RelayReceiver } from './handoffs/relay-receiver.ts';
import { startLeaderServices, type LeaderServices } from './leader-services.ts';
import { assertHotReloadable } from './live-config.ts';
import { createLogger, type Logger } from './log.ts';
import { countLeaseEvents, startLeadership, type Leadership } from './ops/leadership.ts';
import { createMetrics } from './ops/metrics.ts';
import { startOpsServer, whenLeading } from './ops/ops-server.ts';
import { passwordFromEnvironment } from './store/postgres/open-pool.ts';
import { openRunStore, type AsyncRunStore } from './store/store-api.ts';

const STOP_DEADLINE_MS = 10_000;
const STORE_FILE = 'runs.sqlite';

function startLeadershipOf(config: Config, log: Logger): Leadership | undefined {
  if (config.store.kind !== 'postgres' || config.store.url === undefined) return undefined;
  const password = passwordFromEnvironment();
  return startLeadership({
    url: config.store.url,
    ...(password === undefined ? {} : { password }),
    ttlMs: config.lease.ttlSeconds * 1_000,
    ...(config.lease.retryMs === undefined ? {} : { retryMs: config.lease.retryMs }),
    // Lets an operator find (or cut) this process's lease connection in pg_stat_activity.
    applicationName: `hq-delegate lease pid ${process.pid}`,
    log,
  });
}

function openStore(config: Config, leadership: Leadership | undefined): Promise<AsyncRunStore> {
  if (config.store.kind === 'postgres' && config.store.url !== undefined) {
    // Every write carries the lease's epoch; a standby's (none) or a stale one is refused.
    return openRunStore({ kind: 'postgres', url: config.store.url, fence: () => leadership?.state().epoch });
  }
  return openRunStore({ kind: 'sqlite', file: path.join(config.paths.stateDir, STORE_FILE) });
}

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
  let leadership: Leadership | undefined;
  let store: AsyncRunStore;
  try {
    for (const dir of [config.paths.stateDir, config.paths.handoffDir, config.paths.logDir])
      mkdirSync(dir, { recursive: true });
    leadership = startLeadershipOf(config, log);
    store = await openStore(config, leadership);
  } catch (error) {
    await leadership?.close();
    console.error(
      isHqError(error)
        ? error.message
        : `cannot prepare the state, handoff and log directories: ${(error as Error).message}`,
    );
    return 1;
  }
  const role = leadership === undefined ? undefined : () => leadership.role();
  // eslint-disable-next-line prefer-const -- assigned below, read by current() before then
  let watcher: ConfigWatcher<Config> | undefined;
  const current = (): Config => watcher?.current() ?? config;
  let services: LeaderServices | undefined;
  const metrics = createMetrics({
    ...(role === undefined ? {} : { role }),
    queueDepth: () =>
      services?.engine.agents().map((agent) => [agent.name, services!.engine.queueDepth(agent.name)] as const) ?? [],
  });
  if (leadership !== undefined) countLeaseEvents(leadership, metrics);
  const eventLog = createEventLog({ dir: config.paths.logDir });
  watcher = await watchConfig({
    configPath: config.configPath,
    registryPath: config.paths.registryPath,
    load: () => loadConfig(),
    onChange: (next) => assertHotReloadable(config, next),
    log,
    initial: config,
  });
  const discordCheck = () => services?.discordHealth() ?? { ok: false, detail: 'Discord is not started yet' };
  const ops = await startOpsServer({
    host: config.ops.host,
    port: config.ops.port,
    log,
    metrics,
    ...(role === undefined ? {} : { role }),
    checks: {
      discord: role === undefined ? discordCheck : whenLeading(role, discordCheck),
      store: () => store.healthCheck(),
    },
  });

  let handoffListener: HandoffListener | undefined;
  let relayReceiver: RelayReceiver | undefined;
  if (leadership !== undefined && config.handoffListener !== undefined) {
    // Every replica takes PUTs: an agent reaches whichever one its load balancer picks.
    try {
      relayReceiver = createRelayReceiver({ url: config.store.url!, store, receivedBy: leadership.holder, log });
      handoffListener = await startHandoffListener({
        ...config.handoffListener,
        receiver: relayReceiver,
        maxBytes: config.engine.maxHandoffBytes,
        log,
      });
    } catch (error) {
      console.error(isHqError(error) ? error.message : `cannot start the handoff listener: ${String(error)}`);
      await relayReceiver?.close();
      await Promise.all([leadership.close(), watcher.close(), ops.close(), store.close()]);
      return 1;
    }
  }

  let stopping = false;
  let starting: Promise<LeaderServices> | undefined;
  const { promise: stopRequested, resolve: requestStop } = Promise.withResolvers<void>();
  const stop = async (signal: string, exitCode = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    requestStop();
    log.info({ signal }, 'stopping');
    const deadline = setTimeout(() => {
      log.error('did not stop within 10 s; exiting');
      process.exit(1);
    }, STOP_DEADLINE_MS);
    deadline.unref();
    // A stop while the services start waits for them, to stop them too.
    const started = services ?? (await starting?.catch(() => undefined));
    await started?.stop();
    await handoffListener?.close();
    await relayReceiver?.close();
    // After everything is persisted: a standby takes over at once instead of after the lease's ttl.
    await leadership?.release();
    await watcher?.close();
    await ops.close();
    await store.close();
    log.info({ signal }, 'stopped; open runs are kept for the next start');
    await new Promise<void>((resolve) => log.flush(() => resolve()));
    // Nothing is left to wait for; an idle keep-alive socket must not hold the exit.
    process.exit(exitCode);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  if (leadership !== undefined) {
    leadership.once('lost', () => {
      log.fatal('exiting: another process may lead now; restart this one to stand by');
      log.flush(() => process.exit(1));
    });
    if (leadership.role() !== 'leader') log.info({ holder: leadership.holder }, 'standing by for the leader lease');
    await Promise.race([leadership.whenLeader(), stopRequested]);
    if (stopping) return 0;
  }

  try {
    starting = startLeaderServices({
      config,
      current,
      log,
      metrics,
      store,
      eventLog,
      ...(leadership === undefined
        ? {}
        : { relay: { url: config.store.url! }, onFatal: () => void stop('relay failure', 1) }),
    });
    services = await starting;
  } catch (error) {
    console.error(isHqError(error) ? error.message : `cannot start: ${String(error)}`);
    await stop('startup failure', 1);
    return 1;
  }
  try {
    await services.bot.ready;
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
