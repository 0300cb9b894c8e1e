/**
 * The durable record of every run, on node:sqlite (the shape of undici's sqlite cache store):
 * open, set WAL pragmas, check the schema version, prepare every statement once, expose verbs.
 *
 * Writes are synchronous on purpose: when a verb returns, the change is committed to the WAL, so a
 * process killed the next instant restarts knowing what it had sent (synchronous = NORMAL: a commit
 * survives the process dying; only a power cut may take the last few). A state change is one
 * statement, committed on its own (a write statement takes the write lock before it reads, so a
 * second connection waits on busy_timeout); the few multi-statement writes take the lock up front
 * with BEGIN IMMEDIATE.
 * Checkpoints are sqlite's own (wal_autocheckpoint), run by the commit that crosses the threshold.
 *
 * Beyond the engine's RunJournal it keeps what the bot needs to survive a restart: an outbox for
 * exactly-once Discord messages, progress messages that may be left spinning, and per-channel
 * cursors of the last message seen. Finished and delivered runs are deleted once they are older
 * than the retention (pruneFinished, driven by retention.ts); cursors are kept.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync, type SQLOutputValue, type StatementSync } from 'node:sqlite';
import { ErrorCode, HqError, isHqError } from '../errors.ts';
import type { JournalRun, ResumableRun, RunJournal, RunResult, RunStatus } from '../engine/types.ts';
import { migrate } from './migrate.ts';
import { ATTEMPT_COLUMNS, HISTORY_QUERY, historyData } from './run-history.ts';

export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
/** The WAL is cut back to this size when it restarts after a complete checkpoint. */
export const JOURNAL_SIZE_LIMIT_BYTES = 16 * 1_024 * 1_024;
export const MAX_RECENT_RUNS = 1_000;
/** A batch this size deletes in a few ms, so no other writer waits long on the lock. */
export const DEFAULT_PRUNE_BATCH = 500;
export const MAX_PRUNE_BATCH = 10_000;
/** Discord accepts a message nonce of at most 25 characters. */
export const NONCE_LENGTH = 25;

/** A run's status in the store: `running` until the engine reports its result. */
export type StoredRunStatus = RunStatus | 'sent' | 'running';
export const RUNNING = 'running';

export type DeliveryKind = 'result-embed' | 'requester-reply' | 'mention-reply' | (string & {});

export interface AttemptRecord {
  readonly attempt: number;
  readonly startedAt: number;
  readonly deadline?: number;
  readonly sent: boolean;
  readonly sentAt?: number;
  readonly gatewayRunId?: string;
  readonly outcome?: string;
  readonly detail?: string;
  readonly endedAt?: number;
}

export interface RunRecord {
  readonly runId: string;
  readonly agent: string;
  readonly status: StoredRunStatus;
  readonly task?: string;
  /** Absent only for a run the store learnt of through its result alone. */
  readonly request?: JournalRun['request'];
  readonly origin?: Readonly<Record<string, unknown>>;
  readonly requesterId?: string;
  readonly workflowRunId?: string;
  readonly stepId?: string;
  readonly acceptedAt: number;
  /** The highest attempt number started, sent or ended; 0 before the first. */
  readonly attempt: number;
  readonly finishedAt?: number;
  readonly result?: RunResult;
}

export interface RunDetail extends RunRecord {
  readonly attempts: readonly AttemptRecord[];
}

export interface RunEvent {
  readonly id: number;
  readonly runId: string;
  readonly at: number;
  readonly type: string;
  readonly attempt?: number;
  readonly data?: unknown;
}

/**
 * ResumableRun plus the last ended attempt's outcome. When that attempt ended and the run did
 * not, `attempt` is already the next one (not sent) and `retryNote` is what the agent should be
 * told about the previous failure; an `attempt` above maxAttempts means the attempts ran out.
 */
export interface PendingRun extends ResumableRun {
  readonly lastOutcome?: string;
}

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

