-- Every commit of a store's writer counts itself here, in its own
-- transaction, so that a server can tell another process's commits from
-- its own (see views.go). Bookkeeping for answers kept in memory, not
-- data: exports leave it out.
CREATE TABLE writer_commits (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO writer_commits (id, n) VALUES (1, 0);
