/**
 * The outbox: each Discord message a run owes, enqueued before it is sent and marked once it
 * landed, so a restarted bot sends what is pending and nothing twice. The nonce is stable per run
 * and kind, so Discord itself drops a resend that raced a crash.
 */
import { createHash } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import { createTransaction, json, jsonOrNull, type Row } from './sqlite-rows.ts';

/** Discord's limit for a message nonce. */
export const NONCE_LENGTH = 25;

export type DeliveryKind = 'result-embed' | 'requester-reply' | 'mention-reply' | (string & {});

export interface Delivery {
  readonly runId: string;
  readonly kind: DeliveryKind;
  /** Opaque to the store: whatever the bot needs to send it again after a restart. */
  readonly target: unknown;
  readonly nonce: string;
  readonly enqueuedAt: number;
  readonly deliveredAt?: number;
  readonly channelId?: string;
  readonly messageId?: string;
}

export interface DeliveredMessage {
  readonly channelId: string;
  readonly messageId: string;
}

/**
 * From a thread to the run whose result opened it, served by the deliveries_by_message index
 * (migrate.ts). The kind is spelled here, not imported: the store knows no Discord module.
 */
export const RUN_BY_RESULT_THREAD_SQL =
  "SELECT run_id FROM deliveries WHERE kind = 'result-thread' AND message_id = ? AND delivered_at IS NOT NULL LIMIT 1";

export function deliveryNonce(runId: string, kind: string): string {
  return createHash('sha256').update(`${runId}\u0000${kind}`).digest('hex').slice(0, NONCE_LENGTH);
}

export const DELIVERY_COLUMNS = 'run_id, kind, target_json, enqueued_at, delivered_at, channel_id, message_id';

export function toDelivery(row: Row): Delivery {
  const runId = String(row.run_id);
  const kind = String(row.kind);
  return {
    runId,
    kind,
    target: json(row.target_json),
    nonce: deliveryNonce(runId, kind),
    enqueuedAt: Number(row.enqueued_at),
    ...(row.delivered_at === null ? {} : { deliveredAt: Number(row.delivered_at) }),
    ...(row.channel_id === null ? {} : { channelId: String(row.channel_id) }),
    ...(row.message_id === null ? {} : { messageId: String(row.message_id) }),
  };
}

export type Outbox = ReturnType<typeof createOutbox>;

export function createOutbox(db: DatabaseSync, now: () => number) {
  const transaction = createTransaction(db);
  const enqueue = db.prepare(`
    INSERT INTO deliveries (run_id, kind, target_json, enqueued_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (run_id, kind) DO NOTHING`);
  const getDelivery = db.prepare(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE run_id = ? AND kind = ?`);
  const pending = db.prepare(
    `SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE delivered_at IS NULL ORDER BY enqueued_at, run_id, kind`,
  );
  // The first report wins; a second sender that raced it learns so from `changes` being 0.
  const markDelivered = db.prepare(`
    INSERT INTO deliveries (run_id, kind, target_json, enqueued_at, delivered_at, channel_id, message_id)
    VALUES (:runId, :kind, NULL, :at, :at, :channelId, :messageId)
    ON CONFLICT (run_id, kind) DO UPDATE SET delivered_at = excluded.delivered_at, channel_id = excluded.channel_id,
      message_id = excluded.message_id
    WHERE deliveries.delivered_at IS NULL`);
  const runByResultThread = db.prepare(RUN_BY_RESULT_THREAD_SQL);

  return {
    /** Idempotent: the first enqueue of (runId, kind) wins and later ones return what it stored. */
    enqueueDelivery(input: { runId: string; kind: DeliveryKind; target: unknown }): Delivery {
      return transaction(() => {
        enqueue.run(input.runId, input.kind, jsonOrNull(input.target), now());
        return toDelivery(getDelivery.get(input.runId, input.kind)!);
      });
    },

    /** Oldest first. */
    pendingDeliveries(): Delivery[] {
      return pending.all().map(toDelivery);
    },

    deliveryNonce(runId: string, kind: DeliveryKind): string {
      return deliveryNonce(runId, kind);
    },

    /**
     * Records where the message landed. False when it was already marked: the earlier message id is
     * kept, and the caller's message is the duplicate. A delivery never enqueued is recorded too.
     */
    markDelivered(runId: string, kind: DeliveryKind, message: DeliveredMessage): boolean {
      const { changes } = markDelivered.run({
        runId,
        kind,
        at: now(),
        channelId: message.channelId,
        messageId: message.messageId,
      });
      return changes > 0;
    },

    /** The run whose result opened the thread, or undefined for any other thread or channel. */
    runIdByResultThread(threadId: string): string | undefined {
      const row = runByResultThread.get(threadId);
      return row === undefined ? undefined : String(row.run_id);
    },

    getDelivery(runId: string, kind: DeliveryKind): Delivery | undefined {
      const row = getDelivery.get(runId, kind);
      return row === undefined ? undefined : toDelivery(row);
    },
  };
}
