/**
 * Hot reload's two rules, kept apart from the wiring in main.ts.
 *
 * What applies to the next command: the access rules (`acl`, `operatorPrincipal`) and the
 * `discord` section (read by the bot through its config getter), plus the agents registry,
 * which the engine re-reads on its own. `liveConfig` gives the engine a Config whose sections
 * are read from the config in force at each access, so its ACL check sees a good edit at once.
 * `store.retentionDays` applies at the next prune (store/retention.ts reads it each time).
 *
 * What is read once at start-up and needs a restart: where files live, the ops listener, the
 * Discord API base, the engine's tuning (pools, queue, watcher) and the fallback agent map the
 * registry was built on. An edit that changes one of those is refused like a bad one, naming
 * the key, so that nobody believes a change took effect when it did not.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Config } from './config.ts';
import { ConfigError } from './errors.ts';

const LIVE_SECTIONS = ['acl', 'operatorPrincipal', 'discord', 'store'] as const;

/** Dotted keys (or sections) that only a restart applies. */
export const RESTART_ONLY_KEYS = ['paths', 'agents', 'engine', 'ops', 'discord.apiBase'] as const;

export function liveConfig(initial: Config, current: () => Config): Config {
  const view = { ...initial };
  for (const key of LIVE_SECTIONS) {
    Object.defineProperty(view, key, { get: () => current()[key], enumerable: true, configurable: false });
  }
  return view;
}

function valueAt(config: Config, key: string): unknown {
  return key
    .split('.')
    .reduce<unknown>((value, part) => (value as Record<string, unknown> | undefined)?.[part], config);
}

/** Throws a ConfigError naming the first restart-only key the edit changes. */
export function assertHotReloadable(running: Config, next: Config): void {
  for (const key of RESTART_ONLY_KEYS) {
    if (!isDeepStrictEqual(valueAt(running, key), valueAt(next, key))) {
      throw new ConfigError(
        `${next.configPath}: ${key}: changed, but it is read only at start-up; restart hq-delegate to apply it (the edit is not applied)`,
      );
    }
  }
}
