//! Appending to the chain, inside the caller's transaction so that an action
//! and its event commit together.

use diesel::prelude::*;

use super::model::{AuditEvent, AuditRow, GENESIS_HASH};
use crate::crypto::canonical_json;
use crate::db::schema::audit_events::dsl as a;
use crate::db::types::Time;
use crate::db::{is_pg, DbConnection};
use crate::elections::ElectionId;
use crate::error::AppError;
use crate::users::UserId;

/// Any fixed number: the PostgreSQL advisory lock that serialises appends, so
/// the chain never forks even with several server instances. SQLite's
/// `BEGIN IMMEDIATE` already serialises writers.
const AUDIT_LOCK: i64 = 0x6261_6c6c_6f74;

/// Holds the chain's append lock until the transaction ends (PostgreSQL;
/// SQLite's write transaction already excludes other writers).
pub fn lock_chain(conn: &mut DbConnection) -> QueryResult<()> {
    if is_pg(conn) {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({AUDIT_LOCK})")).execute(conn)?;
    }
    Ok(())
}

/// Appends one event. Must run inside a write transaction. An election
/// state change also fixes a checkpoint at this event, signed shortly after
/// (see [`super::checkpoint`]).
pub fn record(
    conn: &mut DbConnection,
    actor: Option<UserId>,
    action: &str,
    election: Option<ElectionId>,
    details: serde_json::Value,
) -> Result<AuditEvent, AppError> {
    lock_chain(conn)?;
    let last: Option<(i64, String)> = a::audit_events
        .order(a::seq.desc())
        .select((a::seq, a::hash))
        .first(conn)
        .optional()?;
    let (seq, prev_hash) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS_HASH.to_string()),
    };
    let at = Time::now();
    // Details are stored in canonical form, so the stored text is what was hashed.
    let details_text = String::from_utf8(canonical_json(&details)).map_err(AppError::internal)?;
    let mut event = AuditEvent::from_row(AuditRow {
        seq,
        at,
        actor_id: actor,
        action: action.to_string(),
        election_id: election,
        details: details_text.clone(),
        prev_hash,
        hash: String::new(),
    });
    event.hash = event.compute_hash();
    diesel::insert_into(a::audit_events)
        .values(AuditRow {
            seq,
            at,
            actor_id: actor,
            action: event.action.clone(),
            election_id: election,
            details: details_text,
            prev_hash: event.prev_hash.clone(),
            hash: event.hash.clone(),
        })
        .execute(conn)?;
    if super::checkpoint::CHECKPOINTED_ACTIONS.contains(&action) {
        super::checkpoint::insert_pending(conn, seq, &event.hash, at)?;
    }
    Ok(event)
}

/// A page of the log (all of it, or one election's), for admins and
/// auditors. The first page of a download (no cursor) is recorded as an
/// `audit.read` event in the same transaction, so whoever reads the log is
/// in it; later pages are not, so paging always ends.
pub async fn list(
    pool: &crate::db::DbPool,
    reader: &crate::auth::AuthCheck,
    election: Option<ElectionId>,
    page: crate::paging::PageParams,
) -> Result<crate::paging::Page<AuditEvent>, AppError> {
    use crate::paging::Page;
    let limit = page.limit();
    let after = page
        .after()?
        .map(|c| c.parse::<i64>())
        .transpose()
        .map_err(|_| AppError::invalid("cursor", "is not a cursor from this API"))?;
    let reader = reader.clone();
    crate::db::run(pool, move |c| {
        let actor = reader.check(c)?.id;
        let read = |c: &mut DbConnection| -> Result<Page<AuditEvent>, AppError> {
            if let Some(id) = election {
                crate::elections::repo::find_election(c, id)?.ok_or(AppError::NotFound)?;
            }
            let rows = super::repo::page(c, election, after, limit + 1)?;
            let events = rows.into_iter().map(AuditEvent::from_row).collect();
            Ok(Page::from_rows(events, limit, |e: &AuditEvent| {
                e.seq.to_string()
            }))
        };
        if after.is_some() {
            return read(c);
        }
        crate::db::write_tx(c, |c| {
            let page = read(c)?;
            let scope = if election.is_some() {
                "election"
            } else {
                "all"
            };
            record(
                c,
                Some(actor),
                "audit.read",
                election,
                serde_json::json!({ "scope": scope }),
            )?;
            Ok(page)
        })
    })
    .await
}

/// Whether a `key.registered` event names this key id already.
pub fn key_registered(conn: &mut DbConnection, kid: &str) -> Result<bool, AppError> {
    let details: Vec<String> = a::audit_events
        .filter(a::action.eq("key.registered"))
        .select(a::details)
        .load(conn)?;
    Ok(details.iter().any(|d| {
        serde_json::from_str::<serde_json::Value>(d).is_ok_and(|v| v["kid"].as_str() == Some(kid))
    }))
}
