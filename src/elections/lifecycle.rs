//! The lifecycle: `draft → open → closed → tallied → published`, only
//! forward, by an admin or (open and close) the timer; and the one shape of
//! every admin change to an election.

use serde_json::{json, Value};

use super::model::{Election, ElectionId, ElectionRow, ElectionState};
use super::repo;
use super::visibility::{load_visible, Viewer};
use crate::audit;
use crate::auth::AuthCheck;
use crate::db::types::Time;
use crate::db::{self, write_tx, DbConnection, DbPool};
use crate::error::AppError;
use crate::mail::{service as mail, MailKind, Outbox};
use crate::users::UserId;

/// The 409 of an operation the election's state does not allow.
pub fn wrong_state(row: &ElectionRow, action: &str) -> AppError {
    AppError::conflict(format!(
        "The election is {}; it cannot be {action}.",
        row.state
    ))
}

/// An admin's change to one election, written once: in one write
/// transaction, find the election (404), check its state (409), change it,
/// record the change in the audit log, and (with `apply_and_reload`) read it
/// back as staff see it.
pub struct Change<'a> {
    pub id: ElectionId,
    pub actor: UserId,
    /// The states the change is allowed in.
    pub allowed: &'a [ElectionState],
    /// What the 409 says cannot be done to it ("edited").
    pub action: &'a str,
    /// The audit event ("election.updated").
    pub event: &'a str,
}

impl Change<'_> {
    /// Runs `change`, which returns its result and the audit details (none:
    /// nothing changed, nothing recorded).
    pub fn apply<T>(
        &self,
        conn: &mut DbConnection,
        change: impl FnOnce(&mut DbConnection, &ElectionRow) -> Result<(T, Option<Value>), AppError>,
    ) -> Result<T, AppError> {
        write_tx(conn, |c| {
            let row = repo::find_election(c, self.id)?.ok_or(AppError::NotFound)?;
            if !self.allowed.contains(&row.state()) {
                return Err(wrong_state(&row, self.action));
            }
            let (out, details) = change(c, &row)?;
            if let Some(details) = details {
                audit::record(c, Some(self.actor), self.event, Some(self.id), details)?;
            }
            Ok(out)
        })
    }

    /// Runs `change`, which returns the audit details, and reads the election
    /// back.
    pub fn apply_and_reload(
        &self,
        conn: &mut DbConnection,
        change: impl FnOnce(&mut DbConnection, &ElectionRow) -> Result<Value, AppError>,
    ) -> Result<Election, AppError> {
        self.apply(conn, |c, row| {
            let details = change(c, row)?;
            Ok((load_visible(c, Viewer::Staff, self.id)?, Some(details)))
        })
    }
}

/// Arms a draft whose `opens_at` is in the future to open by itself.
pub async fn schedule(
    pool: &DbPool,
    admin: &AuthCheck,
    id: ElectionId,
) -> Result<Election, AppError> {
    let admin = admin.clone();
    db::run(pool, move |c| {
        let actor = admin.check(c)?.id;
        let change = Change {
            id,
            actor,
            allowed: &[ElectionState::Draft],
            action: "scheduled",
            event: "election.scheduled",
        };
        change.apply_and_reload(c, |c, row| {
            if row.opens_at.is_none_or(|o| o <= Time::now()) {
                return Err(AppError::conflict(
                    "Only a draft with opens_at in the future can be scheduled.",
                ));
            }
            repo::update_election(
                c,
                &ElectionRow {
                    scheduled: true,
                    ..row.clone()
                },
            )?;
            Ok(json!({"opens_at": row.opens_at}))
        })
    })
    .await
}

/// A lifecycle step an admin asks for.
pub enum Step {
    Open,
    Close,
    Publish,
}

/// `draft → open` now (by an admin, or by the timer when `actor` is None).
pub fn open_tx(
    conn: &mut DbConnection,
    id: ElectionId,
    actor: Option<UserId>,
    now: Time,
    outbox: Option<&Outbox>,
) -> Result<bool, AppError> {
    let row = repo::find_election(conn, id)?.ok_or(AppError::NotFound)?;
    if row.state() != ElectionState::Draft {
        return Ok(false);
    }
    if actor.is_none() && !(row.scheduled && row.opens_at.is_some_and(|o| o <= now)) {
        return Ok(false);
    }
    if row.closes_at.is_some_and(|c| c <= now) {
        return Err(AppError::conflict(
            "closes_at has passed; edit the draft before opening it.",
        ));
    }
    if !repo::transition(conn, id, "draft", "open", Some(now), None)? {
        return Ok(false);
    }
    let by = if actor.is_some() { "admin" } else { "timer" };
    audit::record(conn, actor, "election.opened", Some(id), json!({"by": by}))?;
    mail::on_transition(conn, outbox, id, MailKind::ElectionOpened)?;
    Ok(true)
}

