//! PostgreSQL with two roles: the owner of the schema runs migrations, and
//! the service runs as a role that may only do what the service does. That
//! role owns nothing, so it can neither change the schema nor drop or
//! disable a trigger, and it has no UPDATE, DELETE or TRUNCATE on the audit
//! log (nor DELETE or TRUNCATE on its checkpoints, which it signs once).
//! A compromised service can append to the chain, never rewrite it.

use diesel::connection::SimpleConnection;

use super::DbConnection;

/// A role name as an unquoted PostgreSQL identifier (what the grants name).
pub fn check_role_name(role: &str) -> Result<(), String> {
    let mut chars = role.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && role.len() <= 63;
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{role:?} is not a plain role name (lowercase letters, digits, _; at most 63)"
        ))
    }
}

/// The grants, for the role `role`, run by the owner after migrating.
pub fn grants_sql(role: &str) -> String {
    format!(
        "GRANT USAGE ON SCHEMA public TO {role};
         REVOKE CREATE ON SCHEMA public FROM {role};
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
         GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};
         ALTER DEFAULT PRIVILEGES IN SCHEMA public
             GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role};
         ALTER DEFAULT PRIVILEGES IN SCHEMA public
             GRANT USAGE, SELECT ON SEQUENCES TO {role};
         REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_events FROM {role};
         REVOKE DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_checkpoints FROM {role};
         REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON __diesel_schema_migrations FROM {role};"
    )
}

/// Grants the service role what the service needs and nothing more.
/// Idempotent; run it as the owner after every `ballotbox migrate`.
pub fn grant_service_role(conn: &mut DbConnection, role: &str) -> Result<(), String> {
    check_role_name(role)?;
    let DbConnection::Pg(c) = conn else {
        return Err("service roles exist on PostgreSQL only; SQLite has no roles".into());
    };
    c.batch_execute(&format!("BEGIN; {} COMMIT;", grants_sql(role)))
        .map_err(|e| {
            let _ = c.batch_execute("ROLLBACK");
            format!("granting to {role}: {e}")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_role_names_reach_the_sql() {
        assert!(check_role_name("ballotbox_app").is_ok());
        for bad in ["", "App", "a;DROP TABLE x", "a b", "1abc", &"a".repeat(64)] {
            assert!(check_role_name(bad).is_err(), "{bad}");
        }
    }
}
