/**
 * Agents delegate by @mentioning the bot (grammar in mention-grammar.ts). The author's own
 * principals apply (an agent's bot account acts as that agent), the message is marked 👀 when
 * taken and ✅/❌ when the run ends, and the answer is a reply that shows progress and ends with
 * the machine-readable block plus a link to the result embed.
 *
 * Loops are cut three ways: the bot never answers itself, a bot's reply to one of our messages
 * that carries no new task is ignored silently, and each author may start only so many runs a
 * minute and only so deep a chain (a mention from agent X while a run delegated TO X is active
 * is one level deeper than that run).
 */
import { Events, type Client, type Message } from 'discord.js';
import { ErrorCode, HqError } from '../errors.ts';
import { isSuccess } from '../engine/types.ts';
import type { BotContext } from './bot-context.ts';
import { fetchChannelContext, formatUntrustedContext } from './channel-context.ts';
import { actorFromMessage, authorizeDelegation } from './delegation-access.ts';
import { describeError } from './interaction-router.ts';
import { MAX_MESSAGE_CONTENT, truncate } from './limits.ts';
import { parseMentionTask } from './mention-grammar.ts';
import { NO_PINGS } from './no-pings.ts';
import { renderMachineBlock } from './reply-block.ts';
import { createMessageReply, type ReplyPayload } from './reply-target.ts';
import { renderResultMessage } from './result-embed.ts';
import { runDelegation, type DelegationOutcome } from './run-delegation.ts';

export const TAKEN = '👀';
export const SUCCEEDED = '✅';
export const FAILED = '❌';
const WINDOW_MS = 60_000;

export interface MentionHandler {
  handle(message: Message): Promise<void>;
  detach(): void;
}

