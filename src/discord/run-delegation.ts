/**
 * One delegation as the Discord side drives it, whoever asked (a /delegate, a Retry button,
 * an agent's @mention): register the run (Cancel, chain depth, Retry), stream throttled
 * progress to the requester, wait for the engine, publish the result in `dl-<agent>`.
 * What the requester finally sees is the caller's business; this returns what happened.
 */
import { escapeMarkdown } from 'discord.js';
import { newRunId } from '../engine/run-id.ts';
import type { DelegationRequest, RunResult } from '../engine/types.ts';
import type { RememberedDelegation } from './active-runs.ts';
import type { BotContext } from './bot-context.ts';
import { createProgressThrottle, renderProgress, type ProgressThrottle, type ProgressView } from './progress-view.ts';
import { MAX_MESSAGE_CONTENT, truncate } from './limits.ts';
import type { ReplyPayload, ReplyTarget } from './reply-target.ts';
import { deliverResult, resultChannelName, type Delivery, type ResultRequester } from './result-delivery.ts';
import { describeStatus, formatDuration, renderResultMessage } from './result-embed.ts';

/** Where a run came from, kept with it (DelegationRequest.origin) so a restarted bot can answer. */
export interface RunOrigin {
  readonly kind: 'slash' | 'button' | 'mention';
  readonly guildId: string;
  readonly channelId: string;
  readonly requesterId: string;
  readonly interactionId?: string;
  readonly messageId?: string;
  readonly depth: number;
}

/** How often a waiting run's reply is refreshed when nothing else happens (elapsed time). */
export const PROGRESS_TICK_MS = 10_000;

export interface DelegationStart {
  readonly delegation: RememberedDelegation;
  readonly principals: readonly string[];
  readonly requester: ResultRequester;
  readonly origin: RunOrigin;
  readonly reply: ReplyTarget;
}

export interface DelegationOutcome {
  readonly runId: string;
  readonly result: RunResult;
  /** Undefined when the bot was stopping: the store delivers it after the restart. */
  readonly delivery: Delivery | undefined;
}

export async function runDelegation(context: BotContext, start: DelegationStart): Promise<DelegationOutcome> {
  const config = context.config();
  const { delegation, requester, origin, reply } = start;
  const runId = newRunId();
  const log = context.log.child({ runId, agent: delegation.agent, requesterId: requester.id });
  const controller = new AbortController();
  context.runs.add({ runId, agent: delegation.agent, requesterId: requester.id, depth: origin.depth, controller, startedAt: Date.now() });
  context.runs.remember(runId, delegation);

  const startedAt = Date.now();
  // Nothing is shown before the engine's first event: a request it refuses outright (unknown
  // agent, ACL) then leaves the reply untouched, and the refusal is answered once, privately.
  let latest: ProgressView['state'] | undefined;
  let shown = false;
  const throttle = createProgressThrottle<ProgressView['state']>({
    intervalMs: config.discord.progressEditIntervalMs,
    edit: async (state) => {
      shown = true;
      await reply.show(renderProgress({ runId, agent: delegation.agent, state, startedAt, now: Date.now(), requesterId: requester.id }));
    },
    onError: (error) => log.warn({ err: error }, 'progress edit failed'),
  });
  // Events only come on changes; the ticker keeps "waiting — 40 s" moving between them.
  const ticker = setInterval(() => {
    if (latest !== undefined) throttle.push(latest);
  }, Math.max(config.discord.progressEditIntervalMs, PROGRESS_TICK_MS));
  ticker.unref();

  const request: DelegationRequest = {
    runId,
    agent: delegation.agent,
    task: delegation.task,
    principals: start.principals,
    ...(delegation.context ? { context: delegation.context } : {}),
    ...(delegation.maxAttempts !== undefined ? { maxAttempts: delegation.maxAttempts } : {}),
    ...(delegation.timeoutSeconds !== undefined ? { timeoutSeconds: delegation.timeoutSeconds } : {}),
    ...(delegation.strict !== undefined ? { strict: delegation.strict } : {}),
    // The bot's embed is the delivery; the gateway must not announce the run itself.
    deliver: false,
    origin: { ...origin },
  };

  let result: RunResult;
  try {
    log.info({ depth: origin.depth, kind: origin.kind }, 'delegation started');
    result = await context.engine.delegate(request, {
      signal: controller.signal,
      onProgress: (progress) => {
        if (progress.type === 'done') return;
        latest = progress;
        throttle.push(progress);
      },
    });
  } catch (error) {
    // Never leave a spinning progress message with a live Cancel button behind.
    await settle(throttle);
    if (shown) await reply.show({ content: `❌ The run stopped: ${(error as Error).message}`, embeds: [], components: [] }).catch(() => {});
    throw error;
  } finally {
    clearInterval(ticker);
    context.runs.remove(runId);
  }
  // A progress edit still pending would only be replaced by the final answer: drop it, but let
  // one in flight land first so it cannot overwrite that answer.
  await settle(throttle);
  log.info({ status: result.status, attempts: result.attempts, latencyMs: result.latencyMs }, 'delegation finished');

  if (context.shutdown.aborted) return { runId, result, delivery: undefined };
  const delivery = await deliverResult({ client: context.client, config, log, guildId: origin.guildId, result, requester });
  return { runId, result, delivery };
}

async function settle(throttle: ProgressThrottle<unknown>): Promise<void> {
  throttle.stop();
  await throttle.flush();
}

/** One line for the requester: "✅ webster — Complete: <title> (1 attempt, 4.2 s)". */
export function summarizeResult(result: RunResult): string {
  const style = describeStatus(String(result.status));
  const deliverable = result.deliverable as { title?: unknown } | undefined;
  const title = typeof deliverable?.title === 'string' && deliverable.title.trim() ? `: ${escapeMarkdown(truncate(deliverable.title.replace(/\s+/g, ' ').trim(), 120))}` : '';
  const attempts = `${result.attempts} attempt${result.attempts === 1 ? '' : 's'}`;
  return `${style.emoji} **${result.agent}** — ${style.word}${title} (${attempts}, ${formatDuration(result.latencyMs)})`;
}

/** What the requester's reply ends with: a link to the embed, or the result itself when it could not be posted. */
export function finalReply(outcome: DelegationOutcome, requester: ResultRequester): ReplyPayload {
  const summary = summarizeResult(outcome.result);
  const { delivery, result } = outcome;
  if (delivery?.kind === 'posted') {
    return { content: truncate(`${summary}\n→ ${delivery.url}`, MAX_MESSAGE_CONTENT), embeds: [], components: [] };
  }
  if (delivery === undefined) {
    const note = `The bot is restarting: the result will be posted in #${resultChannelName(result.agent)} when it is back.`;
    return { content: truncate(`${summary}\n${note}`, MAX_MESSAGE_CONTENT), embeds: [], components: [] };
  }
  const rendered = renderResultMessage(result, { requesterId: requester.id, requesterLabel: requester.label });
  return { content: truncate(`${summary}\n⚠️ ${delivery.notice}`, MAX_MESSAGE_CONTENT), ...rendered };
}
