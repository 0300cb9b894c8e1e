import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics, OTHER_LABEL } from '../src/ops/metrics.ts';

test('each call to createMetrics has its own registry, so two never collide', async () => {
  const a = createMetrics({ defaultMetrics: false });
  const b = createMetrics({ defaultMetrics: false });
  a.runFinished('complete');
  assert.match(await a.text(), /^hq_delegate_engine_runs_total\{status="complete"\} 1$/m);
  assert.doesNotMatch(await b.text(), /status="complete"/);
});

test('the helpers feed counters, the histogram and the gauge under hq_delegate_ names', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  metrics.runFinished('timeout');
  metrics.runFinished('timeout');
  metrics.attemptEnded('malformed');
  metrics.observeHandoffLatency('tech-lead', 12);
  metrics.setQueueDepth('webster', 3);
  metrics.discordError('rate_limited');
  metrics.interaction('delegate', 'success');
  const text = await metrics.text();
  assert.match(text, /^hq_delegate_engine_runs_total\{status="timeout"\} 2$/m);
  assert.match(text, /^hq_delegate_engine_attempts_total\{outcome="malformed"\} 1$/m);
  assert.match(text, /^hq_delegate_engine_handoff_latency_seconds_bucket\{le="15",agent="tech-lead"\} 1$/m);
  assert.match(text, /^hq_delegate_engine_handoff_latency_seconds_bucket\{le="5",agent="tech-lead"\} 0$/m);
  assert.match(text, /^hq_delegate_engine_queue_depth\{agent="webster"\} 3$/m);
  assert.match(text, /^hq_delegate_discord_errors_total\{kind="rate_limited"\} 1$/m);
  assert.match(text, /^hq_delegate_discord_interactions_total\{command="delegate",result="success"\} 1$/m);
  assert.match(metrics.contentType, /^text\/plain/);
});

test('labels stay bounded: unknown statuses, malformed values and overflow become "other"', async () => {
  const metrics = createMetrics({ defaultMetrics: false, maxLabelValues: 2 });
  metrics.runFinished('exploded' as 'complete');
  metrics.attemptEnded('a');
  metrics.attemptEnded('b');
  metrics.attemptEnded('c');
  metrics.attemptEnded('has spaces and "quotes"');
  metrics.interaction('delegate', 'weird' as 'success');
  const text = await metrics.text();
  assert.match(text, new RegExp(`^hq_delegate_engine_runs_total\\{status="${OTHER_LABEL}"\\} 1$`, 'm'));
  assert.match(text, /^hq_delegate_engine_attempts_total\{outcome="b"\} 1$/m);
  assert.match(text, new RegExp(`^hq_delegate_engine_attempts_total\\{outcome="${OTHER_LABEL}"\\} 2$`, 'm'));
  assert.match(text, new RegExp(`result="${OTHER_LABEL}"`));
});

test('the queue depth gauge can be read from the engine at scrape time', async () => {
  const depths = new Map([['manager', 1]]);
  const metrics = createMetrics({ defaultMetrics: false, queueDepth: () => depths });
  assert.match(await metrics.text(), /^hq_delegate_engine_queue_depth\{agent="manager"\} 1$/m);
  depths.set('manager', 4);
  assert.match(await metrics.text(), /^hq_delegate_engine_queue_depth\{agent="manager"\} 4$/m);
});

test('default process metrics carry the same prefix', async () => {
  const metrics = createMetrics();
  assert.match(await metrics.text(), /^hq_delegate_process_cpu_seconds_total /m);
});

test('hq_delegate_leader is 1 for a lone process, follows the role, and lease events are counted', async () => {
  const alone = createMetrics({ defaultMetrics: false });
  assert.match(await alone.text(), /^hq_delegate_leader 1$/m);

  let role: 'leader' | 'standby' = 'standby';
  const metrics = createMetrics({ defaultMetrics: false, role: () => role });
  assert.match(await metrics.text(), /^hq_delegate_leader 0$/m);
  role = 'leader';
  metrics.leaseEvent('acquired');
  metrics.leaseEvent('lost');
  metrics.leaseEvent('acquired');
  const text = await metrics.text();
  assert.match(text, /^hq_delegate_leader 1$/m);
  assert.match(text, /^hq_delegate_leader_lease_events_total\{event="acquired"\} 2$/m);
  assert.match(text, /^hq_delegate_leader_lease_events_total\{event="lost"\} 1$/m);
});
