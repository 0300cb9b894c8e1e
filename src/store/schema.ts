/**
 * The run store's tables. The version lives in the file header (`PRAGMA user_version`), so a
 * process can tell an old file (migrate it) from a newer one (refuse it) before touching a row.
 * Bump SCHEMA_VERSION together with a step in migrate.ts; never edit a released DDL in place.
 * Each fact is written once, in one row: a run's current attempt and history are read back from
 * its attempts and the timestamps its rows keep, not copied onto `runs`.
 */
import type { RunStatus } from '../engine/types.ts';

export const SCHEMA_VERSION = 5;

/** A run's status in the store: `running` until the engine reports its result. */
export type StoredRunStatus = RunStatus | 'sent' | 'running' | 'queued';
export const RUNNING = 'running';
/** A follow-up waiting behind another run of its thread; `running` once the engine accepts it. */
export const QUEUED = 'queued';

/** A delegation held for a human (store/approvals.ts): awaiting until one decision ends it. */
export const ApprovalState = {
  awaiting: 'awaiting_approval',
  approved: 'approved',
  rejected: 'rejected',
  expired: 'expired',
} as const;
export type ApprovalState = (typeof ApprovalState)[keyof typeof ApprovalState];

/** 'HQDG' in the header's application_id: another program's sqlite file is refused, not adopted. */
export const APPLICATION_ID = 0x48_51_44_47;

export const SCHEMA_DDL = `
CREATE TABLE IF NOT EXISTS runs (
  run_id          TEXT PRIMARY KEY,
  agent           TEXT NOT NULL,
  -- 'running' until runFinished, then the RunResult's status
  status          TEXT NOT NULL,
  task            TEXT,
  -- NULL only for a run the store learnt of through its result alone
  request_json    TEXT,
  origin_json     TEXT,
  -- copied out of origin so /runs can filter by requester with an index
  requester_id    TEXT,
  workflow_run_id TEXT,
  step_id         TEXT,
  accepted_at     INTEGER NOT NULL,
  -- the attempts the result reports; while the run is open, its attempts rows are the truth
  attempts        INTEGER NOT NULL DEFAULT 0,
  finished_at     INTEGER,
  result_json     TEXT
) STRICT;
-- Open runs are status 'running': runs_by_status also serves the restart's resumable list.
CREATE INDEX IF NOT EXISTS runs_by_accepted ON runs (accepted_at);
CREATE INDEX IF NOT EXISTS runs_by_agent ON runs (agent, accepted_at);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, accepted_at);
CREATE INDEX IF NOT EXISTS runs_by_requester ON runs (requester_id, accepted_at) WHERE requester_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_finished_by_agent ON runs (agent, finished_at) WHERE status <> 'running';

CREATE TABLE IF NOT EXISTS attempts (
  run_id         TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  attempt        INTEGER NOT NULL,
  started_at     INTEGER NOT NULL,
  deadline       INTEGER,
  sent           INTEGER NOT NULL DEFAULT 0,
  sent_at        INTEGER,
  gateway_run_id TEXT,
  outcome        TEXT,
  detail         TEXT,
  ended_at       INTEGER,
  PRIMARY KEY (run_id, attempt)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS deliveries (
  run_id       TEXT NOT NULL,
  kind         TEXT NOT NULL,
  target_json  TEXT,
  enqueued_at  INTEGER NOT NULL,
  delivered_at INTEGER,
  channel_id   TEXT,
  message_id   TEXT,
  PRIMARY KEY (run_id, kind)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (enqueued_at) WHERE delivered_at IS NULL;

CREATE TABLE IF NOT EXISTS progress_messages (
  run_id            TEXT PRIMARY KEY,
  channel_id        TEXT NOT NULL,
  message_id        TEXT NOT NULL,
  interaction_token TEXT,
  token_expires_at  INTEGER,
  recorded_at       INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS channel_cursors (
  channel_id TEXT PRIMARY KEY,
  message_id TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
`;

/** Every table the DDL creates; a version-0 file holding anything else is not ours to adopt. */
export const SCHEMA_TABLES = [
  'runs',
  'attempts',
  'deliveries',
  'progress_messages',
  'channel_cursors',
  'handoff_tokens',
  'approvals',
] as const;
