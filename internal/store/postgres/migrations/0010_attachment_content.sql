-- Identical content is kept once: a new upload takes the blob of an
-- attached upload with the same bytes (attached uploads are never pruned,
-- so neither is their blob), found by this index.
CREATE INDEX attachments_content ON attachments (sha256) WHERE attached;
