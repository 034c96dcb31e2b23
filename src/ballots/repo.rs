//! Queries on participations and ballots.

use diesel::prelude::*;

use super::model::{BallotRow, ParticipationRow, StoredBallot};
use crate::db::schema::{ballots, participations};
use crate::db::DbConnection;
use crate::elections::ElectionId;
use crate::users::UserId;

pub fn insert_participation(conn: &mut DbConnection, row: &ParticipationRow) -> QueryResult<()> {
    diesel::insert_into(participations::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn insert_ballot(conn: &mut DbConnection, row: &BallotRow) -> QueryResult<()> {
    diesel::insert_into(ballots::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find_participation(
    conn: &mut DbConnection,
    election: ElectionId,
    voter: UserId,
) -> QueryResult<Option<ParticipationRow>> {
    participations::table
        .find((election, voter))
        .select(ParticipationRow::as_select())
        .first(conn)
        .optional()
}

/// Participations and ballots, counted in one statement: one snapshot, so
/// the two always agree (both rows of a cast commit together).
pub fn count_voted_and_ballots(
    conn: &mut DbConnection,
    election: ElectionId,
) -> QueryResult<(i64, i64)> {
    let (voted, cast): (Option<i64>, Option<i64>) = diesel::select((
        participations::table
            .filter(participations::election_id.eq(election))
            .count()
            .single_value(),
        ballots::table
            .filter(ballots::election_id.eq(election))
            .count()
            .single_value(),
    ))
    .get_result(conn)?;
    Ok((voted.unwrap_or(0), cast.unwrap_or(0)))
}

/// Up to `limit` ballots after tracking code `after`, in tracking-code order
/// (keyset paging on the `(election_id, tracking_code)` unique index): the
/// board's pages, and the exports' stream.
pub fn ballot_page(
    conn: &mut DbConnection,
    election: ElectionId,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<StoredBallot>> {
    let mut q = ballots::table
        .filter(ballots::election_id.eq(election))
        .select(StoredBallot::as_select())
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(ballots::tracking_code.gt(after.to_string()));
    }
    q.order(ballots::tracking_code.asc())
        .limit(limit)
        .load(conn)
}

/// Every (tracking code, ballot hash) in tracking-code order.
pub fn all_leaves(
    conn: &mut DbConnection,
    election: ElectionId,
) -> QueryResult<Vec<(String, String)>> {
    ballots::table
        .filter(ballots::election_id.eq(election))
        .order(ballots::tracking_code.asc())
        .select((ballots::tracking_code, ballots::ballot_hash))
        .load(conn)
}

/// A ballot's hash and salt by tracking code (the salt is for the caller
/// to withhold while the election is open).
pub fn find_ballot_hash(
    conn: &mut DbConnection,
    election: ElectionId,
    code: &str,
) -> QueryResult<Option<(String, String)>> {
    ballots::table
        .filter(ballots::election_id.eq(election))
        .filter(ballots::tracking_code.eq(code))
        .select((ballots::ballot_hash, ballots::salt))
        .first(conn)
        .optional()
}

/// How many ballots sort before `code`: its leaf index.
pub fn count_before(conn: &mut DbConnection, election: ElectionId, code: &str) -> QueryResult<i64> {
    ballots::table
        .filter(ballots::election_id.eq(election))
        .filter(ballots::tracking_code.lt(code.to_string()))
        .count()
        .get_result(conn)
}
