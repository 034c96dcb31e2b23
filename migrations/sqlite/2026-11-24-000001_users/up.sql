CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL,
    -- Lower-cased email: uniqueness is case-insensitive.
    email_normalized TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    -- NULL until the account is activated through its invitation.
    password_hash TEXT,
    disabled BOOLEAN NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'voter', 'auditor')),
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_role ON user_roles (role, user_id);
