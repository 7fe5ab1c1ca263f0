-- Storage order is (created_at, id) order: the store's clock never runs
-- backwards and ids increase. Every index already ends in the rowid, so an
-- index on the filtered column alone serves "newest first" by rowid, and
-- the timestamp and id copies only cost space and write time.
DROP INDEX messages_thread;
DROP INDEX messages_created;
DROP INDEX messages_from;
CREATE INDEX messages_thread ON messages (thread_id);
CREATE INDEX messages_from ON messages (from_handle);

DROP INDEX audit_events_created;
DROP INDEX audit_events_actor;
DROP INDEX audit_events_target;
DROP INDEX audit_events_type;
CREATE INDEX audit_events_actor ON audit_events (actor_handle);
CREATE INDEX audit_events_target ON audit_events (target_handle);
CREATE INDEX audit_events_type ON audit_events (event_type);

-- The trigram index only proposes candidates: every match is confirmed
-- against the text (agcom.Matcher), so it needs no token positions or
-- columns. detail=none makes it several times smaller and cheaper to write.
DROP TRIGGER messages_fts_insert;
DROP TABLE messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    subject, body, content = 'messages', content_rowid = 'seq', tokenize = 'trigram',
    detail = none, columnsize = 0
);
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, subject, body) VALUES (new.seq, new.subject, new.body);
END;
