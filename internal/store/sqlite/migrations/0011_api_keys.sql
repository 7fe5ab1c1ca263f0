-- API keys: long-lived credentials of agents. Only a digest of each key's
-- secret is kept (SHA-256 of 256 random bits: see docs/SECURITY.md). A
-- key is looked up by its id, which the key carries; an agent's keys are
-- listed newest first.
CREATE TABLE api_keys (
    key_id        TEXT    NOT NULL PRIMARY KEY,
    handle        TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    secret_digest TEXT    NOT NULL,
    token_gen     INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    last_used_at  INTEGER
) WITHOUT ROWID;

CREATE INDEX api_keys_handle ON api_keys (handle, key_id);
