-- OWASP device cookies: a device that logged in before is held only by its
-- own failures, not by the account's lock. Only SHA-256 hashes are stored.
CREATE TABLE device_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    last_used_at TEXT NOT NULL
);
CREATE INDEX device_tokens_user ON device_tokens (user_id);
