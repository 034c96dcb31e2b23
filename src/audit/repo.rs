//! Reads of the audit log, in chain (sequence) order.

use diesel::prelude::*;

use super::model::AuditRow;
use crate::db::schema::audit_events::dsl as a;
use crate::db::DbConnection;
use crate::elections::ElectionId;

/// Up to `limit` events after sequence number `after`, all of them or only
/// one election's.
pub fn page(
    conn: &mut DbConnection,
    election: Option<ElectionId>,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<AuditRow>> {
    let mut q = a::audit_events.select(AuditRow::as_select()).into_boxed();
    if let Some(id) = election {
        q = q.filter(a::election_id.eq(id));
    }
    if let Some(after) = after {
        q = q.filter(a::seq.gt(after));
    }
    q.order(a::seq.asc()).limit(limit).load(conn)
}

/// The latest event of one action for one election.
pub fn find_last(
    conn: &mut DbConnection,
    election: ElectionId,
    action: &str,
) -> QueryResult<Option<AuditRow>> {
    a::audit_events
        .filter(a::election_id.eq(election))
        .filter(a::action.eq(action.to_string()))
        .order(a::seq.desc())
        .select(AuditRow::as_select())
        .first(conn)
        .optional()
}
