//! Appending to the chain, inside the caller's transaction so that an action
//! and its event commit together.

use diesel::prelude::*;

use super::model::{AuditEvent, AuditRow, GENESIS_HASH};
use crate::crypto::canonical_json;
use crate::db::schema::audit_events::dsl as a;
use crate::db::types::Time;
use crate::db::{is_pg, DbConnection};
use crate::elections::ElectionId;
use crate::error::ApiError;
use crate::users::UserId;

/// Any fixed number: the PostgreSQL advisory lock that serialises appends, so
/// the chain never forks even with several server instances. SQLite's
/// `BEGIN IMMEDIATE` already serialises writers.
const AUDIT_LOCK: i64 = 0x6261_6c6c_6f74;

/// Appends one event. Must run inside a write transaction.
pub fn record(
    conn: &mut DbConnection,
    actor: Option<UserId>,
    action: &str,
    election: Option<ElectionId>,
    details: serde_json::Value,
) -> Result<AuditEvent, ApiError> {
    if is_pg(conn) {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({AUDIT_LOCK})")).execute(conn)?;
    }
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
    let details_text = String::from_utf8(canonical_json(&details)).map_err(ApiError::internal)?;
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
    Ok(event)
}