/** Sliding one-minute window of accepted delegations per author. */
function createRateWindow(now: () => number = Date.now) {
  const starts = new Map<string, number[]>();
  return {
    /** Milliseconds until the author may start another run, or 0 if they may now (and it is counted). */
    take(key: string, limit: number): number {
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

export function attachMentionHandler(client: Client, context: BotContext): MentionHandler {
  const rate = createRateWindow();

  async function handle(message: Message): Promise<void> {
    const me = client.user;
    if (!me || message.author.id === me.id || !message.inGuild()) return;
    // A reply pings its author without naming them; only a mention written in the text is a call.
    if (!new RegExp(`<@!?${me.id}>`).test(message.content)) return;
    const log = context.log.child({ messageId: message.id, authorId: message.author.id, channelId: message.channelId });
    const replyingToUs = message.mentions.repliedUser?.id === me.id;
    const parsed = parseMentionTask(message.content, me.id);
    if (!parsed.ok) {
      // A bot answering one of our messages ("thanks @HQ") is not a task; refusing would start a ping-pong.
      if (message.author.bot && replyingToUs) return;
      await refuse(message, parsed.reason);
      return;
    }
    try {
      if (context.shutdown.aborted) throw new HqError(ErrorCode.SHUTTING_DOWN, 'The bot is restarting and takes no new work right now: try again in a minute.');
      const config = context.config();
      const actor = actorFromMessage(message);
      const principals = authorizeDelegation(actor, parsed.agent, config, context.engine);

      const callerAgent = message.author.bot ? config.discord.agentBots[message.author.id] : undefined;
      const depth = (callerAgent ? context.runs.depthOf(callerAgent) : 0) + 1;
      if (depth > config.discord.maxChainDepth) {
        throw new HqError(
          ErrorCode.RATE_LIMITED,
          `Delegation chain too deep: this would be level ${depth}, the limit is ${config.discord.maxChainDepth} (discord.maxChainDepth). Finish the work in hand instead of delegating further.`,
        );
      }
      const waitMs = rate.take(message.author.id, config.discord.mentionsPerBotPerMinute);
      if (waitMs > 0) {
        throw new HqError(
          ErrorCode.RATE_LIMITED,
          `Too many delegations: at most ${config.discord.mentionsPerBotPerMinute} per minute per author (discord.mentionsPerBotPerMinute). Try again in ${Math.ceil(waitMs / 1_000)} s.`,
        );
      }

      await react(message, TAKEN, log);
      let taskContext: string | undefined;
      const count = parsed.options.context ?? 0;
      if (count > 0) {
        const label = 'name' in message.channel && message.channel.name ? `#${message.channel.name}` : `<#${message.channelId}>`;
        const messages = await fetchChannelContext(client.rest, message.channelId, count + 1, label);
        // The mention itself is the task, not context.
        const others = messages.filter((m) => m.id !== message.id).slice(-count);
        taskContext = formatUntrustedContext(others, { maxChars: config.discord.contextMaxChars, source: label }) || undefined;
      }

      const requester = { id: message.author.id, label: callerAgent ?? message.author.username };
      const reply = createMessageReply(message);
      const outcome = await runDelegation(context, {
        delegation: {
          agent: parsed.agent,
          task: parsed.task,
          ...(taskContext ? { context: taskContext } : {}),
          ...(parsed.options.retries !== undefined ? { maxAttempts: parsed.options.retries } : {}),
          ...(parsed.options.timeout !== undefined ? { timeoutSeconds: parsed.options.timeout } : {}),
          ...(parsed.options.strict !== undefined ? { strict: parsed.options.strict } : {}),
        },
        principals,
        requester,
        reply,
        origin: { kind: 'mention', guildId: message.guildId, channelId: message.channelId, requesterId: requester.id, messageId: message.id, depth },
      });
      await reply.show(machineReply(outcome, requester));
      await unreact(message, TAKEN, log);
      await react(message, isSuccess(outcome.result.status) ? SUCCEEDED : FAILED, log);
    } catch (error) {
      const expected = error instanceof HqError;
      log[expected ? 'info' : 'error']({ err: error }, 'mention refused or failed');
      await refuse(message, describeError(error));
      await unreact(message, TAKEN, log);
      await react(message, FAILED, log);
    }
  }

  async function refuse(message: Message, reason: string): Promise<void> {
    try {
      await message.reply({ content: truncate(`❌ ${reason}`, MAX_MESSAGE_CONTENT), allowedMentions: NO_PINGS, failIfNotExists: false });
    } catch (error) {
      context.log.warn({ err: error, messageId: message.id }, 'could not answer a mention');
    }
  }

  const listener = (message: Message) => void handle(message);
  client.on(Events.MessageCreate, listener);
  return { handle, detach: () => void client.off(Events.MessageCreate, listener) };
}

/** The calling agent parses this: fenced JSON (the CLI's result shape) with the link to the embed. */
function machineReply(outcome: DelegationOutcome, requester: { id: string; label: string }): ReplyPayload {
  const { delivery, result } = outcome;
  if (delivery?.kind === 'posted') return { content: renderMachineBlock(result, delivery.url), embeds: [], components: [] };
  const notice = delivery ? `⚠️ ${delivery.notice}` : '⚠️ The bot is restarting: the result will be posted when it is back.';
  const block = renderMachineBlock(result, undefined, MAX_MESSAGE_CONTENT - notice.length - 1);
  const rendered = delivery ? renderResultMessage(result, { requesterId: requester.id, requesterLabel: requester.label }) : { embeds: [], components: [] };
  return { content: `${notice}\n${block}`, ...rendered };
}

async function react(message: Message, emoji: string, log: BotContext['log']): Promise<void> {
  try {
    await message.react(emoji);
  } catch (error) {
    log.warn({ err: error, emoji }, 'could not react');
  }
}

async function unreact(message: Message, emoji: string, log: BotContext['log']): Promise<void> {
  const me = message.client.user;
  try {
    await message.reactions.cache.get(emoji)?.users.remove(me.id);
  } catch (error) {
    log.warn({ err: error, emoji }, 'could not remove a reaction');
  }
}
