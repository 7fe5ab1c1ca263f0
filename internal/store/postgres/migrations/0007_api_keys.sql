-- API keys: long-lived credentials of agents. Only a digest of each key's
-- secret is kept (SHA-256 of 256 random bits: see docs/SECURITY.md). A
-- key is looked up by its id, which the key carries; an agent's keys are
-- listed newest first.
CREATE TABLE api_keys (
    key_id        text   NOT NULL PRIMARY KEY,
    handle        text   NOT NULL,
    name          text   NOT NULL,
    secret_digest text   NOT NULL,
    token_gen     bigint NOT NULL,
    created_at    bigint NOT NULL,
    expires_at    bigint,
    last_used_at  bigint
);

CREATE INDEX api_keys_handle ON api_keys (handle, key_id);
