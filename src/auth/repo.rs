//! Queries on sessions, refresh tokens, invitations and login throttles.

use diesel::prelude::*;

use super::model::{
    InvitationRow, RefreshTokenId, RefreshTokenRow, SessionId, SessionRow, ThrottleRow,
};
use crate::db::schema::{
    device_tokens, invitations, login_throttle, refresh_tokens, sessions, user_roles, users,
};
use crate::db::types::Time;
use crate::db::DbConnection;
use crate::users::UserId;

/// What the per-request session check needs, in one indexed read: one row
/// per role (or one row with no role).
pub type SessionFacts = (UserId, Option<Time>, Time, bool, Option<String>);

pub fn find_session_facts(
    conn: &mut DbConnection,
    sid: SessionId,
) -> QueryResult<Vec<SessionFacts>> {
    sessions::table
        .inner_join(users::table)
        .left_join(user_roles::table.on(user_roles::user_id.eq(users::id)))
        .filter(sessions::id.eq(sid))
        .select((
            sessions::user_id,
            sessions::revoked_at,
            sessions::expires_at,
            users::disabled,
            user_roles::role.nullable(),
        ))
        .load(conn)
}

/// Opens a new session for `user` until `expires_at`: the one place a
/// session row is made (logins, activations, and the seeding of the tests
/// and the load generator).
pub fn create_session(
    conn: &mut DbConnection,
    user: UserId,
    now: Time,
    expires_at: Time,
) -> QueryResult<SessionId> {
    let id = SessionId::new();
    diesel::insert_into(sessions::table)
        .values(&SessionRow {
            id,
            user_id: user,
            created_at: now,
            expires_at,
            revoked_at: None,
        })
        .execute(conn)?;
    Ok(id)
}

pub fn find_session(conn: &mut DbConnection, sid: SessionId) -> QueryResult<Option<SessionRow>> {
    sessions::table
        .find(sid)
        .select(SessionRow::as_select())
        .first(conn)
        .optional()
}

pub fn extend_session(conn: &mut DbConnection, sid: SessionId, until: Time) -> QueryResult<()> {
    diesel::update(sessions::table.find(sid))
        .set(sessions::expires_at.eq(until))
        .execute(conn)
        .map(|_| ())
}

/// Revokes a session and every refresh token of its family.
pub fn revoke_session(conn: &mut DbConnection, sid: SessionId, now: Time) -> QueryResult<()> {
    diesel::update(
        sessions::table
            .find(sid)
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now))
    .execute(conn)?;
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(sid))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
    .map(|_| ())
}

/// Revokes every session and refresh token of a user.
pub fn revoke_user_sessions(conn: &mut DbConnection, user: UserId, now: Time) -> QueryResult<()> {
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now))
    .execute(conn)?;
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
    .map(|_| ())
}

pub fn insert_refresh_token(conn: &mut DbConnection, row: &RefreshTokenRow) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find_refresh_token(
    conn: &mut DbConnection,
    hash: &str,
) -> QueryResult<Option<RefreshTokenRow>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select(RefreshTokenRow::as_select())
        .first(conn)
        .optional()
}

