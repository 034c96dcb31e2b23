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
