import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createEngine } from '../src/engine/engine.ts';
import { engineSettingsOf } from '../src/engine-settings.ts';
import { createEventLog } from '../src/engine/event-log.ts';
import type { JournalRun, RunResult } from '../src/engine/types.ts';
import { withMetrics } from '../src/ops/journal-metrics.ts';
import { createMetrics, type Metrics } from '../src/ops/metrics.ts';
import { createRunStore, type RunStore } from '../src/store/run-store.ts';
import { captureLog, testConfig } from './fakes/engine-harness.ts';
import { startFakeGateway } from './fakes/fake-gateway.ts';
import { asAsyncStore } from '../src/store/sqlite-async.ts';

async function world(t: TestContext): Promise<{ root: string; store: RunStore; metrics: Metrics }> {
  const root = await mkdtemp(path.join(tmpdir(), 'hq-journal-metrics-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const store = createRunStore(path.join(root, 'state', 'runs.sqlite'));
  t.after(() => store.close());
  return { root, store, metrics: createMetrics({ defaultMetrics: false }) };
}

function accepted(runId: string, agent: string): JournalRun {
  return { runId, acceptedAt: 1_000, request: { runId, agent, task: `task of ${runId}`, principals: ['operator'] } };
}

function finished(runId: string, agent: string, status: RunResult['status']): RunResult {
  return { status, result: 'done', runId, agent, latencyMs: 10, attempts: 1 };
}

/** The value of one series in Prometheus text, or undefined when the series is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('a run through the journal is counted by status, its attempts by outcome, and its handoff wait per agent', async (t) => {
  const { store, metrics } = await world(t);
  const now = 50_000;
  const journal = withMetrics(asAsyncStore(store), metrics, { now: () => now });

  await journal.runAccepted(accepted('run-a', 'tech-lead'));
  await journal.attemptStarted('run-a', 1, 43_000, 343_000);
  await journal.attemptSent('run-a', 1, 'gw-1');
  await journal.attemptEnded('run-a', 1, 'accepted', 'complete');
  await journal.runFinished(finished('run-a', 'tech-lead', 'complete'));

  const text = await metrics.text();
  assert.equal(sample(text, 'hq_delegate_engine_runs_total{status="complete"}'), 1);
  assert.equal(sample(text, 'hq_delegate_engine_attempts_total{outcome="accepted"}'), 1);
  // 7 s from the attempt's start to the handoff: in the 15 s bucket, not the 5 s one.
  assert.equal(sample(text, 'hq_delegate_engine_handoff_latency_seconds_bucket{le="5",agent="tech-lead"}'), 0);
  assert.equal(sample(text, 'hq_delegate_engine_handoff_latency_seconds_bucket{le="15",agent="tech-lead"}'), 1);
  assert.equal(sample(text, 'hq_delegate_engine_handoff_latency_seconds_sum{agent="tech-lead"}'), 7);
  assert.equal(store.getRun('run-a')?.status, 'complete', 'the store behind the decorator got every write');
  assert.deepEqual(store.listResumable(), []);
});

test('only attempts that ended with a handoff are timed, each once', async (t) => {
  const { store, metrics } = await world(t);
  let now = 10_000;
  const journal = withMetrics(asAsyncStore(store), metrics, { now: () => now });
  await journal.runAccepted(accepted('run-b', 'webster'));
  await journal.attemptStarted('run-b', 1, 10_000, 20_000);
  now = 20_000;
  await journal.attemptEnded('run-b', 1, 'timeout', 'no handoff within 10 s');
  await journal.attemptStarted('run-b', 2, 20_000, 30_000);
  now = 22_000;
  await journal.attemptEnded('run-b', 2, 'malformed', 'Invalid JSON in handoff file');
  await journal.attemptEnded('run-b', 2, 'malformed', 'reported twice');
  await journal.runFinished(finished('run-b', 'webster', 'malformed'));

  const text = await metrics.text();
  assert.equal(sample(text, 'hq_delegate_engine_attempts_total{outcome="timeout"}'), 1);
  assert.equal(sample(text, 'hq_delegate_engine_attempts_total{outcome="malformed"}'), 2);
  assert.equal(sample(text, 'hq_delegate_engine_handoff_latency_seconds_count{agent="webster"}'), 1);
  assert.equal(sample(text, 'hq_delegate_engine_handoff_latency_seconds_sum{agent="webster"}'), 2);
  assert.equal(sample(text, 'hq_delegate_engine_runs_total{status="malformed"}'), 1);
});

test('a write the store refuses is not counted', async (t) => {
  const { store, metrics } = await world(t);
  const journal = withMetrics(asAsyncStore(store), metrics);
  // No such run: the attempts table's foreign key refuses the row.
  await assert.rejects(journal.attemptEnded('run-ghost', 1, 'timeout', ''));
  await journal.runAccepted(accepted('run-c', 'webster'));
  await journal.runFinished(finished('run-c', 'webster', 'failed'));
  await assert.rejects(journal.runAccepted(accepted('run-c', 'webster')), /already used/);

  const text = await metrics.text();
  assert.equal(sample(text, 'hq_delegate_engine_attempts_total{outcome="timeout"}'), undefined);
  assert.equal(sample(text, 'hq_delegate_engine_runs_total{status="failed"}'), 1);
});

test('open runs are tracked up to a bound; the oldest beyond it is counted but not timed', async (t) => {
  const { store, metrics } = await world(t);
  const now = 5_000;
  const journal = withMetrics(asAsyncStore(store), metrics, { now: () => now, maxTrackedRuns: 2 });
  for (const runId of ['run-1', 'run-2', 'run-3']) {
    await journal.runAccepted(accepted(runId, 'secretary'));
    await journal.attemptStarted(runId, 1, 4_000, 9_000);
  }
  for (const runId of ['run-1', 'run-2', 'run-3']) {
    await journal.attemptEnded(runId, 1, 'handoff', '');
    await journal.runFinished(finished(runId, 'secretary', 'complete'));
  }
  const text = await metrics.text();
  assert.equal(sample(text, 'hq_delegate_engine_handoff_latency_seconds_count{agent="secretary"}'), 2);
  assert.equal(sample(text, 'hq_delegate_engine_attempts_total{outcome="handoff"}'), 3);
  assert.equal(sample(text, 'hq_delegate_engine_runs_total{status="complete"}'), 3);
});

test('without a store the decorator still counts', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  const journal = withMetrics(undefined, metrics);
  await journal.runAccepted(accepted('run-d', 'webster'));
  await journal.runFinished(finished('run-d', 'webster', 'sent'));
  assert.equal(sample(await metrics.text(), 'hq_delegate_engine_runs_total{status="sent"}'), 1);
});

test("the engine's own outcome words reach /metrics: a malformed handoff retried, then an accepted one", async (t) => {
  const { root, store, metrics } = await world(t);
  const gateway = await startFakeGateway();
  t.after(() => gateway.close());
  gateway.enqueue({ respond: 'admit', agent: { write: 'malformed' } }, { respond: 'admit', agent: { write: 'valid' } });
  const config = testConfig({ root, agents: { 'tech-lead': { port: gateway.port } }, sharedToken: gateway.token });
  const engine = createEngine({
    settings: engineSettingsOf(config),
    log: captureLog().log,
    eventLog: createEventLog({ dir: config.paths.logDir }),
    journal: withMetrics(asAsyncStore(store), metrics),
  });
  t.after(() => engine.close());

  const result = await engine.delegate({
    runId: 'run-engine',
    agent: 'tech-lead',
    task: 'count me',
    principals: ['operator'],
    maxAttempts: 2,
  });
  assert.equal(result.status, 'complete');
  const text = await metrics.text();
  assert.equal(sample(text, 'hq_delegate_engine_runs_total{status="complete"}'), 1);
  assert.equal(sample(text, 'hq_delegate_engine_attempts_total{outcome="malformed"}'), 1);
  assert.equal(sample(text, 'hq_delegate_engine_attempts_total{outcome="accepted"}'), 1);
  assert.equal(sample(text, 'hq_delegate_engine_handoff_latency_seconds_count{agent="tech-lead"}'), 2);
  assert.equal(store.getRun('run-engine')?.attempts.length, 2);
});
