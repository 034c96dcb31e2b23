//! Login, refresh-token rotation, logout, activation and password changes.

use chrono::Duration;

use super::caller::AuthCheck;
use super::dto::TokenResponse;
use super::model::{RefreshTokenId, RefreshTokenRow, SessionId};
use super::password::Passwords;
use super::password::{check_not_common, check_password};
use super::tokens::{hash_token, issue_access_token, random_token};
use super::{repo, throttle};
use crate::config::AuthSettings;
use crate::crypto::Keys;
use crate::db::types::Time;
use crate::db::{self, write_tx, DbConnection, DbPool};
use crate::error::{AppError, Input};
use crate::users::model::normalize_email;
use crate::users::{repo as users_repo, service as users, User, UserId};

/// The longest email address (RFC 5321 path limit), as users are created.
pub const MAX_EMAIL_LEN: usize = 254;

/// Device tokens are 43 characters; anything much longer is not one.
const MAX_DEVICE_TOKEN_LEN: usize = 128;

/// What issuing tokens needs: the signing keys and the auth settings.
#[derive(Clone, Copy)]
pub struct Issuer<'a> {
    pub keys: &'a Keys,
    pub settings: &'a AuthSettings,
}

/// When a session used at `now` ends: `auth.session_idle_timeout` after
/// its last refresh, never later than `auth.session_max_age` after the
/// login, whatever the refreshes (nor past the refresh token lifetime).
pub fn session_expiry(created: Time, now: Time, s: &AuthSettings) -> Time {
    let idle = now.0 + Duration::seconds(s.session_idle_timeout);
    let absolute = created.0 + Duration::seconds(s.session_max_age);
    let refresh = now.0 + Duration::days(s.refresh_token_ttl_days);
    Time(idle.min(absolute).min(refresh))
}

/// Creates a session and its first refresh token; returns the plain
/// refresh token.
pub fn start_session(
    conn: &mut DbConnection,
    user: UserId,
    s: &AuthSettings,
    now: Time,
) -> Result<(SessionId, String), AppError> {
    let expires = session_expiry(now, now, s);
    let sid = repo::create_session(conn, user, now, expires)?;
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
    issuer: Issuer<'_>,
    user: User,
    sid: SessionId,
    refresh_token: String,
) -> Result<TokenResponse, AppError> {
    let s = issuer.settings;
    let access_token = issue_access_token(issuer.keys, s, user.id, sid, &user.roles)
        .map_err(AppError::internal)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: s.access_token_ttl_secs,
        refresh_token,
        device_token: None,
        user,
    })
}

