-- An audit entry aimed at several agents (a message to several recipients)
-- is one row: target_handle holds its first target, target_handles the
-- whole list (JSON, NULL for one target or none), and audit_targets the
-- others, in the order the entries are listed, so that each of them walks
-- its own entries newest first.
ALTER TABLE audit_events ADD COLUMN target_handles text;
CREATE TABLE audit_targets (
    handle     text   NOT NULL,
    created_at bigint NOT NULL,
    seq        bigint NOT NULL,
    PRIMARY KEY (handle, created_at, seq)
);
