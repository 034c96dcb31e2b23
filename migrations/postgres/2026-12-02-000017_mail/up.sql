-- The mail outbox: a message is queued in the same transaction as the change
-- that causes it (a user invited, an election opened...), and the sender of
-- any instance delivers it later. The body is rendered at send time from the
-- kind, the user and the election; the only secret (an invitation token) is
-- kept sealed, so a database reader cannot activate accounts from here.
CREATE TABLE mail_outbox (
    id uuid PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('invitation', 'reminder', 'election_opened', 'results_published')),
    to_addr text NOT NULL,
    user_id uuid REFERENCES users (id) ON DELETE CASCADE,
    election_id uuid REFERENCES elections (id) ON DELETE CASCADE,
    locale text NOT NULL,
    secret_sealed bytea,
    -- 'sending' is a claim that lapses at claimed_until (a sender that died).
    status text NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'bounced')),
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    next_attempt_at timestamptz NOT NULL,
    claimed_until timestamptz,
    created_at timestamptz NOT NULL,
    sent_at timestamptz
);
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);
CREATE INDEX mail_outbox_election ON mail_outbox (election_id, id);

-- Which notices an election sends (API: "notify": {"on_open", "on_publish"}).
ALTER TABLE elections ADD COLUMN notify_on_open boolean NOT NULL DEFAULT false;
ALTER TABLE elections ADD COLUMN notify_on_publish boolean NOT NULL DEFAULT false;
