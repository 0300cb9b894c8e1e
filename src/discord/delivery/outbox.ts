/**
 * Each finished run's messages (the result embed in #dl-<agent> or a follow-up's thread, the
 * requester's answer) and a mention's ✅/❌, written to the store before anything is posted, then sent and marked
 * delivered. Creates carry a nonce per (run, kind) with enforce_nonce, so a repeat after a 5xx or
 * a restart returns the first message (Discord keeps nonces a few minutes only). A moment's failure stays pending and
 * is retried every OUTBOX_RETRY_MS and at the next start; a refusal for good goes inline.
 */
import type { Client } from 'discord.js';
import type { Config } from '../../config.ts';
import type { RunResult } from '../../engine/types.ts';
import { isSuccess } from '../../engine/types.ts';
import type { Logger } from '../../log.ts';
import type { Metrics } from '../../ops/metrics.ts';
import type { ProgressMessage } from '../../store/run-store.ts';
import { discordErrorKind, isTransient } from './discord-errors.ts';
import { finalReply, machineReply, pausedReply } from './final-reply.ts';
import { markSettled } from './mention-reactions.ts';
import {
  createChannelReply,
  createRestoredTokenReply,
  ORIGINAL,
  type ReplyLocation,
  type ReplyTarget,
} from './reply-target.ts';
import { postResult, type Delivery, type ResultRequester } from './result-post.ts';
import { messageUrl, RESULT_DELIVERY_KIND } from './result-link.ts';
import { openResultThread, RESULT_THREAD_DELIVERY_KIND, resultThreadName, wantsResultThread } from './result-thread.ts';
import { liveToken, parseOrigin, type RunOrigin } from '../runs/run-origin.ts';
import type { AsyncRunStore } from '../../store/store-api.ts';

export const REQUESTER_REPLY_KIND = 'requester-reply';
export const MENTION_REPLY_KIND = 'mention-reply';
/** The ✅/❌ on an agent's @mention, which replaces its 👀. */
export const MENTION_VERDICT_KIND = 'mention-verdict';
/** Nonces of the messages a reply may create (a mention's reply, the channel fallback). */
export const MENTION_PROGRESS_NONCE_KIND = 'mention-progress';
export const CHANNEL_PROGRESS_NONCE_KIND = 'channel-progress';
export const OUTBOX_RETRY_MS = 30_000;

export type DeliveryState = 'delivered' | 'pending';

export interface DeliveryJob {
  readonly runId: string;
  readonly result: RunResult;
  readonly origin: RunOrigin;
  /** The live reply; absent, it is rebuilt from the store. */
  readonly reply?: ReplyTarget | undefined;
}

export interface Outbox {
  /** Writes the run's deliveries to the store (idempotent), before anything is posted. */
  enqueue(job: DeliveryJob): Promise<void>;
  /** Sends what is still pending for the run; one delivery per run at a time. */
  deliver(runId: string): Promise<DeliveryState>;
  /** Every pending delivery, oldest first. */
  drain(): Promise<void>;
  start(): void;
  /** Stops the periodic drain; deliveries in flight finish or stay pending. */
  stop(): void;
  idle(): Promise<void>;
}

export interface OutboxOptions {
  readonly client: Client;
  readonly ledger: AsyncRunStore;
  readonly config: () => Config;
  readonly log: Logger;
  readonly metrics?: Metrics | undefined;
  /** Aborted when the bot stops: nothing new is sent. */
  readonly shutdown: AbortSignal;
  readonly retryEveryMs?: number | undefined;
}

export function replyKindOf(origin: RunOrigin): string {
  return origin.kind === 'mention' ? MENTION_REPLY_KIND : REQUESTER_REPLY_KIND;
}

export function requesterOf(origin: RunOrigin): ResultRequester {
  return { id: origin.requesterId, label: origin.requesterLabel || origin.requesterId };
}

