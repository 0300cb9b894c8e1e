/** The outbox on PostgreSQL: ../outbox.ts's verbs; the first enqueue and the first report win. */
import {
  DELIVERY_COLUMNS,
  deliveryNonce,
  toDelivery,
  type DeliveredMessage,
  type Delivery,
  type DeliveryKind,
} from '../outbox.ts';
import { jsonOrNull, type Row } from '../sqlite-rows.ts';
import type { PgSession } from './session.ts';

const ENQUEUE = `
  INSERT INTO deliveries (run_id, kind, target_json, enqueued_at) VALUES ($1, $2, $3, $4)
  ON CONFLICT (run_id, kind) DO NOTHING`;
const GET = `SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE run_id = $1 AND kind = $2`;
const PENDING = `SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE delivered_at IS NULL ORDER BY enqueued_at, run_id, kind`;
// The first report wins; a second sender that raced it learns so from rowCount being 0.
const MARK_DELIVERED = `
  INSERT INTO deliveries (run_id, kind, target_json, enqueued_at, delivered_at, channel_id, message_id)
  VALUES ($1, $2, NULL, $3, $3, $4, $5)
  ON CONFLICT (run_id, kind) DO UPDATE SET delivered_at = excluded.delivered_at, channel_id = excluded.channel_id,
    message_id = excluded.message_id
  WHERE deliveries.delivered_at IS NULL`;
const RUN_BY_RESULT_THREAD = `
  SELECT run_id FROM deliveries WHERE kind = 'result-thread' AND message_id = $1 AND delivered_at IS NOT NULL LIMIT 1`;

export function createPgOutbox(session: PgSession, now: () => number) {
  const { read, write } = session;
  return {
    enqueueDelivery: (input: { runId: string; kind: DeliveryKind; target: unknown }): Promise<Delivery> =>
      write(async (query) => {
        await query(ENQUEUE, [input.runId, input.kind, jsonOrNull(input.target), now()]);
        return toDelivery((await query(GET, [input.runId, input.kind])).rows[0] as Row);
      }),

    async pendingDeliveries(): Promise<Delivery[]> {
      return ((await read(PENDING)).rows as Row[]).map(toDelivery);
    },

    deliveryNonce(runId: string, kind: DeliveryKind): string {
      return deliveryNonce(runId, kind);
    },

    markDelivered: (runId: string, kind: DeliveryKind, message: DeliveredMessage): Promise<boolean> =>
      write(async (query) => {
        const { rowCount } = await query(MARK_DELIVERED, [runId, kind, now(), message.channelId, message.messageId]);
        return rowCount !== 0;
      }),

    async runIdByResultThread(threadId: string): Promise<string | undefined> {
      const row = (await read(RUN_BY_RESULT_THREAD, [threadId])).rows[0];
      return row === undefined ? undefined : String(row.run_id);
    },

    async getDelivery(runId: string, kind: DeliveryKind): Promise<Delivery | undefined> {
      const row = (await read(GET, [runId, kind])).rows[0] as Row | undefined;
      return row === undefined ? undefined : toDelivery(row);
    },
  };
}
