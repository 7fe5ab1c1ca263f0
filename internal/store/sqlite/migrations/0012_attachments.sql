-- Attachments. An upload's bytes are a file named by their sha256 under
-- the attachments directory, shared by every upload of the same bytes;
-- a row per upload says whose it is and what it is called. A message
-- keeps a copy of its attachments' fields (uploads never change), so that
-- reading messages costs nothing more; message_attachments answers who
-- may download an upload.
CREATE TABLE attachments (
    id           TEXT    PRIMARY KEY,
    uploader     TEXT    NOT NULL,
    filename     TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    -- 1 once a message carries it: it is no longer removed unattached.
    attached     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX attachments_uploader ON attachments (uploader);
CREATE INDEX attachments_sha256 ON attachments (sha256);
CREATE INDEX attachments_unattached ON attachments (created_at) WHERE attached = 0;

CREATE TABLE message_attachments (
    attachment_id TEXT NOT NULL REFERENCES attachments (id),
    thread_id     TEXT NOT NULL,
    message_id    TEXT NOT NULL,
    PRIMARY KEY (attachment_id, message_id)
) WITHOUT ROWID;

-- The attachments of a message, as its answers show them; NULL for none.
ALTER TABLE messages ADD COLUMN attachments TEXT;
