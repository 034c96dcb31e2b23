//! Queries on elections, questions, options and rolls.

use diesel::dsl::count_star;
use diesel::prelude::*;

use super::model::{ElectionId, ElectionRow, OptionRow, QuestionRow, RollRow};
use crate::db::schema::{
    ballots, election_voters, elections, options, participations, questions, user_roles,
};
use crate::db::types::Time;
use crate::db::DbConnection;
use crate::users::UserId;

pub fn insert_election(conn: &mut DbConnection, row: &ElectionRow) -> QueryResult<()> {
    diesel::insert_into(elections::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn insert_question(conn: &mut DbConnection, row: &QuestionRow) -> QueryResult<()> {
    diesel::insert_into(questions::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn insert_option(conn: &mut DbConnection, row: &OptionRow) -> QueryResult<()> {
    diesel::insert_into(options::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn delete_questions(conn: &mut DbConnection, id: ElectionId) -> QueryResult<()> {
    diesel::delete(options::table.filter(options::election_id.eq(id))).execute(conn)?;
    diesel::delete(questions::table.filter(questions::election_id.eq(id)))
        .execute(conn)
        .map(|_| ())
}

pub fn find_election(conn: &mut DbConnection, id: ElectionId) -> QueryResult<Option<ElectionRow>> {
    elections::table
        .find(id)
        .select(ElectionRow::as_select())
        .first(conn)
        .optional()
}

/// The election row, locked against a concurrent close (PostgreSQL only;
/// SQLite's BEGIN IMMEDIATE already excludes other writers).
pub fn find_election_for_update(
    conn: &mut DbConnection,
    id: ElectionId,
) -> QueryResult<Option<ElectionRow>> {
    if let crate::db::DbConnection::Pg(pg) = conn {
        return elections::table
            .find(id)
            .select(ElectionRow::as_select())
            .for_update()
            .first(pg)
            .optional();
    }
    find_election(conn, id)
}

/// The election row, held FOR SHARE until commit on PostgreSQL: a close
/// (FOR UPDATE) waits for casts in flight, and casts after it see `closed`.
pub fn find_election_for_share(
    conn: &mut DbConnection,
    id: ElectionId,
) -> QueryResult<Option<ElectionRow>> {
    if let crate::db::DbConnection::Pg(pg) = conn {
        return elections::table
            .find(id)
            .select(ElectionRow::as_select())
            .for_share()
            .first(pg)
            .optional();
    }
    find_election(conn, id)
}

pub fn questions_of(conn: &mut DbConnection, ids: &[ElectionId]) -> QueryResult<Vec<QuestionRow>> {
    questions::table
        .filter(questions::election_id.eq_any(ids))
        .order((questions::election_id, questions::position))
        .select(QuestionRow::as_select())
        .load(conn)
}

pub fn options_of(conn: &mut DbConnection, ids: &[ElectionId]) -> QueryResult<Vec<OptionRow>> {
    options::table
        .filter(options::election_id.eq_any(ids))
        .select(OptionRow::as_select())
        .load(conn)
}

pub fn update_election(conn: &mut DbConnection, row: &ElectionRow) -> QueryResult<()> {
    diesel::update(elections::table.find(row.id))
        .set((
            elections::title.eq(&row.title),
            elections::description.eq(&row.description),
            elections::eligibility.eq(&row.eligibility),
            elections::opens_at.eq(row.opens_at),
            elections::closes_at.eq(row.closes_at),
            elections::scheduled.eq(row.scheduled),
            elections::notify_on_open.eq(row.notify_on_open),
            elections::notify_on_publish.eq(row.notify_on_publish),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn delete_election(conn: &mut DbConnection, id: ElectionId) -> QueryResult<usize> {
    diesel::delete(
        elections::table
            .find(id)
            .filter(elections::state.eq("draft")),
    )
    .execute(conn)
}

/// A page of elections by id; `visible_to` limits it to what a voter sees.
pub fn list_elections(
    conn: &mut DbConnection,
    state: Option<&str>,
    visible_to: Option<UserId>,
    after: Option<ElectionId>,
    limit: i64,
) -> QueryResult<Vec<ElectionRow>> {
    let mut q = elections::table
        .select(ElectionRow::as_select())
        .into_boxed();
    if let Some(s) = state {
        q = q.filter(elections::state.eq(s));
    }
    if let Some(voter) = visible_to {
        q = q.filter(elections::state.ne("draft")).filter(
            elections::eligibility
                .eq("all_voters")
                .or(elections::id.eq_any(
                    election_voters::table
                        .filter(election_voters::user_id.eq(voter))
                        .select(election_voters::election_id),
                )),
        );
    }
    if let Some(after) = after {
        q = q.filter(elections::id.gt(after));
    }
    q.order(elections::id.asc()).limit(limit).load(conn)
}

pub fn is_on_roll(conn: &mut DbConnection, id: ElectionId, user: UserId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(election_voters::table.find((id, user)))).get_result(conn)
}

/// Ballots per election, for the given elections.
pub fn ballot_counts(
    conn: &mut DbConnection,
    ids: &[ElectionId],
) -> QueryResult<Vec<(ElectionId, i64)>> {
    ballots::table
        .filter(ballots::election_id.eq_any(ids))
        .group_by(ballots::election_id)
        .select((ballots::election_id, count_star()))
        .load(conn)
}

/// Which of these users hold the voter role.
pub fn voters_among(conn: &mut DbConnection, ids: &[UserId]) -> QueryResult<Vec<UserId>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        out.extend(
            user_roles::table
                .filter(user_roles::user_id.eq_any(chunk))
                .filter(user_roles::role.eq("voter"))
                .select(user_roles::user_id)
                .load::<UserId>(conn)?,
        );
    }
    Ok(out)
}

/// Which of these users are on the roll already.
pub fn on_roll_among(
    conn: &mut DbConnection,
    id: ElectionId,
    ids: &[UserId],
) -> QueryResult<Vec<UserId>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        out.extend(
            election_voters::table
                .filter(election_voters::election_id.eq(id))
                .filter(election_voters::user_id.eq_any(chunk))
                .select(election_voters::user_id)
                .load::<UserId>(conn)?,
        );
    }
    Ok(out)
}

pub fn insert_roll(conn: &mut DbConnection, row: &RollRow) -> QueryResult<()> {
    diesel::insert_into(election_voters::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn delete_roll(conn: &mut DbConnection, id: ElectionId, user: UserId) -> QueryResult<usize> {
    diesel::delete(election_voters::table.find((id, user))).execute(conn)
}

/// A page of the roll by user id, with whether each voter voted.
pub fn list_roll(
    conn: &mut DbConnection,
    id: ElectionId,
    after: Option<UserId>,
    limit: i64,
) -> QueryResult<Vec<(UserId, bool)>> {
    let mut q = election_voters::table
        .filter(election_voters::election_id.eq(id))
        .select((
            election_voters::user_id,
            diesel::dsl::exists(
                participations::table
                    .filter(participations::election_id.eq(id))
                    .filter(participations::voter_id.eq(election_voters::user_id)),
            ),
        ))
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(election_voters::user_id.gt(after));
    }
    q.order(election_voters::user_id.asc())
        .limit(limit)
        .load(conn)
}

pub fn roll_size(conn: &mut DbConnection, id: ElectionId) -> QueryResult<i64> {
    election_voters::table
        .filter(election_voters::election_id.eq(id))
        .count()
        .get_result(conn)
}

/// One conditional transition: `from → to` only if the row is still in
/// `from` (and, for timers, due). Returns whether this call made it.
pub fn transition(
    conn: &mut DbConnection,
    id: ElectionId,
    from: &str,
    to: &str,
    opens_at: Option<Time>,
    closes_at: Option<Time>,
) -> QueryResult<bool> {
    let target = elections::table.find(id).filter(elections::state.eq(from));
    let n = match (opens_at, closes_at) {
        (Some(o), _) => diesel::update(target)
            .set((
                elections::state.eq(to),
                elections::opens_at.eq(o),
                elections::scheduled.eq(false),
            ))
            .execute(conn)?,
        (None, Some(c)) => diesel::update(target)
            .set((elections::state.eq(to), elections::closes_at.eq(c)))
            .execute(conn)?,
        (None, None) => diesel::update(target)
            .set(elections::state.eq(to))
            .execute(conn)?,
    };
    Ok(n == 1)
}

pub fn set_merkle_root(conn: &mut DbConnection, id: ElectionId, root: &str) -> QueryResult<()> {
    diesel::update(elections::table.find(id))
        .set(elections::merkle_root.eq(root))
        .execute(conn)
        .map(|_| ())
}

/// Drafts armed to open, and open elections due to close, at `now`.
pub fn due_elections(conn: &mut DbConnection, now: Time) -> QueryResult<Vec<(ElectionId, String)>> {
    elections::table
        .filter(
            elections::state
                .eq("draft")
                .and(elections::scheduled.eq(true))
                .and(elections::opens_at.le(now))
                .or(elections::state
                    .eq("open")
                    .and(elections::closes_at.le(now))),
        )
        .select((elections::id, elections::state))
        .load(conn)
}
