/**
 * Agents delegate by @mentioning the bot, under their own principals: the message is marked 👀,
 * then ✅/❌, and answered by a reply that shows progress and ends with the machine-readable block.
 * Every message moves its channel's cursor, a mention only once journaled. Loops are cut three
 * ways: the bot never answers itself, a bot's taskless reply to us is ignored, and each author
 * has a per-minute limit and each delegation chain a maximum depth (delegation-chain.ts).
 */
import { Events, PermissionFlagsBits, type Client, type Message } from 'discord.js';
import { ErrorCode, HqError } from '../../errors.ts';
import { newRunId } from '../../engine/run-id.ts';
import type { BotContext } from '../bot-context.ts';
import { fetchChannelContext, formatUntrustedContext } from '../context/channel-context.ts';
import type { ChannelCursors } from './channel-cursors.ts';
import { actorFromMessage, authorizeDelegation, principalsOf } from '../runs/delegation-access.ts';
import { describeError } from './interaction-router.ts';
import { MAX_MESSAGE_CONTENT, truncate } from '../render/limits.ts';
import { resultThreadOf } from './follow-up.ts';
import { parseFollowUpTask, parseMentionTask } from './mention-grammar.ts';
import { isPlainFollowUp } from './plain-follow-up.ts';
import { FAILED, react, TAKEN, unreact } from '../delivery/mention-reactions.ts';
import { NO_PINGS } from '../render/no-pings.ts';
import { MENTION_PROGRESS_NONCE_KIND } from '../delivery/outbox.ts';
import { createChannelReply } from '../delivery/reply-target.ts';
import { authorRateOf } from '../runs/author-rate.ts';
import { chainOf } from '../runs/delegation-chain.ts';
import { runDelegation, type DelegationStart } from '../runs/run-delegation.ts';
import { runInThread } from '../runs/queued-follow-up.ts';
import {
  chainTooDeep,
  GUILD_ONLY,
  mentionContextUnreadable,
  missedMentionTooOld,
  RESTARTING_NOTICE,
  tooManyDelegations,
} from '../render/strings.ts';

/** Message ids remembered as taken, so a mention read again is not taken twice. */
const CLAIMS_MAX = 10_000;

export interface MentionOptions {
  readonly missed?: boolean;
}

export interface MentionHandler {
  handle(message: Message, options?: MentionOptions): Promise<void>;
  /** A message that needs nothing (taken before a restart): claimed, and the cursor may pass it. */
  markSeen(message: Message): void;
  detach(): void;
}

function createClaims(max = CLAIMS_MAX) {
  const claimed = new Set<string>();
  return {
    claim(id: string): boolean {
      if (claimed.has(id)) return false;
      claimed.add(id);
      if (claimed.size > max) claimed.delete(claimed.values().next().value!);
      return true;
    },
    has: (id: string): boolean => claimed.has(id),
    release: (id: string): void => void claimed.delete(id),
  };
}

