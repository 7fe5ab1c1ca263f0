-- Attachments' bytes in an S3-compatible bucket. attachment_blobs stays
-- the registry of every blob, wherever its bytes live, so that pruning
-- finds them all: object_key is the key of the blob's object in the
-- bucket, NULL for a blob kept in attachment_chunks.
ALTER TABLE attachment_blobs ADD COLUMN object_key text;
-- pruning marks a blob whose object is being removed: the row goes only
-- once the object has, and a marked row left by a crash is taken up again
-- by the next pruning. An upload cannot take a marked blob.
ALTER TABLE attachment_blobs ADD COLUMN pruning boolean NOT NULL DEFAULT false;
CREATE INDEX attachment_blobs_pruning ON attachment_blobs (id) WHERE pruning;
