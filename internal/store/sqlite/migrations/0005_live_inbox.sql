-- Read state per recipient: NULL until the recipient marks it read.
ALTER TABLE message_recipients ADD COLUMN read_at INTEGER;
CREATE INDEX message_recipients_unread ON message_recipients (handle, message_seq) WHERE read_at IS NULL;

-- Each participant's count of unread messages addressed to it in the
-- thread, kept in step with message_recipients.read_at.
ALTER TABLE thread_participants ADD COLUMN unread INTEGER NOT NULL DEFAULT 0;
UPDATE thread_participants SET unread = (
    SELECT count(*) FROM message_recipients r JOIN messages m ON m.seq = r.message_seq
    WHERE r.handle = thread_participants.handle AND m.thread_id = thread_participants.thread_id AND r.read_at IS NULL);

-- Each agent's durable event log; seq is the cursor. message.created rows
-- point at their message and thread.updated rows at their thread, which
-- are rendered when read; message.read rows carry their data.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,
    handle      TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    thread_id   TEXT    NOT NULL,
    message_seq INTEGER,
    data        TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX events_handle ON events (handle);
CREATE INDEX events_created ON events (created_at);

-- Idempotency keys, stored in the transaction of the write they answer.
CREATE TABLE idempotency_keys (
    handle     TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    request    TEXT    NOT NULL,
    status     INTEGER NOT NULL,
    body       BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (handle, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

INSERT INTO counters (name, value) VALUES ('events_pruned_through', 0);