/// Marks a token spent, only if nobody spent it first; false means reuse.
pub fn spend_refresh_token(
    conn: &mut DbConnection,
    id: RefreshTokenId,
    replaced_by: RefreshTokenId,
    now: Time,
) -> QueryResult<bool> {
    diesel::update(
        refresh_tokens::table
            .find(id)
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set((
        refresh_tokens::revoked_at.eq(now),
        refresh_tokens::replaced_by.eq(replaced_by),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

pub fn insert_invitation(conn: &mut DbConnection, row: &InvitationRow) -> QueryResult<()> {
    diesel::insert_into(invitations::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find_invitation(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<InvitationRow>> {
    invitations::table
        .find(hash)
        .select(InvitationRow::as_select())
        .first(conn)
        .optional()
}

/// Spends an invitation, only if unused; false means it was used already.
pub fn use_invitation(conn: &mut DbConnection, hash: &str, now: Time) -> QueryResult<bool> {
    diesel::update(
        invitations::table
            .find(hash)
            .filter(invitations::used_at.is_null()),
    )
    .set(invitations::used_at.eq(now))
    .execute(conn)
    .map(|n| n == 1)
}

pub fn find_throttle(conn: &mut DbConnection, key: &str) -> QueryResult<Option<ThrottleRow>> {
    login_throttle::table
        .find(key)
        .select(ThrottleRow::as_select())
        .first(conn)
        .optional()
}

#[derive(diesel::QueryableByName)]
struct Bumped {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    count: i32,
    #[diesel(sql_type = crate::db::types::UtcTime)]
    window_start: Time,
}

/// Counts one hit on a throttle key in one atomic upsert (so simultaneous
/// first hits neither fail nor get lost): the count goes up while the
/// stored `window_start` is after `cutoff`, else starts again at 1. The
/// window then starts at `now`, unless `fixed_window` keeps the running
/// window's start. Returns the new count and window start.
pub fn bump_throttle(
    conn: &mut DbConnection,
    key: &str,
    now: Time,
    cutoff: Time,
    fixed_window: bool,
) -> QueryResult<(i32, Time)> {
    use crate::db::types::UtcTime;
    use diesel::sql_types::Text;
    let start = if fixed_window {
        "CASE WHEN login_throttle.window_start > $3 THEN login_throttle.window_start ELSE $2 END"
    } else {
        "$2"
    };
    let sql = format!(
        "INSERT INTO login_throttle (key, count, window_start, locked_until) VALUES ($1, 1, $2, NULL) \
         ON CONFLICT (key) DO UPDATE SET \
         count = CASE WHEN login_throttle.window_start > $3 THEN login_throttle.count + 1 ELSE 1 END, \
         window_start = {start} \
         RETURNING count, window_start"
    );
    let row: Bumped = match conn {
        DbConnection::Pg(c) => diesel::sql_query(sql)
            .bind::<Text, _>(key)
            .bind::<UtcTime, _>(now)
            .bind::<UtcTime, _>(cutoff)
            .get_result(c)?,
        // SQLite numbers its parameters ?1, ?2, ...
        DbConnection::Sqlite(c) => diesel::sql_query(sql.replace('$', "?"))
            .bind::<Text, _>(key)
            .bind::<UtcTime, _>(now)
            .bind::<UtcTime, _>(cutoff)
            .get_result(c)?,
    };
    Ok((row.count, row.window_start))
}

/// Reserves one password check on an account key in one atomic upsert,
/// before the password is looked at: the count goes up only while it is
/// below `max` in the running window (started after `cutoff`), or starts a
/// new window at 1. Under any concurrency, and across instances, at most
/// `max` reservations succeed per window: the row is locked by the upsert
/// (PostgreSQL) or the single writer (SQLite). None means refused.
pub fn reserve_attempt(
    conn: &mut DbConnection,
    key: &str,
    now: Time,
    cutoff: Time,
    max: i32,
) -> QueryResult<Option<i32>> {
    use crate::db::types::UtcTime;
    use diesel::sql_types::{Integer, Text};
    let sql = "INSERT INTO login_throttle (key, count, window_start, locked_until) \
         VALUES ($1, 1, $2, NULL) \
         ON CONFLICT (key) DO UPDATE SET \
         count = CASE WHEN login_throttle.window_start > $3 THEN login_throttle.count + 1 ELSE 1 END, \
         window_start = CASE WHEN login_throttle.window_start > $3 THEN login_throttle.window_start ELSE $2 END \
         WHERE login_throttle.window_start <= $3 OR login_throttle.count < $4 \
         RETURNING count, window_start";
    let rows: Vec<Bumped> = match conn {
        DbConnection::Pg(c) => diesel::sql_query(sql)
            .bind::<Text, _>(key)
            .bind::<UtcTime, _>(now)
            .bind::<UtcTime, _>(cutoff)
            .bind::<Integer, _>(max)
            .load(c)?,
        DbConnection::Sqlite(c) => diesel::sql_query(sql.replace('$', "?"))
            .bind::<Text, _>(key)
            .bind::<UtcTime, _>(now)
            .bind::<UtcTime, _>(cutoff)
            .bind::<Integer, _>(max)
            .load(c)?,
    };
    Ok(rows.first().map(|r| r.count))
}

/// Gives back the reservation of a successful check when it was the only
/// one in the window; with others (failures, or checks in flight) the slot
/// stays spent, so a success never makes room for another guess.
pub fn release_sole_attempt(conn: &mut DbConnection, key: &str) -> QueryResult<()> {
    diesel::delete(
        login_throttle::table
            .find(key)
            .filter(login_throttle::count.le(1)),
    )
    .execute(conn)
    .map(|_| ())
}

/// Gives back a reservation whose password was never checked.
pub fn unreserve_attempt(conn: &mut DbConnection, key: &str) -> QueryResult<()> {
    diesel::update(
        login_throttle::table
            .find(key)
            .filter(login_throttle::count.gt(0)),
    )
    .set(login_throttle::count.eq(login_throttle::count - 1))
    .execute(conn)
    .map(|_| ())
}

/// Deletes throttle rows whose window started before `cutoff`.
pub fn purge_throttles(conn: &mut DbConnection, cutoff: Time) -> QueryResult<usize> {
    diesel::delete(login_throttle::table.filter(login_throttle::window_start.lt(cutoff)))
        .execute(conn)
}

/// The user a device token (by its hash) belongs to.
pub fn find_device_owner(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<UserId>> {
    device_tokens::table
        .find(hash)
        .select(device_tokens::user_id)
        .first(conn)
        .optional()
}

pub fn insert_device_token(
    conn: &mut DbConnection,
    hash: &str,
    user: UserId,
    now: Time,
) -> QueryResult<()> {
    diesel::insert_into(device_tokens::table)
        .values((
            device_tokens::token_hash.eq(hash),
            device_tokens::user_id.eq(user),
            device_tokens::created_at.eq(now),
            device_tokens::last_used_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn touch_device_token(conn: &mut DbConnection, hash: &str, now: Time) -> QueryResult<()> {
    diesel::update(device_tokens::table.find(hash))
        .set(device_tokens::last_used_at.eq(now))
        .execute(conn)
        .map(|_| ())
}
