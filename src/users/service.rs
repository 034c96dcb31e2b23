//! Rules about accounts: unique emails (case-insensitive), valid addresses,
//! invitations, and an admin never locking itself out.

use std::collections::{HashMap, HashSet};

use chrono::Duration;
use serde_json::json;
use validator::{Validate, ValidateEmail};

use super::dto::{
    CreateUserRequest, CreatedUser, ImportError, ImportReport, ImportRequest, ImportedUser,
    UpdateUserRequest, UserFilter,
};
use super::model::{normalize_email, NewUser, Role, User, UserId};
use super::repo;
use crate::audit;
use crate::auth::model::InvitationRow;
use crate::auth::password::Passwords;
use crate::auth::tokens::{hash_token, random_token};
use crate::auth::{repo as auth_repo, AuthCheck};
use crate::db::types::Time;
use crate::db::{self, write_tx, DbConnection, DbPool};
use crate::error::{AppError, FieldError, Input};
use crate::paging::{Page, PageParams};
use crate::text::{has_nul, NUL_MESSAGE};

/// Rows one import may carry.
pub const MAX_IMPORT: usize = 10_000;

/// Checks an email address the way every entry point does.
pub fn check_email(email: &str) -> Result<(), AppError> {
    let email = email.trim();
    if email.len() > 254 || has_nul(email) || !email.validate_email() {
        return Err(AppError::invalid("email", "must be a valid email address"));
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
) -> Result<User, AppError> {
    check_email(email)?;
    write_tx(conn, |conn| {
        insert_new_user(conn, email, display_name, roles, password_hash)
    })
}

/// Creates a user from the command line (`ballotbox create-admin`), with
/// its `user.created` event (no actor: nobody was logged in) in the same
/// transaction, so no account appears outside the audit log.
pub fn create_user_from_cli(
    conn: &mut DbConnection,
    email: &str,
    display_name: &str,
    roles: &[Role],
    password_hash: &str,
) -> Result<User, AppError> {
    check_email(email)?;
    write_tx(conn, |conn| {
        let user = insert_new_user(conn, email, display_name, roles, Some(password_hash))?;
        audit::record(
            conn,
            None,
            "user.created",
            None,
            json!({"user_id": user.id, "roles": user.roles, "invited": false, "via": "cli"}),
        )?;
        Ok(user)
    })
}

fn insert_new_user(
    conn: &mut DbConnection,
    email: &str,
    display_name: &str,
    roles: &[Role],
    password_hash: Option<&str>,
) -> Result<User, AppError> {
    let email = email.trim();
    let normalized = normalize_email(email);
    if repo::find_by_email(conn, &normalized)?.is_some() {
        return Err(AppError::conflict("A user with this email already exists."));
    }
    let mut roles = roles.to_vec();
    roles.sort();
    roles.dedup();
    let id = UserId::new();
    let now = Time::now();
    let new = NewUser {
        id,
        email,
        email_normalized: &normalized,
        display_name: display_name.trim(),
        password_hash,
        disabled: false,
        created_at: now,
    };
    repo::insert_user(conn, &new)?;
    for role in &roles {
        repo::insert_role(conn, id, *role)?;
    }
    Ok(User {
        id,
        email: email.to_string(),
        display_name: new.display_name.to_string(),
        roles,
        disabled: false,
        created_at: now,
    })
}

fn issue_invitation(
    conn: &mut DbConnection,
    user: UserId,
    ttl_days: i64,
) -> Result<String, AppError> {
    let token = random_token();
    let now = Time::now();
    auth_repo::insert_invitation(
        conn,
        &InvitationRow {
            token_hash: hash_token(&token),
            user_id: user,
            created_at: now,
            expires_at: Time(now.0 + Duration::days(ttl_days)),
            used_at: None,
        },
    )?;
    Ok(token)
}

/// A user with their roles, or 404.
pub fn load_user(conn: &mut DbConnection, id: UserId) -> Result<User, AppError> {
    let row = repo::find_by_id(conn, id)?.ok_or(AppError::NotFound)?;
    let roles = repo::list_roles(conn, id)?;
    Ok(User::from_row(row, roles))
}

/// Attaches roles to user rows with one query.
fn with_roles(
    conn: &mut DbConnection,
    rows: Vec<super::model::UserRow>,
) -> Result<Vec<User>, AppError> {
    let ids: Vec<UserId> = rows.iter().map(|r| r.id).collect();
    let mut roles: HashMap<UserId, Vec<Role>> = HashMap::new();
    for (id, role) in repo::list_roles_of(conn, &ids)? {
        if let Some(r) = Role::parse(&role) {
            roles.entry(id).or_default().push(r);
        }
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let rs = roles.remove(&r.id).unwrap_or_default();
            User::from_row(r, rs)
        })
        .collect())
}

