//! Election, question, option and roll rows, and the election's wire form.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{election_voters, elections, options, questions};
use crate::db::types::Time;
use crate::users::UserId;

pub use crate::tally::Method;

crate::uuid_id!(
    /// An election's id.
    ElectionId
);
crate::uuid_id!(
    /// A question's id.
    QuestionId
);
crate::uuid_id!(
    /// An option's id.
    OptionId
);

/// The lifecycle: `draft → open → closed → tallied → published`, nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ElectionState {
    Draft,
    Open,
    Closed,
    Tallied,
    Published,
}

impl ElectionState {
    pub const ALL: [ElectionState; 5] = [
        ElectionState::Draft,
        ElectionState::Open,
        ElectionState::Closed,
        ElectionState::Tallied,
        ElectionState::Published,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ElectionState::Draft => "draft",
            ElectionState::Open => "open",
            ElectionState::Closed => "closed",
            ElectionState::Tallied => "tallied",
            ElectionState::Published => "published",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Who may vote: the election's roll, or every user with the voter role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Eligibility {
    Roll,
    AllVoters,
}

impl Eligibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Eligibility::Roll => "roll",
            Eligibility::AllVoters => "all_voters",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Eligibility::Roll, Eligibility::AllVoters]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Identifiable)]
#[diesel(table_name = elections)]
pub struct ElectionRow {
    pub id: ElectionId,
    pub title: String,
    pub description: String,
    pub state: String,
    pub eligibility: String,
    pub opens_at: Option<Time>,
    pub closes_at: Option<Time>,
    pub scheduled: bool,
    pub created_at: Time,
    pub created_by: UserId,
    pub merkle_root: Option<String>,
}

impl ElectionRow {
    pub fn state(&self) -> ElectionState {
        ElectionState::parse(&self.state).unwrap_or(ElectionState::Draft)
    }
    pub fn eligibility(&self) -> Eligibility {
        Eligibility::parse(&self.eligibility).unwrap_or(Eligibility::Roll)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = questions)]
pub struct QuestionRow {
    pub id: QuestionId,
    pub election_id: ElectionId,
    pub position: i32,
    pub prompt: String,
    pub method: String,
    pub seats: i32,
    pub min_selections: i32,
    pub max_selections: i32,
    pub allow_blank: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = options)]
pub struct OptionRow {
    pub id: OptionId,
    pub question_id: QuestionId,
    pub election_id: ElectionId,
    pub position: i32,
    pub label: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = election_voters)]
pub struct RollRow {
    pub election_id: ElectionId,
    pub user_id: UserId,
    pub added_at: Time,
}

/// An option on the wire.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct BallotOption {
    pub id: OptionId,
    pub label: String,
    pub position: i32,
}

/// A question on the wire.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Question {
    pub id: QuestionId,
    pub prompt: String,
    #[schema(value_type = String, example = "irv")]
    pub method: Method,
    pub seats: i32,
    pub min_selections: i32,
    pub max_selections: i32,
    pub allow_blank: bool,
    pub options: Vec<BallotOption>,
}

/// The `election` object of the API.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Election {
    pub id: ElectionId,
    pub title: String,
    pub description: String,
    pub state: ElectionState,
    pub eligibility: Eligibility,
    pub opens_at: Option<Time>,
    pub closes_at: Option<Time>,
    /// True once `POST .../schedule` armed the opening timer.
    pub scheduled: bool,
    pub created_at: Time,
    pub created_by: UserId,
    pub questions: Vec<Question>,
    /// Admins and auditors; voters once results are published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ballot_count: Option<i64>,
    /// The RFC 6962 root over all ballots, from `closed` on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merkle_root: Option<String>,
}

impl Election {
    /// Assembles the wire form; questions and options sorted by position.
    pub fn assemble(
        row: ElectionRow,
        questions: Vec<QuestionRow>,
        options: Vec<OptionRow>,
    ) -> Self {
        let mut qs: Vec<Question> = questions
            .into_iter()
            .map(|q| Question {
                id: q.id,
                prompt: q.prompt,
                method: q.method.parse().unwrap_or(Method::Plurality),
                seats: q.seats,
                min_selections: q.min_selections,
                max_selections: q.max_selections,
                allow_blank: q.allow_blank,
                options: Vec::new(),
            })
            .collect();
        let positions: Vec<(QuestionId, usize)> =
            qs.iter().enumerate().map(|(i, q)| (q.id, i)).collect();
        for o in options {
            if let Some((_, i)) = positions.iter().find(|(id, _)| *id == o.question_id) {
                qs[*i].options.push(BallotOption {
                    id: o.id,
                    label: o.label,
                    position: o.position,
                });
            }
        }
        for q in &mut qs {
            q.options.sort_by_key(|o| o.position);
        }
        Self {
            state: row.state(),
            eligibility: row.eligibility(),
            id: row.id,
            title: row.title,
            description: row.description,
            opens_at: row.opens_at,
            closes_at: row.closes_at,
            scheduled: row.scheduled,
            created_at: row.created_at,
            created_by: row.created_by,
            questions: qs,
            ballot_count: None,
            merkle_root: row.merkle_root,
        }
    }
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

/// A voter on the roll, with whether they voted (never what).
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RollEntry {
    #[serde(flatten)]
    pub user: crate::users::User,
    pub has_voted: bool,
}
