/**
 * What every Discord-facing handler is given: the live config (a getter, so a hot-reloaded
 * config applies to the next command), the engine, the logger, the client, the runs in
 * flight, and the store-backed outbox. Built once in bot.ts.
 */
import type { Client } from 'discord.js';
import type { Config } from '../config.ts';
import type { Engine } from '../engine/types.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { RunStore } from '../store/run-store.ts';
import type { ActiveRuns } from './runs/active-runs.ts';
import type { Outbox } from './delivery/outbox.ts';

export interface BotContext {
  readonly config: () => Config;
  readonly engine: Engine;
  readonly log: Logger;
  readonly client: Client;
  readonly runs: ActiveRuns;
  /** Aborted when the bot stops: no new work is taken, finished runs are left to the store. */
  readonly shutdown: AbortSignal;
  /** Counts interactions and Discord errors when the ops side is wired in. */
  readonly metrics?: Metrics;
  /** The durable run store; absent when the bot runs without one (/runs and /agents say so). */
  readonly store?: RunStore;
  /**
   * Where the bot writes what it must finish after a restart (outbox, progress messages,
   * channel cursors): the run store, or an in-memory stand-in when none is configured.
   */
  readonly ledger: RunStore;
  /** Delivers each finished run's embed and answer exactly once. */
  readonly outbox: Outbox;
}
