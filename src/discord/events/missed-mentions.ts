/**
 * Mentions sent while the bot was down: the messages after each channel's cursor, and in a
 * channel or thread it has no cursor for (new, or first written to while it was down) those
 * within discord.missedMentionMaxAgeMinutes, read over REST and handed oldest first to the live
 * mention handler. One already taken (its run is in the
 * store, the bot answered it, or marked it ✅/❌) only moves the cursor. 👀 alone proves nothing:
 * a process killed between 👀 and journaling the run left it on a mention nobody took.
 */
import {
  PermissionFlagsBits,
  SnowflakeUtil,
  type GuildTextBasedChannel,
  type Message,
  type TextBasedChannel,
} from 'discord.js';
import { MAX_RECENT_RUNS } from '../../store/run-store.ts';
import type { BotContext } from '../bot-context.ts';
import type { MentionHandler } from './mention-handler.ts';
import { parseOrigin } from '../runs/run-origin.ts';
import { FAILED, SUCCEEDED } from '../delivery/mention-reactions.ts';

export const MISSED_PAGE_SIZE = 100;
/** Bounds the read per channel after a long outage. */
export const MAX_MISSED_PAGES = 10;
/** Channels without a cursor read at start, each one page back to discord.missedMentionMaxAgeMinutes. */
export const MAX_UNCURSORED_CHANNELS = 50;
const READ_BACK = [PermissionFlagsBits.ViewChannel, PermissionFlagsBits.ReadMessageHistory];
/** The marks the bot sets once a mention is settled. */
const VERDICTS: ReadonlySet<string> = new Set([SUCCEEDED, FAILED]);

export interface MissedMentionsReport {
  readonly channels: number;
  readonly messages: number;
  readonly mentions: number;
}

export async function takeMissedMentions(
  context: BotContext,
  mentions: MentionHandler,
  track: (work: Promise<unknown>) => void,
): Promise<MissedMentionsReport> {
  const { client, ledger, log } = context;
  const me = client.user;
  if (!me) return { channels: 0, messages: 0, mentions: 0 };
  const taken = new Set<string>();
  for (const run of await ledger.recentRuns({ limit: MAX_RECENT_RUNS })) {
    const messageId = parseOrigin(run.origin)?.messageId;
    if (messageId !== undefined) taken.add(messageId);
  }
  const report = { channels: 0, messages: 0, mentions: 0 };
  const take = (messages: readonly Message[]): Promise<void> =>
    handOver(mentions, track, { myId: me.id, taken, messages, report });

  const cursors = await ledger.allCursors();
  for (const cursor of cursors) {
    if (context.shutdown.aborted) break;
    const messages = await readOrWarn(context, cursor.channelId, () =>
      readAfter(context, cursor.channelId, cursor.messageId),
    );
    if (messages) await take(messages);
  }
  // A store without any cursor has never watched: nothing it could have missed.
  if (cursors.length > 0) {
    const since = Date.now() - context.config().discord.missedMentionMaxAgeMinutes * 60_000;
    const cursored = new Set(cursors.map((cursor) => cursor.channelId));
    for (const channel of recentlyActiveWithoutCursor(context, cursored, since)) {
      if (context.shutdown.aborted) break;
      const after = SnowflakeUtil.generate({ timestamp: since }).toString();
      const messages = await readOrWarn(context, channel.id, () => readPage(channel, { after }));
      if (messages) await take(messages);
    }
  }
  if (report.mentions > 0 || report.messages > 0) log.info(report, 'read the messages missed while down');
  return report;
}

interface Handover {
  readonly myId: string;
  readonly taken: ReadonlySet<string>;
  readonly messages: readonly Message[];
  readonly report: { channels: number; messages: number; mentions: number };
}

