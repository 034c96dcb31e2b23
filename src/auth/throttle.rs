//! Login throttling, stored in the database so that every server instance
//! sees it. Per account: at most `login_max_failures` password checks per
//! `login_window_secs`, each reserved atomically *before* the password is
//! checked, so that requests sent at once cannot all get their guess
//! evaluated; once the window's budget is spent every attempt gets 429 until
//! the window ends (refused attempts do not extend it). A success gives its
//! slot back only when it was alone in the window. Per client address: at
//! most `login_ip_per_minute` attempts in a fixed one-minute window.

use chrono::Duration;

use super::repo;
use crate::config::AuthSettings;
use crate::db::types::Time;
use crate::db::DbConnection;
use crate::error::AppError;

pub fn account_key(normalized_email: &str) -> String {
    // PostgreSQL text cannot hold NUL; such an email belongs to no account,
    // and sharing a counter with its escaped spelling harms no one.
    format!("acct:{}", normalized_email.replace('\0', "\\0"))
}

/// The budget of one known device (by its token's hash).
pub fn device_key(device_hash: &str) -> String {
    format!("dev:{device_hash}")
}

fn retry_after(until: Time, now: Time) -> AppError {
    let secs = (until.0 - now.0).num_milliseconds().max(0) as u64;
    AppError::TooManyRequests {
        retry_after_secs: secs.div_ceil(1000).max(1),
    }
}

/// Reserves one password check on `key`; 429 when the window's budget is
/// spent. Must be committed before the password is checked.
pub fn reserve(
    conn: &mut DbConnection,
    key: &str,
    now: Time,
    s: &AuthSettings,
) -> Result<(), AppError> {
    let window = Duration::seconds(s.login_window_secs);
    let max = i32::try_from(s.login_max_failures).unwrap_or(i32::MAX);
    if repo::reserve_attempt(conn, key, now, Time(now.0 - window), max)?.is_some() {
        return Ok(());
    }
    let until = repo::find_throttle(conn, key)?
        .map_or(Time(now.0 + window), |r| Time(r.window_start.0 + window));
    Err(retry_after(until, now))
}

/// After a successful check: see [`repo::release_sole_attempt`].
pub fn release(conn: &mut DbConnection, key: &str) -> Result<(), AppError> {
    Ok(repo::release_sole_attempt(conn, key)?)
}

/// Gives back a reservation whose password was never checked (the hashing
/// queue was full), so that an overload does not spend a user's budget.
pub fn unreserve(conn: &mut DbConnection, key: &str) -> Result<(), AppError> {
    Ok(repo::unreserve_attempt(conn, key)?)
}

/// Counts one attempt from the client address `ip`; 429 past the limit.
pub fn hit_ip(
    conn: &mut DbConnection,
    ip: &str,
    now: Time,
    per_minute: i64,
) -> Result<(), AppError> {
    hit_key(conn, &format!("ip:{ip}"), now, per_minute)
}

fn hit_key(conn: &mut DbConnection, key: &str, now: Time, per_minute: i64) -> Result<(), AppError> {
    let minute = Duration::seconds(60);
    let (count, window_start) = repo::bump_throttle(conn, key, now, Time(now.0 - minute), true)?;
    if i64::from(count) > per_minute {
        return Err(retry_after(Time(window_start.0 + minute), now));
    }
    Ok(())
}

/// Counts one activation attempt from `ip`; 429 past the limit.
pub fn hit_activation_ip(
    conn: &mut DbConnection,
    ip: &str,
    now: Time,
    per_minute: i64,
) -> Result<(), AppError> {
    hit_key(conn, &format!("act:{ip}"), now, per_minute)
}

/// Deletes throttle rows no window can still need (the longest is
/// `login_window_secs`, at least a minute).
pub fn purge(conn: &mut DbConnection, now: Time, s: &AuthSettings) -> Result<usize, AppError> {
    let keep = Duration::seconds(s.login_window_secs.max(60));
    Ok(repo::purge_throttles(conn, Time(now.0 - keep))?)
}

/// Deletes spent throttle rows every `auth.throttle_purge_interval_secs`
/// (at least 1), so the table holds only running windows; it stops with the
/// runtime. Every instance may run it: a delete of what is old is idempotent.
pub fn spawn_purge(pool: crate::db::DbPool, s: AuthSettings) {
    let every = std::time::Duration::from_secs(s.throttle_purge_interval_secs.max(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let s = s.clone();
            let purged = crate::db::run(&pool, move |c| {
                crate::db::write_tx(c, |c| purge(c, Time::now(), &s))
            })
            .await;
            match purged {
                Ok(0) => {}
                Ok(n) => log::debug!("purged {n} throttle row(s)"),
                Err(e) => log::debug!("throttle purge: {e}"),
            }
        }
    });
}