export interface ProgressMessageInput {
  readonly channelId: string;
  readonly messageId: string;
  readonly interactionToken?: string;
  /** Epoch ms; past it the token is not handed out again. */
  readonly tokenExpiresAt?: number;
}

export interface ProgressMessage extends ProgressMessageInput {
  readonly runId: string;
  readonly recordedAt: number;
  /** Absent when the store has no such run (the bot recorded a message for a run it never journaled). */
  readonly runStatus?: StoredRunStatus;
}

export interface ChannelCursor {
  readonly channelId: string;
  readonly messageId: string;
  readonly updatedAt: number;
}

export interface RecentRunsQuery {
  readonly agent?: string;
  readonly status?: StoredRunStatus;
  readonly requesterId?: string;
  /** 1 to MAX_RECENT_RUNS; default 10. */
  readonly limit?: number;
}

export interface PruneQuery {
  /** Epoch ms: runs that finished before it may go. */
  readonly olderThan: number;
  /** At most this many runs in this call's one transaction (1 to MAX_PRUNE_BATCH; default DEFAULT_PRUNE_BATCH). */
  readonly limit?: number;
}

export interface HealthResult {
  readonly ok: boolean;
  readonly detail?: string;
}

export interface RunStoreOptions {
  readonly busyTimeoutMs?: number;
  /** Epoch ms; tests pass a fixed clock. */
  readonly now?: () => number;
}

type Row = Record<string, SQLOutputValue>;

/** The engine's outcome word for an attempt whose handoff became the run's answer. */
const ACCEPTED_OUTCOME = 'accepted';

const SNOWFLAKE = /^\d{1,20}$/;

/** A stable nonce for one message of one run: the same after a restart, so Discord drops the resend. */
export function deliveryNonce(runId: string, kind: string): string {
  return createHash('sha256').update(`${runId}\u0000${kind}`).digest('hex').slice(0, NONCE_LENGTH);
}

function text(value: SQLOutputValue | undefined): string | undefined {
  return value === null || value === undefined ? undefined : String(value);
}

function int(value: SQLOutputValue | undefined): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

function json<T>(value: SQLOutputValue | undefined): T | undefined {
  return value === null || value === undefined ? undefined : (JSON.parse(String(value)) as T);
}

