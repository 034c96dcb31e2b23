CREATE TABLE elections (
    id TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('draft', 'open', 'closed', 'tallied', 'published')),
    eligibility TEXT NOT NULL CHECK (eligibility IN ('roll', 'all_voters')),
    opens_at TEXT,
    closes_at TEXT,
    -- Armed by POST .../schedule: the timer opens the draft at opens_at.
    scheduled BOOLEAN NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    -- RFC 6962 root over the ballots, fixed when the election closes.
    merkle_root TEXT
);
CREATE INDEX elections_due ON elections (state, opens_at, closes_at);

CREATE TABLE questions (
    id TEXT PRIMARY KEY NOT NULL,
    election_id TEXT NOT NULL REFERENCES elections (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    prompt TEXT NOT NULL,
    method TEXT NOT NULL,
    seats INTEGER NOT NULL,
    min_selections INTEGER NOT NULL,
    max_selections INTEGER NOT NULL,
    allow_blank BOOLEAN NOT NULL,
    UNIQUE (election_id, position)
);

-- election_id is repeated here so that a whole ballot is validated from one
-- indexed read of the election's options.
CREATE TABLE options (
    id TEXT PRIMARY KEY NOT NULL,
    question_id TEXT NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    election_id TEXT NOT NULL REFERENCES elections (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    label TEXT NOT NULL,
    UNIQUE (question_id, position)
);
CREATE INDEX options_election ON options (election_id);

CREATE TABLE election_voters (
    election_id TEXT NOT NULL REFERENCES elections (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at TEXT NOT NULL,
    PRIMARY KEY (election_id, user_id)
);
CREATE INDEX election_voters_user ON election_voters (user_id);
