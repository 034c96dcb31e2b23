-- The fact that a voter voted. Written in the same transaction as the ballot,
-- but holding nothing of it. The primary key makes a second ballot impossible.
-- WITHOUT ROWID: no hidden insertion-ordered rowid that could pair a
-- participation with the ballot written at the same moment.
CREATE TABLE participations (
    election_id TEXT NOT NULL REFERENCES elections (id) ON DELETE CASCADE,
    voter_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    cast_at TEXT NOT NULL,
    idempotency_key_hash TEXT,
    idempotency_sealed BLOB,
    PRIMARY KEY (election_id, voter_id)
) WITHOUT ROWID;

-- What was voted: no voter, no session, no time. Stored clustered by
-- (election, random tracking code), not in insertion order, so that board
-- pages and the tally read an election's ballots sequentially.
CREATE TABLE ballots (
    id TEXT NOT NULL UNIQUE,
    election_id TEXT NOT NULL REFERENCES elections (id) ON DELETE CASCADE,
    tracking_code TEXT NOT NULL,
    ballot_hash TEXT NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY (election_id, tracking_code)
) WITHOUT ROWID;
