//! Election rules: who sees what, draft-only editing, the lifecycle's only
//! transitions, voter rolls, and the timer that opens and closes on schedule.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use super::dto::{AddVotersRequest, CreateElectionRequest, ElectionFilter, UpdateElectionRequest};
use super::model::{
    Election, ElectionId, ElectionRow, ElectionState, Eligibility, OptionId, OptionRow, QuestionId,
    QuestionRow, RollRow,
};
use super::repo;
use super::rules::{self, ElectionSpec};
use crate::audit;
use crate::auth::AuthUser;
use crate::db::types::Time;
use crate::db::{self, write_tx, DbConnection};
use crate::error::ApiError;
use crate::http::paging::{Page, PageParams};
use crate::state::AppState;
use crate::users::{repo as users_repo, Role, User, UserId};

/// Entries one roll change may carry.
pub const MAX_ROLL_CHANGE: usize = 10_000;

/// How a caller sees elections.
#[derive(Debug, Clone, Copy)]
pub enum Viewer {
    /// Admins and auditors: every election, with ballot counts.
    Staff,
    /// Voters: non-drafts they are eligible for; counts once published.
    Voter(UserId),
}

impl Viewer {
    pub fn of(user: &AuthUser) -> Result<Self, ApiError> {
        if user.has(Role::Admin) || user.has(Role::Auditor) {
            Ok(Viewer::Staff)
        } else if user.has(Role::Voter) {
            Ok(Viewer::Voter(user.id))
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

/// Whether `viewer` may see this election at all (else 404).
pub fn can_see(
    conn: &mut DbConnection,
    viewer: Viewer,
    row: &ElectionRow,
) -> Result<bool, ApiError> {
    Ok(match viewer {
        Viewer::Staff => true,
        Viewer::Voter(user) => {
            row.state() != ElectionState::Draft
                && (row.eligibility() == Eligibility::AllVoters
                    || repo::is_on_roll(conn, row.id, user)?)
        }
    })
}

/// Loads the wire form of several elections: 2 queries for their questions
/// and options, 1 for their ballot counts.
fn assemble(
    conn: &mut DbConnection,
    rows: Vec<ElectionRow>,
    viewer: Viewer,
) -> Result<Vec<Election>, ApiError> {
    let ids: Vec<ElectionId> = rows.iter().map(|r| r.id).collect();
    let mut questions: HashMap<ElectionId, Vec<QuestionRow>> = HashMap::new();
    for q in repo::questions_of(conn, &ids)? {
        questions.entry(q.election_id).or_default().push(q);
    }
    let mut options: HashMap<ElectionId, Vec<OptionRow>> = HashMap::new();
    for o in repo::options_of(conn, &ids)? {
        options.entry(o.election_id).or_default().push(o);
    }
    let counts: HashMap<ElectionId, i64> = repo::ballot_counts(conn, &ids)?.into_iter().collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let id = row.id;
            let mut e = Election::assemble(
                row,
                questions.remove(&id).unwrap_or_default(),
                options.remove(&id).unwrap_or_default(),
            );
            let show_count = matches!(viewer, Viewer::Staff) || e.state == ElectionState::Published;
            if show_count {
                e.ballot_count = Some(counts.get(&id).copied().unwrap_or(0));
            }
            e
        })
        .collect())
}

/// One election as `viewer` may see it, or 404.
pub fn load_visible(
    conn: &mut DbConnection,
    viewer: Viewer,
    id: ElectionId,
) -> Result<Election, ApiError> {
    let row = repo::find_election(conn, id)?.ok_or(ApiError::NotFound)?;
    if !can_see(conn, viewer, &row)? {
        return Err(ApiError::NotFound);
    }
    assemble(conn, vec![row], viewer)?
        .pop()
        .ok_or(ApiError::NotFound)
}

