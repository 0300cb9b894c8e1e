/**
 * Channel cursors: the last message seen in each channel, so a restarted bot reads the mentions
 * it missed and no others. Kept forever (retention leaves them); one row per channel.
 */
import type { DatabaseSync } from 'node:sqlite';
import { ErrorCode, HqError } from '../errors.ts';
import { createTransaction, text } from './sqlite-rows.ts';

export interface ChannelCursor {
  readonly channelId: string;
  readonly messageId: string;
  readonly updatedAt: number;
}

const SNOWFLAKE = /^\d{1,20}$/;

export function normalizeSnowflake(what: string, value: string): bigint {
  if (typeof value !== 'string' || !SNOWFLAKE.test(value)) {
    throw new HqError(
      ErrorCode.USAGE,
      `${what} ${JSON.stringify(String(value).slice(0, 40))} is not a Discord id (1 to 20 digits)`,
    );
  }
  return BigInt(value);
}

export type ChannelCursors = ReturnType<typeof createChannelCursors>;

export function createChannelCursors(db: DatabaseSync, now: () => number) {
  const transaction = createTransaction(db);
  const getCursor = db.prepare('SELECT message_id FROM channel_cursors WHERE channel_id = ?');
  const putCursor = db.prepare(`
    INSERT INTO channel_cursors (channel_id, message_id, updated_at) VALUES (?, ?, ?)
    ON CONFLICT (channel_id) DO UPDATE SET message_id = excluded.message_id, updated_at = excluded.updated_at`);
  const all = db.prepare('SELECT channel_id, message_id, updated_at FROM channel_cursors ORDER BY channel_id');

  return {
    /** Moves the channel's cursor forward only (snowflakes compared as BigInt). Returns whether it moved. */
    setLastSeen(channelId: string, messageId: string): boolean {
      normalizeSnowflake('channel id', channelId);
      const next = normalizeSnowflake('message id', messageId);
      return transaction(() => {
        const current = text(getCursor.get(channelId)?.message_id);
        if (current !== undefined && BigInt(current) >= next) return false;
        putCursor.run(channelId, next.toString(), now());
        return true;
      });
    },

    lastSeen(channelId: string): string | undefined {
      return text(getCursor.get(channelId)?.message_id);
    },

    allCursors(): ChannelCursor[] {
      return all.all().map((row) => ({
        channelId: String(row.channel_id),
        messageId: String(row.message_id),
        updatedAt: Number(row.updated_at),
      }));
    },
  };
}
