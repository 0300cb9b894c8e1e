/**
 * The PostgreSQL store's tables: the SQLite tables (../schema.ts) in PostgreSQL's words. Ids are
 * COLLATE "C" so they sort byte by byte as in SQLite; epoch ms are bigint; JSON stays text, written
 * and read exactly as the SQLite store writes and reads it. `seq` stands in for SQLite's rowid, the
 * tie-breaker of "newest first". Bump PG_SCHEMA_VERSION with a step in migrate.ts; never edit a
 * released DDL in place. Free text (a task, an attempt's detail) is stored JSON-encoded (text.ts).
 */
export const PG_SCHEMA_VERSION = 3;

/** Taken in the migration transaction, so processes starting together migrate one after another. */
export const MIGRATION_LOCK_KEY = 0x48_51_44_47;

export const PG_SCHEMA_V1 = `
CREATE TABLE schema_version (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  version  integer NOT NULL
);

CREATE TABLE runs (
  run_id          text COLLATE "C" PRIMARY KEY,
  seq             bigint GENERATED ALWAYS AS IDENTITY,
  agent           text COLLATE "C" NOT NULL,
  status          text COLLATE "C" NOT NULL,
  -- free text is kept as a JSON string: PostgreSQL's text cannot hold the NUL that SQLite's can
  task_json       text,
  request_json    text,
  origin_json     text,
  requester_id    text COLLATE "C",
  workflow_run_id text,
  step_id         text,
  accepted_at     bigint NOT NULL,
  attempts        integer NOT NULL DEFAULT 0,
  finished_at     bigint,
  result_json     text,
  handoff_secret  text
);
CREATE INDEX runs_by_accepted ON runs (accepted_at);
CREATE INDEX runs_by_agent ON runs (agent, accepted_at);
CREATE INDEX runs_by_status ON runs (status, accepted_at);
CREATE INDEX runs_by_requester ON runs (requester_id, accepted_at) WHERE requester_id IS NOT NULL;
CREATE INDEX runs_finished_by_agent ON runs (agent, finished_at) WHERE status <> 'running';

CREATE TABLE attempts (
  run_id         text COLLATE "C" NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  attempt        integer NOT NULL,
  started_at     bigint NOT NULL,
  deadline       bigint,
  sent           boolean NOT NULL DEFAULT false,
  sent_at        bigint,
  gateway_run_id text,
  outcome        text,
  detail_json    text,
  ended_at       bigint,
  PRIMARY KEY (run_id, attempt)
);

CREATE TABLE deliveries (
  run_id       text COLLATE "C" NOT NULL,
  kind         text COLLATE "C" NOT NULL,
  target_json  text,
  enqueued_at  bigint NOT NULL,
  delivered_at bigint,
  channel_id   text,
  message_id   text,
  PRIMARY KEY (run_id, kind)
);
CREATE INDEX deliveries_pending ON deliveries (enqueued_at) WHERE delivered_at IS NULL;

CREATE TABLE progress_messages (
  run_id            text COLLATE "C" PRIMARY KEY,
  channel_id        text NOT NULL,
  message_id        text NOT NULL,
  interaction_token text,
  token_expires_at  bigint,
  recorded_at       bigint NOT NULL
);

CREATE TABLE channel_cursors (
  channel_id text COLLATE "C" PRIMARY KEY,
  message_id text NOT NULL,
  updated_at bigint NOT NULL
);

CREATE TABLE handoff_tokens (
  run_id     text COLLATE "C" NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  token_hash text NOT NULL,
  attempt    integer NOT NULL,
  issued_at  bigint NOT NULL,
  used_at    bigint,
  PRIMARY KEY (run_id, token_hash)
);

-- The leader lease (leader-lease.ts): one row per lease, its epoch the fencing token of every write.
CREATE TABLE hq_lease (name text PRIMARY KEY, holder text NOT NULL, epoch bigint NOT NULL, expires_at timestamptz NOT NULL);
`;

/**
 * Version 2: what the SQLite store gained after version 1 (../migrate.ts steps 3 and 4): approvals
 * (../approvals.ts; the reason is free text, so JSON-encoded as a task is) and the index of the
 * result-thread lookup. No expression index on the origin's threadId: PostgreSQL's JSON parser
 * refuses a \u0000 anywhere in the text, so such an index would fail the insert of a run whose
 * origin holds one. Queued runs need no DDL: a queued run is a row of runs with status 'queued'.
 */
export const PG_SCHEMA_V2 = `
CREATE TABLE approvals (
  run_id          text COLLATE "C" PRIMARY KEY,
  agent           text COLLATE "C" NOT NULL,
  state           text COLLATE "C" NOT NULL,
  request_json    text NOT NULL,
  origin_json     text NOT NULL,
  rule_json       text NOT NULL,
  reply_json      text,
  requester_id    text COLLATE "C" NOT NULL,
  requested_at    bigint NOT NULL,
  expires_at      bigint NOT NULL,
  card_channel_id text,
  card_message_id text,
  decided_by      text,
  decided_at      bigint,
  reason_json     text
);
CREATE INDEX approvals_awaiting ON approvals (expires_at, run_id) WHERE state = 'awaiting_approval';
CREATE INDEX approvals_decided ON approvals (decided_at) WHERE state <> 'awaiting_approval';

CREATE INDEX deliveries_by_message ON deliveries (kind, message_id) WHERE delivered_at IS NOT NULL;
`;

/** Notified with a relay row's id when one is inserted (handoff-relay.ts). */
export const HANDOFF_RELAY_CHANNEL = 'hq_handoff';

/**
 * Version 3: the handoff relay (handoff-relay.ts). A replica that is not the leader keeps an HTTP
 * handoff here until the leader takes it. No foreign key to runs: a handoff for a run the leader
 * does not know is dropped by the leader, not refused by the replica that received it. The text
 * is JSON-encoded as other free text is (text.ts); retention prunes rows left behind.
 */
export const PG_SCHEMA_V3 = `
CREATE TABLE handoff_relay (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id      text COLLATE "C" NOT NULL,
  text_json   text NOT NULL,
  received_by text,
  received_at bigint NOT NULL
);
`;