fn insert_questions(
    conn: &mut DbConnection,
    id: ElectionId,
    spec: &ElectionSpec,
) -> Result<(), ApiError> {
    for (qi, q) in spec.questions.iter().enumerate() {
        let qid = QuestionId::new();
        repo::insert_question(
            conn,
            &QuestionRow {
                id: qid,
                election_id: id,
                position: qi as i32,
                prompt: q.prompt.clone(),
                method: q.method.as_str().to_string(),
                seats: q.seats,
                min_selections: q.min_selections,
                max_selections: q.max_selections,
                allow_blank: q.allow_blank,
            },
        )?;
        for (oi, label) in q.labels.iter().enumerate() {
            repo::insert_option(
                conn,
                &OptionRow {
                    id: OptionId::new(),
                    question_id: qid,
                    election_id: id,
                    position: oi as i32,
                    label: label.clone(),
                },
            )?;
        }
    }
    Ok(())
}

/// Creates a draft.
pub async fn create(
    state: &AppState,
    admin: &AuthUser,
    req: CreateElectionRequest,
) -> Result<Election, ApiError> {
    let spec = rules::validate(&req, Time::now())?;
    let actor = admin.id;
    db::run(&state.pool, move |c| {
        write_tx(c, |c| {
            let id = ElectionId::new();
            repo::insert_election(
                c,
                &ElectionRow {
                    id,
                    title: spec.title.clone(),
                    description: spec.description.clone(),
                    state: ElectionState::Draft.as_str().into(),
                    eligibility: spec.eligibility.as_str().into(),
                    opens_at: spec.opens_at,
                    closes_at: spec.closes_at,
                    scheduled: false,
                    created_at: Time::now(),
                    created_by: actor,
                    merkle_root: None,
                },
            )?;
            insert_questions(c, id, &spec)?;
            audit::record(
                c,
                Some(actor),
                "election.created",
                Some(id),
                json!({"title": spec.title}),
            )?;
            load_visible(c, Viewer::Staff, id)
        })
    })
    .await
}

pub async fn get(state: &AppState, user: &AuthUser, id: ElectionId) -> Result<Election, ApiError> {
    let viewer = Viewer::of(user)?;
    db::run(&state.pool, move |c| load_visible(c, viewer, id)).await
}

pub async fn list(
    state: &AppState,
    user: &AuthUser,
    filter: ElectionFilter,
) -> Result<Page<Election>, ApiError> {
    let viewer = Viewer::of(user)?;
    let page = PageParams {
        limit: filter.limit,
        cursor: filter.cursor,
    };
    let limit = page.limit();
    let after = page.after_as::<ElectionId>()?;
    let state_filter = filter.state.map(|s| s.as_str());
    db::run(&state.pool, move |c| {
        let voter = match viewer {
            Viewer::Voter(u) => Some(u),
            Viewer::Staff => None,
        };
        let rows = repo::list_elections(c, state_filter, voter, after, limit + 1)?;
        let items = assemble(c, rows, viewer)?;
        Ok(Page::from_rows(items, limit, |e: &Election| {
            e.id.to_string()
        }))
    })
    .await
}

fn wrong_state(row: &ElectionRow, action: &str) -> ApiError {
    ApiError::conflict(format!(
        "The election is {}; it cannot be {action}.",
        row.state
    ))
}

