-- v2: each ballot's hash covers 128 random bits (32 hex characters), secret
-- while the election is open and published with the ballot from `closed`
-- on. Ballots cast before v2 keep '' and the v1 hash without a salt.
ALTER TABLE ballots ADD COLUMN salt TEXT NOT NULL DEFAULT '';
