//! Queries on `mail_outbox`, and the recipients of an election's mail.

use diesel::prelude::*;

use super::model::{MailId, MailRow, BOUNCED, FAILED, QUEUED, SENDING, SENT};
use crate::db::schema::{election_voters, mail_outbox, participations, user_roles, users};
use crate::db::types::Time;
use crate::db::DbConnection;
use crate::elections::ElectionId;
use crate::users::UserId;

pub fn insert(conn: &mut DbConnection, row: &MailRow) -> QueryResult<()> {
    diesel::insert_into(mail_outbox::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Messages not yet sent, bounced or failed (the metrics' outbox depth).
pub fn depth(conn: &mut DbConnection) -> QueryResult<i64> {
    mail_outbox::table
        .filter(mail_outbox::status.eq_any([QUEUED, SENDING]))
        .count()
        .get_result(conn)
}

/// Whether any message is due: a read, so that an idle sender never takes
/// SQLite's write lock.
pub fn any_due(conn: &mut DbConnection, now: Time) -> QueryResult<bool> {
    let due = mail_outbox::status
        .eq(QUEUED)
        .and(mail_outbox::next_attempt_at.le(now))
        .or(mail_outbox::status
            .eq(SENDING)
            .and(mail_outbox::claimed_until.le(now)));
    diesel::select(diesel::dsl::exists(mail_outbox::table.filter(due))).get_result(conn)
}

/// Claims up to `limit` due messages until `lease_until`: queued ones whose
/// time has come, and claims that lapsed (a sender died mid-send). Each
/// claim counts as an attempt, and its `attempts` value identifies the claim.
/// Call inside `write_tx`: on PostgreSQL the rows are locked with SKIP LOCKED
/// so that instances claiming at once take different messages; on SQLite the
/// write transaction already excludes every other writer.
pub fn claim_due(
    conn: &mut DbConnection,
    now: Time,
    lease_until: Time,
    limit: i64,
) -> QueryResult<Vec<MailRow>> {
    let due = mail_outbox::status
        .eq(QUEUED)
        .and(mail_outbox::next_attempt_at.le(now))
        .or(mail_outbox::status
            .eq(SENDING)
            .and(mail_outbox::claimed_until.le(now)));
    let ids: Vec<MailId> = match conn {
        DbConnection::Pg(pg) => mail_outbox::table
            .filter(due)
            .order((mail_outbox::next_attempt_at.asc(), mail_outbox::id.asc()))
            .limit(limit)
            .select(mail_outbox::id)
            .for_update()
            .skip_locked()
            .load(pg)?,
        _ => mail_outbox::table
            .filter(due)
            .order((mail_outbox::next_attempt_at.asc(), mail_outbox::id.asc()))
            .limit(limit)
            .select(mail_outbox::id)
            .load(conn)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(
        mail_outbox::table
            .filter(mail_outbox::id.eq_any(&ids))
            .filter(due),
    )
    .set((
        mail_outbox::status.eq(SENDING),
        mail_outbox::claimed_until.eq(lease_until),
        mail_outbox::attempts.eq(mail_outbox::attempts + 1),
    ))
    .execute(conn)?;
    mail_outbox::table
        .filter(mail_outbox::id.eq_any(&ids))
        .filter(mail_outbox::status.eq(SENDING))
        .filter(mail_outbox::claimed_until.eq(lease_until))
        .order(mail_outbox::id.asc())
        .select(MailRow::as_select())
        .load(conn)
}

/// The claim `(id, attempts)`, if still held (not lapsed and taken over).
macro_rules! held {
    ($id:expr, $attempts:expr) => {
        mail_outbox::table
            .filter(mail_outbox::id.eq($id))
            .filter(mail_outbox::status.eq(SENDING))
            .filter(mail_outbox::attempts.eq($attempts))
    };
}

pub fn mark_sent(
    conn: &mut DbConnection,
    id: MailId,
    attempts: i32,
    now: Time,
) -> QueryResult<usize> {
    diesel::update(held!(id, attempts))
        .set((
            mail_outbox::status.eq(SENT),
            mail_outbox::sent_at.eq(Some(now)),
            mail_outbox::claimed_until.eq(None::<Time>),
            mail_outbox::secret_sealed.eq(None::<Vec<u8>>),
        ))
        .execute(conn)
}

/// Back to the queue until `next`, or `failed` when `give_up`.
pub fn mark_retry(
    conn: &mut DbConnection,
    id: MailId,
    attempts: i32,
    error: &str,
    next: Time,
    give_up: bool,
) -> QueryResult<usize> {
    diesel::update(held!(id, attempts))
        .set((
            mail_outbox::status.eq(if give_up { FAILED } else { QUEUED }),
            mail_outbox::last_error.eq(Some(error)),
            mail_outbox::next_attempt_at.eq(next),
            mail_outbox::claimed_until.eq(None::<Time>),
        ))
        .execute(conn)
}

/// A final outcome other than sent: `bounced` (permanent SMTP refusal) or
/// `failed` (the message cannot be made).
pub fn mark_final(
    conn: &mut DbConnection,
    id: MailId,
    attempts: i32,
    status: &str,
    error: &str,
) -> QueryResult<usize> {
    debug_assert!(status == BOUNCED || status == FAILED);
    diesel::update(held!(id, attempts))
        .set((
            mail_outbox::status.eq(status),
            mail_outbox::last_error.eq(Some(error)),
            mail_outbox::claimed_until.eq(None::<Time>),
            mail_outbox::secret_sealed.eq(None::<Vec<u8>>),
        ))
        .execute(conn)
}

/// A page of messages by id (time order), filtered.
pub fn list(
    conn: &mut DbConnection,
    election: Option<ElectionId>,
    statuses: Option<&[&str]>,
    after: Option<MailId>,
    limit: i64,
) -> QueryResult<Vec<MailRow>> {
    let mut q = mail_outbox::table.select(MailRow::as_select()).into_boxed();
    if let Some(e) = election {
        q = q.filter(mail_outbox::election_id.eq(e));
    }
    if let Some(s) = statuses {
        q = q.filter(mail_outbox::status.eq_any(s.to_vec()));
    }
    if let Some(after) = after {
        q = q.filter(mail_outbox::id.gt(after));
    }
    q.order(mail_outbox::id.asc()).limit(limit).load(conn)
}

/// Who an election's mail goes to: enabled users holding the voter role and
/// eligible (on the roll, or every voter for `all_voters`), by user id;
/// with `only_not_voted`, those without a participation. The order and the
/// set depend on the roll and `has_voted` only, never on a ballot.
pub fn recipients(
    conn: &mut DbConnection,
    election: ElectionId,
    all_voters: bool,
    only_not_voted: bool,
) -> QueryResult<Vec<(UserId, String)>> {
    let mut q = users::table
        .filter(users::disabled.eq(false))
        .filter(
            users::id.eq_any(
                user_roles::table
                    .filter(user_roles::role.eq("voter"))
                    .select(user_roles::user_id),
            ),
        )
        .select((users::id, users::email))
        .into_boxed();
    if !all_voters {
        q = q.filter(
            users::id.eq_any(
                election_voters::table
                    .filter(election_voters::election_id.eq(election))
                    .select(election_voters::user_id),
            ),
        );
    }
    if only_not_voted {
        q = q.filter(diesel::dsl::not(
            users::id.eq_any(
                participations::table
                    .filter(participations::election_id.eq(election))
                    .select(participations::voter_id),
            ),
        ));
    }
    q.order(users::id.asc()).load(conn)
}

/// The election's `notify` settings: (on_open, on_publish).
pub fn notify_flags(conn: &mut DbConnection, election: ElectionId) -> QueryResult<(bool, bool)> {
    use crate::db::schema::elections;
    elections::table
        .find(election)
        .select((elections::notify_on_open, elections::notify_on_publish))
        .first(conn)
}

pub fn set_notify_flags(
    conn: &mut DbConnection,
    election: ElectionId,
    on_open: bool,
    on_publish: bool,
) -> QueryResult<()> {
    use crate::db::schema::elections;
    diesel::update(elections::table.find(election))
        .set((
            elections::notify_on_open.eq(on_open),
            elections::notify_on_publish.eq(on_publish),
        ))
        .execute(conn)
        .map(|_| ())
}
