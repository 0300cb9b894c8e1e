/**
 * The handoff relay (issue 14): a standby replica relays an HTTP handoff into PostgreSQL and the
 * leader's consumer, woken by NOTIFY, delivers it. Timed from the relaying call to the consumer's
 * deliver callback, one relay after another, on a durable throwaway cluster on loopback.
 */
import os from 'node:os';
import { createLogger } from '../src/log.ts';
import { relayHandoff, startHandoffRelayConsumer } from '../src/store/postgres/handoff-relay.ts';
import { openPool } from '../src/store/postgres/open-pool.ts';
import { openRunStore } from '../src/store/store-api.ts';
import { startPgCluster } from '../test/support/pg-cluster.ts';
import type { Figure } from './lib/report.ts';
import { runScenario } from './lib/scenario.ts';
import { median, percentile } from './lib/stats.ts';

const WARM_UP = 20;
const SAMPLES = 200;

await runScenario({
  id: 'pg-handoff-relay',
  issue: 14,
  title: 'Handoff relayed by a standby → delivered by the leader (PostgreSQL LISTEN/NOTIFY)',
  method:
    `${SAMPLES} relays one after another after ${WARM_UP} warm-up, each timed from relayHandoff() (insert + ` +
    'pg_notify in one statement, from a pool) to the deliver callback of a consumer on its own connection, ' +
    'both in this process; a throwaway durable cluster (fsync on) on 127.0.0.1; median and nearest-rank p99; ' +
    `load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} CPUs at the start`,
  limitMs: 120_000,
  async run(): Promise<readonly Figure[]> {
    const cluster = await startPgCluster({ durable: true });
    try {
      const url = await cluster.createDatabase('bench');
      await (await openRunStore({ kind: 'postgres', url, password: cluster.password })).close();
      const pool = openPool({ url, password: cluster.password });
      const waiting = new Map<string, () => void>();
      const consumer = startHandoffRelayConsumer({
        url,
        password: cluster.password,
        log: createLogger({ level: 'warn' }),
        deliver: (runId) => {
          waiting.get(runId)?.();
          return true;
        },
      });
      await consumer.start();
      const samples: number[] = [];
      for (let i = 0; i < WARM_UP + SAMPLES; i++) {
        const runId = `run-${i}`;
        const delivered = new Promise<void>((resolve) => waiting.set(runId, resolve));
        const started = performance.now();
        await relayHandoff(pool, runId, '{"status":"complete","result":"bench"}', { receivedBy: 'standby' });
        await delivered;
        if (i >= WARM_UP) samples.push(performance.now() - started);
      }
      await consumer.close();
      await pool.end();
      return [
        { metric: 'relay → deliver median', value: median(samples), unit: 'ms' },
        { metric: 'relay → deliver p99', value: percentile(samples, 99), unit: 'ms' },
      ];
    } finally {
      await cluster.stop();
    }
  },
});
