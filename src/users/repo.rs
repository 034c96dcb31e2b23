//! Queries on `users` and `user_roles`.

use diesel::prelude::*;

use super::model::{NewUser, Role, UserId, UserRow};
use crate::db::schema::{user_roles, users};
use crate::db::DbConnection;

pub fn insert_user(conn: &mut DbConnection, user: &NewUser<'_>) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(user)
        .execute(conn)
        .map(|_| ())
}

pub fn insert_role(conn: &mut DbConnection, user_id: UserId, role: Role) -> QueryResult<()> {
    diesel::insert_into(user_roles::table)
        .values((
            user_roles::user_id.eq(user_id),
            user_roles::role.eq(role.as_str()),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn find_by_email(conn: &mut DbConnection, normalized: &str) -> QueryResult<Option<UserRow>> {
    // No stored email holds NUL (refused on input), and PostgreSQL would
    // fail the statement: a login with one is an unknown account, not a 500.
    if crate::text::has_nul(normalized) {
        return Ok(None);
    }
    users::table
        .filter(users::email_normalized.eq(normalized))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_id(conn: &mut DbConnection, id: UserId) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn list_roles(conn: &mut DbConnection, user_id: UserId) -> QueryResult<Vec<Role>> {
    let names: Vec<String> = user_roles::table
        .filter(user_roles::user_id.eq(user_id))
        .select(user_roles::role)
        .load(conn)?;
    Ok(names.iter().filter_map(|n| Role::parse(n)).collect())
}

pub fn set_password_hash(conn: &mut DbConnection, id: UserId, hash: &str) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::password_hash.eq(hash))
        .execute(conn)
        .map(|_| ())
}

pub fn update_user(
    conn: &mut DbConnection,
    id: UserId,
    display_name: Option<&str>,
    disabled: Option<bool>,
) -> QueryResult<()> {
    if let Some(name) = display_name {
        diesel::update(users::table.find(id))
            .set(users::display_name.eq(name))
            .execute(conn)?;
    }
    if let Some(d) = disabled {
        diesel::update(users::table.find(id))
            .set(users::disabled.eq(d))
            .execute(conn)?;
    }
    Ok(())
}

pub fn replace_roles(conn: &mut DbConnection, id: UserId, roles: &[Role]) -> QueryResult<()> {
    diesel::delete(user_roles::table.filter(user_roles::user_id.eq(id))).execute(conn)?;
    for role in roles {
        insert_role(conn, id, *role)?;
    }
    Ok(())
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// A page of users ordered by id, after `after`, optionally filtered.
pub fn list_users(
    conn: &mut DbConnection,
    role: Option<Role>,
    q: Option<&str>,
    after: Option<UserId>,
    limit: i64,
) -> QueryResult<Vec<UserRow>> {
    let mut query = users::table.select(UserRow::as_select()).into_boxed();
    if let Some(role) = role {
        query = query.filter(
            users::id.eq_any(
                user_roles::table
                    .filter(user_roles::role.eq(role.as_str()))
                    .select(user_roles::user_id),
            ),
        );
    }
    if let Some(q) = q.filter(|q| !q.is_empty()) {
        let escaped = q
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let pattern = format!("%{escaped}%");
        query = query.filter(
            users::email_normalized
                .like(pattern.clone())
                .escape('\\')
                .or(lower(users::display_name).like(pattern).escape('\\')),
        );
    }
    if let Some(after) = after {
        query = query.filter(users::id.gt(after));
    }
    query.order(users::id.asc()).limit(limit).load(conn)
}

/// Roles of many users in one query.
pub fn list_roles_of(
    conn: &mut DbConnection,
    ids: &[UserId],
) -> QueryResult<Vec<(UserId, String)>> {
    user_roles::table
        .filter(user_roles::user_id.eq_any(ids))
        .select((user_roles::user_id, user_roles::role))
        .load(conn)
}

/// Which of these normalized emails already have an account.
pub fn existing_emails(conn: &mut DbConnection, emails: &[String]) -> QueryResult<Vec<String>> {
    let mut found = Vec::new();
    for chunk in emails.chunks(500) {
        found.extend(
            users::table
                .filter(users::email_normalized.eq_any(chunk))
                .select(users::email_normalized)
                .load::<String>(conn)?,
        );
    }
    Ok(found)
}

pub fn find_by_ids(conn: &mut DbConnection, ids: &[UserId]) -> QueryResult<Vec<UserRow>> {
    users::table
        .filter(users::id.eq_any(ids))
        .select(UserRow::as_select())
        .load(conn)
}

pub fn count_with_role(conn: &mut DbConnection, role: Role) -> QueryResult<i64> {
    user_roles::table
        .filter(user_roles::role.eq(role.as_str()))
        .count()
        .get_result(conn)
}
