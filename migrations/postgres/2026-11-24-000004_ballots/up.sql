-- The fact that a voter voted. Written in the same transaction as the ballot,
-- but holding nothing of it. The primary key makes a second ballot impossible
-- under any concurrency, across any number of server processes.
CREATE TABLE participations (
    election_id uuid NOT NULL REFERENCES elections (id) ON DELETE CASCADE,
    voter_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    cast_at timestamptz NOT NULL,
    -- Idempotency: a hash of the voter's key, and the receipt plus a hash of
    -- the request, sealed under a key derived from the idempotency key and a
    -- server secret, so that the database alone links no voter to a ballot.
    idempotency_key_hash text,
    idempotency_sealed bytea,
    PRIMARY KEY (election_id, voter_id)
);

-- What was voted: no voter, no session, no time.
CREATE TABLE ballots (
    id uuid PRIMARY KEY,
    election_id uuid NOT NULL REFERENCES elections (id) ON DELETE CASCADE,
    tracking_code text NOT NULL,
    ballot_hash text NOT NULL,
    -- Option positions per question: questions in position order separated
    -- by ';', a question's selections in ballot order separated by ','.
    content text NOT NULL,
    UNIQUE (election_id, tracking_code)
);
