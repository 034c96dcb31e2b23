//! Direct database fixtures for the test suite and the load generator
//! (`tools/load`), compiled only with the `testkit` feature: the service
//! never calls them.
//!
//! They write what the HTTP API would, minus its cost: users with a
//! precomputed password hash (no argon2 per user), sessions and access
//! tokens without a login round trip, ballots in bulk. Callers see plain
//! UUIDs and strings, never the repositories, so the service's internals can
//! change without touching the tools.

use std::error::Error;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use uuid::Uuid;

use crate::auth::{repo as auth_repo, tokens, SessionId};
use crate::ballots::model::{BallotId, BallotRow, ParticipationRow};
use crate::ballots::{repo as ballots_repo, rules};
use crate::config::AuthSettings;
use crate::crypto::{sha256_hex, Keys};
use crate::db::schema::ballots;
use crate::db::types::Time;
use crate::db::{self, write_tx, DbConnection, DbPool, PooledConn};
use crate::elections::definition::{self, Definition};
use crate::elections::ElectionId;
use crate::users::{service as users, Role, UserId};

pub type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// A well-formed argon2id PHC string that no password matches: for users
/// who only ever hold seeded tokens.
pub const UNUSABLE_PASSWORD_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g";

/// A connection with durable commits off (`synchronous_commit = off`,
/// `PRAGMA synchronous = OFF`): seeding is never what is measured. Do not
/// use it for what a test or benchmark asserts about durability.
pub fn fast_conn(pool: &DbPool) -> Result<PooledConn> {
    let mut c = pool.get()?;
    if db::is_pg(&c) {
        c.batch_execute("SET synchronous_commit = off")?;
    } else {
        c.batch_execute("PRAGMA synchronous = OFF")?;
    }
    Ok(c)
}

/// Creates a user as the service would (email checked and normalised, roles
/// stored, an audit event written) and returns its id.
pub fn create_user(
    c: &mut DbConnection,
    email: &str,
    display_name: &str,
    roles: &[Role],
    password_hash: &str,
) -> Result<Uuid> {
    let user = users::create_user(c, email, display_name, roles, Some(password_hash))
        .map_err(|e| format!("create user {email}: {e}"))?;
    Ok(user.id.0)
}

/// Opens one session per user, all in one transaction; returns their ids in
/// the same order.
pub fn open_sessions(c: &mut DbConnection, users: &[Uuid], ttl: Duration) -> Result<Vec<Uuid>> {
    let ttl = chrono::Duration::from_std(ttl)?;
    let ids = write_tx(c, |c| -> QueryResult<Vec<Uuid>> {
        let now = Time::now();
        users
            .iter()
            .map(|user| {
                auth_repo::create_session(c, UserId(*user), now, Time(now.0 + ttl)).map(|id| id.0)
            })
            .collect()
    })?;
    Ok(ids)
}

/// An access token for a seeded session, signed as the server signs it.
pub fn access_token(
    keys: &Keys,
    auth: &AuthSettings,
    user: Uuid,
    session: Uuid,
    roles: &[Role],
) -> Result<String> {
    Ok(tokens::issue_access_token(
        keys,
        auth,
        UserId(user),
        SessionId(session),
        roles,
    )?)
}

/// Users `{prefix}{i}@example.org` for i in 0..n with these roles, each with
/// an open session (one hour) and an access token; returns (user id, token).
pub fn users_with_tokens(
    c: &mut DbConnection,
    keys: &Keys,
    auth: &AuthSettings,
    prefix: &str,
    n: usize,
    roles: &[Role],
) -> Result<Vec<(Uuid, String)>> {
    let ids = (0..n)
        .map(|i| {
            let email = format!("{prefix}{i}@example.org");
            create_user(c, &email, &email, roles, UNUSABLE_PASSWORD_HASH)
        })
        .collect::<Result<Vec<_>>>()?;
    let sessions = open_sessions(c, &ids, Duration::from_secs(3600))?;
    ids.into_iter()
        .zip(sessions)
        .map(|(id, sid)| Ok((id, access_token(keys, auth, id, sid, roles)?)))
        .collect()
}

/// The two rows a cast writes (participation, then ballot) in one durable
/// write transaction, without HTTP or the casting rules: the floor that
/// casting through the API is compared with.
pub fn cast_raw(
    c: &mut DbConnection,
    election: Uuid,
    voter: Uuid,
    content: String,
) -> QueryResult<()> {
    let election_id = ElectionId(election);
    write_tx(c, |c| {
        ballots_repo::insert_participation(
            c,
            &ParticipationRow {
                election_id,
                voter_id: UserId(voter),
                cast_at: Time::now(),
                idempotency_key_hash: None,
                idempotency_sealed: None,
            },
        )?;
        // No definition read: this is the bare floor, never tallied.
        ballots_repo::insert_ballot(c, &ballot_row(None, election_id, content))
    })
}

/// A ballot row as casting writes it: salted, and hashed as API.md (v2)
/// defines `ballot_hash`, so that the tally's integrity check accepts it.
/// Without a definition, or for content that does not decode under it, the
/// hash is of the content's bytes (the integrity check refuses such a
/// ballot, as it should).
fn ballot_row(def: Option<&Definition>, election_id: ElectionId, content: String) -> BallotRow {
    let salt = rules::salt();
    let ballot_hash = match def.and_then(|d| rules::decode(d, &content)) {
        Some(answers) => rules::ballot_hash(election_id, &answers, &salt),
        None => sha256_hex(content.as_bytes()),
    };
    BallotRow {
        id: BallotId(Uuid::new_v4()),
        election_id,
        tracking_code: rules::tracking_code(),
        ballot_hash,
        content,
        salt,
    }
}

/// Ballots with these stored contents (no participations), in one write
/// transaction and multi-row inserts.
pub fn insert_ballots(c: &mut DbConnection, election: Uuid, contents: &[String]) -> Result<()> {
    let election_id = ElectionId(election);
    let def = definition::load(c, election_id).map_err(|e| e.to_string())?;
    write_tx(c, |c| -> QueryResult<()> {
        // Under both backends' bound-parameter limits (6 columns each).
        for chunk in contents.chunks(4000) {
            let rows: Vec<BallotRow> = chunk
                .iter()
                .map(|content| ballot_row(Some(&def), election_id, content.clone()))
                .collect();
            // Multi-row inserts exist per backend, not on the enum.
            let q = diesel::insert_into(ballots::table).values(&rows);
            match c {
                DbConnection::Pg(pg) => q.execute(pg)?,
                DbConnection::Sqlite(lite) => q.execute(lite)?,
            };
        }
        Ok(())
    })?;
    Ok(())
}

/// How many ballots an election has.
pub fn count_ballots(c: &mut DbConnection, election: Uuid) -> QueryResult<i64> {
    ballots::table
        .filter(ballots::election_id.eq(ElectionId(election)))
        .count()
        .get_result(c)
}

/// Every stored ballot content of an election, in no particular order.
pub fn ballot_contents(c: &mut DbConnection, election: Uuid) -> QueryResult<Vec<String>> {
    ballots::table
        .filter(ballots::election_id.eq(ElectionId(election)))
        .select(ballots::content)
        .load(c)
}

/// Runs SQL statements as they are (fixtures the typed API does not cover,
/// such as pgbench's voters). Never give it text from outside.
pub fn execute_sql(c: &mut DbConnection, sql: &str) -> Result<()> {
    c.batch_execute(sql)?;
    Ok(())
}
