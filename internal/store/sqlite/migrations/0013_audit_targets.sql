-- An audit entry aimed at several agents (a message to several recipients)
-- is one row: target_handle holds its first target, target_handles the
-- whole list (JSON, NULL for one target or none), and audit_targets the
-- others, so that each of them walks its own entries in order.
ALTER TABLE audit_events ADD COLUMN target_handles TEXT;
CREATE TABLE audit_targets (
    handle TEXT    NOT NULL,
    seq    INTEGER NOT NULL,
    PRIMARY KEY (handle, seq)
) WITHOUT ROWID;
