CREATE TABLE users (
    id uuid PRIMARY KEY,
    email text NOT NULL,
    -- Lower-cased email: uniqueness is case-insensitive.
    email_normalized text NOT NULL UNIQUE,
    display_name text NOT NULL,
    -- NULL until the account is activated through its invitation.
    password_hash text,
    disabled boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL
);

CREATE TABLE user_roles (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('admin', 'voter', 'auditor')),
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_role ON user_roles (role, user_id);
