/**
 * Channel cursors on PostgreSQL (../channel-cursors.ts): one upsert moves a cursor forward only,
 * comparing the snowflakes as numbers, so two writers racing cannot move it back.
 */
import { normalizeSnowflake, type ChannelCursor } from '../channel-cursors.ts';
import type { PgSession } from './session.ts';

const MOVE_FORWARD = `
  INSERT INTO channel_cursors (channel_id, message_id, updated_at) VALUES ($1, $2, $3)
  ON CONFLICT (channel_id) DO UPDATE SET message_id = excluded.message_id, updated_at = excluded.updated_at
  WHERE channel_cursors.message_id::numeric < excluded.message_id::numeric`;

export function createPgChannelCursors(session: PgSession, now: () => number) {
  const { read, write } = session;
  return {
    async setLastSeen(channelId: string, messageId: string): Promise<boolean> {
      normalizeSnowflake('channel id', channelId);
      const next = normalizeSnowflake('message id', messageId);
      return write(async (query) => (await query(MOVE_FORWARD, [channelId, next.toString(), now()])).rowCount !== 0);
    },

    async lastSeen(channelId: string): Promise<string | undefined> {
      const row = (await read('SELECT message_id FROM channel_cursors WHERE channel_id = $1', [channelId])).rows[0];
      return row === undefined ? undefined : String(row.message_id);
    },

    async allCursors(): Promise<ChannelCursor[]> {
      const { rows } = await read('SELECT channel_id, message_id, updated_at FROM channel_cursors ORDER BY channel_id');
      return rows.map((row) => ({
        channelId: String(row.channel_id),
        messageId: String(row.message_id),
        updatedAt: Number(row.updated_at),
      }));
    },
  };
}
