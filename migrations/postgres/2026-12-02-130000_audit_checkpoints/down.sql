DROP TABLE audit_checkpoints;
DROP FUNCTION audit_checkpoints_sign_once();
