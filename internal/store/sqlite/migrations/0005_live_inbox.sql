-- Read state per recipient: NULL until the recipient marks it read.
ALTER TABLE message_recipients ADD COLUMN read_at INTEGER;
CREATE INDEX message_recipients_unread ON message_recipients (handle, message_seq) WHERE read_at IS NULL;

-- Each participant's count of unread messages addressed to it in the
-- thread, kept in step with message_recipients.read_at.
ALTER TABLE thread_participants ADD COLUMN unread INTEGER NOT NULL DEFAULT 0;
-- Every message so far is unread: count them once, grouped, rather than
-- once per participant.
CREATE TEMP TABLE unread_counts AS
    SELECT m.thread_id, r.handle, count(*) AS n
    FROM message_recipients r JOIN messages m ON m.seq = r.message_seq
    GROUP BY m.thread_id, r.handle;
CREATE INDEX temp.unread_counts_key ON unread_counts (thread_id, handle);
UPDATE thread_participants SET unread = coalesce((SELECT n FROM unread_counts u
    WHERE u.thread_id = thread_participants.thread_id AND u.handle = thread_participants.handle), 0);
DROP TABLE unread_counts;

-- Each agent's durable event log; seq is the cursor. message.created rows
-- point at their message and thread.updated rows at their thread, which
-- are rendered when read; message.read rows carry their data.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT, -- a cursor is never reused, even after pruning
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
