-- Every message each agent can see, by the order it was stored: an agent's
-- message list and search walk their own mailbox instead of the whole
-- table. Kept in step with thread_participants by the store, in the same
-- transaction as the message or the new participant.
CREATE TABLE agent_messages (
    handle      TEXT    NOT NULL,
    message_seq INTEGER NOT NULL REFERENCES messages (seq),
    PRIMARY KEY (handle, message_seq)
) WITHOUT ROWID;

INSERT INTO agent_messages (handle, message_seq)
SELECT p.handle, m.seq FROM thread_participants p JOIN messages m ON m.thread_id = p.thread_id;

-- Counts that lists would otherwise compute over whole tables.
CREATE TABLE counters (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO counters (name, value) VALUES
    ('messages', (SELECT count(*) FROM messages)),
    ('threads', (SELECT count(*) FROM threads));
