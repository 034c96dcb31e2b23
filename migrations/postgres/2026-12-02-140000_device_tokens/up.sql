-- OWASP device cookies: a device that logged in before is held only by its
-- own failures, not by the account's lock. Only SHA-256 hashes are stored.
CREATE TABLE device_tokens (
    token_hash text PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    last_used_at timestamptz NOT NULL
);
CREATE INDEX device_tokens_user ON device_tokens (user_id);
