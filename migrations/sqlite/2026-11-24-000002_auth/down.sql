DROP TABLE audit_events;
DROP TABLE login_throttle;
DROP TABLE invitations;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
