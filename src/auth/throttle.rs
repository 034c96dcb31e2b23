//! Login throttling, stored in the database so that every server instance
//! sees it. Per account: after `login_max_failures` failures (each within
//! `login_window_secs` of the previous), every attempt gets 429 until a lock
//! expires; the lock doubles with each further failure, from 30 s up to 15
//! minutes, and never becomes permanent. Per client IP: at most
//! `login_ip_per_minute` attempts in a fixed one-minute window.

use chrono::Duration;

use super::model::ThrottleRow;
use super::repo;
use crate::config::AuthSettings;
use crate::db::types::Time;
use crate::db::DbConnection;
use crate::error::ApiError;

const FIRST_LOCK_SECS: i64 = 30;
const MAX_LOCK_SECS: i64 = 900;

pub fn account_key(normalized_email: &str) -> String {
    format!("acct:{normalized_email}")
}

fn retry_after(until: Time, now: Time) -> ApiError {
    let secs = (until.0 - now.0).num_milliseconds().max(0) as u64;
    ApiError::TooManyRequests {
        retry_after_secs: secs.div_ceil(1000).max(1),
    }
}

/// 429 while the account is locked.
pub fn check_account(conn: &mut DbConnection, key: &str, now: Time) -> Result<(), ApiError> {
    if let Some(row) = repo::find_throttle(conn, key)? {
        if let Some(until) = row.locked_until.filter(|u| *u > now) {
            return Err(retry_after(until, now));
        }
    }
    Ok(())
}

/// Counts one failed login for the account, locking it past the limit.
pub fn record_failure(
    conn: &mut DbConnection,
    key: &str,
    now: Time,
    s: &AuthSettings,
) -> Result<(), ApiError> {
    let existing = repo::find_throttle(conn, key)?;
    let window = Duration::seconds(s.login_window_secs);
    let count = match &existing {
        // `window_start` holds the time of the last failure.
        Some(row) if row.window_start.0 + window > now.0 => row.count + 1,
        _ => 1,
    };
    let over = i64::from(count) - s.login_max_failures;
    let locked_until = (over >= 0).then(|| {
        let secs = FIRST_LOCK_SECS
            .saturating_mul(1i64 << over.min(20))
            .min(MAX_LOCK_SECS);
        Time(now.0 + Duration::seconds(secs))
    });
    let row = ThrottleRow {
        key: key.to_string(),
        count,
        window_start: now,
        locked_until,
    };
    Ok(repo::save_throttle(conn, &row, existing.is_some())?)
}

/// Forgets the account's failures after a successful login.
pub fn clear(conn: &mut DbConnection, key: &str) -> Result<(), ApiError> {
    Ok(repo::delete_throttle(conn, key)?)
}

/// Counts one login attempt from `ip`; 429 past the per-minute limit.
pub fn hit_ip(
    conn: &mut DbConnection,
    ip: &str,
    now: Time,
    s: &AuthSettings,
) -> Result<(), ApiError> {
    let key = format!("ip:{ip}");
    let existing = repo::find_throttle(conn, &key)?;
    let minute = Duration::seconds(60);
    let row = match &existing {
        Some(row) if row.window_start.0 + minute > now.0 => ThrottleRow {
            count: row.count.saturating_add(1),
            ..row.clone()
        },
        _ => ThrottleRow {
            key: key.clone(),
            count: 1,
            window_start: now,
            locked_until: None,
        },
    };
    repo::save_throttle(conn, &row, existing.is_some())?;
    if i64::from(row.count) > s.login_ip_per_minute {
        return Err(retry_after(Time(row.window_start.0 + minute), now));
    }
    Ok(())
}
