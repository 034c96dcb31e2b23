//! Rules about accounts: unique emails (case-insensitive), valid addresses.

use validator::ValidateEmail;

use super::model::{normalize_email, NewUser, Role, User, UserId};
use super::repo;
use crate::db::types::Time;
use crate::db::{write_tx, DbConnection};
use crate::error::ApiError;

/// Checks an email address the way every entry point does.
pub fn check_email(email: &str) -> Result<(), ApiError> {
    let email = email.trim();
    if email.len() > 254 || !email.validate_email() {
        return Err(ApiError::invalid("email", "must be a valid email address"));
    }
    Ok(())
}

/// Creates a user with the given roles and (optional) password hash.
pub fn create_user(
    conn: &mut DbConnection,
    email: &str,
    display_name: &str,
    roles: &[Role],
    password_hash: Option<&str>,
) -> Result<User, ApiError> {
    check_email(email)?;
    let email = email.trim();
    let normalized = normalize_email(email);
    let id = UserId::new();
    let now = Time::now();
    write_tx(conn, |conn| {
        if repo::find_by_email(conn, &normalized)?.is_some() {
            return Err(ApiError::conflict("A user with this email already exists."));
        }
        repo::insert_user(
            conn,
            &NewUser {
                id,
                email,
                email_normalized: &normalized,
                display_name,
                password_hash,
                disabled: false,
                created_at: now,
            },
        )?;
        for role in roles {
            repo::insert_role(conn, id, *role)?;
        }
        let row = repo::find_by_id(conn, id)?.ok_or(ApiError::NotFound)?;
        Ok(User::from_row(row, roles.to_vec()))
    })
}
