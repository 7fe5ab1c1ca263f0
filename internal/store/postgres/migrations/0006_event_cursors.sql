-- Event cursors without a lock: each new event's cursor is
-- 1<<62 | xid<<16 | j, and readers deliver only what is below the oldest
-- running transaction (see events.go). Events written before keep their
-- seq as their cursor, below every new one, so the cursors clients hold
-- still work. Nodes of earlier versions cannot write events after this:
-- upgrade every node together.
ALTER TABLE events ADD COLUMN cursor bigint;
UPDATE events SET cursor = seq;
ALTER TABLE events ALTER COLUMN cursor SET NOT NULL;

DROP INDEX events_handle;
CREATE INDEX events_handle ON events (handle, cursor);
DROP INDEX events_reads;
CREATE INDEX events_reads ON events (handle, cursor) WHERE type = 'message.read';