/// Email and password to tokens. Unknown email, wrong password, disabled or
/// not yet activated account: the same 401, at the same cost.
pub async fn login(
    pool: &DbPool,
    passwords: &Passwords,
    issuer: Issuer<'_>,
    email: String,
    password: String,
    device_token: Option<String>,
    ip: Option<String>,
) -> Result<TokenResponse, AppError> {
    // Caps before anything is stored or hashed: the email becomes a
    // throttle key (an index entry), the password an argon2 input.
    if email.chars().count() > MAX_EMAIL_LEN {
        return Err(AppError::invalid(
            "email",
            format!("must be at most {MAX_EMAIL_LEN} characters"),
        ));
    }
    if password.chars().count() > super::password::MAX_LEN {
        return Err(AppError::invalid(
            "password",
            format!("must be at most {} characters", super::password::MAX_LEN),
        ));
    }
    if device_token
        .as_ref()
        .is_some_and(|d| d.len() > MAX_DEVICE_TOKEN_LEN)
    {
        return Err(AppError::invalid("device_token", "is not a device token"));
    }
    let normalized = normalize_email(&email);
    let settings = issuer.settings.clone();
    let device_hash = device_token.as_deref().map(hash_token);
    let dh = device_hash.clone();
    let (row, key, known_device) = db::run(pool, move |c| {
        let now = Time::now();
        let row = users_repo::find_by_email(c, &normalized)?;
        // A device that logged in to this very account before counts its own
        // failures; anything else (no token, an unknown one, another
        // account's) shares the account's budget, so a known email alone
        // cannot lock its owner out of their own device.
        let known_device = match (&dh, &row) {
            (Some(h), Some(r)) => repo::find_device_owner(c, h)? == Some(r.id),
            _ => false,
        };
        let key = match (&dh, known_device) {
            (Some(h), true) => throttle::device_key(h),
            _ => throttle::account_key(&normalized),
        };
        // Committed before the password is checked: every check in flight,
        // on any instance, holds one of the key's few slots.
        write_tx(c, |c| {
            if let Some(ip) = &ip {
                throttle::hit_ip(c, ip, now, settings.login_ip_per_minute)?;
            }
            throttle::reserve(c, &key, now, &settings)
        })?;
        Ok((row, key, known_device))
    })
    .await?;
    let hash = row.as_ref().and_then(|r| r.password_hash.clone());
    let verified = match passwords.verify(password.clone(), hash.clone()).await {
        Ok(v) => v,
        Err(e) => {
            let k = key.clone();
            db::run(pool, move |c| write_tx(c, |c| throttle::unreserve(c, &k))).await?;
            return Err(e);
        }
    };
    let row = match row {
        Some(row) if verified && !row.disabled => row,
        // The reserved slot stays spent: that is the failure counted.
        _ => return Err(AppError::InvalidCredentials),
    };
    let rehash = match hash {
        Some(h) if passwords.needs_rehash(&h) => Some(passwords.hash(password).await?),
        _ => None,
    };
    let settings = issuer.settings.clone();
    let (user, sid, refresh, device) = db::run(pool, move |c| {
        write_tx(c, |c| {
            let now = Time::now();
            throttle::release(c, &key)?;
            if let Some(h) = &rehash {
                users_repo::set_password_hash(c, row.id, h)?;
            }
            let (sid, refresh) = start_session(c, row.id, &settings, now)?;
            let device = match (device_token, device_hash) {
                (Some(token), Some(h)) if known_device => {
                    repo::touch_device_token(c, &h, now)?;
                    token
                }
                _ => {
                    let token = random_token();
                    repo::insert_device_token(c, &hash_token(&token), row.id, now)?;
                    token
                }
            };
            let roles = users_repo::list_roles(c, row.id)?;
            Ok((User::from_row(row, roles), sid, refresh, device))
        })
    })
    .await?;
    let mut response = token_response(issuer, user, sid, refresh)?;
    response.device_token = Some(device);
    Ok(response)
}

enum Rotation {
    Rotated(User, SessionId, String),
    /// A spent token came back: its family was revoked.
    Reused,
    Invalid,
}

