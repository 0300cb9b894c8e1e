/**
 * The bot as one unit: client, router, mention handler, outbox and the background health
 * refresh. Stopping comes in two steps around the engine's close: `beginShutdown` stops taking
 * work, `stop` lets handlers in flight say where their runs stand and closes the connection.
 */
import { Events, Status } from 'discord.js';
import { once } from 'node:events';
import type { Config } from '../config.ts';
import type { EventLog } from '../engine/event-log.ts';
import type { Engine } from '../engine/types.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../ops/metrics.ts';
import { openSqliteAsync } from '../store/sqlite-async.ts';
import { createActiveRuns } from './runs/active-runs.ts';
import { createThreadQueue } from './runs/thread-queue.ts';
import { createApprovalGate } from './approvals/approval-gate.ts';
import type { BotContext } from './bot-context.ts';
import { createChannelCursors } from './events/channel-cursors.ts';
import { createDiscordClient } from './client.ts';
import type { Command } from './command.ts';
import { attachInteractionRouter, type InteractionRouter } from './events/interaction-router.ts';
import { attachMentionHandler, type MentionHandler } from './events/mention-handler.ts';
import { createOutbox } from './delivery/outbox.ts';
import { recoverAfterRestart, type RecoveryReport } from './events/recovery.ts';
import type { AsyncRunStore } from '../store/store-api.ts';

/** Autocomplete shows the last background health answer. */
export const HEALTH_REFRESH_MS = 30_000;
/** How long `stop` waits for handlers in flight to say where their runs stand. */
export const STOP_GRACE_MS = 3_000;

export interface StartBotOptions {
  readonly config: Config;
  readonly engine: Engine;
  readonly log: Logger;
  readonly commands: ReadonlyMap<string, Command>;
  readonly store?: AsyncRunStore;
  /** The config in force right now (hot reload); defaults to `config`. */
  readonly currentConfig?: () => Config;
  readonly healthRefreshMs?: number;
  readonly metrics?: Metrics;
  readonly deliveryRetryEveryMs?: number;
  /** The engine's event log: approval decisions are appended to it. */
  readonly eventLog?: Pick<EventLog, 'write'>;
}

export interface DiscordHealth {
  readonly ok: boolean;
  readonly detail: string;
}

export interface Bot {
  readonly client: ReturnType<typeof createDiscordClient>;
  readonly context: BotContext;
  readonly ready: Promise<void>;
  /** What was recovered from the store after `ready` (nothing without one). */
  readonly recovered: Promise<RecoveryReport | undefined>;
  /** For /healthz. */
  health(): DiscordHealth;
  /** Runs in flight go on until the engine closes under them. */
  beginShutdown(): void;
  stop(options?: { readonly graceMs?: number }): Promise<void>;
}

export function startBot(options: StartBotOptions): Bot {
  const { engine, commands } = options;
  const log = options.log.child({ component: 'discord' });
  const client = createDiscordClient(options.config);
  const shutdown = new AbortController();
  const ledger = options.store ?? openSqliteAsync(':memory:');
  const config = options.currentConfig ?? (() => options.config);
  const outbox = createOutbox({
    client,
    ledger,
    config,
    log,
    metrics: options.metrics,
    shutdown: shutdown.signal,
    retryEveryMs: options.deliveryRetryEveryMs,
  });
  const approvals = createApprovalGate({ events: options.eventLog, track: (work) => track(work) });
  const context: BotContext = {
    config,
    engine,
    log,
    client,
    runs: createActiveRuns(),
    shutdown: shutdown.signal,
    ledger,
    outbox,
    threads: createThreadQueue(shutdown.signal),
    approvals,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.store ? { store: options.store } : {}),
  };
  const inFlight = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>): void => {
    const settled = work.then(
      () => undefined,
      (error: unknown) => log.error({ err: error }, 'a handler failed'),
    );
    inFlight.add(settled);
    void settled.finally(() => inFlight.delete(settled));
  };
  let router: InteractionRouter | undefined;
  let mentions: MentionHandler | undefined;
  let healthTimer: ReturnType<typeof setInterval> | undefined;

  const refreshHealth = (): void => {
    for (const agent of engine.agents()) {
      engine
        .health(agent.name)
        .catch((error: unknown) => log.debug({ err: error, agent: agent.name }, 'health probe failed'));
    }
  };

  client.on(Events.Error, (error) => log.error({ err: error }, 'discord client error'));
  client.on(Events.ShardDisconnect, (event) => log.warn({ code: event.code }, 'gateway disconnected for good'));
  client.on(Events.ShardReconnecting, () => log.warn('gateway connection lost; reconnecting'));
  client.on(Events.ShardResume, () => log.info('gateway connection resumed'));
  client.on(Events.ShardReady, () => log.info('gateway connection ready'));

  const ready = (async () => {
    const token = options.config.secrets.discordToken;
    if (!token) throw new Error('DISCORD_TOKEN is not set: copy .env.example to .env and set it (see README)');
    const cursors = createChannelCursors(ledger, log);
    router = attachInteractionRouter(client, commands, context, track);
    mentions = attachMentionHandler(client, context, cursors, track);
    const readyEvent = once(client, Events.ClientReady, { signal: shutdown.signal });
    await client.login(token);
    await readyEvent;
    log.info(
      { user: client.user?.tag, guilds: client.guilds.cache.size, commands: [...commands.keys()] },
      'discord ready',
    );
    refreshHealth();
    healthTimer = setInterval(refreshHealth, options.healthRefreshMs ?? HEALTH_REFRESH_MS);
    healthTimer.unref();
    outbox.start();
    await approvals.restore(context);
  })();
  // A caller that never awaits `ready` must not crash the process.
  ready.catch(() => {});

  const recovered = ready.then(
    async () => {
      if (!options.store || !mentions || shutdown.signal.aborted) return undefined;
      return recoverAfterRestart(context, mentions, track);
    },
    () => undefined,
  );
  recovered.catch((error: unknown) => log.error({ err: error }, 'recovery after restart failed'));

  const beginShutdown = (): void => {
    if (shutdown.signal.aborted) return;
    shutdown.abort();
    outbox.stop();
    approvals.stop();
    if (healthTimer) clearInterval(healthTimer);
  };

  let stopped: Promise<void> | undefined;
  return {
    client,
    context,
    ready,
    recovered: recovered.catch(() => undefined),
    health() {
      if (shutdown.signal.aborted) return { ok: false, detail: 'stopping' };
      if (!client.isReady()) return { ok: false, detail: 'not connected to the Discord gateway yet' };
      const down = client.ws.shards.filter((shard) => shard.status !== Status.Ready);
      if (down.size > 0) {
        return {
          ok: false,
          detail: `Discord gateway ${down.map((shard) => `shard ${shard.id}: ${Status[shard.status] ?? shard.status}`).join(', ')}`,
        };
      }
      return { ok: true, detail: `connected (heartbeat ${Math.round(client.ws.ping)} ms)` };
    },
    beginShutdown,
    stop(stopOptions = {}) {
      stopped ??= (async () => {
        beginShutdown();
        // Handlers whose runs the engine has just paused say so before the connection goes.
        await settleWithin([...inFlight], stopOptions.graceMs ?? STOP_GRACE_MS);
        router?.detach();
        mentions?.detach();
        await client.destroy();
        if (!options.store) await ledger.close();
        log.info('discord client closed');
      })();
      return stopped;
    },
  };
}

async function settleWithin(work: readonly Promise<unknown>[], ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([Promise.allSettled(work), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