function jsonOrNull(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

function normalizeSnowflake(what: string, value: string): bigint {
  if (typeof value !== 'string' || !SNOWFLAKE.test(value)) {
    throw new HqError(ErrorCode.USAGE, `${what} ${JSON.stringify(String(value).slice(0, 40))} is not a Discord id (1 to 20 digits)`);
  }
  return BigInt(value);
}

function requesterOf(origin: Readonly<Record<string, unknown>> | undefined): string | null {
  const id = origin?.['requesterId'];
  return typeof id === 'string' || typeof id === 'number' || typeof id === 'bigint' ? String(id) : null;
}

/** Columns every run query selects, so one mapper reads them all. */
const RUN_COLUMNS = `run_id, agent, status, task, request_json, origin_json, requester_id, workflow_run_id, step_id, accepted_at,
  max(runs.attempts, coalesce((SELECT max(a.attempt) FROM attempts a WHERE a.run_id = runs.run_id), 0)) AS current_attempt,
  finished_at, result_json`;

const DELIVERY_COLUMNS = 'run_id, kind, target_json, enqueued_at, delivered_at, channel_id, message_id';

export class RunStore implements RunJournal {
  readonly file: string;
  #db: DatabaseSync;
  #now: () => number;

  #begin: StatementSync;
  #commit: StatementSync;
  #rollback: StatementSync;
  #ping: StatementSync;

  #runState: StatementSync;
  #insertRun: StatementSync;
  #startAttempt: StatementSync;
  #sendAttempt: StatementSync;
  #endAttempt: StatementSync;
  #finishRun: StatementSync;

  #resumable: StatementSync;
  #getRun: StatementSync;
  #attemptsOf: StatementSync;
  #eventsOf: StatementSync;
  #recent: Map<string, StatementSync>;
  #lastResult: StatementSync;

  #enqueue: StatementSync;
  #getDelivery: StatementSync;
  #pending: StatementSync;
  #markDelivered: StatementSync;

  #upsertProgress: StatementSync;
  #progress: StatementSync;
  #clearProgress: StatementSync;

  #getCursor: StatementSync;
  #putCursor: StatementSync;
  #cursors: StatementSync;

  #prunable: StatementSync;
  #pruneDeliveries: StatementSync;
  #pruneProgress: StatementSync;
  #pruneRuns: StatementSync;

  /** Use createRunStore(file): it opens the file, sets the pragmas and checks the schema first. */
  constructor(db: DatabaseSync, file: string, options: RunStoreOptions = {}) {
    this.#db = db;
    this.file = file;
    this.#now = options.now ?? Date.now;

    this.#begin = db.prepare('BEGIN IMMEDIATE');
    this.#commit = db.prepare('COMMIT');
    this.#rollback = db.prepare('ROLLBACK');
    this.#ping = db.prepare('SELECT count(*) AS n FROM sqlite_schema');

    this.#runState = db.prepare('SELECT status, finished_at FROM runs WHERE run_id = ?');
    this.#insertRun = db.prepare(`
      INSERT INTO runs (run_id, agent, status, task, request_json, origin_json, requester_id, workflow_run_id, step_id, accepted_at)
      VALUES (:runId, :agent, '${RUNNING}', :task, :request, :origin, :requesterId, :workflowRunId, :stepId, :acceptedAt)
      ON CONFLICT (run_id) DO NOTHING`);
    // A sent attempt keeps its original start and deadline: the agent was told that timeout.
    this.#startAttempt = db.prepare(`
      INSERT INTO attempts (run_id, attempt, started_at, deadline) VALUES (?, ?, ?, ?)
      ON CONFLICT (run_id, attempt) DO UPDATE SET started_at = excluded.started_at, deadline = excluded.deadline
      WHERE attempts.sent = 0`);
    this.#sendAttempt = db.prepare(`
      INSERT INTO attempts (run_id, attempt, started_at, sent, sent_at, gateway_run_id) VALUES (:runId, :attempt, :at, 1, :at, :gatewayRunId)
      ON CONFLICT (run_id, attempt) DO UPDATE SET sent = 1, sent_at = excluded.sent_at,
        gateway_run_id = coalesce(excluded.gateway_run_id, attempts.gateway_run_id)`);
    this.#endAttempt = db.prepare(`
      INSERT INTO attempts (run_id, attempt, started_at, outcome, detail, ended_at) VALUES (:runId, :attempt, :at, :outcome, :detail, :at)
      ON CONFLICT (run_id, attempt) DO UPDATE SET outcome = excluded.outcome, detail = excluded.detail, ended_at = excluded.ended_at`);
    this.#finishRun = db.prepare(`
      INSERT INTO runs (run_id, agent, status, workflow_run_id, step_id, accepted_at, attempts, finished_at, result_json)
      VALUES (:runId, :agent, :status, :workflowRunId, :stepId, :acceptedAt, :attempts, :at, :result)
      ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, finished_at = excluded.finished_at,
        result_json = excluded.result_json, attempts = excluded.attempts`);

    // An attempt that ended accepted, in a run that is still open, is one whose process died between
    // the attempt's end and the run's finish: it is resumed as if it had not ended, so the engine
    // finds the handoff it had accepted rather than sending the task again.
    this.#resumable = db.prepare(`
      SELECT r.run_id, r.request_json, r.accepted_at, a.attempt, a.started_at, a.deadline, a.sent,
        CASE WHEN a.outcome IS '${ACCEPTED_OUTCOME}' THEN NULL ELSE a.ended_at END AS ended_at,
        e.outcome AS last_outcome, e.detail AS last_detail
      FROM runs r
      LEFT JOIN attempts a ON a.run_id = r.run_id
        AND a.attempt = (SELECT max(attempt) FROM attempts WHERE run_id = r.run_id)
      LEFT JOIN attempts e ON e.run_id = r.run_id
        AND e.attempt = (SELECT max(attempt) FROM attempts
          WHERE run_id = r.run_id AND ended_at IS NOT NULL AND outcome IS NOT '${ACCEPTED_OUTCOME}')
      WHERE r.status = '${RUNNING}'
      ORDER BY r.accepted_at, r.run_id`);
    this.#getRun = db.prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = ?`);
    this.#attemptsOf = db.prepare(`SELECT ${ATTEMPT_COLUMNS} FROM attempts a WHERE a.run_id = ? ORDER BY a.attempt`);
    this.#eventsOf = db.prepare(HISTORY_QUERY);
    // One statement per combination of filters, so each can use its own index.
    this.#recent = new Map();
    for (const agent of [false, true]) {
      for (const status of [false, true]) {
        for (const requester of [false, true]) {
          const where = [agent && 'agent = :agent', status && 'status = :status', requester && 'requester_id = :requesterId'].filter(Boolean);
          this.#recent.set(
            `${+agent}${+status}${+requester}`,
            db.prepare(`SELECT ${RUN_COLUMNS} FROM runs ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
              ORDER BY accepted_at DESC, rowid DESC LIMIT :limit`),
          );
        }
      }
    }
    this.#lastResult = db.prepare(`
      SELECT result_json FROM runs WHERE agent = ? AND status <> '${RUNNING}' AND result_json IS NOT NULL
      ORDER BY finished_at DESC, rowid DESC LIMIT 1`);

    this.#enqueue = db.prepare(`
      INSERT INTO deliveries (run_id, kind, target_json, enqueued_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (run_id, kind) DO NOTHING`);
    this.#getDelivery = db.prepare(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE run_id = ? AND kind = ?`);
    this.#pending = db.prepare(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE delivered_at IS NULL ORDER BY enqueued_at, run_id, kind`);
    // The first report wins; a second sender that raced it learns so from `changes` being 0.
    this.#markDelivered = db.prepare(`
      INSERT INTO deliveries (run_id, kind, target_json, enqueued_at, delivered_at, channel_id, message_id)
      VALUES (:runId, :kind, NULL, :at, :at, :channelId, :messageId)
      ON CONFLICT (run_id, kind) DO UPDATE SET delivered_at = excluded.delivered_at, channel_id = excluded.channel_id,
        message_id = excluded.message_id
      WHERE deliveries.delivered_at IS NULL`);

    this.#upsertProgress = db.prepare(`
      INSERT INTO progress_messages (run_id, channel_id, message_id, interaction_token, token_expires_at, recorded_at)
      VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (run_id) DO UPDATE SET channel_id = excluded.channel_id, message_id = excluded.message_id,
        interaction_token = excluded.interaction_token, token_expires_at = excluded.token_expires_at, recorded_at = excluded.recorded_at`);
    this.#progress = db.prepare(`
      SELECT p.*, r.status AS run_status FROM progress_messages p LEFT JOIN runs r ON r.run_id = p.run_id
      ORDER BY p.recorded_at, p.run_id`);
    this.#clearProgress = db.prepare('DELETE FROM progress_messages WHERE run_id = ?');

    this.#getCursor = db.prepare('SELECT message_id FROM channel_cursors WHERE channel_id = ?');
    this.#putCursor = db.prepare(`
      INSERT INTO channel_cursors (channel_id, message_id, updated_at) VALUES (?, ?, ?)
      ON CONFLICT (channel_id) DO UPDATE SET message_id = excluded.message_id, updated_at = excluded.updated_at`);
    this.#cursors = db.prepare('SELECT channel_id, message_id, updated_at FROM channel_cursors ORDER BY channel_id');

    // accepted_at <= finished_at, so the accepted_at bound lets runs_by_accepted skip every recent
    // run without an index on finished_at.
    this.#prunable = db.prepare(`
      SELECT run_id FROM runs r
      WHERE accepted_at < :olderThan AND status <> '${RUNNING}' AND finished_at IS NOT NULL AND finished_at < :olderThan
        AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.run_id = r.run_id AND d.delivered_at IS NULL)
      ORDER BY accepted_at LIMIT :limit`);
    // Only attempts cascade from runs; deliveries and progress messages carry no foreign key.
    this.#pruneDeliveries = db.prepare('DELETE FROM deliveries WHERE run_id IN (SELECT value FROM json_each(?))');
    this.#pruneProgress = db.prepare('DELETE FROM progress_messages WHERE run_id IN (SELECT value FROM json_each(?))');
    this.#pruneRuns = db.prepare('DELETE FROM runs WHERE run_id IN (SELECT value FROM json_each(?))');
  }

  // ── RunJournal ─────────────────────────────────────────────────────────

  /**
   * Records a new run. Announcing a run that is still open again is a no-op (a resumed run);
   * reusing the id of a finished run is refused, because its attempts and result are history.
   */
  runAccepted(run: JournalRun): void {
    const { request } = run;
    const { changes } = this.#insertRun.run({
      runId: run.runId,
      agent: request.agent,
      task: request.task,
      request: JSON.stringify(request),
      origin: jsonOrNull(request.origin),
      requesterId: requesterOf(request.origin),
      workflowRunId: request.workflowRunId ?? null,
      stepId: request.stepId ?? null,
      acceptedAt: run.acceptedAt,
    });
    if (changes > 0) return;
    const existing = this.#runState.get(run.runId);
    if (existing?.finished_at === null) return;
    throw new HqError(
      ErrorCode.RUN_ID_INVALID,
      `Run id '${run.runId}' was already used by a run that ended ${String(existing?.status)}; choose another run id`,
    );
  }

  attemptStarted(runId: string, attempt: number, startedAt: number, deadline: number): void {
    this.#startAttempt.run(runId, attempt, startedAt, deadline);
  }

  attemptSent(runId: string, attempt: number, gatewayRunId: string | undefined): void {
    this.#sendAttempt.run({ runId, attempt, at: this.#now(), gatewayRunId: gatewayRunId ?? null });
  }

  /** The detail is what the next attempt is told (listResumable's retryNote). */
  attemptEnded(runId: string, attempt: number, outcome: string, detail: string): void {
    this.#endAttempt.run({ runId, attempt, at: this.#now(), outcome, detail });
  }

  /** The run's row gets its status, result and end (inserted whole for a run never seen accepted). */
  runFinished(result: RunResult): void {
    const at = this.#now();
    this.#finishRun.run({
      runId: result.runId,
      agent: result.agent,
      status: result.status,
      workflowRunId: result.workflowRunId ?? null,
      stepId: result.stepId ?? null,
      acceptedAt: at - (Number.isFinite(result.latencyMs) ? result.latencyMs : 0),
      attempts: Number.isInteger(result.attempts) ? result.attempts : 0,
      at,
      result: JSON.stringify(result),
    });
  }

  // ── Resuming ───────────────────────────────────────────────────────────

  /** Runs accepted and not finished, oldest first, each with where it stood. */
  listResumable(): PendingRun[] {
    return this.#resumable.all().map((row) => {
      const current = Number(row.attempt ?? 0);
      const request = json<JournalRun['request']>(row.request_json) ?? ({ runId: String(row.run_id) } as JournalRun['request']);
      const lastOutcome = text(row.last_outcome);
      const lastDetail = text(row.last_detail) ?? '';
      const base = {
        runId: String(row.run_id),
        request,
        acceptedAt: Number(row.accepted_at),
        // The reference script tells the next attempt why the last one failed; keep that sentence.
        ...(lastOutcome === undefined ? {} : { retryNote: lastDetail.trim() === '' ? lastOutcome : lastDetail, lastOutcome }),
      };
      if (row.started_at === null || current === 0) return { ...base, attempt: 1, sent: false };
      if (row.ended_at !== null) return { ...base, attempt: current + 1, sent: false };
      const sent = row.sent === 1;
      return {
        ...base,
        attempt: current,
        sent,
        attemptStartedAt: Number(row.started_at),
        ...(sent && row.deadline !== null ? { deadline: Number(row.deadline) } : {}),
      };
    });
  }

  // ── Reading runs ───────────────────────────────────────────────────────

  getRun(runId: string): RunDetail | undefined {
    const row = this.#getRun.get(runId);
    if (row === undefined) return undefined;
    return { ...this.#toRun(row), attempts: this.#attemptsOf.all(runId).map((a) => this.#toAttempt(a)) };
  }

  /** Newest first. */
  recentRuns(query: RecentRunsQuery = {}): RunRecord[] {
    const limit = Math.min(Math.max(Math.trunc(query.limit ?? 10), 1), MAX_RECENT_RUNS);
    const key = `${+(query.agent !== undefined)}${+(query.status !== undefined)}${+(query.requesterId !== undefined)}`;
    const params: Record<string, string | number> = { limit };
    if (query.agent !== undefined) params.agent = query.agent;
    if (query.status !== undefined) params.status = query.status;
    if (query.requesterId !== undefined) params.requesterId = query.requesterId;
    return this.#recent.get(key)!.all(params).map((row) => this.#toRun(row));
  }

  /** The result of the agent's most recently finished run. */
  lastResult(agent: string): RunResult | undefined {
    return json<RunResult>(this.#lastResult.get(agent)?.result_json);
  }

  /** The run's append-only history, oldest first. */
  runEvents(runId: string): RunEvent[] {
    return this.#eventsOf.all({ runId }).map((row, index) => {
      const attempt = int(row.attempt);
      const data = historyData(String(row.type), row);
      return {
        id: index + 1,
        runId,
        at: Number(row.at),
        type: String(row.type),
        ...(attempt === undefined ? {} : { attempt }),
        ...(data === undefined ? {} : { data }),
      };
    });
  }


  // ── Outbox ─────────────────────────────────────────────────────────────

  /** Idempotent: the first enqueue of (runId, kind) wins and later ones return what it stored. */
  enqueueDelivery(input: { runId: string; kind: DeliveryKind; target: unknown }): Delivery {
    return this.#transaction(() => {
      this.#enqueue.run(input.runId, input.kind, jsonOrNull(input.target), this.#now());
      return this.#toDelivery(this.#getDelivery.get(input.runId, input.kind)!);
    });
  }

  /** Enqueued and not yet delivered, oldest first. */
  pendingDeliveries(): Delivery[] {
    return this.#pending.all().map((row) => this.#toDelivery(row));
  }

  deliveryNonce(runId: string, kind: DeliveryKind): string {
    return deliveryNonce(runId, kind);
  }

  /**
   * Records where the message landed. Returns true for the first report; false when the delivery
   * was already marked (the earlier message id is kept, and the caller's message is the duplicate).
   * A delivery that was never enqueued is recorded as delivered all the same.
   */
  markDelivered(runId: string, kind: DeliveryKind, message: DeliveredMessage): boolean {
    const { changes } = this.#markDelivered.run({ runId, kind, at: this.#now(), channelId: message.channelId, messageId: message.messageId });
    return changes > 0;
  }

  getDelivery(runId: string, kind: DeliveryKind): Delivery | undefined {
    const row = this.#getDelivery.get(runId, kind);
    return row === undefined ? undefined : this.#toDelivery(row);
  }

  // ── Progress messages ──────────────────────────────────────────────────

  /** One progress message per run; recording again replaces it (e.g. it moved to a channel message). */
  recordProgressMessage(runId: string, message: ProgressMessageInput): void {
    this.#upsertProgress.run(
      runId,
      message.channelId,
      message.messageId,
      message.interactionToken ?? null,
      message.tokenExpiresAt ?? null,
      this.#now(),
    );
  }

  /**
   * Progress messages not yet cleared, with their run's status, so a restarted bot can finish
   * or resume each. An interaction token past its expiry is not returned.
   */
  progressMessages(): ProgressMessage[] {
    const now = this.#now();
    return this.#progress.all().map((row) => {
      const expiresAt = int(row.token_expires_at);
      const token = text(row.interaction_token);
      const live = token !== undefined && (expiresAt === undefined || expiresAt > now);
      return {
        runId: String(row.run_id),
        channelId: String(row.channel_id),
        messageId: String(row.message_id),
        recordedAt: Number(row.recorded_at),
        ...(live ? { interactionToken: token } : {}),
        ...(expiresAt === undefined ? {} : { tokenExpiresAt: expiresAt }),
        ...(row.run_status === null ? {} : { runStatus: String(row.run_status) as StoredRunStatus }),
      };
    });
  }

  /** The progress message shows its final state: forget it (and its token). */
  clearProgressMessage(runId: string): boolean {
    const cleared = this.#clearProgress.run(runId).changes > 0;
        return cleared;
  }

  // ── Channel cursors ────────────────────────────────────────────────────

  /** Moves the channel's cursor forward only (snowflakes compared as BigInt). Returns whether it moved. */
  setLastSeen(channelId: string, messageId: string): boolean {
    normalizeSnowflake('channel id', channelId);
    const next = normalizeSnowflake('message id', messageId);
    return this.#transaction(() => {
      const current = text(this.#getCursor.get(channelId)?.message_id);
      if (current !== undefined && BigInt(current) >= next) return false;
      this.#putCursor.run(channelId, next.toString(), this.#now());
      return true;
    });
  }

  lastSeen(channelId: string): string | undefined {
    return text(this.#getCursor.get(channelId)?.message_id);
  }

  allCursors(): ChannelCursor[] {
    return this.#cursors.all().map((row) => ({
      channelId: String(row.channel_id),
      messageId: String(row.message_id),
      updatedAt: Number(row.updated_at),
    }));
  }

  // ── Retention ──────────────────────────────────────────────────────────

  /**
   * Deletes up to `limit` runs that finished before `olderThan` and have nothing left to deliver,
   * with their attempts, deliveries and progress message, in one transaction; returns how many.
   * Open runs, runs with a pending delivery and channel cursors are never touched. One call is one
   * bounded batch: a caller clearing a large backlog calls again (yielding between calls) while it
   * gets a full batch back.
   */
  pruneFinished(query: PruneQuery): number {
    const { olderThan } = query;
    const limit = query.limit ?? DEFAULT_PRUNE_BATCH;
    if (!Number.isFinite(olderThan)) throw new HqError(ErrorCode.USAGE, `pruneFinished: olderThan must be epoch ms, not ${String(olderThan)}`);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PRUNE_BATCH) {
      throw new HqError(ErrorCode.USAGE, `pruneFinished: limit must be an integer from 1 to ${MAX_PRUNE_BATCH}, not ${String(limit)}`);
    }
    return this.#transaction(() => {
      const ids = this.#prunable.all({ olderThan, limit }).map((row) => String(row.run_id));
      if (ids.length === 0) return 0;
      const list = JSON.stringify(ids);
      this.#pruneDeliveries.run(list);
      this.#pruneProgress.run(list);
      this.#pruneRuns.run(list);
      return ids.length;
    });
  }

  // ── Lifecycle ──────────────────────────────────────────────────────────

  healthCheck(): HealthResult {
    if (!this.#db.isOpen) return { ok: false, detail: 'run store is closed' };
    try {
      this.#ping.get();
      return { ok: true };
    } catch (error) {
      return { ok: false, detail: `run store: ${(error as Error).message}` };
    }
  }

  /** Being the last connection, the close checkpoints and removes the WAL. */
  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // ── Internals ──────────────────────────────────────────────────────────

  #transaction<T>(fn: () => T): T {
    if (this.#db.isTransaction) return fn();
    this.#begin.run();
    try {
      const value = fn();
      this.#commit.run();
      return value;
    } catch (error) {
      if (this.#db.isTransaction) this.#rollback.run();
      throw error;
    }
  }

  #toRun(row: Row): RunRecord {
    const request = json<JournalRun['request']>(row.request_json);
    const origin = json<Record<string, unknown>>(row.origin_json);
    const result = json<RunResult>(row.result_json);
    return {
      runId: String(row.run_id),
      agent: String(row.agent),
      status: String(row.status) as StoredRunStatus,
      acceptedAt: Number(row.accepted_at),
      attempt: Number(row.current_attempt),
      ...(row.task === null ? {} : { task: String(row.task) }),
      ...(request === undefined ? {} : { request }),
      ...(origin === undefined ? {} : { origin }),
      ...(row.requester_id === null ? {} : { requesterId: String(row.requester_id) }),
      ...(row.workflow_run_id === null ? {} : { workflowRunId: String(row.workflow_run_id) }),
      ...(row.step_id === null ? {} : { stepId: String(row.step_id) }),
      ...(row.finished_at === null ? {} : { finishedAt: Number(row.finished_at) }),
      ...(result === undefined ? {} : { result }),
    };
  }

  #toAttempt(row: Row): AttemptRecord {
    return {
      attempt: Number(row.attempt),
      startedAt: Number(row.started_at),
      sent: row.sent === 1,
      ...(row.deadline === null ? {} : { deadline: Number(row.deadline) }),
      ...(row.sent_at === null ? {} : { sentAt: Number(row.sent_at) }),
      ...(row.gateway_run_id === null ? {} : { gatewayRunId: String(row.gateway_run_id) }),
      ...(row.outcome === null ? {} : { outcome: String(row.outcome) }),
      ...(row.detail === null ? {} : { detail: String(row.detail) }),
      ...(row.ended_at === null ? {} : { endedAt: Number(row.ended_at) }),
    };
  }

  #toDelivery(row: Row): Delivery {
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
}

/**
 * Opens (creating if need be) the run store at `file`. Refuses, with an HqError naming the file,
 * a file of a newer schema version, another program's database, or something that is not sqlite.
 */
export function createRunStore(file: string, options: RunStoreOptions = {}): RunStore {
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new HqError(ErrorCode.CONFIG_INVALID, 'options.busyTimeoutMs must be a non-negative integer');
  }
  if (file !== ':memory:') {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    // Interaction tokens live in here for up to 15 minutes: keep a new file to its owner.
    // (SQLite gives the -wal and -shm files the main file's permissions.) An empty file is a new database.
    try {
      writeFileSync(file, '', { flag: 'wx', mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new HqError(ErrorCode.CONFIG_INVALID, `${file}: cannot create the run store (${(error as NodeJS.ErrnoException).code})`, { cause: error });
      }
    }
  }
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(file, { timeout: busyTimeoutMs, enableForeignKeyConstraints: true });
    // In WAL mode NORMAL syncs at checkpoints only: a commit survives the process being killed.
    // sqlite checkpoints by itself once the WAL passes wal_autocheckpoint (1 000 pages by default);
    // journal_size_limit cuts the file back when the WAL restarts after one.
    db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      PRAGMA busy_timeout = ${busyTimeoutMs};
      PRAGMA journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES};
    `);
    migrate(db, file);
    return new RunStore(db, file, options);
  } catch (error) {
    if (db?.isOpen) db.close();
    if (isHqError(error)) throw error;
    throw new HqError(ErrorCode.CONFIG_INVALID, `${file}: cannot be opened as a run store (${(error as Error).message})`, { cause: error });
  }
}
