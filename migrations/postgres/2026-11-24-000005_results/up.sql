-- One signed results document per tallied election. `document` is the
-- RFC 8785 canonical JSON of the results without "signature": exactly the
-- bytes that `signature` (Ed25519, base64, key `kid`) signs.
CREATE TABLE results (
    election_id uuid PRIMARY KEY REFERENCES elections (id) ON DELETE CASCADE,
    document text NOT NULL,
    merkle_root text NOT NULL,
    signature text NOT NULL,
    kid text NOT NULL,
    computed_at timestamptz NOT NULL
);