/// Rotates a refresh token. A spent one revokes its whole family and the
/// session it belongs to.
pub async fn refresh(
    pool: &DbPool,
    issuer: Issuer<'_>,
    token: String,
) -> Result<TokenResponse, AppError> {
    let settings = issuer.settings.clone();
    let outcome = db::run(pool, move |c| {
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
            let session = repo::find_session(c, old.family_id)?
                .filter(|f| f.revoked_at.is_none() && f.expires_at > now);
            let expires = session.map(|f| session_expiry(f.created_at, now, &settings));
            let (Some(user), Some(expires)) = (
                user.filter(|u| !u.disabled && old.expires_at > now),
                expires.filter(|e| *e > now),
            ) else {
                return Ok(Rotation::Invalid);
            };
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
        Rotation::Rotated(user, sid, token) => token_response(issuer, user, sid, token),
        Rotation::Reused => {
            log::warn!("refresh token reuse detected; family revoked");
            Err(AppError::Unauthorized)
        }
        Rotation::Invalid => Err(AppError::Unauthorized),
    }
}

/// Ends the session of the caller's refresh token; unknown tokens are ignored.
pub async fn logout(
    pool: &DbPool,
    caller: &AuthCheck,
    token: Input<String>,
) -> Result<(), AppError> {
    let caller = caller.clone();
    db::run(pool, move |c| {
        let uid = caller.check(c)?.id;
        let token = token.open()?;
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
    pool: &DbPool,
    passwords: &Passwords,
    issuer: Issuer<'_>,
    invitation: String,
    password: String,
    ip: Option<String>,
) -> Result<TokenResponse, AppError> {
    check_password("password", &password)?;
    let token_hash = hash_token(&invitation);
    let per_minute = issuer.settings.activation_ip_per_minute;
    let th = token_hash.clone();
    // The invitation is looked up before anything is hashed: an unknown one
    // costs one indexed read, never an argon2 run.
    let turn = passwords.activation_turn().await?;
    let email = db::run(pool, move |c| {
        let now = Time::now();
        if let Some(ip) = &ip {
            write_tx(c, |c| throttle::hit_activation_ip(c, ip, now, per_minute))?;
        }
        let invite = repo::find_invitation(c, &th)?
            .filter(|i| i.used_at.is_none() && i.expires_at > now)
            .ok_or(AppError::InvalidInvitation)?;
        users_repo::find_by_id(c, invite.user_id)?
            .filter(|u| !u.disabled)
            .map(|u| u.email)
            .ok_or(AppError::InvalidInvitation)
    })
    .await?;
    drop(turn);
    check_not_common("password", &password, &email)?;
    let hash = passwords.hash(password).await?;
    let settings = issuer.settings.clone();
    let (user, sid, refresh) = db::run(pool, move |c| {
        write_tx(c, |c| {
            let now = Time::now();
            let invite = repo::find_invitation(c, &token_hash)?
                .filter(|i| i.used_at.is_none() && i.expires_at > now)
                .ok_or(AppError::InvalidInvitation)?;
            let row = users_repo::find_by_id(c, invite.user_id)?
                .filter(|u| !u.disabled)
                .ok_or(AppError::InvalidInvitation)?;
            if !repo::use_invitation(c, &token_hash, now)? {
                return Err(AppError::InvalidInvitation);
            }
            users_repo::set_password_hash(c, row.id, &hash)?;
            let (sid, refresh) = start_session(c, row.id, &settings, now)?;
            let user = users::load_user(c, row.id)?;
            Ok((user, sid, refresh))
        })
    })
    .await?;
    token_response(issuer, user, sid, refresh)
}

/// Changes the caller's password and revokes every session and refresh
/// token they hold (this one included).
pub async fn change_password(
    pool: &DbPool,
    passwords: &Passwords,
    caller: &AuthCheck,
    passwords_given: Input<(String, String)>,
) -> Result<(), AppError> {
    let caller = caller.clone();
    let row = db::run(pool, move |c| {
        let uid = caller.check(c)?.id;
        users_repo::find_by_id(c, uid)?.ok_or(AppError::Unauthorized)
    })
    .await?;
    let (current, new) = passwords_given.open()?;
    check_password("new_password", &new)?;
    check_not_common("new_password", &new, &row.email)?;
    let uid = row.id;
    if !passwords.verify(current, row.password_hash).await? {
        return Err(AppError::invalid(
            "current_password",
            "is not your current password",
        ));
    }
    let hash = passwords.hash(new).await?;
    db::run(pool, move |c| {
        write_tx(c, |c| {
            users_repo::set_password_hash(c, uid, &hash)?;
            Ok(repo::revoke_user_sessions(c, uid, Time::now())?)
        })
    })
    .await
}

/// The caller's own account.
pub async fn me(pool: &DbPool, caller: &AuthCheck) -> Result<User, AppError> {
    let caller = caller.clone();
    db::run(pool, move |c| {
        let uid = caller.check(c)?.id;
        users::load_user(c, uid)
    })
    .await
}
