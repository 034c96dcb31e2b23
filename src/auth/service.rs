//! Login, refresh-token rotation, logout, activation and password changes.

use chrono::Duration;

use super::dto::TokenResponse;
use super::identity::AuthUser;
use super::model::{RefreshTokenId, RefreshTokenRow, SessionId, SessionRow};
use super::tokens::{hash_token, issue_access_token, random_token};
use super::{password::check_password, repo, throttle};
use crate::db::types::Time;
use crate::db::{self, write_tx, DbConnection, DbPool};
use crate::error::ApiError;
use crate::state::AppState;
use crate::users::model::normalize_email;
use crate::users::{repo as users_repo, service as users, Role, User, UserId};

/// The per-request session check: the session is live, belongs to the
/// token's user, the user is enabled; roles as they are now.
pub async fn check_session(
    pool: &DbPool,
    uid: UserId,
    sid: SessionId,
) -> Result<AuthUser, ApiError> {
    db::run(pool, move |c| check_session_on(c, uid, sid)).await
}

/// The session check on a connection the caller already holds (casting runs
/// it in its own blocking task: one hop, one connection per ballot).
pub fn check_session_on(
    conn: &mut DbConnection,
    uid: UserId,
    sid: SessionId,
) -> Result<AuthUser, ApiError> {
    let rows = repo::find_session_facts(conn, sid)?;
    let now = Time::now();
    let Some((owner, revoked, expires, disabled, _)) = rows.first() else {
        return Err(ApiError::Unauthorized);
    };
    if *owner != uid || revoked.is_some() || *expires <= now || *disabled {
        return Err(ApiError::Unauthorized);
    }
    let mut roles: Vec<Role> = rows
        .iter()
        .filter_map(|r| r.4.as_deref().and_then(Role::parse))
        .collect();
    roles.sort();
    Ok(AuthUser {
        id: uid,
        session: sid,
        roles,
    })
}

/// Creates a session and its first refresh token; returns the plain token.
fn start_session(
    conn: &mut DbConnection,
    state: &AppState,
    user: UserId,
    now: Time,
) -> Result<(SessionId, String), ApiError> {
    let sid = SessionId::new();
    let expires = Time(now.0 + Duration::days(state.settings.auth.refresh_token_ttl_days));
    repo::insert_session(
        conn,
        &SessionRow {
            id: sid,
            user_id: user,
            created_at: now,
            expires_at: expires,
            revoked_at: None,
        },
    )?;
    let token = random_token();
    repo::insert_refresh_token(
        conn,
        &RefreshTokenRow {
            id: RefreshTokenId::new(),
            user_id: user,
            family_id: sid,
            token_hash: hash_token(&token),
            created_at: now,
            expires_at: expires,
            revoked_at: None,
            replaced_by: None,
        },
    )?;
    Ok((sid, token))
}

fn token_response(
    state: &AppState,
    user: User,
    sid: SessionId,
    refresh_token: String,
) -> Result<TokenResponse, ApiError> {
    let s = &state.settings.auth;
    let access_token = issue_access_token(&state.keys, s, user.id, sid, &user.roles)
        .map_err(ApiError::internal)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: s.access_token_ttl_secs,
        refresh_token,
        user,
    })
}

/// Email and password to tokens. Unknown email, wrong password, disabled or
/// not yet activated account: the same 401, at the same cost.
pub async fn login(
    state: &AppState,
    email: String,
    password: String,
    ip: Option<String>,
) -> Result<TokenResponse, ApiError> {
    let normalized = normalize_email(&email);
    let key = throttle::account_key(&normalized);
    let settings = state.settings.clone();
    let (k, n) = (key.clone(), normalized.clone());
    let row = db::run(&state.pool, move |c| {
        let now = Time::now();
        write_tx(c, |c| {
            if let Some(ip) = &ip {
                throttle::hit_ip(c, ip, now, &settings.auth)?;
            }
            throttle::check_account(c, &k, now)
        })?;
        Ok(users_repo::find_by_email(c, &n)?)
    })
    .await?;
    let hash = row.as_ref().and_then(|r| r.password_hash.clone());
    let verified = state
        .passwords
        .verify(password.clone(), hash.clone())
        .await?;
    let row = match row {
        Some(row) if verified && !row.disabled => row,
        _ => {
            let settings = state.settings.clone();
            db::run(&state.pool, move |c| {
                write_tx(c, |c| {
                    throttle::record_failure(c, &key, Time::now(), &settings.auth)
                })
            })
            .await?;
            return Err(ApiError::InvalidCredentials);
        }
    };
    let rehash = match hash {
        Some(h) if state.passwords.needs_rehash(&h) => Some(state.passwords.hash(password).await?),
        _ => None,
    };
    let st = state.clone();
    let (user, sid, refresh) = db::run(&state.pool, move |c| {
        write_tx(c, |c| {
            let now = Time::now();
            throttle::clear(c, &key)?;
            if let Some(h) = &rehash {
                users_repo::set_password_hash(c, row.id, h)?;
            }
            let (sid, refresh) = start_session(c, &st, row.id, now)?;
            let roles = users_repo::list_roles(c, row.id)?;
            Ok((User::from_row(row, roles), sid, refresh))
        })
    })
    .await?;
    token_response(state, user, sid, refresh)
}

