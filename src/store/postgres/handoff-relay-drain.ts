/**
 * One drain of the handoff relay table (handoff-relay-consumer.ts): batches in id order, each in
 * one transaction that locks its rows (FOR UPDATE SKIP LOCKED, so two consumers never take one
 * row), hands each row to `take` and deletes the rows done with before committing. A kept row is
 * passed over for the rest of this drain (the cursor moves past it) and retried by the next.
 */
import type pg from 'pg';

export interface RelayRow {
  readonly id: number;
  readonly run_id: string;
  readonly text_json: string;
  readonly received_by: string | null;
}

/** What one drain did; the payload of the consumer's 'drained' event. */
export interface RelayDrain {
  readonly delivered: number;
  readonly dropped: number;
  readonly kept: number;
}

export type RowOutcome = keyof RelayDrain;

const BATCH = 50;

const CLAIM = `
  SELECT id, run_id, text_json, received_by FROM handoff_relay
  WHERE id > $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`;

export async function drainRelay(client: pg.Client, take: (row: RelayRow) => Promise<RowOutcome>): Promise<RelayDrain> {
  const counts = { delivered: 0, dropped: 0, kept: 0 };
  let after = 0;
  for (;;) {
    await client.query('BEGIN');
    let claimed: RelayRow[];
    try {
      claimed = (await client.query<RelayRow>(CLAIM, [after, BATCH])).rows;
      const finished: number[] = [];
      for (const row of claimed) {
        after = row.id;
        const outcome = await take(row);
        counts[outcome]++;
        if (outcome !== 'kept') finished.push(row.id);
      }
      if (finished.length > 0) await client.query('DELETE FROM handoff_relay WHERE id = ANY($1)', [finished]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
    if (claimed.length < BATCH) return counts;
  }
}