/// Edits a draft; `questions` replaces all questions. Disarms a schedule.
pub async fn update(
    state: &AppState,
    admin: &AuthUser,
    id: ElectionId,
    req: UpdateElectionRequest,
) -> Result<Election, ApiError> {
    let actor = admin.id;
    db::run(&state.pool, move |c| {
        write_tx(c, |c| {
            let row = repo::find_election(c, id)?.ok_or(ApiError::NotFound)?;
            if row.state() != ElectionState::Draft {
                return Err(wrong_state(&row, "edited"));
            }
            let current = load_visible(c, Viewer::Staff, id)?;
            // Validate the merged definition as a whole, as if created anew.
            let merged = CreateElectionRequest {
                title: req.title.clone().unwrap_or(current.title),
                description: req.description.clone().unwrap_or(current.description),
                eligibility: req.eligibility.unwrap_or(current.eligibility),
                opens_at: req.opens_at.unwrap_or(current.opens_at),
                closes_at: req.closes_at.unwrap_or(current.closes_at),
                questions: req.questions.clone().unwrap_or_else(|| {
                    current
                        .questions
                        .iter()
                        .map(|q| super::dto::QuestionInput {
                            prompt: q.prompt.clone(),
                            method: q.method,
                            seats: Some(q.seats),
                            min_selections: Some(q.min_selections),
                            max_selections: Some(q.max_selections),
                            allow_blank: Some(q.allow_blank),
                            options: q
                                .options
                                .iter()
                                .map(|o| super::dto::OptionInput {
                                    label: o.label.clone(),
                                })
                                .collect(),
                        })
                        .collect()
                }),
            };
            let spec = rules::validate(&merged, Time::now())?;
            repo::update_election(
                c,
                &ElectionRow {
                    title: spec.title.clone(),
                    description: spec.description.clone(),
                    eligibility: spec.eligibility.as_str().into(),
                    opens_at: spec.opens_at,
                    closes_at: spec.closes_at,
                    scheduled: false,
                    ..row
                },
            )?;
            if req.questions.is_some() {
                repo::delete_questions(c, id)?;
                insert_questions(c, id, &spec)?;
            }
            audit::record(
                c,
                Some(actor),
                "election.updated",
                Some(id),
                json!({"questions_replaced": req.questions.is_some()}),
            )?;
            load_visible(c, Viewer::Staff, id)
        })
    })
    .await
}

/// Deletes a draft.
pub async fn delete(state: &AppState, admin: &AuthUser, id: ElectionId) -> Result<(), ApiError> {
    let actor = admin.id;
    db::run(&state.pool, move |c| {
        write_tx(c, |c| {
            let row = repo::find_election(c, id)?.ok_or(ApiError::NotFound)?;
            if row.state() != ElectionState::Draft || repo::delete_election(c, id)? != 1 {
                return Err(wrong_state(&row, "deleted"));
            }
            audit::record(
                c,
                Some(actor),
                "election.deleted",
                Some(id),
                json!({"title": row.title}),
            )?;
            Ok(())
        })
    })
    .await
}

