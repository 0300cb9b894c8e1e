/**
 * A run's live progress message, and the throttle that keeps its edits within rate limits.
 * `renderProgress` is pure: the caller passes `now`.
 */
import { ButtonStyle, ComponentType, escapeMarkdown } from 'discord.js';
import type { APIActionRowComponent, APIButtonComponentWithCustomId } from 'discord.js';
import { isSuccess } from '../../engine/types.ts';
import type { RunProgress } from '../../engine/types.ts';
import { MAX_CUSTOM_ID, MAX_MESSAGE_CONTENT, oneLine, truncate } from './limits.ts';
import { describeStatus, formatDuration } from './result-embed.ts';

export const CANCEL_CUSTOM_ID_PREFIX = 'cancel:';

/** Undefined when the run id is too long for a custom_id: the button is then left out. */
export function cancelCustomId(runId: string): string | undefined {
  const id = CANCEL_CUSTOM_ID_PREFIX + runId;
  return runId.length > 0 && id.length <= MAX_CUSTOM_ID ? id : undefined;
}

export interface ProgressView {
  readonly runId: string;
  readonly agent: string;
  /** The latest progress event, or 'accepted' before the engine reported any. */
  readonly state: RunProgress | 'accepted';
  readonly startedAt: number;
  readonly now: number;
  readonly requesterId?: string;
  /** Picked up again after the bot restarted. */
  readonly resumed?: boolean;
}

export interface RenderedProgress {
  readonly content: string;
  readonly components: APIActionRowComponent<APIButtonComponentWithCustomId>[];
}

const REASON_MAX = 300;
const SNOWFLAKE = /^\d{15,21}$/;

export function renderProgress(view: ProgressView): RenderedProgress {
  const agent = escapeMarkdown(oneLine(view.agent).slice(0, 64));
  const state = view.state;
  const done = state !== 'accepted' && state.type === 'done';
  const lines: string[] = [];
  if (view.resumed === true) lines.push('🔄 resumed after restart');
  lines.push(describeState(state, agent, view.now));

  const facts = [`run \`${oneLine(view.runId).replaceAll('`', '').slice(0, 128)}\``];
  if (view.requesterId !== undefined && SNOWFLAKE.test(view.requesterId))
    facts.push(`requested by <@${view.requesterId}>`);
  if (!done && Number.isFinite(view.startedAt) && Number.isFinite(view.now)) {
    facts.push(`${formatDuration(Math.max(0, view.now - view.startedAt), { wholeSeconds: true })} since accepted`);
  }
  lines.push(`-# ${facts.join(' · ')}`);

  const components: RenderedProgress['components'] = [];
  const cancelId = done ? undefined : cancelCustomId(view.runId);
  if (cancelId !== undefined) {
    components.push({
      type: ComponentType.ActionRow,
      components: [{ type: ComponentType.Button, style: ButtonStyle.Danger, label: 'Cancel', custom_id: cancelId }],
    });
  }
  return { content: truncate(lines.join('\n'), MAX_MESSAGE_CONTENT), components };
}

function describeState(state: RunProgress | 'accepted', agent: string, now: number): string {
  if (state === 'accepted') return `📥 accepted for ${agent}`;
  switch (state.type) {
    case 'queued':
      // Position 0 means a slot was free at once: the run is starting, not waiting in line.
      return state.position > 0
        ? `⏳ queued for ${agent} (position ${state.position})`
        : `🚀 starting on ${agent}: checking its health`;
    case 'sent':
      return `📨 sent to ${agent} (attempt ${state.attempt}/${state.maxAttempts})`;
    case 'waiting': {
      const waited = formatDuration(Math.max(0, now - state.startedAt), { wholeSeconds: true });
      const left = state.deadline - now;
      const limit =
        Number.isFinite(left) && left > 0 ? `; gives up in ${formatDuration(left, { wholeSeconds: true })}` : '';
      return `⌛ waiting for ${agent} — ${waited} (attempt ${state.attempt}/${state.maxAttempts}${limit})`;
    }
    case 'handoff_seen':
      return `📄 handoff from ${agent} received, checking it (attempt ${state.attempt})`;
    case 'retrying':
      return `🔁 retrying (attempt ${state.attempt} of ${state.maxAttempts}): ${escapeMarkdown(truncate(oneLine(state.reason), REASON_MAX))}`;
    case 'done': {
      const style = describeStatus(String(state.result.status));
      const attempts = Number(state.result.attempts);
      const tries =
        Number.isFinite(attempts) && attempts > 0 ? `, ${attempts} attempt${attempts === 1 ? '' : 's'}` : '';
      const head = isSuccess(state.result.status) ? '✅ done' : `${style.emoji} finished`;
      return `${head}: ${style.word.toLowerCase()} after ${formatDuration(Number(state.result.latencyMs))}${tries}`;
    }
  }
}

export interface ProgressThrottleOptions<P> {
  /** Minimum time between the starts of two edits. */
  readonly intervalMs: number;
  readonly edit: (payload: P) => Promise<unknown>;
  /** Receives every edit failure; the throttle itself never throws or rejects. */
  readonly onError?: (error: unknown) => void;
}

export interface ProgressThrottle<P> {
  /** The newest payload replaces any not yet sent. */
  push(payload: P): void;
  /** Sends the newest payload now (after the edit in flight) and resolves when nothing is left. */
  flush(): Promise<void>;
  /** No edit starts after this; a pending payload is dropped. */
  stop(): void;
}

/**
 * Coalesces progress edits: the first push is sent at once, later ones at most once per
 * interval, always the latest payload, never two edits at a time.
 */
export function createProgressThrottle<P>(options: ProgressThrottleOptions<P>): ProgressThrottle<P> {
  const intervalMs = Math.max(0, options.intervalMs);
  let latest: { payload: P } | undefined;
  let inFlight: Promise<void> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastStart = Number.NEGATIVE_INFINITY;
  let stopped = false;

  const report = (error: unknown): void => {
    try {
      options.onError?.(error);
    } catch {
      // A failing error reporter must not turn a progress edit into a crash.
    }
  };

  const start = (): void => {
    if (latest === undefined || stopped) return;
    const { payload } = latest;
    latest = undefined;
    lastStart = Date.now();
    let edit: Promise<unknown>;
    try {
      edit = Promise.resolve(options.edit(payload));
    } catch (error) {
      edit = Promise.reject(error);
    }
    inFlight = edit
      .then(
        () => undefined,
        (error: unknown) => report(error),
      )
      .finally(() => {
        inFlight = undefined;
        schedule();
      });
  };

  const schedule = (): void => {
    if (stopped || latest === undefined || inFlight !== undefined || timer !== undefined) return;
    const wait = lastStart + intervalMs - Date.now();
    if (wait <= 0) {
      start();
      return;
    }
    timer = setTimeout(() => {
      timer = undefined;
      schedule();
    }, wait);
  };

  return {
    push(payload) {
      if (stopped) return;
      latest = { payload };
      schedule();
    },
    async flush() {
      if (timer !== undefined) {
        clearTimeout(timer);
        timer = undefined;
      }
      // Each round either waits for the edit in flight or starts the pending one.
      while (!stopped && (inFlight !== undefined || latest !== undefined)) {
        if (inFlight === undefined) start();
        if (timer !== undefined) {
          clearTimeout(timer);
          timer = undefined;
        }
        await inFlight;
      }
      while (stopped && inFlight !== undefined) await inFlight;
    },
    stop() {
      stopped = true;
      latest = undefined;
      if (timer !== undefined) {
        clearTimeout(timer);
        timer = undefined;
      }
    },
  };
}
