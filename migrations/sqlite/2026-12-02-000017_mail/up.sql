-- The mail outbox (see the PostgreSQL migration for the why).
CREATE TABLE mail_outbox (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('invitation', 'reminder', 'election_opened', 'results_published')),
    to_addr TEXT NOT NULL,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    election_id TEXT REFERENCES elections (id) ON DELETE CASCADE,
    locale TEXT NOT NULL,
    secret_sealed BLOB,
    status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'bounced')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at TEXT NOT NULL,
    claimed_until TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);
CREATE INDEX mail_outbox_election ON mail_outbox (election_id, id);

ALTER TABLE elections ADD COLUMN notify_on_open BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE elections ADD COLUMN notify_on_publish BOOLEAN NOT NULL DEFAULT 0;
