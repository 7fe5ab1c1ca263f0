-- Admin lists read their totals from counters rather than counting whole
-- tables on every request: all audit events, and the archived threads (the
-- others are all threads minus those).
INSERT INTO counters (name, value) VALUES
    ('audit_events', (SELECT count(*) FROM audit_events)),
    ('threads_archived', (SELECT count(*) FROM threads WHERE archived = 1));

-- Every message's audience includes the active admins: find them without
-- reading every agent.
CREATE INDEX agents_admins ON agents (handle) WHERE is_admin = 1 AND disabled = 0;
