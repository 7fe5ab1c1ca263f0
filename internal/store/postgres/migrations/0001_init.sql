-- AgCom's PostgreSQL schema. Times are microseconds since the Unix epoch
-- (UTC), as in the SQLite store, so that both stores answer to the
-- microsecond alike and a database moves between them unchanged.
--
-- Lists order by (created_at, seq): several nodes write at once, so
-- storage order is not time order here, and every list has an index in
-- the order it walks.

-- Substring search: trigram GIN indexes serve ILIKE '%…%'.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Threads. The sorted participants and the metadata are kept on the row as
-- the JSON the API shows, in step with thread_participants and
-- thread_metadata, so that a page of threads is one index range.
CREATE TABLE threads (
    id               text    PRIMARY KEY,
    subject          text    NOT NULL,
    created_at       bigint  NOT NULL,
    last_activity_at bigint  NOT NULL,
    archived         boolean NOT NULL DEFAULT false,
    participants     text    NOT NULL DEFAULT '[]',
    metadata         text    NOT NULL DEFAULT '{}'
);
CREATE INDEX threads_activity ON threads (last_activity_at DESC, id DESC);
CREATE INDEX threads_archived_activity ON threads (archived, last_activity_at DESC, id DESC);

-- last_activity_at and archived are copied onto each participant row so
-- that an agent's inbox is one range of one index. unread counts the
-- participant's unread messages in the thread.
CREATE TABLE thread_participants (
    thread_id        text    NOT NULL REFERENCES threads (id),
    handle           text    NOT NULL,
    last_activity_at bigint  NOT NULL,
    archived         boolean NOT NULL DEFAULT false,
    unread           integer NOT NULL DEFAULT 0,
    PRIMARY KEY (thread_id, handle)
);
CREATE INDEX thread_participants_inbox ON thread_participants (handle, last_activity_at DESC, thread_id DESC);
CREATE INDEX thread_participants_inbox_archived ON thread_participants (handle, archived, last_activity_at DESC, thread_id DESC);

CREATE TABLE thread_metadata (
    thread_id text NOT NULL REFERENCES threads (id),
    key       text NOT NULL,
    value     text NOT NULL,
    PRIMARY KEY (thread_id, key)
);

-- Messages are immutable. to_handles and tags are JSON arrays kept for
-- display; queries match recipients through message_recipients.
CREATE TABLE messages (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          text   NOT NULL UNIQUE,
    thread_id   text   NOT NULL REFERENCES threads (id),
    from_handle text   NOT NULL,
    to_handles  text   NOT NULL,
    subject     text   NOT NULL,
    body        text   NOT NULL,
    in_reply_to text,
    tags        text   NOT NULL,
    created_at  bigint NOT NULL
);
CREATE INDEX messages_thread ON messages (thread_id, created_at, seq);
CREATE INDEX messages_created ON messages (created_at DESC, seq DESC);
CREATE INDEX messages_from ON messages (from_handle);
CREATE INDEX messages_subject_trgm ON messages USING gin (subject gin_trgm_ops);
CREATE INDEX messages_body_trgm ON messages USING gin (body gin_trgm_ops);

-- Recipients with their read state: read_at is NULL until the recipient
-- marks the message read.
CREATE TABLE message_recipients (
    message_seq bigint NOT NULL REFERENCES messages (seq),
    handle      text   NOT NULL,
    created_at  bigint NOT NULL,
    read_at     bigint,
    PRIMARY KEY (message_seq, handle)
);
CREATE INDEX message_recipients_inbox ON message_recipients (handle, created_at DESC, message_seq DESC);
CREATE INDEX message_recipients_unread ON message_recipients (handle, created_at DESC, message_seq DESC) WHERE read_at IS NULL;

-- Every message each agent can see, newest first: an agent's message list
-- and search walk their own mailbox instead of the whole table. Kept in
-- step with thread_participants in the same transaction.
CREATE TABLE agent_messages (
    handle      text   NOT NULL,
    message_seq bigint NOT NULL REFERENCES messages (seq),
    created_at  bigint NOT NULL,
    PRIMARY KEY (handle, message_seq)
);
CREATE INDEX agent_messages_recent ON agent_messages (handle, created_at DESC, message_seq DESC);

