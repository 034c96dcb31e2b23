-- One signed results document per tallied election. `document` is the
-- RFC 8785 canonical JSON of the results without "signature": exactly the
-- bytes that `signature` (Ed25519, base64, key `kid`) signs.
CREATE TABLE results (
    election_id TEXT PRIMARY KEY NOT NULL REFERENCES elections (id) ON DELETE CASCADE,
    document TEXT NOT NULL,
    merkle_root TEXT NOT NULL,
    signature TEXT NOT NULL,
    kid TEXT NOT NULL,
    computed_at TEXT NOT NULL
);
