/**
 * Hot reload's two rules. The access rules, the `discord` section and `store` apply at their next
 * use: `liveConfig` gives the engine a Config whose live sections are read from the config in
 * force at each access. Everything else is read once at start-up; an edit that changes it is
 * refused like a bad one, naming the key, so nobody believes a change took effect when it did not.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Config } from './config.ts';
import { ConfigError } from './errors.ts';

const LIVE_SECTIONS = ['acl', 'operatorPrincipal', 'discord', 'store'] as const;

/** Dotted keys (or sections) that only a restart applies. */
const RESTART_ONLY_KEYS = [
  'paths',
  'agents',
  'engine',
  'ops',
  'handoffListener',
  'lease',
  'discord.apiBase',
  'discord.messageContentIntent',
  'store.kind',
  'store.url',
] as const;

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