/** One channel's missed messages to the handler, oldest first; those already taken only move the cursor. */
async function handOver(
  mentions: MentionHandler,
  track: (work: Promise<unknown>) => void,
  { myId, taken, messages, report }: Handover,
): Promise<void> {
  const mentionOfMe = new RegExp(`<@!?${myId}>`);
  report.channels += 1;
  report.messages += messages.length;
  // Our own replies in the same stretch say which mentions were answered before the restart.
  const answered = new Set(
    messages.flatMap((m) => (m.author.id === myId && m.reference?.messageId ? [m.reference.messageId] : [])),
  );
  for (const message of messages) {
    const forMe = message.author.id !== myId && mentionOfMe.test(message.content);
    const done =
      taken.has(message.id) ||
      answered.has(message.id) ||
      message.reactions.cache.some((reaction) => reaction.me && VERDICTS.has(reaction.emoji.name ?? ''));
    if (!forMe || done) {
      mentions.markSeen(message);
      continue;
    }
    report.mentions += 1;
    // Roles are not in a message read over REST; the member's are needed for the ACL.
    if (message.guild && !message.webhookId)
      await message.guild.members.fetch(message.author.id).catch(() => undefined);
    // Not awaited: a taken mention runs for minutes. The handler holds the cursor until it is journaled.
    track(mentions.handle(message, { missed: true }));
  }
}

async function readOrWarn(
  context: BotContext,
  channelId: string,
  read: () => Promise<Message[]>,
): Promise<Message[] | undefined> {
  try {
    return await read();
  } catch (error) {
    context.log.warn({ err: error, channelId }, 'could not read the messages missed in a channel');
    return undefined;
  }
}

/**
 * Channels and threads the bot can read that have no cursor (it never saw a message there: new,
 * or first written to while it was down) and whose last message is recent, the newest first.
 */
function recentlyActiveWithoutCursor(
  context: BotContext,
  cursored: ReadonlySet<string>,
  since: number,
): GuildTextBasedChannel[] {
  const me = context.client.user;
  if (!me) return [];
  const found: GuildTextBasedChannel[] = [];
  for (const channel of context.client.channels.cache.values()) {
    if (!channel.isTextBased() || channel.isDMBased() || cursored.has(channel.id)) continue;
    const last = channel.lastMessageId;
    if (!last || SnowflakeUtil.timestampFrom(last) < since) continue;
    if (!channel.permissionsFor(me)?.has(READ_BACK)) continue;
    found.push(channel);
  }
  found.sort((a, b) => (BigInt(a.lastMessageId!) > BigInt(b.lastMessageId!) ? -1 : 1));
  return found.slice(0, MAX_UNCURSORED_CHANNELS);
}

async function readPage(
  channel: TextBasedChannel,
  query: { readonly after?: string; readonly before?: string },
): Promise<Message[]> {
  return [...(await channel.messages.fetch({ limit: MISSED_PAGE_SIZE, cache: false, ...query })).values()].sort(
    (a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1),
  );
}

/**
 * The messages after `after`, oldest first. Past one full page, the rest is read from the newest
 * back, so beyond MAX_MISSED_PAGES it is the middle of a long outage that is left out.
 */
async function readAfter(context: BotContext, channelId: string, after: string): Promise<Message[]> {
  const channel = await context.client.channels.fetch(channelId);
  if (!channel || !channel.isTextBased() || channel.isDMBased()) return [];
  const page = (query: { after?: string; before?: string }): Promise<Message[]> => readPage(channel, query);
  const first = await page({ after });
  if (first.length < MISSED_PAGE_SIZE) return first;
  const floor = BigInt(first.at(-1)!.id);
  const rest: Message[] = [];
  let before: string | undefined;
  for (let pages = 1; pages < MAX_MISSED_PAGES; pages += 1) {
    const batch = await page(before === undefined ? {} : { before });
    const newer = batch.filter((m) => BigInt(m.id) > floor);
    rest.unshift(...newer);
    if (batch.length < MISSED_PAGE_SIZE || newer.length < batch.length) return [...first, ...rest];
    before = batch[0]!.id;
  }
  context.log.warn(
    { channelId, read: first.length + rest.length },
    'more messages were missed than are read at start; some in the middle are left out',
  );
  return [...first, ...rest];
}