/// Several users with their roles, in two queries.
pub fn load_users(conn: &mut DbConnection, ids: &[UserId]) -> Result<Vec<User>, AppError> {
    let rows = repo::find_by_ids(conn, ids)?;
    with_roles(conn, rows)
}

pub async fn get_user(pool: &DbPool, admin: &AuthCheck, id: UserId) -> Result<User, AppError> {
    let admin = admin.clone();
    db::run(pool, move |c| {
        admin.check(c)?;
        load_user(c, id)
    })
    .await
}

fn blank_name() -> AppError {
    AppError::invalid("display_name", "must not be blank")
}

/// Creates one user, with a password or an invitation token.
pub async fn create(
    pool: &DbPool,
    passwords: &Passwords,
    invitation_ttl_days: i64,
    admin: &AuthCheck,
    req: Input<CreateUserRequest>,
) -> Result<CreatedUser, AppError> {
    // The caller first: the body's errors and the costly hash are for admins.
    let check = admin.clone();
    let actor = db::run(pool, move |c| Ok(check.check(c)?.id)).await?;
    let req = req.open()?;
    req.validate()?;
    if req.display_name.trim().is_empty() {
        return Err(blank_name());
    }
    if has_nul(&req.display_name) {
        return Err(AppError::invalid("display_name", NUL_MESSAGE));
    }
    let hash = match req.password.clone() {
        Some(p) => Some(passwords.hash(p).await?),
        None => None,
    };
    let ttl = invitation_ttl_days;
    db::run(pool, move |c| {
        write_tx(c, |c| {
            let user = insert_new_user(c, &req.email, &req.display_name, &req.roles, hash.as_deref())?;
            let invitation_token = match hash {
                Some(_) => None,
                None => Some(issue_invitation(c, user.id, ttl)?),
            };
            audit::record(
                c,
                Some(actor),
                "user.created",
                None,
                json!({"user_id": user.id, "roles": user.roles, "invited": invitation_token.is_some()}),
            )?;
            Ok(CreatedUser {
                user,
                invitation_token,
            })
        })
    })
    .await
}

/// Imports up to 10,000 users in one transaction, with a per-row report.
pub async fn import(
    pool: &DbPool,
    invitation_ttl_days: i64,
    admin: &AuthCheck,
    req: Input<ImportRequest>,
) -> Result<ImportReport, AppError> {
    let (admin, ttl) = (admin.clone(), invitation_ttl_days);
    db::run(pool, move |c| {
        let actor = admin.check(c)?.id;
        let req = req.open()?;
        if req.users.len() > MAX_IMPORT {
            return Err(AppError::invalid(
                "users",
                format!("at most {MAX_IMPORT} rows per import"),
            ));
        }
        write_tx(c, |c| {
            let mut report = ImportReport {
                created: Vec::new(),
                existing: Vec::new(),
                errors: Vec::new(),
            };
            let normalized: Vec<String> = req
                .users
                .iter()
                .map(|u| normalize_email(&u.email))
                .collect();
            let existing: HashSet<String> =
                repo::existing_emails(c, &normalized)?.into_iter().collect();
            let mut seen = HashSet::new();
            for (index, (row, norm)) in req.users.iter().zip(&normalized).enumerate() {
                let error = |message: &str| ImportError {
                    index,
                    message: message.to_string(),
                };
                if check_email(&row.email).is_err() {
                    report
                        .errors
                        .push(error("email: must be a valid email address"));
                    continue;
                }
                let name_len = row.display_name.trim().chars().count();
                if name_len == 0 || name_len > 200 {
                    report
                        .errors
                        .push(error("display_name: must be 1 to 200 characters"));
                    continue;
                }
                if has_nul(&row.display_name) {
                    report.errors.push(error(
                        "display_name: must not contain NUL (U+0000) characters",
                    ));
                    continue;
                }
                let roles = row.roles.clone().unwrap_or_else(|| vec![Role::Voter]);
                if roles.is_empty() {
                    report
                        .errors
                        .push(error("roles: must name at least one role"));
                    continue;
                }
                if existing.contains(norm) {
                    report.existing.push(row.email.trim().to_string());
                    continue;
                }
                if !seen.insert(norm.clone()) {
                    report
                        .errors
                        .push(error("email: appears earlier in this import"));
                    continue;
                }
                let user = insert_new_user(c, &row.email, &row.display_name, &roles, None)?;
                let invitation_token = issue_invitation(c, user.id, ttl)?;
                report.created.push(ImportedUser {
                    user,
                    invitation_token,
                });
            }
            audit::record(
                c,
                Some(actor),
                "users.imported",
                None,
                json!({
                    "created": report.created.iter().map(|u| u.user.id).collect::<Vec<_>>(),
                    "existing": report.existing.len(),
                    "errors": report.errors.len(),
                }),
            )?;
            Ok(report)
        })
    })
    .await
}

