-- An idempotency key keeps what its create made (the kind of thing and its
-- ids, as a JSON array) instead of the encoded answer: a retry reads the
-- things again and is answered like the first request. Stored answers
-- become records: a Message is one message, a BroadcastResult its
-- messages, a Contact its handle.
ALTER TABLE idempotency_keys ADD COLUMN kind text, ADD COLUMN ids text;

UPDATE idempotency_keys k SET
    kind = CASE
        WHEN b ? 'message_id' THEN 'message'
        WHEN jsonb_typeof(b -> 'messages') = 'array' THEN 'messages'
        WHEN b ? 'handle' THEN 'contact'
    END,
    ids = CASE
        WHEN b ? 'message_id' THEN jsonb_build_array(b ->> 'message_id')::text
        WHEN jsonb_typeof(b -> 'messages') = 'array' THEN
            (SELECT coalesce(jsonb_agg(m ->> 'message_id' ORDER BY n), '[]'::jsonb)::text
             FROM jsonb_array_elements(b -> 'messages') WITH ORDINALITY AS e(m, n))
        ELSE jsonb_build_array(b ->> 'handle')::text
    END
FROM (SELECT handle, key, convert_from(body, 'UTF8')::jsonb AS b FROM idempotency_keys WHERE status = 201) s
WHERE k.handle = s.handle AND k.key = s.key;

DELETE FROM idempotency_keys WHERE kind IS NULL;
ALTER TABLE idempotency_keys
    DROP COLUMN status,
    DROP COLUMN body,
    ALTER COLUMN kind SET NOT NULL,
    ALTER COLUMN ids SET NOT NULL;
