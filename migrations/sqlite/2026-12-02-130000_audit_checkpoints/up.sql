-- Signed heads of the audit chain (#13): written unsigned with the event
-- they cover, signed once shortly after, then never changed or deleted.
CREATE TABLE audit_checkpoints (
    seq BIGINT PRIMARY KEY NOT NULL REFERENCES audit_events (seq),
    hash TEXT NOT NULL,
    at TEXT NOT NULL,
    kid TEXT,
    signature TEXT
);

CREATE TRIGGER audit_checkpoints_sign_once BEFORE UPDATE ON audit_checkpoints
WHEN OLD.signature IS NOT NULL OR NEW.signature IS NULL
  OR NEW.seq <> OLD.seq OR NEW.hash <> OLD.hash OR NEW.at <> OLD.at
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints are signed once and never changed'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints are signed once and never changed'); END;
