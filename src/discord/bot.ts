/**
 * The bot as one unit: client, the interaction router, the mention handler, and the
 * background health refresh that autocomplete reads from. `ready` resolves once the gateway
 * says READY; `stop` stops taking work and closes the connection (the engine is the caller's).
 */
import { Events } from 'discord.js';
import { once } from 'node:events';
import type { Config } from '../config.ts';
import type { Engine } from '../engine/types.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { RunStore } from '../store/run-store.ts';
import { createActiveRuns } from './active-runs.ts';
import type { BotContext } from './bot-context.ts';
import { createDiscordClient } from './client.ts';
import { loadCommands } from './command-loader.ts';
import { attachInteractionRouter, type InteractionRouter } from './interaction-router.ts';
import { attachMentionHandler, type MentionHandler } from './mention-handler.ts';

/** How often every agent's health is probed in the background (autocomplete shows the last answer). */
export const HEALTH_REFRESH_MS = 30_000;

export interface StartBotOptions {
  readonly config: Config;
  readonly engine: Engine;
  readonly log: Logger;
  /** The run store (issue 5): /runs and /agents read it; without one they say so. */
  readonly store?: RunStore;
  /** The config in force right now (hot reload); defaults to `config`. */
  readonly currentConfig?: () => Config;
  readonly healthRefreshMs?: number;
  readonly metrics?: Metrics;
}

export interface Bot {
  readonly client: ReturnType<typeof createDiscordClient>;
  readonly context: BotContext;
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

export function startBot(options: StartBotOptions): Bot {
  const { engine } = options;
  const log = options.log.child({ component: 'discord' });
  const client = createDiscordClient(options.config);
  const shutdown = new AbortController();
  const context: BotContext = {
    config: options.currentConfig ?? (() => options.config),
    engine,
    log,
    client,
    runs: createActiveRuns(),
    shutdown: shutdown.signal,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.store ? { store: options.store } : {}),
  };
  let router: InteractionRouter | undefined;
  let mentions: MentionHandler | undefined;
  let healthTimer: ReturnType<typeof setInterval> | undefined;

  const refreshHealth = (): void => {
    for (const agent of engine.agents()) {
      engine.health(agent.name).catch((error: unknown) => log.debug({ err: error, agent: agent.name }, 'health probe failed'));
    }
  };

  client.on(Events.Error, (error) => log.error({ err: error }, 'discord client error'));
  client.on(Events.ShardDisconnect, (event) => log.warn({ code: event.code }, 'gateway disconnected'));

  const ready = (async () => {
    const token = options.config.secrets.discordToken;
    if (!token) throw new Error('DISCORD_TOKEN is not set: copy .env.example to .env and set it (see README)');
    const { commands, skipped } = await loadCommands();
    for (const skip of skipped) log.warn(skip, 'command module skipped');
    router = attachInteractionRouter(client, commands, context);
    mentions = attachMentionHandler(client, context);
    const readyEvent = once(client, Events.ClientReady, { signal: shutdown.signal });
    await client.login(token);
    await readyEvent;
    log.info({ user: client.user?.tag, guilds: client.guilds.cache.size, commands: [...commands.keys()] }, 'discord ready');
    refreshHealth();
    healthTimer = setInterval(refreshHealth, options.healthRefreshMs ?? HEALTH_REFRESH_MS);
    healthTimer.unref();
  })();
  // A caller that never awaits `ready` must not crash the process with an unhandled rejection.
  ready.catch(() => {});

  let stopped: Promise<void> | undefined;
  return {
    client,
    context,
    ready,
    stop() {
      stopped ??= (async () => {
        shutdown.abort();
        if (healthTimer) clearInterval(healthTimer);
        router?.detach();
        mentions?.detach();
        await client.destroy();
        log.info('discord client closed');
      })();
      return stopped;
    },
  };
}
