-- Threads and who takes part in them. last_activity_at and archived are
-- copied onto each participant row so that an agent's inbox is one range of
-- one index; the store keeps the copies in step in the same transaction.
CREATE TABLE threads (
    id               TEXT    PRIMARY KEY,
    subject          TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    last_activity_at INTEGER NOT NULL,
    archived         INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX threads_activity ON threads (last_activity_at DESC, id DESC);
CREATE INDEX threads_archived_activity ON threads (archived, last_activity_at DESC, id DESC);

CREATE TABLE thread_participants (
    thread_id        TEXT    NOT NULL REFERENCES threads (id),
    handle           TEXT    NOT NULL,
    last_activity_at INTEGER NOT NULL,
    archived         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (thread_id, handle)
) WITHOUT ROWID;
CREATE INDEX thread_participants_inbox ON thread_participants (handle, last_activity_at DESC, thread_id DESC);
CREATE INDEX thread_participants_inbox_archived ON thread_participants (handle, archived, last_activity_at DESC, thread_id DESC);

CREATE TABLE thread_metadata (
    thread_id TEXT NOT NULL REFERENCES threads (id),
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (thread_id, key)
) WITHOUT ROWID;

-- Messages are immutable. to_handles and tags are JSON arrays kept for
-- display; queries match recipients through message_recipients.
CREATE TABLE messages (
    seq         INTEGER PRIMARY KEY,
    id          TEXT    NOT NULL UNIQUE,
    thread_id   TEXT    NOT NULL REFERENCES threads (id),
    from_handle TEXT    NOT NULL,
    to_handles  TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    in_reply_to TEXT,
    tags        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX messages_thread ON messages (thread_id, created_at, id);
CREATE INDEX messages_created ON messages (created_at DESC, id DESC);
CREATE INDEX messages_from ON messages (from_handle, created_at DESC, id DESC);

CREATE TABLE message_recipients (
    message_seq INTEGER NOT NULL REFERENCES messages (seq),
    handle      TEXT    NOT NULL,
    PRIMARY KEY (message_seq, handle)
) WITHOUT ROWID;
CREATE INDEX message_recipients_handle ON message_recipients (handle, message_seq);

-- Substring search: a trigram index matches any substring of 3 or more
-- characters, case-insensitively.
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    subject, body, content = 'messages', content_rowid = 'seq', tokenize = 'trigram'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, subject, body) VALUES (new.seq, new.subject, new.body);
END;

-- The address book shared by all agents.
CREATE TABLE contacts (
    handle       TEXT    PRIMARY KEY,
    display_name TEXT,
    description  TEXT,
    tags         TEXT    NOT NULL,
    is_active    INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    updated_by   TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    -- handle, display name and description, case-folded, for substring search
    search_text  TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX contacts_active ON contacts (is_active, handle);

CREATE TABLE contact_tags (
    tag    TEXT NOT NULL,
    handle TEXT NOT NULL REFERENCES contacts (handle),
    PRIMARY KEY (tag, handle)
) WITHOUT ROWID;
CREATE INDEX contact_tags_handle ON contact_tags (handle);

CREATE TABLE audit_events (
    seq           INTEGER PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    event_type    TEXT    NOT NULL,
    actor_handle  TEXT    NOT NULL,
    target_handle TEXT,
    details       TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX audit_events_created ON audit_events (created_at DESC, id DESC);
CREATE INDEX audit_events_actor ON audit_events (actor_handle, created_at DESC, id DESC);
CREATE INDEX audit_events_target ON audit_events (target_handle, created_at DESC, id DESC);
CREATE INDEX audit_events_type ON audit_events (event_type, created_at DESC, id DESC);

-- Registered agents. The secret is kept only as a slow salted hash.
CREATE TABLE agents (
    handle       TEXT    PRIMARY KEY,
    display_name TEXT,
    secret_hash  TEXT    NOT NULL,
    is_admin     INTEGER NOT NULL DEFAULT 0,
    disabled     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) WITHOUT ROWID;
