CREATE TABLE elections (
    id uuid PRIMARY KEY,
    title text NOT NULL,
    description text NOT NULL,
    state text NOT NULL CHECK (state IN ('draft', 'open', 'closed', 'tallied', 'published')),
    eligibility text NOT NULL CHECK (eligibility IN ('roll', 'all_voters')),
    opens_at timestamptz,
    closes_at timestamptz,
    -- Armed by POST .../schedule: the timer opens the draft at opens_at.
    scheduled boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    created_by uuid NOT NULL REFERENCES users (id),
    -- RFC 6962 root over the ballots, fixed when the election closes.
    merkle_root text
);
CREATE INDEX elections_due ON elections (state, opens_at, closes_at);

CREATE TABLE questions (
    id uuid PRIMARY KEY,
    election_id uuid NOT NULL REFERENCES elections (id) ON DELETE CASCADE,
    position integer NOT NULL,
    prompt text NOT NULL,
    method text NOT NULL,
    seats integer NOT NULL,
    min_selections integer NOT NULL,
    max_selections integer NOT NULL,
    allow_blank boolean NOT NULL,
    UNIQUE (election_id, position)
);

-- election_id is repeated here so that a whole ballot is validated from one
-- indexed read of the election's options.
CREATE TABLE options (
    id uuid PRIMARY KEY,
    question_id uuid NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    election_id uuid NOT NULL REFERENCES elections (id) ON DELETE CASCADE,
    position integer NOT NULL,
    label text NOT NULL,
    UNIQUE (question_id, position)
);
CREATE INDEX options_election ON options (election_id);

CREATE TABLE election_voters (
    election_id uuid NOT NULL REFERENCES elections (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at timestamptz NOT NULL,
    PRIMARY KEY (election_id, user_id)
);
CREATE INDEX election_voters_user ON election_voters (user_id);
