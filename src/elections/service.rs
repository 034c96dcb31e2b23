//! Drafting elections: create, read, list, edit and delete (edits and
//! deletion only in draft).

use serde_json::json;

use super::dto::{CreateElectionRequest, ElectionFilter, UpdateElectionRequest};
use super::lifecycle::{wrong_state, Change};
use super::model::{Election, ElectionId, ElectionRow, ElectionState};
use super::repo;
use super::rules::{self, ElectionSpec};
use super::visibility::{assemble, load_visible, Viewer};
use crate::audit;
use crate::auth::AuthCheck;
use crate::db::types::Time;
use crate::db::{self, write_tx, DbConnection, DbPool};
use crate::error::{AppError, Input};
use crate::paging::{Page, PageParams};

fn insert_questions(
    conn: &mut DbConnection,
    id: ElectionId,
    spec: &ElectionSpec,
) -> Result<(), AppError> {
    for (position, q) in spec.questions.iter().enumerate() {
        repo::insert_question(conn, &q.row(id, position))?;
        for option in q.option_rows(id) {
            repo::insert_option(conn, &option)?;
        }
    }
    Ok(())
}

/// Creates a draft.
pub async fn create(
    pool: &DbPool,
    admin: &AuthCheck,
    req: Input<CreateElectionRequest>,
) -> Result<Election, AppError> {
    let admin = admin.clone();
    db::run(pool, move |c| {
        let actor = admin.check(c)?.id;
        let req = req.open()?;
        let spec = rules::validate(&req, Time::now())?;
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

pub async fn get(pool: &DbPool, user: &AuthCheck, id: ElectionId) -> Result<Election, AppError> {
    let user = user.clone();
    db::run(pool, move |c| {
        let viewer = Viewer::of(&user.check(c)?)?;
        load_visible(c, viewer, id)
    })
    .await
}

pub async fn list(
    pool: &DbPool,
    user: &AuthCheck,
    filter: ElectionFilter,
) -> Result<Page<Election>, AppError> {
    let page = PageParams {
        limit: filter.limit,
        cursor: filter.cursor,
    };
    let limit = page.limit();
    let after = page.after_as::<ElectionId>()?;
    let state_filter = filter.state.map(|s| s.as_str());
    let user = user.clone();
    db::run(pool, move |c| {
        let viewer = Viewer::of(&user.check(c)?)?;
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

/// Edits a draft; `questions` replaces all questions. Disarms a schedule.
pub async fn update(
    pool: &DbPool,
    admin: &AuthCheck,
    id: ElectionId,
    req: Input<UpdateElectionRequest>,
) -> Result<Election, AppError> {
    let admin = admin.clone();
    db::run(pool, move |c| {
        let actor = admin.check(c)?.id;
        let req = req.open()?;
        let change = Change {
            id,
            actor,
            allowed: &[ElectionState::Draft],
            action: "edited",
            event: "election.updated",
        };
        change.apply_and_reload(c, |c, row| {
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
                    ..row.clone()
                },
            )?;
            if req.questions.is_some() {
                repo::delete_questions(c, id)?;
                insert_questions(c, id, &spec)?;
            }
            Ok(json!({"questions_replaced": req.questions.is_some()}))
        })
    })
    .await
}

/// Deletes a draft.
pub async fn delete(pool: &DbPool, admin: &AuthCheck, id: ElectionId) -> Result<(), AppError> {
    let admin = admin.clone();
    db::run(pool, move |c| {
        let change = Change {
            id,
            actor: admin.check(c)?.id,
            allowed: &[ElectionState::Draft],
            action: "deleted",
            event: "election.deleted",
        };
        change.apply(c, |c, row| {
            // Conditional on the state, should the row have changed meanwhile.
            if repo::delete_election(c, id)? != 1 {
                return Err(wrong_state(row, "deleted"));
            }
            Ok(((), Some(json!({"title": row.title}))))
        })
    })
    .await
}
