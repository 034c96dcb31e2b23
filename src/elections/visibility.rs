//! Who sees which election, and the wire form they see: staff every
//! election with ballot counts, voters the non-drafts they may vote in, with
//! counts once published. Used by every feature that shows an election.

use std::collections::HashMap;

use super::model::{
    Election, ElectionId, ElectionRow, ElectionState, Eligibility, OptionRow, QuestionRow,
};
use super::repo;
use crate::auth::AuthUser;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::users::{Role, UserId};

/// How a caller sees elections.
#[derive(Debug, Clone, Copy)]
pub enum Viewer {
    /// Admins and auditors: every election, with ballot counts.
    Staff,
    /// Voters: non-drafts they are eligible for; counts once published.
    Voter(UserId),
}

impl Viewer {
    pub fn of(user: &AuthUser) -> Result<Self, AppError> {
        if user.has(Role::Admin) || user.has(Role::Auditor) {
            Ok(Viewer::Staff)
        } else if user.has(Role::Voter) {
            Ok(Viewer::Voter(user.id))
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// Whether `viewer` may see this election at all (else 404).
pub fn can_see(
    conn: &mut DbConnection,
    viewer: Viewer,
    row: &ElectionRow,
) -> Result<bool, AppError> {
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
pub fn assemble(
    conn: &mut DbConnection,
    rows: Vec<ElectionRow>,
    viewer: Viewer,
) -> Result<Vec<Election>, AppError> {
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
) -> Result<Election, AppError> {
    let row = repo::find_election(conn, id)?.ok_or(AppError::NotFound)?;
    if !can_see(conn, viewer, &row)? {
        return Err(AppError::NotFound);
    }
    assemble(conn, vec![row], viewer)?
        .pop()
        .ok_or(AppError::NotFound)
}
