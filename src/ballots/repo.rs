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

/// Rows per multi-row INSERT when rewriting (well under SQLite's limit of
/// bound variables).
const REWRITE_CHUNK: usize = 500;

/// Rewrites an election's participations and ballots, each table in its own
/// random order, inside the caller's transaction (the close). Afterwards no
/// storage trace of a cast pairs its two rows: on PostgreSQL every row has
/// the close's `xmin` and a `ctid` in shuffled order; on SQLite the cells
/// are laid out in shuffled order (the old ones zeroed by `secure_delete`,
/// and the WAL truncated by the caller once this commits). Returns how many
/// ballots were rewritten.
pub fn rewrite_shuffled(conn: &mut DbConnection, election: ElectionId) -> QueryResult<usize> {
    let mut parts: Vec<ParticipationRow> = participations::table
        .filter(participations::election_id.eq(election))
        .select(ParticipationRow::as_select())
        .load(conn)?;
    let mut rows: Vec<BallotRow> = ballots::table
        .filter(ballots::election_id.eq(election))
        .select(BallotRow::as_select())
        .load(conn)?;
    diesel::delete(participations::table.filter(participations::election_id.eq(election)))
        .execute(conn)?;
    diesel::delete(ballots::table.filter(ballots::election_id.eq(election))).execute(conn)?;
    shuffle(&mut parts);
    shuffle(&mut rows);
    // Interleaved, so neither table's rows sit in one run of the log before
    // the other's.
    let (mut p, mut b) = (parts.chunks(REWRITE_CHUNK), rows.chunks(REWRITE_CHUNK));
    loop {
        let (np, nb) = (p.next(), b.next());
        if np.is_none() && nb.is_none() {
            break;
        }
        // Multi-row INSERTs exist per backend, not on the multi-connection.
        match conn {
            DbConnection::Pg(c) => {
                if let Some(chunk) = np {
                    diesel::insert_into(participations::table)
                        .values(chunk)
                        .execute(c)?;
                }
                if let Some(chunk) = nb {
                    diesel::insert_into(ballots::table)
                        .values(chunk)
                        .execute(c)?;
                }
            }
            DbConnection::Sqlite(c) => {
                if let Some(chunk) = np {
                    diesel::insert_into(participations::table)
                        .values(chunk)
                        .execute(c)?;
                }
                if let Some(chunk) = nb {
                    diesel::insert_into(ballots::table)
                        .values(chunk)
                        .execute(c)?;
                }
            }
        }
    }
    Ok(rows.len())
}

/// Fisher-Yates with the operating system's random source: the order must
/// not be predictable from anything a database reader sees. (A 64-bit draw
/// reduced modulo at most a few million rows: the bias is below 2^-40.)
fn shuffle<T>(items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let mut b = [0u8; 8];
        crate::crypto::fill_random(&mut b);
        let j = (u64::from_le_bytes(b) % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
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
