/**
 * What runs only while this process leads (always, with the SQLite store): the engine, the handoff
 * listener, the Discord client and retention. main.ts starts them once the lease is held and stops
 * them on SIGTERM; the run store, config watcher and ops server outlive them.
 */
import { loadCommands } from '../commands/index.ts';
import type { Config } from './config.ts';
import { startBot, type Bot } from './discord/bot.ts';
import { countDiscordErrors } from './discord/error-metrics.ts';
import { createEngine } from './engine/engine.ts';
import type { EventLog } from './engine/event-log.ts';
import type { Engine } from './engine/types.ts';
import { engineSettingsOf } from './engine-settings.ts';
import { startHandoffListener, type HandoffListener } from './handoffs/http-listener.ts';
import { liveConfig } from './live-config.ts';
import type { Logger } from './log.ts';
import { withMetrics } from './ops/journal-metrics.ts';
import type { Metrics } from './ops/metrics.ts';
import type { HealthCheck } from './ops/ops-server.ts';
import { startHandoffRelayConsumer, type HandoffRelayConsumer } from './store/postgres/handoff-relay.ts';
import { startRetention } from './store/retention.ts';
import type { AsyncRunStore } from './store/store-api.ts';

/** Relay row ids remembered against a repeat: far more than can be in flight at once. */
const SEEN_RELAY_ROWS = 10_000;

export interface LeaderServicesOptions {
  readonly config: Config;
  readonly current: () => Config;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly store: AsyncRunStore;
  readonly eventLog: EventLog;
  /**
   * With PostgreSQL every replica's listener takes PUTs and stores them (main.ts); the leader hears
   * of them through the relay instead of listening itself.
   */
  readonly relay?: { readonly url: string };
  /** The relay could not start: this leader would never hear of a handoff. */
  readonly onFatal?: (error: unknown) => void;
}

export interface LeaderServices {
  readonly engine: Engine;
  readonly bot: Bot;
  readonly discordHealth: HealthCheck;
  /** Takes no new work, closes the engine under the waiting runs (the store keeps them), then the rest. */
  stop(): Promise<void>;
}

export async function startLeaderServices(options: LeaderServicesOptions): Promise<LeaderServices> {
  const { config, current, log, metrics, store, eventLog } = options;
  const engine = createEngine({
    settings: engineSettingsOf(liveConfig(config, current)),
    log,
    eventLog,
    journal: withMetrics(store, metrics),
    handoffTokens: store,
  });
  let handoffListener: HandoffListener | undefined;
  if (config.handoffListener !== undefined && options.relay === undefined) {
    try {
      handoffListener = await startHandoffListener({
        ...config.handoffListener,
        receiver: engine.handoffs,
        maxBytes: config.engine.maxHandoffBytes,
        log,
      });
    } catch (error) {
      await engine.close();
      throw error;
    }
  }
  const { commands, skipped } = await loadCommands();
  for (const skip of skipped) log.warn(skip, 'command module skipped');
  const bot = startBot({ config, currentConfig: current, engine, log, metrics, store, commands, eventLog });
  const retention = startRetention({ store, log, retentionDays: () => current().store.retentionDays });
  countDiscordErrors(bot.client, metrics);
  // After recovery has reopened every resumed run, so a relayed handoff finds its run.
  const relay =
    options.relay === undefined
      ? undefined
      : bot.recovered.then(() => startRelay(options.relay!, engine, log, options.onFatal));

  return {
    engine,
    bot,
    discordHealth: () => bot.health(),
    async stop() {
      bot.beginShutdown();
      await (await relay)?.close();
      await engine.close();
      await handoffListener?.close();
      await bot.stop();
      await retention.stop();
    },
  };
}

async function startRelay(
  login: { readonly url: string },
  engine: Engine,
  log: Logger,
  onFatal: ((error: unknown) => void) | undefined,
): Promise<HandoffRelayConsumer | undefined> {
  // The relay delivers at least once (a row whose delete was lost with its connection comes again);
  // a row seen before must not reach a later attempt of its run.
  const seen = new Set<number>();
  const consumer = startHandoffRelayConsumer({
    ...login,
    log,
    deliver(runId, text, row) {
      if (seen.has(row.id)) return true;
      if (seen.size >= SEEN_RELAY_ROWS) seen.delete(seen.values().next().value!);
      seen.add(row.id);
      const taken = engine.handoffs.deliverRelayed(runId, text);
      if (!taken) log.warn({ runId, receivedBy: row.receivedBy }, 'relayed handoff for a run not open here; dropped');
      return taken;
    },
  });
  try {
    await consumer.start();
    return consumer;
  } catch (error) {
    log.fatal({ err: error }, 'cannot hear relayed handoffs');
    onFatal?.(error);
    return undefined;
  }
}
