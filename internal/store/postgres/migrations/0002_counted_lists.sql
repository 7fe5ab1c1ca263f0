-- Admin lists read their totals from counters rather than counting whole
-- tables on every request: all audit events, and the archived threads (the
-- others are all threads minus those).
INSERT INTO counters (name, shard, value) VALUES
    ('audit_events', 0, (SELECT count(*) FROM audit_events)),
    ('threads_archived', 0, (SELECT count(*) FROM threads WHERE archived));

