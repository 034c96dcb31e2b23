//! Login throttling, stored in the database so that every server instance
//! sees it. Per account: after `login_max_failures` failures (each within
//! `login_window_secs` of the previous), every attempt gets 429 until a lock
//! expires; the lock doubles with each further failure, from 30 s up to 15
//! minutes, and never becomes permanent. Per client IP: at most
//! `login_ip_per_minute` attempts in a fixed one-minute window.

use chrono::Duration;

use super::repo;
use crate::config::AuthSettings;
use crate::db::types::Time;
use crate::db::DbConnection;
use crate::error::AppError;

const FIRST_LOCK_SECS: i64 = 30;
const MAX_LOCK_SECS: i64 = 900;

pub fn account_key(normalized_email: &str) -> String {
    // PostgreSQL text cannot hold NUL; such an email belongs to no account,
    // and sharing a counter with its escaped spelling harms no one.
    format!("acct:{}", normalized_email.replace('\0', "\\0"))
}

fn retry_after(until: Time, now: Time) -> AppError {
    let secs = (until.0 - now.0).num_milliseconds().max(0) as u64;
    AppError::TooManyRequests {
        retry_after_secs: secs.div_ceil(1000).max(1),
    }
}

/// 429 while the account is locked.
pub fn check_account(conn: &mut DbConnection, key: &str, now: Time) -> Result<(), AppError> {
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
) -> Result<(), AppError> {
    // `window_start` holds the time of the last failure: failures count while
    // each comes within the window of the one before.
    let cutoff = Time(now.0 - Duration::seconds(s.login_window_secs));
    let (count, _) = repo::bump_throttle(conn, key, now, cutoff, false)?;
    let over = i64::from(count) - s.login_max_failures;
    let locked_until = (over >= 0).then(|| {
        let secs = FIRST_LOCK_SECS
            .saturating_mul(1i64 << over.min(20))
            .min(MAX_LOCK_SECS);
        Time(now.0 + Duration::seconds(secs))
    });
    Ok(repo::set_locked_until(conn, key, locked_until)?)
}

/// Forgets the account's failures after a successful login.
pub fn clear(conn: &mut DbConnection, key: &str) -> Result<(), AppError> {
    Ok(repo::delete_throttle(conn, key)?)
}

/// Counts one login attempt from `ip`; 429 past the per-minute limit.
pub fn hit_ip(
    conn: &mut DbConnection,
    ip: &str,
    now: Time,
    s: &AuthSettings,
) -> Result<(), AppError> {
    let minute = Duration::seconds(60);
    let (count, window_start) =
        repo::bump_throttle(conn, &format!("ip:{ip}"), now, Time(now.0 - minute), true)?;
    if i64::from(count) > s.login_ip_per_minute {
        return Err(retry_after(Time(window_start.0 + minute), now));
    }
    Ok(())
}