export function attachMentionHandler(
  client: Client,
  context: BotContext,
  cursors: ChannelCursors,
  track: (work: Promise<unknown>) => void = () => {},
): MentionHandler {
  const rate = authorRateOf(context);
  const claims = createClaims();
  /** Seen but not taken (no mention, or refused before a run started): an edit may still make it a task. */
  const untaken = createClaims();

  async function handle(message: Message, options: MentionOptions = {}): Promise<void> {
    const me = client.user;
    if (!me) return;
    if (!message.inGuild()) {
      await answerDirectMessage(message, me.id);
      return;
    }
    if (!claims.claim(message.id)) return;
    // Discord's autocomplete offers the bot's managed role before the bot: a mention of it is a mention of us.
    const myRoleId = message.guild.roles.botRoleFor(me)?.id;
    // A reply pings its author without naming them; only a mention written in the text is a call.
    const mentioned = message.author.id !== me.id && mentionsMe(message.content, me.id, myRoleId);
    // Held before the store is asked anything: a newer message seen meanwhile must not move the cursor past it.
    const release = cursors.hold(message.channelId, message.id);
    try {
      // With message content read, a member's plain message in a result thread is a call too.
      const plain = !mentioned && (await isPlainFollowUp(client, context.ledger, message));
      if (!mentioned && !plain) {
        if (message.author.id !== me.id) untaken.claim(message.id);
        return;
      }
      await take(message, me.id, myRoleId, { ...options, plain }, release);
    } finally {
      release();
    }
  }

  async function take(
    message: Message<true>,
    myId: string,
    myRoleId: string | undefined,
    options: MentionOptions & { readonly plain: boolean },
    release: () => void,
  ): Promise<void> {
    const log = context.log.child({
      messageId: message.id,
      authorId: message.author.id,
      channelId: message.channelId,
      missed: options.missed === true,
    });
    const replyingToUs = message.mentions.repliedUser?.id === myId;
    // In a result thread the agent is the thread's (follow-up.ts).
    const thread = await resultThreadOf(context.ledger, message.channelId);
    const parsed = thread
      ? parseFollowUpTask(options.plain ? `<@${myId}> ${message.content}` : message.content, {
          botUserId: myId,
          botRoleId: myRoleId,
          agent: thread.agent,
          knownAgents: context.engine.agents().map((endpoint) => endpoint.name),
        })
      : parseMentionTask(message.content, myId, myRoleId);
    if (!parsed.ok) {
      untaken.claim(message.id);
      // A bot answering one of our messages ("thanks @HQ") is not a task; refusing would start a ping-pong.
      if (message.author.bot && replyingToUs) return;
      await refuse(message, parsed.reason);
      await react(client, message.channelId, message.id, FAILED, log);
      return;
    }
    // Taken after an edit corrected it: the ❌ of the refused version no longer applies.
    if (untaken.has(message.id)) {
      untaken.release(message.id);
      await unreact(client, message.channelId, message.id, FAILED, log);
    }
    let taken = false;
    try {
      if (context.shutdown.aborted) throw new HqError(ErrorCode.SHUTTING_DOWN, RESTARTING_NOTICE);
      const config = context.config();
      if (options.missed === true) {
        const maxAgeMs = config.discord.missedMentionMaxAgeMinutes * 60_000;
        const ageMs = Date.now() - message.createdTimestamp;
        if (ageMs > maxAgeMs) {
          log.info({ ageMs }, 'missed mention too old to take');
          await refuse(message, missedMentionTooOld(ageMs, config.discord.missedMentionMaxAgeMinutes), '⌛');
          return;
        }
      }
      const actor = actorFromMessage(message);
      const principals = authorizeDelegation(actor, parsed.agent, config, context.engine);

      const callerAgent = message.author.bot ? config.discord.agentBots[message.author.id] : undefined;
      const runId = newRunId();
      const chain = callerAgent
        ? await chainOf(context.ledger, {
            agent: callerAgent,
            authorId: message.author.id,
            content: message.content,
            replyTo: message.reference?.messageId,
            now: Date.now(),
          })
        : undefined;
      const depth = chain?.depth ?? 1;
      if (depth > config.discord.maxChainDepth) {
        throw new HqError(ErrorCode.RATE_LIMITED, chainTooDeep(depth, config.discord.maxChainDepth));
      }
      const waitMs = rate.take(message.author.id, config.discord.mentionsPerBotPerMinute);
      if (waitMs > 0) {
        throw new HqError(ErrorCode.RATE_LIMITED, tooManyDelegations(config.discord.mentionsPerBotPerMinute, waitMs));
      }

      // A store that cannot write could not keep the run: refused before 👀 and before anything is sent.
      const count = parsed.options.context ?? 0;
      const label =
        'name' in message.channel && message.channel.name ? `#${message.channel.name}` : `<#${message.channelId}>`;
      // Discord answers the message list of a channel the bot may not read with nothing: refused, not sent bare.
      if (count > 0 && !botReadsHistory(message)) {
        throw new HqError(ErrorCode.CONTEXT_UNAVAILABLE, mentionContextUnreadable(label));
      }
      await context.ledger.assertWritable();
      taken = true;
      await react(client, message.channelId, message.id, TAKEN, log);
      let taskContext: string | undefined;
      if (count > 0) {
        const messages = await fetchChannelContext(client.rest, message.channelId, count + 1, label);
        // The mention itself is the task, not context.
        const others = messages.filter((m) => m.id !== message.id).slice(-count);
        taskContext =
          formatUntrustedContext(others, { maxChars: config.discord.contextMaxChars, source: label }) || undefined;
      }
      // A follow-up's thread context is added when its turn comes (queued-follow-up.ts).

      const requesterLabel = callerAgent ?? message.author.username;
      const start: DelegationStart = {
        runId,
        delegation: {
          agent: parsed.agent,
          task: parsed.task,
          ...(taskContext ? { context: taskContext } : {}),
          ...(parsed.options.retries !== undefined ? { maxAttempts: parsed.options.retries } : {}),
          ...(parsed.options.timeout !== undefined ? { timeoutSeconds: parsed.options.timeout } : {}),
          ...(parsed.options.strict !== undefined ? { strict: parsed.options.strict } : {}),
        },
        principals,
        reply: createChannelReply({
          client,
          channelId: message.channelId,
          replyTo: message.id,
          nonce: context.ledger.deliveryNonce(runId, MENTION_PROGRESS_NONCE_KIND),
          onMove: (location) => context.ledger.recordProgressMessage(runId, location),
        }),
        origin: {
          kind: 'mention',
          guildId: message.guildId,
          channelId: message.channelId,
          requesterId: message.author.id,
          requesterLabel,
          messageId: message.id,
          depth,
          chainId: chain?.chainId ?? runId,
          ...(thread ? { threadId: thread.threadId } : {}),
        },
        onStarted: release,
      };
      // In a result thread one run at a time: a follow-up may wait its turn (queued-follow-up.ts).
      await (thread ? runInThread(context, start, thread) : runDelegation(context, start));
      // The outbox answers and sets ✅/❌ once the result is delivered.
    } catch (error) {
      const expected = error instanceof HqError;
      log[expected ? 'info' : 'error']({ err: error }, 'mention refused or failed');
      if (!taken) untaken.claim(message.id);
      await refuse(message, describeError(error));
      if (taken) await unreact(client, message.channelId, message.id, TAKEN, log);
      await react(client, message.channelId, message.id, FAILED, log);
    }
  }

  async function refuse(message: Message, reason: string, emoji = '❌'): Promise<void> {
    const payload = {
      content: truncate(`${emoji} ${reason}`, MAX_MESSAGE_CONTENT),
      allowedMentions: NO_PINGS,
      // Read again after a restart, the same refusal comes back as the first one.
      nonce: context.ledger.deliveryNonce(`mention:${message.id}`, 'refusal'),
      enforceNonce: true,
    };
    try {
      // Discord refuses a reply from a bot that may not read the history (160002): a plain message then.
      if (message.inGuild() && !botReadsHistory(message)) await message.channel.send(payload);
      else await message.reply({ ...payload, failIfNotExists: false });
    } catch (error) {
      context.log.warn({ err: error, messageId: message.id }, 'could not answer a mention');
    }
  }

  /** The README promises DMs a refusal: delegation needs the roles a member has in the server. */
  async function answerDirectMessage(message: Message, myId: string): Promise<void> {
    if (message.author.id === myId || !mentionsMe(message.content, myId, undefined)) return;
    if (!claims.claim(message.id)) return;
    await refuse(message, principalsRefusal(actorFromMessage(message), context.config()));
    await react(client, message.channelId, message.id, FAILED, context.log);
  }

  /** An edit that turns a message not yet taken into a valid mention is taken like a new one. */
  const onUpdate = (_old: unknown, updated: Message): void => {
    if (!untaken.has(updated.id) || updated.partial) return;
    claims.release(updated.id);
    track(handle(updated));
  };
  const listener = (message: Message) => track(handle(message));
  client.on(Events.MessageCreate, listener);
  client.on(Events.MessageUpdate, onUpdate);
  return {
    handle,
    markSeen(message) {
      claims.claim(message.id);
      cursors.seen(message.channelId, message.id);
    },
    detach: () => {
      client.off(Events.MessageCreate, listener);
      client.off(Events.MessageUpdate, onUpdate);
    },
  };
}

/** Unknown (no cached member or channel) counts as yes: the fetch then says what came back. */
function botReadsHistory(message: Message<true>): boolean {
  const me = message.guild.members.me;
  if (!me || !('permissionsFor' in message.channel)) return true;
  return message.channel.permissionsFor(me)?.has(PermissionFlagsBits.ReadMessageHistory) ?? true;
}

function mentionsMe(content: string, myId: string, myRoleId: string | undefined): boolean {
  if (new RegExp(`<@!?${myId}>`).test(content)) return true;
  return myRoleId !== undefined && content.includes(`<@&${myRoleId}>`);
}

/** Why this caller cannot delegate at all (a DM: no server, no roles). */
function principalsRefusal(
  actor: ReturnType<typeof actorFromMessage>,
  config: ReturnType<BotContext['config']>,
): string {
  try {
    principalsOf(actor, config);
    return GUILD_ONLY;
  } catch (error) {
    return describeError(error);
  }
}