/// Arms a draft whose `opens_at` is in the future to open by itself.
pub async fn schedule(
    state: &AppState,
    admin: &AuthUser,
    id: ElectionId,
) -> Result<Election, ApiError> {
    let actor = admin.id;
    db::run(&state.pool, move |c| {
        write_tx(c, |c| {
            let row = repo::find_election(c, id)?.ok_or(ApiError::NotFound)?;
            if row.state() != ElectionState::Draft {
                return Err(wrong_state(&row, "scheduled"));
            }
            match row.opens_at {
                Some(o) if o > Time::now() => {}
                _ => {
                    return Err(ApiError::conflict(
                        "Only a draft with opens_at in the future can be scheduled.",
                    ))
                }
            }
            repo::update_election(
                c,
                &ElectionRow {
                    scheduled: true,
                    ..row.clone()
                },
            )?;
            audit::record(
                c,
                Some(actor),
                "election.scheduled",
                Some(id),
                json!({"opens_at": row.opens_at}),
            )?;
            load_visible(c, Viewer::Staff, id)
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
) -> Result<bool, ApiError> {
    let row = repo::find_election(conn, id)?.ok_or(ApiError::NotFound)?;
    if row.state() != ElectionState::Draft {
        return Ok(false);
    }
    if actor.is_none() && !(row.scheduled && row.opens_at.is_some_and(|o| o <= now)) {
        return Ok(false);
    }
    if row.closes_at.is_some_and(|c| c <= now) {
        return Err(ApiError::conflict(
            "closes_at has passed; edit the draft before opening it.",
        ));
    }
    if !repo::transition(conn, id, "draft", "open", Some(now), None)? {
        return Ok(false);
    }
    let by = if actor.is_some() { "admin" } else { "timer" };
    audit::record(conn, actor, "election.opened", Some(id), json!({"by": by}))?;
    Ok(true)
}

/// `open → closed` now; fixes the Merkle root over the ballots. On
/// PostgreSQL the election row is locked FOR UPDATE, so no cast (which holds
/// it FOR SHARE) commits after this. The close time is read only once that
/// lock is held: casts that committed while the close waited for it carry a
/// `cast_at` before it, and the recorded `closes_at` is never earlier than a
/// counted ballot's receipt.
pub fn close_tx(
    conn: &mut DbConnection,
    id: ElectionId,
    actor: Option<UserId>,
) -> Result<bool, ApiError> {
    let row = repo::find_election_for_update(conn, id)?.ok_or(ApiError::NotFound)?;
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
    state: &AppState,
    admin: &AuthUser,
    id: ElectionId,
    step: Step,
) -> Result<Election, ApiError> {
    let actor = admin.id;
    db::run(&state.pool, move |c| {
        write_tx(c, |c| {
            let now = Time::now();
            let done = match step {
                Step::Open => open_tx(c, id, Some(actor), now)?,
                Step::Close => close_tx(c, id, Some(actor))?,
                Step::Publish => {
                    let ok = repo::transition(c, id, "tallied", "published", None, None)?;
                    if ok {
                        audit::record(c, Some(actor), "election.published", Some(id), json!({}))?;
                    }
                    ok
                }
            };
            if !done {
                let row = repo::find_election(c, id)?.ok_or(ApiError::NotFound)?;
                let action = match step {
                    Step::Open => "opened",
                    Step::Close => "closed",
                    Step::Publish => "published",
                };
                return Err(wrong_state(&row, action));
            }
            load_visible(c, Viewer::Staff, id)
        })
    })
    .await
}

/// One pass of the timer: opens armed drafts and closes open elections that
/// are due. Each transition is its own conditional update, so instances
/// running this at once make each one exactly once.
pub fn run_due(conn: &mut DbConnection) -> Result<usize, ApiError> {
    let now = Time::now();
    let mut done = 0;
    for (id, state) in repo::due_elections(conn, now)? {
        let made = write_tx(conn, |c| match state.as_str() {
            "draft" => open_tx(c, id, None, now),
            _ => close_tx(c, id, None),
        });
        match made {
            Ok(true) => done += 1,
            Ok(false) => {}
            Err(e) => log::warn!("scheduled transition of {id} failed: {e}"),
        }
    }
    Ok(done)
}

/// The report of a roll change.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RollReport {
    /// How many were added.
    pub added: usize,
    /// How many were on the roll already.
    pub already: usize,
    /// Ids or emails that match no user.
    pub unknown: Vec<String>,
    /// Ids or emails of users without the voter role (not added).
    pub not_voters: Vec<String>,
}

/// Adds voters to a roll (draft or open), by ids or emails, in one transaction.
pub async fn add_voters(
    state: &AppState,
    admin: &AuthUser,
    id: ElectionId,
    req: AddVotersRequest,
) -> Result<RollReport, ApiError> {
    let by_email = match (&req.user_ids, &req.emails) {
        (Some(_), None) => false,
        (None, Some(_)) => true,
        _ => {
            return Err(ApiError::invalid(
                "user_ids",
                "give exactly one of user_ids or emails",
            ))
        }
    };
    let n = req.user_ids.as_ref().map_or(0, Vec::len) + req.emails.as_ref().map_or(0, Vec::len);
    if n > MAX_ROLL_CHANGE {
        return Err(ApiError::invalid(
            if by_email { "emails" } else { "user_ids" },
            "at most 10,000 per request",
        ));
    }
    let actor = admin.id;
    db::run(&state.pool, move |c| {
        write_tx(c, |c| {
            let row = repo::find_election(c, id)?.ok_or(ApiError::NotFound)?;
            if !matches!(row.state(), ElectionState::Draft | ElectionState::Open) {
                return Err(wrong_state(&row, "given new voters"));
            }
            let mut report = RollReport {
                added: 0,
                already: 0,
                unknown: Vec::new(),
                not_voters: Vec::new(),
            };
            // (as given, resolved id)
            let mut resolved: Vec<(String, UserId)> = Vec::new();
            if by_email {
                for email in req.emails.iter().flatten() {
                    let norm = crate::users::model::normalize_email(email);
                    match users_repo::find_by_email(c, &norm)? {
                        Some(u) => resolved.push((email.clone(), u.id)),
                        None => report.unknown.push(email.clone()),
                    }
                }
            } else {
                for uid in req.user_ids.iter().flatten() {
                    match users_repo::find_by_id(c, *uid)? {
                        Some(u) => resolved.push((uid.to_string(), u.id)),
                        None => report.unknown.push(uid.to_string()),
                    }
                }
            }
            let ids: Vec<UserId> = resolved.iter().map(|r| r.1).collect();
            let voters: HashSet<UserId> = repo::voters_among(c, &ids)?.into_iter().collect();
            let mut present: HashSet<UserId> =
                repo::on_roll_among(c, id, &ids)?.into_iter().collect();
            let now = Time::now();
            let mut added_ids = Vec::new();
            for (given, uid) in resolved {
                if !voters.contains(&uid) {
                    report.not_voters.push(given);
                } else if !present.insert(uid) {
                    report.already += 1;
                } else {
                    repo::insert_roll(
                        c,
                        &RollRow {
                            election_id: id,
                            user_id: uid,
                            added_at: now,
                        },
                    )?;
                    added_ids.push(uid);
                    report.added += 1;
                }
            }
            if report.added > 0 {
                audit::record(
                    c,
                    Some(actor),
                    "roll.added",
                    Some(id),
                    json!({"user_ids": added_ids}),
                )?;
            }
            Ok(report)
        })
    })
    .await
}

/// Removes a voter from a draft's roll.
pub async fn remove_voter(
    state: &AppState,
    admin: &AuthUser,
    id: ElectionId,
    user: UserId,
) -> Result<(), ApiError> {
    let actor = admin.id;
    db::run(&state.pool, move |c| {
        write_tx(c, |c| {
            let row = repo::find_election(c, id)?.ok_or(ApiError::NotFound)?;
            if row.state() != ElectionState::Draft {
                return Err(wrong_state(
                    &row,
                    "changed (voters leave a roll only in draft)",
                ));
            }
            if repo::delete_roll(c, id, user)? == 0 {
                return Err(ApiError::NotFound);
            }
            audit::record(
                c,
                Some(actor),
                "roll.removed",
                Some(id),
                json!({"user_id": user}),
            )?;
            Ok(())
        })
    })
    .await
}

/// A voter on the roll, with whether they voted (never what).
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RollEntry {
    #[serde(flatten)]
    pub user: User,
    pub has_voted: bool,
}

/// Lists the roll with cursor paging.
pub async fn list_roll(
    state: &AppState,
    id: ElectionId,
    page: PageParams,
) -> Result<Page<RollEntry>, ApiError> {
    let limit = page.limit();
    let after = page.after_as::<UserId>()?;
    db::run(&state.pool, move |c| {
        repo::find_election(c, id)?.ok_or(ApiError::NotFound)?;
        let rows = repo::list_roll(c, id, after, limit + 1)?;
        let ids: Vec<UserId> = rows.iter().map(|r| r.0).collect();
        let mut users: HashMap<UserId, User> = crate::users::service::load_users(c, &ids)?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        let items = rows
            .into_iter()
            .filter_map(|(uid, has_voted)| {
                users.remove(&uid).map(|user| RollEntry { user, has_voted })
            })
            .collect();
        Ok(Page::from_rows(items, limit, |e: &RollEntry| {
            e.user.id.to_string()
        }))
    })
    .await
}
