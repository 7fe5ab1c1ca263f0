-- Attachments. An upload's bytes live in the database every node shares,
-- in chunks of at most 1 MiB, so that neither an upload nor a download
-- holds a whole file in memory; a blob is written (and committed) before
-- the upload's row, and one that no upload refers to is removed by
-- pruning. A message keeps a copy of its attachments' fields (uploads
-- never change), so that reading messages costs nothing more;
-- message_attachments answers who may download an upload.
CREATE TABLE attachment_blobs (
    id          text    PRIMARY KEY,
    -- size and sha256 are set once the last chunk is in.
    size        bigint  NOT NULL,
    sha256      text    NOT NULL,
    chunk_bytes integer NOT NULL,
    created_at  bigint  NOT NULL
);
CREATE INDEX attachment_blobs_created ON attachment_blobs (created_at);

CREATE TABLE attachment_chunks (
    blob_id text    NOT NULL REFERENCES attachment_blobs (id) ON DELETE CASCADE,
    n       integer NOT NULL,
    data    bytea   NOT NULL,
    PRIMARY KEY (blob_id, n)
);

CREATE TABLE attachments (
    id           text    PRIMARY KEY,
    uploader     text    NOT NULL,
    filename     text    NOT NULL,
    content_type text    NOT NULL,
    size         bigint  NOT NULL,
    sha256       text    NOT NULL,
    blob_id      text    NOT NULL REFERENCES attachment_blobs (id),
    created_at   bigint  NOT NULL,
    -- true once a message carries it: it is no longer removed unattached.
    attached     boolean NOT NULL DEFAULT false
);
CREATE INDEX attachments_uploader ON attachments (uploader);
CREATE INDEX attachments_blob ON attachments (blob_id);
CREATE INDEX attachments_unattached ON attachments (created_at) WHERE NOT attached;

CREATE TABLE message_attachments (
    attachment_id text NOT NULL REFERENCES attachments (id),
    thread_id     text NOT NULL,
    message_id    text NOT NULL,
    PRIMARY KEY (attachment_id, message_id)
);

-- The attachments of a message, as its answers show them; NULL for none.
ALTER TABLE messages ADD COLUMN attachments text;
