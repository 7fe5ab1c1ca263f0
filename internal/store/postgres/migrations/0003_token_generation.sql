-- An agent's token generation: revoking its tokens (and rotating its
-- secret) adds one, and tokens issued for an older generation stop working.
ALTER TABLE agents ADD COLUMN token_gen bigint NOT NULL DEFAULT 0;
