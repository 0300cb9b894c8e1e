/**
 * Mentions sent while the bot was down: the messages after each channel's cursor, read over
 * REST and handed oldest first to the live mention handler. One already taken (its run is in the
 * store, the bot answered it, or marked it ✅/❌) only moves the cursor. 👀 alone proves nothing:
 * a process killed between 👀 and journaling the run left it on a mention nobody took.
 */
import type { Message } from 'discord.js';
import { MAX_RECENT_RUNS } from '../../store/run-store.ts';
import type { BotContext } from '../bot-context.ts';
import type { MentionHandler } from './mention-handler.ts';
import { parseOrigin } from '../runs/run-origin.ts';
import { FAILED, SUCCEEDED } from '../delivery/mention-reactions.ts';

export const MISSED_PAGE_SIZE = 100;
/** Bounds the read per channel after a long outage. */
export const MAX_MISSED_PAGES = 10;
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
  const mentionOfMe = new RegExp(`<@!?${me.id}>`);
  const taken = new Set<string>();
  for (const run of ledger.recentRuns({ limit: MAX_RECENT_RUNS })) {
    const messageId = parseOrigin(run.origin)?.messageId;
    if (messageId !== undefined) taken.add(messageId);
  }

  let channels = 0;
  let read = 0;
  let handed = 0;
  for (const cursor of ledger.allCursors()) {
    if (context.shutdown.aborted) break;
    const channelLog = log.child({ channelId: cursor.channelId });
    let messages: Message[];
    try {
      messages = await readAfter(context, cursor.channelId, cursor.messageId);
    } catch (error) {
      channelLog.warn({ err: error }, 'could not read the messages missed in a channel');
      continue;
    }
    channels += 1;
    read += messages.length;
    // Our own replies in the same stretch say which mentions were answered before the restart.
    const answered = new Set(
      messages.flatMap((m) => (m.author.id === me.id && m.reference?.messageId ? [m.reference.messageId] : [])),
    );
    for (const message of messages) {
      const forMe = message.author.id !== me.id && mentionOfMe.test(message.content);
      const done =
        taken.has(message.id) ||
        answered.has(message.id) ||
        message.reactions.cache.some((reaction) => reaction.me && VERDICTS.has(reaction.emoji.name ?? ''));
      if (!forMe || done) {
        mentions.markSeen(message);
        continue;
      }
      handed += 1;
      // Roles are not in a message read over REST; the member's are needed for the ACL.
      if (message.guild && !message.webhookId)
        await message.guild.members.fetch(message.author.id).catch(() => undefined);
      // Not awaited: a taken mention runs for minutes. The handler holds the cursor until it is journaled.
      track(mentions.handle(message, { missed: true }));
    }
  }
  if (handed > 0 || read > 0)
    log.info({ channels, messages: read, mentions: handed }, 'read the messages missed while down');
  return { channels, messages: read, mentions: handed };
}

/**
 * The messages after `after`, oldest first. Past one full page, the rest is read from the newest
 * back, so beyond MAX_MISSED_PAGES it is the middle of a long outage that is left out.
 */
async function readAfter(context: BotContext, channelId: string, after: string): Promise<Message[]> {
  const channel = await context.client.channels.fetch(channelId);
  if (!channel || !channel.isTextBased() || channel.isDMBased()) return [];
  const page = async (query: { after?: string; before?: string }): Promise<Message[]> =>
    [...(await channel.messages.fetch({ limit: MISSED_PAGE_SIZE, cache: false, ...query })).values()].sort((a, b) =>
      BigInt(a.id) < BigInt(b.id) ? -1 : 1,
    );
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
