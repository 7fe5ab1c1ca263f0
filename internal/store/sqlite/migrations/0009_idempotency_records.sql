-- An idempotency key keeps what its create made (the kind of thing and its
-- ids, as a JSON array) instead of the encoded answer: a retry reads the
-- things again and is answered like the first request. Stored answers
-- become records: a Message is one message, a BroadcastResult its
-- messages, a Contact its handle.
CREATE TABLE idempotency_keys_new (
    handle     TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    request    TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    ids        TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (handle, key)
) WITHOUT ROWID;

INSERT INTO idempotency_keys_new (handle, key, request, kind, ids, created_at)
SELECT handle, key, request, kind, ids, created_at FROM (
    SELECT handle, key, request, created_at,
        CASE
            WHEN json_extract(b, '$.message_id') IS NOT NULL THEN 'message'
            WHEN json_type(b, '$.messages') = 'array' THEN 'messages'
            WHEN json_extract(b, '$.handle') IS NOT NULL THEN 'contact'
        END AS kind,
        CASE
            WHEN json_extract(b, '$.message_id') IS NOT NULL THEN json_array(json_extract(b, '$.message_id'))
            WHEN json_type(b, '$.messages') = 'array' THEN
                (SELECT json_group_array(json_extract(m.value, '$.message_id')) FROM json_each(b, '$.messages') m)
            ELSE json_array(json_extract(b, '$.handle'))
        END AS ids
    FROM (SELECT *, CAST(body AS TEXT) AS b FROM idempotency_keys WHERE status = 201 AND json_valid(CAST(body AS TEXT)))
) WHERE kind IS NOT NULL;

DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_new RENAME TO idempotency_keys;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
