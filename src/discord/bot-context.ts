/** What every Discord-facing handler is given, built once in bot.ts. */
import type { Client } from 'discord.js';
import type { Config } from '../config.ts';
import type { Engine } from '../engine/types.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { AsyncRunStore } from '../store/store-api.ts';
import type { ActiveRuns } from './runs/active-runs.ts';
import type { Outbox } from './delivery/outbox.ts';
import type { ThreadQueue } from './runs/thread-queue.ts';
import type { ApprovalGate } from './approvals/approval-gate.ts';

export interface BotContext {
  /** A getter, so a hot-reloaded config applies to the next command. */
  readonly config: () => Config;
  readonly engine: Engine;
  readonly log: Logger;
  readonly client: Client;
  readonly runs: ActiveRuns;
  /** Aborted when the bot stops: no new work is taken, finished runs are left to the store. */
  readonly shutdown: AbortSignal;
  readonly metrics?: Metrics;
  /** Absent when the bot runs without one (/runs and /agents say so). */
  readonly store?: AsyncRunStore;
  /** What the bot must finish after a restart: the run store, or an in-memory stand-in. */
  readonly ledger: AsyncRunStore;
  readonly outbox: Outbox;
  /** One run at a time per result thread; follow-ups wait their turn. */
  readonly threads: ThreadQueue;
  /** Holds delegations a rule says need a human's approval (absent: none ever waits). */
  readonly approvals?: ApprovalGate;
}