enum Rotation {
    Rotated(User, SessionId, String),
    /// A spent token came back: its family was revoked.
    Reused,
    Invalid,
}

/// Rotates a refresh token. A spent one revokes its whole family and the
/// session it belongs to.
pub async fn refresh(state: &AppState, token: String) -> Result<TokenResponse, ApiError> {
    let st = state.clone();
    let outcome = db::run(&state.pool, move |c| {
        write_tx(c, |c| {
            let now = Time::now();
            let Some(old) = repo::find_refresh_token(c, &hash_token(&token))? else {
                return Ok(Rotation::Invalid);
            };
            let new_token = random_token();
            let new_id = RefreshTokenId::new();
            if old.revoked_at.is_some() || !repo::spend_refresh_token(c, old.id, new_id, now)? {
                repo::revoke_session(c, old.family_id, now)?;
                return Ok(Rotation::Reused);
            }
            let user = users_repo::find_by_id(c, old.user_id)?;
            let session_live = repo::find_session_facts(c, old.family_id)?
                .first()
                .is_some_and(|f| f.1.is_none() && f.2 > now);
            let Some(user) = user.filter(|u| !u.disabled && old.expires_at > now && session_live)
            else {
                return Ok(Rotation::Invalid);
            };
            let expires = Time(now.0 + Duration::days(st.settings.auth.refresh_token_ttl_days));
            repo::insert_refresh_token(
                c,
                &RefreshTokenRow {
                    id: new_id,
                    user_id: user.id,
                    family_id: old.family_id,
                    token_hash: hash_token(&new_token),
                    created_at: now,
                    expires_at: expires,
                    revoked_at: None,
                    replaced_by: None,
                },
            )?;
            repo::extend_session(c, old.family_id, expires)?;
            let roles = users_repo::list_roles(c, user.id)?;
            Ok(Rotation::Rotated(
                User::from_row(user, roles),
                old.family_id,
                new_token,
            ))
        })
    })
    .await?;
    match outcome {
        Rotation::Rotated(user, sid, token) => token_response(state, user, sid, token),
        Rotation::Reused => {
            log::warn!("refresh token reuse detected; family revoked");
            Err(ApiError::Unauthorized)
        }
        Rotation::Invalid => Err(ApiError::Unauthorized),
    }
}

/// Ends the session of the caller's refresh token; unknown tokens are ignored.
pub async fn logout(state: &AppState, caller: &AuthUser, token: String) -> Result<(), ApiError> {
    let uid = caller.id;
    db::run(&state.pool, move |c| {
        write_tx(c, |c| {
            if let Some(row) = repo::find_refresh_token(c, &hash_token(&token))? {
                if row.user_id == uid {
                    repo::revoke_session(c, row.family_id, Time::now())?;
                }
            }
            Ok(())
        })
    })
    .await
}

/// Sets the first password through a single-use invitation, then logs in.
pub async fn activate(
    state: &AppState,
    invitation: String,
    password: String,
) -> Result<TokenResponse, ApiError> {
    check_password("password", &password)?;
    let hash = state.passwords.hash(password).await?;
    let st = state.clone();
    let (user, sid, refresh) = db::run(&state.pool, move |c| {
        write_tx(c, |c| {
            let now = Time::now();
            let token_hash = hash_token(&invitation);
            let invite = repo::find_invitation(c, &token_hash)?
                .filter(|i| i.used_at.is_none() && i.expires_at > now)
                .ok_or(ApiError::InvalidInvitation)?;
            let row = users_repo::find_by_id(c, invite.user_id)?
                .filter(|u| !u.disabled)
                .ok_or(ApiError::InvalidInvitation)?;
            if !repo::use_invitation(c, &token_hash, now)? {
                return Err(ApiError::InvalidInvitation);
            }
            users_repo::set_password_hash(c, row.id, &hash)?;
            let (sid, refresh) = start_session(c, &st, row.id, now)?;
            let user = users::load_user(c, row.id)?;
            Ok((user, sid, refresh))
        })
    })
    .await?;
    token_response(state, user, sid, refresh)
}

/// Changes the caller's password and revokes every session and refresh
/// token they hold (this one included).
pub async fn change_password(
    state: &AppState,
    caller: &AuthUser,
    current: String,
    new: String,
) -> Result<(), ApiError> {
    check_password("new_password", &new)?;
    let uid = caller.id;
    let row = db::run(&state.pool, move |c| Ok(users_repo::find_by_id(c, uid)?))
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if !state.passwords.verify(current, row.password_hash).await? {
        return Err(ApiError::invalid(
            "current_password",
            "is not your current password",
        ));
    }
    let hash = state.passwords.hash(new).await?;
    db::run(&state.pool, move |c| {
        write_tx(c, |c| {
            users_repo::set_password_hash(c, uid, &hash)?;
            Ok(repo::revoke_user_sessions(c, uid, Time::now())?)
        })
    })
    .await
}
