//! Queries on results, and the paged reads of ballots that the tally and
//! the exports stream through.

use diesel::prelude::*;

use super::model::ResultsRow;
use crate::db::schema::{ballots, results};
use crate::db::DbConnection;
use crate::elections::ElectionId;

pub fn insert_results(conn: &mut DbConnection, row: &ResultsRow) -> QueryResult<()> {
    diesel::insert_into(results::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find_results(conn: &mut DbConnection, id: ElectionId) -> QueryResult<Option<ResultsRow>> {
    results::table
        .find(id)
        .select(ResultsRow::as_select())
        .first(conn)
        .optional()
}

/// One ballot as read for counting and export.
#[derive(Debug, Clone, Queryable)]
pub struct StoredBallot {
    pub tracking_code: String,
    pub ballot_hash: String,
    pub content: String,
}

/// Up to `limit` ballots after tracking code `after`, in tracking-code order
/// (keyset paging on the `(election_id, tracking_code)` unique index).
pub fn ballot_page(
    conn: &mut DbConnection,
    election: ElectionId,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<StoredBallot>> {
    let mut q = ballots::table
        .filter(ballots::election_id.eq(election))
        .select((
            ballots::tracking_code,
            ballots::ballot_hash,
            ballots::content,
        ))
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(ballots::tracking_code.gt(after.to_string()));
    }
    q.order(ballots::tracking_code.asc())
        .limit(limit)
        .load(conn)
}

/// Calls `f` on every ballot of an election in tracking-code order, reading
/// `page` rows at a time, so memory stays bounded by one page.
pub fn for_each_ballot<E>(
    conn: &mut DbConnection,
    election: ElectionId,
    page: i64,
    mut f: impl FnMut(&StoredBallot) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<diesel::result::Error>,
{
    let mut after: Option<String> = None;
    loop {
        let rows = ballot_page(conn, election, after.as_deref(), page)?;
        for row in &rows {
            f(row)?;
        }
        if (rows.len() as i64) < page {
            return Ok(());
        }
        after = rows.last().map(|r| r.tracking_code.clone());
    }
}
