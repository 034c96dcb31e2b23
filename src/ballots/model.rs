//! Ballot and participation rows, and the wire forms of casting.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{ballots, participations};
use crate::db::types::Time;
use crate::elections::{ElectionId, OptionId, QuestionId};
use crate::users::UserId;

crate::uuid_id!(
    /// A ballot's id: random (v4), never time-ordered.
    BallotId
);

/// What was voted; no voter, no session, no time.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ballots)]
pub struct BallotRow {
    pub id: BallotId,
    pub election_id: ElectionId,
    pub tracking_code: String,
    pub ballot_hash: String,
    pub content: String,
    /// 32 hex characters inside `ballot_hash`; secret until the election
    /// closes ('' for a ballot cast before v2, hashed without one).
    pub salt: String,
}

/// The fact that a voter voted.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = participations)]
pub struct ParticipationRow {
    pub election_id: ElectionId,
    pub voter_id: UserId,
    pub cast_at: Time,
    pub idempotency_key_hash: Option<String>,
    pub idempotency_sealed: Option<Vec<u8>>,
}

/// One answer: the selections of one question, first preference first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    pub question_id: QuestionId,
    pub selections: Vec<OptionId>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CastRequest {
    pub answers: Vec<Answer>,
}

/// The server's signed acknowledgement of a ballot.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Receipt {
    pub election_id: ElectionId,
    pub tracking_code: String,
    pub ballot_hash: String,
    pub cast_at: String,
    pub kid: String,
    /// Ed25519 (base64) over the RFC 8785 form of the receipt without
    /// `kid` and `signature`.
    pub signature: String,
}

/// The part of a receipt that is signed.
#[derive(Serialize)]
pub struct SignedReceipt<'a> {
    pub election_id: ElectionId,
    pub tracking_code: &'a str,
    pub ballot_hash: &'a str,
    pub cast_at: &'a str,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CastResponse {
    pub receipt: Receipt,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MyBallot {
    pub has_voted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cast_at: Option<Time>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Turnout {
    /// Voters on the roll, or every user with the voter role.
    pub eligible: i64,
    /// Participation rows.
    pub voted: i64,
    /// Ballot rows; always equal to `voted`.
    pub ballots: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BoardEntry {
    pub tracking_code: String,
    pub ballot_hash: String,
}

/// A page of the bulletin board.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BoardPage {
    pub items: Vec<BoardEntry>,
    pub next_cursor: Option<String>,
    /// From `closed` on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merkle_root: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReceiptCheck {
    pub included: bool,
    pub ballot_hash: String,
    /// From `closed` on: the ballot's salt, so that its owner can recompute
    /// `ballot_hash` from the answers in the export.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leaf_index: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inclusion_proof: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merkle_root: Option<String>,
}

/// One stored ballot as the board, the tally and the exports read it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = crate::db::schema::ballots)]
pub struct StoredBallot {
    pub tracking_code: String,
    pub ballot_hash: String,
    pub content: String,
    pub salt: String,
}
