-- carechat store, schema 1. Times are timestamptz; the code reads and writes epoch milliseconds.

-- One row per chat session: the persisted XState snapshot with the machine that wrote it.
CREATE TABLE sessions (
  id               text PRIMARY KEY,
  machine_id       text NOT NULL,
  machine_version  integer NOT NULL,
  snapshot         jsonb NOT NULL,
  state            text NOT NULL,
  status           text NOT NULL CHECK (status IN ('active', 'done', 'error', 'stopped')),
  outcome          text,
  summary          jsonb NOT NULL DEFAULT '{}',
  deadlines        jsonb NOT NULL DEFAULT '{}',
  next_deadline_at timestamptz,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  ended_at         timestamptz
);
CREATE INDEX sessions_newest ON sessions (created_at DESC, id DESC);
CREATE INDEX sessions_by_state ON sessions (state, created_at DESC, id DESC);
CREATE INDEX sessions_by_outcome ON sessions (outcome, created_at DESC, id DESC);
CREATE INDEX sessions_ended ON sessions (ended_at) WHERE ended_at IS NOT NULL;

-- Who may write a session: one owner at a time; generation grows on every change of hands (fencing).
CREATE TABLE session_leases (
  session_id  text PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
  owner       text,
  generation  bigint NOT NULL,
  expires_at  timestamptz NOT NULL
);
CREATE INDEX session_leases_by_owner ON session_leases (owner);
CREATE INDEX session_leases_by_expiry ON session_leases (expires_at);

-- Callback events a session has applied, so a redelivery is applied once.
CREATE TABLE callbacks_taken (
  session_id  text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  key         text NOT NULL,
  taken_at    timestamptz NOT NULL,
  PRIMARY KEY (session_id, key)
);

-- Side effects a session started; re-issued after a crash with the same operation id.
CREATE TABLE effects (
  operation_id text PRIMARY KEY,
  session_id   text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  kind         text NOT NULL,
  input        jsonb,
  status       text NOT NULL CHECK (status IN ('started', 'done', 'failed')),
  result       jsonb,
  attempts     integer NOT NULL DEFAULT 1,
  started_at   timestamptz NOT NULL,
  finished_at  timestamptz
);
CREATE INDEX effects_by_session ON effects (session_id, started_at);

-- Transcripts, append-only; a line's key (message href, callback key) is stored once per session.
CREATE TABLE transcripts (
  seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  session_id  text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  key         text NOT NULL,
  at          timestamptz NOT NULL,
  entry       jsonb NOT NULL,
  UNIQUE (session_id, key)
);
CREATE INDEX transcripts_by_session ON transcripts (session_id, seq);

-- What customers nobody served left behind.
CREATE TABLE left_messages (
  session_id  text PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
  at          timestamptz NOT NULL,
  outcome     text NOT NULL,
  content     jsonb NOT NULL
);
CREATE INDEX left_messages_newest ON left_messages (at DESC, session_id DESC);

-- The agent pool. load = rows in agent_chats; it only grows through a conditional update (load < capacity).
CREATE TABLE agents (
  key                  text PRIMARY KEY,
  uri                  text NOT NULL,
  name                 text NOT NULL,
  skills               jsonb NOT NULL DEFAULT '[]',
  presence             text NOT NULL CHECK (presence IN ('available', 'busy', 'away', 'offline')),
  capacity             integer NOT NULL CHECK (capacity >= 1),
  load                 integer NOT NULL DEFAULT 0 CHECK (load >= 0),
  missed_offers_in_row integer NOT NULL DEFAULT 0,
  last_assigned_at     timestamptz,
  last_chat_ended_at   timestamptz,
  roster_order         integer NOT NULL,
  in_roster            boolean NOT NULL DEFAULT true
);

-- Chats an agent holds: an offer waiting for an answer, or an active chat. One pending offer per session.
CREATE TABLE agent_chats (
  session_id  text NOT NULL,
  agent_key   text NOT NULL REFERENCES agents (key) ON DELETE CASCADE,
  status      text NOT NULL CHECK (status IN ('offered', 'active')),
  since       timestamptz NOT NULL,
  PRIMARY KEY (session_id, agent_key)
);
CREATE UNIQUE INDEX agent_chats_one_offer ON agent_chats (session_id) WHERE status = 'offered';
CREATE INDEX agent_chats_by_agent ON agent_chats (agent_key);

-- Shared routing state (one row).
CREATE TABLE routing_state (
  id         boolean PRIMARY KEY DEFAULT true CHECK (id),
  rr_cursor  integer NOT NULL DEFAULT -1
);
INSERT INTO routing_state DEFAULT VALUES;

-- Chats waiting for an agent, served by priority, then waiting time, then arrival.
CREATE TABLE queue (
  session_id   text PRIMARY KEY,
  priority     integer NOT NULL DEFAULT 0,
  enqueued_at  timestamptz NOT NULL,
  topic        text,
  seq          bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX queue_order ON queue (priority DESC, enqueued_at, seq);

-- Callback events recorded by an instance that does not own the session, for its owner.
CREATE TABLE inbox (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  session_id   text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  key          text NOT NULL,
  payload      jsonb NOT NULL,
  recorded_at  timestamptz NOT NULL,
  UNIQUE (session_id, key)
);

-- Webhook events, written in the transaction of the change that caused them; delivered in id order per session.
CREATE TABLE webhook_outbox (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  session_id       text REFERENCES sessions (id) ON DELETE CASCADE,
  event_type       text NOT NULL,
  payload          jsonb NOT NULL,
  created_at       timestamptz NOT NULL,
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  delivered_at     timestamptz,
  last_error       text
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at, id) WHERE delivered_at IS NULL;
CREATE INDEX webhook_outbox_session ON webhook_outbox (session_id, id) WHERE delivered_at IS NULL;
