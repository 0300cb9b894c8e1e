/**
 * The per-author limit on delegations started by @mention or /followup: each author may start
 * discord.mentionsPerBotPerMinute runs a minute, whichever way they address the bot. One window
 * per bot (keyed by its context), so a mention and a /followup count against the same limit.
 */
import type { BotContext } from '../bot-context.ts';

const WINDOW_MS = 60_000;

export interface RateWindow {
  /** Milliseconds until the author may start another run, or 0 (and it is counted). */
  take(key: string, limit: number): number;
}

export function createRateWindow(now: () => number = Date.now): RateWindow {
  const starts = new Map<string, number[]>();
  return {
    take(key, limit) {
      const t = now();
      const recent = (starts.get(key) ?? []).filter((at) => t - at < WINDOW_MS);
      if (recent.length >= limit) {
        starts.set(key, recent);
        return WINDOW_MS - (t - (recent[0] ?? t));
      }
      recent.push(t);
      starts.set(key, recent);
      return 0;
    },
  };
}

const windows = new WeakMap<BotContext, RateWindow>();

/** The bot's one window, made on first use. */
export function authorRateOf(context: BotContext): RateWindow {
  let window = windows.get(context);
  if (window === undefined) {
    window = createRateWindow();
    windows.set(context, window);
  }
  return window;
}
