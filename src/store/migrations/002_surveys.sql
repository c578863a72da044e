-- carechat store, schema 2: post-chat survey answers, and the widget thread each chat came from.

-- The customer's answer to "How was your chat?": one per chat, enforced by the primary key.
CREATE TABLE survey_answers (
  session_id    text PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
  score         smallint NOT NULL CHECK (score BETWEEN 1 AND 5),
  comment       text,
  submitted_at  timestamptz NOT NULL
);

-- The widget's threadId (from its chat token, signed into its survey token) → the chat its invitation
-- became, so any instance, before or after a restart, finds the chat a survey answer is for.
CREATE TABLE chat_threads (
  thread_id   text PRIMARY KEY,
  session_id  text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE
);
CREATE INDEX chat_threads_by_session ON chat_threads (session_id);
