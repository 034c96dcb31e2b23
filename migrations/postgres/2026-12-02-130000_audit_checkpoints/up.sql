-- Signed heads of the audit chain (#13). A row is written unsigned in the
-- same transaction as the event it covers (an election state change), and
-- signed once, shortly after, by a server holding the signing key; after
-- that it never changes and is never deleted.
CREATE TABLE audit_checkpoints (
    seq bigint PRIMARY KEY REFERENCES audit_events (seq),
    hash text NOT NULL,
    at timestamptz NOT NULL,
    kid text,
    signature text
);
CREATE INDEX audit_checkpoints_unsigned ON audit_checkpoints (seq) WHERE signature IS NULL;

CREATE FUNCTION audit_checkpoints_sign_once() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR OLD.signature IS NOT NULL OR NEW.signature IS NULL
       OR NEW.seq <> OLD.seq OR NEW.hash <> OLD.hash OR NEW.at <> OLD.at THEN
        RAISE EXCEPTION 'audit_checkpoints are signed once and never changed';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_checkpoints_sign_once
    BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_sign_once();
CREATE TRIGGER audit_checkpoints_no_truncate
    BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