/** The requester's reply as a restarted process finds it in the store, or a new channel message. */
export function restoreReply(input: {
  readonly client: Client;
  readonly log: Logger;
  readonly runId: string;
  readonly origin: RunOrigin;
  readonly progress: ProgressMessage | undefined;
  readonly ledger: Pick<AsyncRunStore, 'deliveryNonce' | 'recordProgressMessage'>;
  readonly now?: number;
}): ReplyTarget {
  const { client, log, runId, origin, progress, ledger } = input;
  const onMove = (location: ReplyLocation): Promise<void> => ledger.recordProgressMessage(runId, location);
  if (origin.kind === 'mention') {
    return createChannelReply({
      client,
      channelId: origin.channelId,
      messageId: progress?.messageId,
      replyTo: origin.messageId,
      nonce: ledger.deliveryNonce(runId, MENTION_PROGRESS_NONCE_KIND),
      onMove,
    });
  }
  const now = input.now ?? Date.now();
  // A record with an expiry is the interaction's original response; one without, the channel message that took over.
  const isOriginal = progress === undefined || progress.tokenExpiresAt !== undefined;
  const token = isOriginal ? (progress?.interactionToken ?? liveToken(origin, now)) : undefined;
  return createRestoredTokenReply({
    client,
    applicationId: origin.applicationId ?? client.application?.id ?? client.user?.id ?? '',
    token: token ?? '',
    expiresAt: token === undefined ? 0 : (progress?.tokenExpiresAt ?? origin.tokenExpiresAt ?? 0),
    channelId: origin.channelId,
    requesterId: origin.requesterId,
    log,
    originalMessageId: isOriginal && progress?.messageId !== ORIGINAL ? progress?.messageId : undefined,
    channelMessageId: isOriginal ? undefined : progress?.messageId,
    nonce: ledger.deliveryNonce(runId, CHANNEL_PROGRESS_NONCE_KIND),
    onMove,
  });
}