/// `open → closed` now; fixes the Merkle root over the ballots and rewrites
/// the election's participations and ballots in random order (once this
/// commits, the caller calls [`db::forget_log`] for SQLite's WAL). On
/// PostgreSQL the election row is locked FOR UPDATE, so no cast (which holds
/// it FOR SHARE) commits after this. The close time is read only once that
/// lock is held: casts that committed while the close waited for it carry a
/// `cast_at` before it, and the recorded `closes_at` is never earlier than a
/// counted ballot's receipt.
pub fn close_tx(
    conn: &mut DbConnection,
    id: ElectionId,
    actor: Option<UserId>,
) -> Result<bool, AppError> {
    let row = repo::find_election_for_update(conn, id)?.ok_or(AppError::NotFound)?;
    let now = Time::now();
    if row.state() != ElectionState::Open {
        return Ok(false);
    }
    if actor.is_none() && row.closes_at.is_none_or(|c| c > now) {
        return Ok(false);
    }
    // An early close moves closes_at to now; a timer close keeps the deadline.
    let closes_at = match row.closes_at {
        Some(c) if c <= now => c,
        _ => now,
    };
    if !repo::transition(conn, id, "open", "closed", None, Some(closes_at))? {
        return Ok(false);
    }
    let root = crate::ballots::board::merkle_root_of(conn, id)?;
    repo::set_merkle_root(conn, id, &root)?;
    // Casting is over: rewrite both tables shuffled, so the storage no longer
    // pairs a participation with its ballot (README, trust model).
    crate::ballots::repo::rewrite_shuffled(conn, id)?;
    let by = if actor.is_some() { "admin" } else { "timer" };
    audit::record(
        conn,
        actor,
        "election.closed",
        Some(id),
        json!({"by": by, "merkle_root": root}),
    )?;
    Ok(true)
}

/// Runs an admin's lifecycle step; any other transition is 409.
pub async fn step(
    pool: &DbPool,
    admin: &AuthCheck,
    id: ElectionId,
    step: Step,
    outbox: Option<&Outbox>,
) -> Result<Election, AppError> {
    let (admin, outbox) = (admin.clone(), outbox.cloned());
    db::run(pool, move |c| {
        let actor = admin.check(c)?.id;
        let closing = matches!(step, Step::Close);
        let out = write_tx(c, |c| {
            let now = Time::now();
            let done = match step {
                Step::Open => open_tx(c, id, Some(actor), now, outbox.as_ref())?,
                Step::Close => close_tx(c, id, Some(actor))?,
                Step::Publish => {
                    let ok = repo::transition(c, id, "tallied", "published", None, None)?;
                    if ok {
                        audit::record(c, Some(actor), "election.published", Some(id), json!({}))?;
                        mail::on_transition(c, outbox.as_ref(), id, MailKind::ResultsPublished)?;
                    }
                    ok
                }
            };
            if !done {
                let row = repo::find_election(c, id)?.ok_or(AppError::NotFound)?;
                let action = match step {
                    Step::Open => "opened",
                    Step::Close => "closed",
                    Step::Publish => "published",
                };
                return Err(wrong_state(&row, action));
            }
            load_visible(c, Viewer::Staff, id)
        })?;
        if closing {
            db::forget_log(c);
        }
        Ok(out)
    })
    .await
}

/// One pass of the timer: opens armed drafts and closes open elections that
/// are due. Each transition is its own conditional update, so instances
/// running this at once make each one exactly once.
pub fn run_due(conn: &mut DbConnection, outbox: Option<&Outbox>) -> Result<usize, AppError> {
    let now = Time::now();
    let mut done = 0;
    for (id, state) in repo::due_elections(conn, now)? {
        let made = write_tx(conn, |c| match state.as_str() {
            "draft" => open_tx(c, id, None, now, outbox),
            _ => close_tx(c, id, None),
        });
        match made {
            Ok(true) => {
                if state != "draft" {
                    db::forget_log(conn);
                }
                done += 1
            }
            Ok(false) => {}
            Err(e) => log::warn!("scheduled transition of {id} failed: {e}"),
        }
    }
    Ok(done)
}
