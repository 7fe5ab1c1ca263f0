-- A thread's sorted participants and its metadata, as the JSON the API
-- shows, kept on the thread row in step with thread_participants and
-- thread_metadata: a page of threads is then one index range and no
-- per-row subqueries.
ALTER TABLE threads ADD COLUMN participants TEXT NOT NULL DEFAULT '[]';
ALTER TABLE threads ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';

UPDATE threads SET
    participants = (SELECT json_group_array(handle) FROM
        (SELECT handle FROM thread_participants WHERE thread_id = threads.id ORDER BY handle)),
    metadata = coalesce((SELECT json_group_object(key, value) FROM thread_metadata WHERE thread_id = threads.id), '{}');
