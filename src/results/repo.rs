//! Queries on results, and the streamed read of ballots that the tally
//! counts (the exports page through `ballots::repo::ballot_page`).

use diesel::prelude::*;

use super::model::ResultsRow;
use crate::ballots::model::StoredBallot;
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

/// Calls `f` on the content of every ballot of an election, streamed row by
/// row in storage order (the tally needs no order): PostgreSQL in single-row
/// mode, SQLite stepping its statement. No page of rows is ever held.
pub fn for_each_content<E>(
    conn: &mut DbConnection,
    election: ElectionId,
    mut f: impl FnMut(&str) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<diesel::result::Error>,
{
    let query = ballots::table
        .filter(ballots::election_id.eq(election))
        .select(ballots::content);
    match conn {
        DbConnection::Pg(c) => {
            for content in query.load_iter::<String, diesel::pg::PgRowByRowLoadingMode>(c)? {
                f(&content?)?;
            }
        }
        DbConnection::Sqlite(c) => {
            for content in query.load_iter::<String, diesel::connection::DefaultLoadingMode>(c)? {
                f(&content?)?;
            }
        }
    }
    Ok(())
}

/// Calls `f` on every ballot of an election in tracking-code order, streamed
/// row by row like [`for_each_content`]: the integrity check needs the order
/// of the Merkle tree's leaves.
pub fn for_each_ballot<E>(
    conn: &mut DbConnection,
    election: ElectionId,
    mut f: impl FnMut(StoredBallot) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<diesel::result::Error>,
{
    let query = ballots::table
        .filter(ballots::election_id.eq(election))
        .order(ballots::tracking_code.asc())
        .select((
            ballots::tracking_code,
            ballots::ballot_hash,
            ballots::content,
            ballots::salt,
        ));
    match conn {
        DbConnection::Pg(c) => {
            for row in query.load_iter::<StoredBallot, diesel::pg::PgRowByRowLoadingMode>(c)? {
                f(row?)?;
            }
        }
        DbConnection::Sqlite(c) => {
            for row in query.load_iter::<StoredBallot, diesel::connection::DefaultLoadingMode>(c)? {
                f(row?)?;
            }
        }
    }
    Ok(())
}
