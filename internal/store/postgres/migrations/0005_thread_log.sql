-- Admins read every thread's events from one thread log (handle '*')
-- instead of a copy per admin. Of each event's copies held by admins
-- outside the thread, the first becomes the thread log's row, keeping its
-- seq, and the others go: an admin that had read its copy has a cursor
-- past the group of copies (written together), so it does not see the
-- event again, and one that had not still finds it. Copies held as a
-- participant stay: the agent reads them again if it stops being an admin.
WITH copies AS (
    SELECT e.seq, min(e.seq) OVER (PARTITION BY e.type, e.thread_id, e.message_seq, e.created_at) AS first
    FROM events e JOIN agents a ON a.handle = e.handle AND a.is_admin
    WHERE e.type <> 'message.read'
        AND NOT EXISTS (SELECT 1 FROM thread_participants p WHERE p.thread_id = e.thread_id AND p.handle = e.handle)
), relabelled AS (
    UPDATE events SET handle = '*' WHERE seq IN (SELECT seq FROM copies WHERE seq = first)
)
DELETE FROM events WHERE seq IN (SELECT seq FROM copies WHERE seq <> first);

-- An admin's own read marks, read beside the thread log.
CREATE INDEX events_reads ON events (handle, seq) WHERE type = 'message.read';

-- Messages no longer look up the admins.
DROP INDEX agents_admins;
