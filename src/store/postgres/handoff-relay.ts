/**
 * The handoff relay: any replica that receives an HTTP handoff keeps it in `handoff_relay` and
 * notifies HANDOFF_RELAY_CHANNEL in the same statement; the leader's consumer
 * (handoff-relay-consumer.ts) hears it and delivers. The insert is not fenced by the leader lease:
 * standbys are the ones who call it. NOTIFY is sent at commit, so a woken consumer sees the row.
 */
import { HANDOFF_RELAY_CHANNEL } from './schema.ts';
import { encodeText } from './text.ts';

export { HANDOFF_RELAY_CHANNEL };

/** A pg.Pool or a pg.Client: anything that runs one parameterised statement. */
export interface RelayQueryable {
  query(sql: string, params?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}

export interface RelayOptions {
  /** Which replica took the PUT, for the leader's log. */
  readonly receivedBy?: string;
  /** With it, the run's token of this hash is consumed in the same statement, once. */
  readonly tokenHash?: string;
  readonly now?: () => number;
}

// The payload is the row's id only: the text is read from the table, never sent through NOTIFY.
const NOTIFY_INSERTED = `SELECT id, pg_notify('${HANDOFF_RELAY_CHANNEL}', id::text) FROM inserted`;

const RELAY = `
  WITH inserted AS (
    INSERT INTO handoff_relay (run_id, text_json, received_by, received_at) VALUES ($1, $2, $3, $4)
    RETURNING id
  )
  ${NOTIFY_INSERTED}`;

// The token's WHERE makes its use atomic (as handoff-tokens.ts consumeToken): of two relays racing
// with one token, the second UPDATE waits for the first, then finds used_at set and inserts nothing.
const RELAY_WITH_TOKEN = `
  WITH used AS (
    UPDATE handoff_tokens SET used_at = $4
    WHERE run_id = $1 AND token_hash = $5 AND used_at IS NULL
    RETURNING run_id
  ), inserted AS (
    INSERT INTO handoff_relay (run_id, text_json, received_by, received_at)
    SELECT $1, $2, $3, $4 FROM used
    RETURNING id
  )
  ${NOTIFY_INSERTED}`;

/**
 * Keeps the handoff for the leader and wakes it. Returns the relay row's id, or undefined when
 * `tokenHash` was given and is not an unused token of the run (nothing is then stored).
 */
export async function relayHandoff(
  db: RelayQueryable,
  runId: string,
  text: string,
  options: RelayOptions = {},
): Promise<number | undefined> {
  const now = options.now ?? Date.now;
  const params: unknown[] = [runId, encodeText(text), options.receivedBy ?? null, now()];
  const { rows } =
    options.tokenHash === undefined
      ? await db.query(RELAY, params)
      : await db.query(RELAY_WITH_TOKEN, [...params, options.tokenHash]);
  const id = rows[0]?.id;
  return id === undefined ? undefined : Number(id);
}

export {
  startHandoffRelayConsumer,
  type DeliverRelayed,
  type HandoffRelayConsumer,
  type HandoffRelayConsumerOptions,
  type RelayDrain,
} from './handoff-relay-consumer.ts';
