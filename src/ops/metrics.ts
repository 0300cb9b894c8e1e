/**
 * The application's Prometheus metrics, on their own registry so tests never collide in
 * prom-client's global one. Every label is bounded: known vocabularies are checked against their
 * table, and free-form values admit a fixed number of distinct values before the rest count as
 * `other`, so a bug or a hostile input cannot grow the series.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { RunStatus } from '../engine/types.ts';
import type { Role } from './leadership.ts';

export const METRIC_PREFIX = 'hq_delegate_';
export const OTHER_LABEL = 'other';
const MAX_LABEL_VALUES = 64;
/** Agents answer in seconds to an hour. */
const HANDOFF_LATENCY_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1_200, 1_800, 3_600];

export const InteractionResult = {
  success: 'success',
  failure: 'failure',
  denied: 'denied',
} as const;
export type InteractionResult = (typeof InteractionResult)[keyof typeof InteractionResult];

const RUN_STATUSES: ReadonlySet<string> = new Set([...Object.values(RunStatus), 'sent']);
const INTERACTION_RESULTS: ReadonlySet<string> = new Set(Object.values(InteractionResult));
const LABEL_VALUE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

interface MetricsOptions {
  /** Process CPU, memory, event-loop lag. Default true. */
  readonly defaultMetrics?: boolean;
  /** Read at scrape time, so the gauge is never stale. */
  readonly queueDepth?: () => Iterable<readonly [agent: string, depth: number]>;
  readonly maxLabelValues?: number;
  /** Read at scrape time. Without it the process leads alone (the SQLite store). */
  readonly role?: () => Role;
}

export type LeaseEvent = 'acquired' | 'lost' | 'released';
const LEASE_EVENTS: ReadonlySet<string> = new Set<LeaseEvent>(['acquired', 'lost', 'released']);

export interface Metrics {
  readonly registry: Registry;
  /** For `text()`'s answer. */
  readonly contentType: string;
  /** `sent` when the caller did not wait. */
  runFinished(status: RunStatus | 'sent'): void;
  attemptEnded(outcome: string): void;
  /** From attempt start to handoff taken. */
  observeHandoffLatency(agent: string, seconds: number): void;
  setQueueDepth(agent: string, depth: number): void;
  /** A Discord call failed: `rate_limited`, `rest_5xx`, `missing_permissions`, `token_expired`… */
  discordError(kind: string): void;
  interaction(command: string, result: InteractionResult): void;
  leaseEvent(event: LeaseEvent): void;
  text(): Promise<string>;
}

function boundedLabel(max: number): (value: string) => string {
  const seen = new Set<string>();
  return (value) => {
    if (typeof value !== 'string' || !LABEL_VALUE.test(value)) return OTHER_LABEL;
    if (seen.has(value)) return value;
    if (seen.size >= max) return OTHER_LABEL;
    seen.add(value);
    return value;
  };
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const max = options.maxLabelValues ?? MAX_LABEL_VALUES;
  const agentLabel = boundedLabel(max);
  const outcomeLabel = boundedLabel(max);
  const discordKindLabel = boundedLabel(max);
  const commandLabel = boundedLabel(max);

  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });

  const runs = new Counter({
    name: `${METRIC_PREFIX}engine_runs_total`,
    help: 'Runs that reached a terminal status, by status.',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const attempts = new Counter({
    name: `${METRIC_PREFIX}engine_attempts_total`,
    help: 'Attempts that ended, by outcome.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const handoffLatency = new Histogram({
    name: `${METRIC_PREFIX}engine_handoff_latency_seconds`,
    help: "Seconds from an attempt's start to its handoff file being taken, by agent.",
    labelNames: ['agent'] as const,
    buckets: HANDOFF_LATENCY_BUCKETS,
    registers: [registry],
  });
  const queueSource = options.queueDepth;
  const queueDepth = new Gauge({
    name: `${METRIC_PREFIX}engine_queue_depth`,
    help: 'Runs queued or in flight per agent.',
    labelNames: ['agent'] as const,
    registers: [registry],
    ...(queueSource === undefined
      ? {}
      : {
          collect(this: Gauge<'agent'>) {
            for (const [agent, depth] of queueSource()) this.set({ agent: agentLabel(agent) }, depth);
          },
        }),
  });
  const discordErrors = new Counter({
    name: `${METRIC_PREFIX}discord_errors_total`,
    help: 'Discord calls that failed, by kind.',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const interactions = new Counter({
    name: `${METRIC_PREFIX}discord_interactions_total`,
    help: 'Slash command interactions handled, by command and result.',
    labelNames: ['command', 'result'] as const,
    registers: [registry],
  });
  const role = options.role ?? (() => 'leader');
  new Gauge({
    name: `${METRIC_PREFIX}leader`,
    help: '1 while this process leads (holds the leader lease), 0 on standby.',
    registers: [registry],
    collect(this: Gauge) {
      this.set(role() === 'leader' ? 1 : 0);
    },
  });
  const leaseEvents = new Counter({
    name: `${METRIC_PREFIX}leader_lease_events_total`,
    help: 'Leader lease acquisitions, losses and releases by this process.',
    labelNames: ['event'] as const,
    registers: [registry],
  });

  return {
    registry,
    contentType: registry.contentType,
    runFinished(status) {
      runs.inc({ status: RUN_STATUSES.has(status) ? status : OTHER_LABEL });
    },
    attemptEnded(outcome) {
      attempts.inc({ outcome: outcomeLabel(outcome) });
    },
    observeHandoffLatency(agent, seconds) {
      if (Number.isFinite(seconds) && seconds >= 0) handoffLatency.observe({ agent: agentLabel(agent) }, seconds);
    },
    setQueueDepth(agent, depth) {
      queueDepth.set({ agent: agentLabel(agent) }, depth);
    },
    discordError(kind) {
      discordErrors.inc({ kind: discordKindLabel(kind) });
    },
    interaction(command, result) {
      interactions.inc({
        command: commandLabel(command),
        result: INTERACTION_RESULTS.has(result) ? result : OTHER_LABEL,
      });
    },
    leaseEvent(event) {
      leaseEvents.inc({ event: LEASE_EVENTS.has(event) ? event : OTHER_LABEL });
    },
    text() {
      return registry.metrics();
    },
  };
}