/// Lists users by id with cursor paging.
pub async fn list(
    pool: &DbPool,
    admin: &AuthCheck,
    filter: UserFilter,
) -> Result<Page<User>, AppError> {
    let page = PageParams {
        limit: filter.limit,
        cursor: filter.cursor,
    };
    let limit = page.limit();
    let after = page.after_as::<UserId>()?;
    let (role, q, admin) = (filter.role, filter.q, admin.clone());
    db::run(pool, move |c| {
        admin.check(c)?;
        if q.as_deref().is_some_and(has_nul) {
            return Err(AppError::invalid("q", NUL_MESSAGE));
        }
        let rows = repo::list_users(c, role, q.as_deref(), after, limit + 1)?;
        let users = with_roles(c, rows)?;
        Ok(Page::from_rows(users, limit, |u: &User| u.id.to_string()))
    })
    .await
}

/// The rules of a user change: fields, and an admin never locking itself out.
fn check_update(actor: UserId, id: UserId, req: &UpdateUserRequest) -> Result<(), AppError> {
    let mut errors = Vec::new();
    if let Some(name) = &req.display_name {
        let n = name.trim().chars().count();
        if n == 0 || n > 200 {
            errors.push(FieldError::new(
                "display_name",
                "must be 1 to 200 characters",
            ));
        } else if has_nul(name) {
            errors.push(FieldError::new("display_name", NUL_MESSAGE));
        }
    }
    if req.roles.as_ref().is_some_and(|r| r.is_empty()) {
        errors.push(FieldError::new("roles", "must name at least one role"));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if actor == id {
        if req.disabled == Some(true) {
            return Err(AppError::conflict("An admin cannot disable itself."));
        }
        if req
            .roles
            .as_ref()
            .is_some_and(|r| !r.contains(&Role::Admin))
        {
            return Err(AppError::conflict(
                "An admin cannot remove its own admin role.",
            ));
        }
    }
    Ok(())
}

/// Changes a user's name, roles or disabled flag. An admin cannot disable
/// itself or drop its own admin role (409). Disabling ends the user's sessions.
pub async fn update(
    pool: &DbPool,
    admin: &AuthCheck,
    id: UserId,
    req: Input<UpdateUserRequest>,
) -> Result<User, AppError> {
    let admin = admin.clone();
    db::run(pool, move |c| {
        let actor = admin.check(c)?.id;
        let req = req.open()?;
        check_update(actor, id, &req)?;
        write_tx(c, |c| {
            let before = load_user(c, id)?;
            repo::update_user(
                c,
                id,
                req.display_name.as_deref().map(str::trim),
                req.disabled,
            )?;
            if let Some(roles) = &req.roles {
                let mut roles = roles.clone();
                roles.sort();
                roles.dedup();
                repo::replace_roles(c, id, &roles)?;
            }
            if req.disabled == Some(true) && !before.disabled {
                auth_repo::revoke_user_sessions(c, id, Time::now())?;
            }
            let after = load_user(c, id)?;
            let mut changes = serde_json::Map::new();
            if before.roles != after.roles {
                changes.insert(
                    "roles".into(),
                    json!({"from": before.roles, "to": after.roles}),
                );
            }
            if before.disabled != after.disabled {
                changes.insert("disabled".into(), json!(after.disabled));
            }
            if before.display_name != after.display_name {
                changes.insert("display_name".into(), json!(true));
            }
            if !changes.is_empty() {
                audit::record(
                    c,
                    Some(actor),
                    "user.updated",
                    None,
                    json!({"user_id": id, "changes": changes}),
                )?;
            }
            Ok(after)
        })
    })
    .await
}
