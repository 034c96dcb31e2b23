ALTER TABLE elections DROP COLUMN notify_on_publish;
ALTER TABLE elections DROP COLUMN notify_on_open;
DROP TABLE mail_outbox;