export function createOutbox(options: OutboxOptions): Outbox {
  const { client, ledger, log, metrics, shutdown } = options;
  const jobs = new Map<string, DeliveryJob>();
  const inFlight = new Map<string, Promise<DeliveryState>>();
  /** Refused for good in this process: tried again at the next start only. */
  const givenUp = new Set<string>();
  const noted = new Set<string>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let draining: Promise<void> | undefined;

  async function jobFromStore(runId: string): Promise<DeliveryJob | undefined> {
    const run = await ledger.getRun(runId);
    const origin = parseOrigin(run?.origin);
    if (!run?.result || !origin) return undefined;
    return { runId, result: run.result, origin };
  }

  async function replyFor(job: DeliveryJob): Promise<ReplyTarget> {
    if (job.reply) return job.reply;
    const progress = (await ledger.progressMessages()).find((message) => message.runId === job.runId);
    return restoreReply({ client, log, runId: job.runId, origin: job.origin, progress, ledger });
  }

  /** 429s and 5xx are counted where discord.js sees them (error-metrics.ts); the rest here. */
  function noteError(error: unknown): void {
    const kind = discordErrorKind(error);
    if (kind !== 'rest_5xx' && kind !== 'rate_limited') metrics?.discordError(kind);
  }

  async function embedOf(job: DeliveryJob): Promise<Delivery> {
    const { runId, origin, result } = job;
    const recorded = await ledger.getDelivery(runId, RESULT_DELIVERY_KIND);
    if (recorded?.deliveredAt !== undefined) {
      const url = messageUrl(origin.guildId, recorded.channelId, recorded.messageId) ?? '';
      return { kind: 'posted', channelId: recorded.channelId ?? '', messageId: recorded.messageId ?? '', url };
    }
    const posted = await postResult({
      client,
      config: options.config(),
      log,
      guildId: origin.guildId,
      result,
      requester: requesterOf(origin),
      nonce: ledger.deliveryNonce(runId, RESULT_DELIVERY_KIND),
      threadId: origin.threadId,
      onError: noteError,
    });
    if (posted.kind === 'posted') {
      const first = await ledger.markDelivered(runId, RESULT_DELIVERY_KIND, {
        channelId: posted.channelId,
        messageId: posted.messageId,
      });
      if (!first)
        log.warn({ runId, messageId: posted.messageId }, 'the result embed was already recorded as delivered');
    }
    return posted;
  }

  /**
   * After the embed: its thread, once. Undefined when there is none (the embed did not land in
   * #dl-<agent>, the agent is configured without, or Discord refused for good); a bad minute throws.
   * A follow-up's embed posted in its own thread opens none: the conversation stays in one place.
   */
  async function threadOf(job: DeliveryJob, embed: Delivery, runLog: Logger): Promise<string | undefined> {
    if (embed.kind !== 'posted' || !wantsResultThread(options.config(), job.result.agent)) return undefined;
    if (embed.channelId === job.origin.threadId) return undefined;
    const recorded = await ledger.getDelivery(job.runId, RESULT_THREAD_DELIVERY_KIND);
    if (recorded?.deliveredAt !== undefined) return recorded.messageId;
    const name = resultThreadName((await ledger.getRun(job.runId))?.task ?? '', job.result.agent);
    let threadId: string;
    try {
      threadId = await openResultThread(client, embed.channelId, embed.messageId, name);
    } catch (error) {
      noteError(error);
      if (isTransient(error)) throw error;
      // No permission to open threads there, or the embed is gone: the result stands without one.
      runLog.warn({ err: error }, 'the result thread cannot be opened');
      return undefined;
    }
    await ledger.markDelivered(job.runId, RESULT_THREAD_DELIVERY_KIND, {
      channelId: embed.channelId,
      messageId: threadId,
    });
    return threadId;
  }

  /** Once per run: the requester's reply stops spinning while the result waits for Discord. */
  async function noteWaiting(job: DeliveryJob, runLog: Logger): Promise<void> {
    if (noted.has(job.runId)) return;
    noted.add(job.runId);
    try {
      await (await replyFor(job)).show(pausedReply(job.runId, true, !shutdown.aborted));
    } catch (error) {
      runLog.debug({ err: error }, 'could not say the result is waiting');
    }
  }

  /** After the answer: the mention's ✅/❌ in place of 👀 (runs enqueued before this kind existed get it too). */
  async function settleVerdict(job: DeliveryJob, runLog: Logger): Promise<DeliveryState> {
    const { runId, origin, result } = job;
    if (origin.kind !== 'mention' || origin.messageId === undefined) return 'delivered';
    if ((await ledger.getDelivery(runId, MENTION_VERDICT_KIND))?.deliveredAt !== undefined) return 'delivered';
    try {
      await markSettled(client, origin.channelId, origin.messageId, isSuccess(result.status));
    } catch (error) {
      noteError(error);
      if (isTransient(error)) {
        runLog.warn({ err: error }, 'the mention could not be marked now; the mark stays in the outbox');
        return 'pending';
      }
      // The mention is gone or the bot may not react there: no later try would do better.
      runLog.warn({ err: error }, 'the mention cannot be marked ✅/❌');
    }
    await ledger.markDelivered(runId, MENTION_VERDICT_KIND, {
      channelId: origin.channelId,
      messageId: origin.messageId,
    });
    return 'delivered';
  }

  async function attempt(job: DeliveryJob): Promise<DeliveryState> {
    const { runId, origin, result } = job;
    const runLog = log.child({ runId, agent: result.agent });
    let embed: Delivery;
    try {
      embed = await embedOf(job);
    } catch (error) {
      runLog.warn({ err: error }, 'the result embed could not be posted now; it stays in the outbox');
      await noteWaiting(job, runLog);
      return 'pending';
    }
    let threadId: string | undefined;
    try {
      threadId = await threadOf(job, embed, runLog);
    } catch (error) {
      runLog.warn({ err: error }, 'the result thread could not be opened now; it stays in the outbox');
      await noteWaiting(job, runLog);
      return 'pending';
    }

    const replyKind = replyKindOf(origin);
    const recordedReply = await ledger.getDelivery(runId, replyKind);
    let replyAt: ReplyLocation;
    if (recordedReply?.deliveredAt !== undefined) {
      replyAt = {
        channelId: recordedReply.channelId ?? origin.channelId,
        messageId: recordedReply.messageId ?? ORIGINAL,
      };
    } else {
      const requester = requesterOf(origin);
      // The JSON block is for agents to parse; a person who @mentioned gets the summary.
      const forAgent =
        origin.kind === 'mention' && Object.hasOwn(options.config().discord.agentBots, origin.requesterId);
      const payload = forAgent
        ? machineReply(result, embed, requester)
        : finalReply(result, embed, requester, threadId);
      try {
        replyAt = await (await replyFor(job)).show(payload);
      } catch (error) {
        noteError(error);
        if (isTransient(error)) {
          runLog.warn({ err: error }, 'the requester could not be answered now; the answer stays in the outbox');
        } else {
          givenUp.add(runId);
          runLog.error(
            { err: error },
            'the requester cannot be answered (Discord refused); the result is in the store, and tried again at the next start',
          );
        }
        return 'pending';
      }
      await ledger.markDelivered(runId, replyKind, { channelId: replyAt.channelId, messageId: replyAt.messageId });
    }
    if ((await settleVerdict(job, runLog)) === 'pending') return 'pending';
    // Not posted in #dl-<agent>: the result went out inline with the answer, so that is where it is.
    if (embed.kind !== 'posted')
      await ledger.markDelivered(runId, RESULT_DELIVERY_KIND, {
        channelId: replyAt.channelId,
        messageId: replyAt.messageId,
      });
    await ledger.clearProgressMessage(runId);
    await ledger.forgetInteractionToken(runId);
    jobs.delete(runId);
    givenUp.delete(runId);
    noted.delete(runId);
    runLog.info({ embed: embed.kind }, 'result delivered');
    return 'delivered';
  }

  function deliver(runId: string): Promise<DeliveryState> {
    const running = inFlight.get(runId);
    if (running) return running;
    const started = (async (): Promise<DeliveryState> => {
      const job = jobs.get(runId) ?? (await jobFromStore(runId));
      return job ? attempt(job) : 'pending';
    })()
      .catch((error: unknown) => {
        log.error({ err: error, runId }, 'delivery failed');
        return 'pending' as const;
      })
      .finally(() => inFlight.delete(runId));
    inFlight.set(runId, started);
    return started;
  }

  async function drainOnce(): Promise<void> {
    const seen = new Set<string>();
    for (const delivery of await ledger.pendingDeliveries()) {
      if (shutdown.aborted) return;
      if (seen.has(delivery.runId) || givenUp.has(delivery.runId)) continue;
      seen.add(delivery.runId);
      // One run at a time: after an outage this is a queue, not a storm.
      await deliver(delivery.runId);
    }
  }

  function drain(): Promise<void> {
    if (shutdown.aborted) return Promise.resolve();
    draining ??= drainOnce().finally(() => {
      draining = undefined;
    });
    return draining;
  }

  /** Interaction tokens are credentials: none is kept in the store past its 15 minutes. */
  async function forgetExpiredTokens(): Promise<void> {
    try {
      const forgotten = await ledger.forgetExpiredTokens();
      if (forgotten > 0) log.debug({ forgotten }, 'forgot expired interaction tokens');
    } catch (error) {
      log.warn({ err: error }, 'could not forget expired interaction tokens');
    }
  }

  return {
    async enqueue(job) {
      const target = { origin: job.origin };
      await ledger.enqueueDelivery({ runId: job.runId, kind: RESULT_DELIVERY_KIND, target });
      await ledger.enqueueDelivery({ runId: job.runId, kind: replyKindOf(job.origin), target });
      if (job.origin.kind === 'mention' && job.origin.messageId !== undefined)
        await ledger.enqueueDelivery({ runId: job.runId, kind: MENTION_VERDICT_KIND, target });
      jobs.set(job.runId, job);
    },
    deliver(runId) {
      if (shutdown.aborted) return Promise.resolve('pending');
      return deliver(runId);
    },
    drain,
    start() {
      if (timer !== undefined) return;
      void forgetExpiredTokens();
      timer = setInterval(() => {
        void (async () => {
          await forgetExpiredTokens();
          if (jobs.size > 0 || (await ledger.pendingDeliveries()).length > 0) await drain();
        })().catch((error: unknown) => log.warn({ err: error }, 'the periodic outbox drain failed'));
      }, options.retryEveryMs ?? OUTBOX_RETRY_MS);
      timer.unref();
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight.values()]);
    },
  };
}