-- The address book shared by all agents.
CREATE TABLE contacts (
    handle       text    PRIMARY KEY,
    display_name text,
    description  text,
    tags         text    NOT NULL,
    is_active    boolean NOT NULL,
    created_at   bigint  NOT NULL,
    updated_at   bigint  NOT NULL,
    updated_by   text    NOT NULL,
    version      bigint  NOT NULL,
    -- handle, display name and description, case-folded, for substring search
    search_text  text    NOT NULL
);
CREATE INDEX contacts_active ON contacts (is_active, handle);

CREATE TABLE contact_tags (
    tag    text NOT NULL,
    handle text NOT NULL REFERENCES contacts (handle),
    PRIMARY KEY (tag, handle)
);
CREATE INDEX contact_tags_handle ON contact_tags (handle);

CREATE TABLE audit_events (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            text   NOT NULL UNIQUE,
    event_type    text   NOT NULL,
    actor_handle  text   NOT NULL,
    target_handle text,
    details       text   NOT NULL,
    created_at    bigint NOT NULL
);
CREATE INDEX audit_events_created ON audit_events (created_at DESC, seq DESC);
CREATE INDEX audit_events_actor ON audit_events (actor_handle, created_at DESC, seq DESC);
-- actor_handle rides along so that an agent's total (as actor, plus as
-- target of someone else) is counted from the two indexes alone.
CREATE INDEX audit_events_target ON audit_events (target_handle, created_at DESC, seq DESC) INCLUDE (actor_handle);
CREATE INDEX audit_events_type ON audit_events (event_type, created_at DESC, seq DESC);

-- Registered agents. The secret is kept only as a slow salted hash.
CREATE TABLE agents (
    handle       text    PRIMARY KEY,
    display_name text,
    secret_hash  text    NOT NULL,
    is_admin     boolean NOT NULL DEFAULT false,
    disabled     boolean NOT NULL DEFAULT false,
    created_at   bigint  NOT NULL,
    updated_at   bigint  NOT NULL
);
CREATE INDEX agents_admins ON agents (handle) WHERE is_admin AND NOT disabled;

-- Counts that lists would otherwise compute over whole tables. Each count
-- is spread over shards, so that concurrent writers rarely wait for the
-- same row; its value is the sum of its shards.
CREATE TABLE counters (
    name  text    NOT NULL,
    shard integer NOT NULL,
    value bigint  NOT NULL,
    PRIMARY KEY (name, shard)
);
INSERT INTO counters (name, shard, value) VALUES ('messages', 0, 0), ('threads', 0, 0);

-- The highest event cursor that pruning deleted: older cursors are expired.
CREATE TABLE event_retention (
    one           boolean PRIMARY KEY DEFAULT true CHECK (one),
    pruned_through bigint NOT NULL
);
INSERT INTO event_retention (pruned_through) VALUES (0);

-- Each agent's durable event log; seq is the cursor. Writers append under
-- one advisory lock held to their commit, so cursors become visible in
-- order and a reader never skips an event committed later with a lower
-- cursor. message.created rows point at their message and thread.updated
-- rows at their thread, rendered when read; message.read rows carry data.
CREATE TABLE events (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    handle      text   NOT NULL,
    type        text   NOT NULL,
    thread_id   text   NOT NULL,
    message_seq bigint,
    data        text,
    created_at  bigint NOT NULL
);
CREATE INDEX events_handle ON events (handle, seq);
CREATE INDEX events_created ON events (created_at);

-- Idempotency keys, stored in the transaction of the write they answer.
CREATE TABLE idempotency_keys (
    handle     text    NOT NULL,
    key        text    NOT NULL,
    request    text    NOT NULL,
    status     integer NOT NULL,
    body       bytea   NOT NULL,
    created_at bigint  NOT NULL,
    PRIMARY KEY (handle, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
