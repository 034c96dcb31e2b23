//! The results row, and the results document as stored, signed and served.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::crypto::canonical_json;
use crate::db::schema::results;
use crate::db::types::Time;
use crate::elections::{ElectionId, Method, QuestionId};

/// The one results row of a tallied election.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = results)]
pub struct ResultsRow {
    pub election_id: ElectionId,
    /// RFC 8785 canonical JSON of the document without `signature`: the
    /// signed bytes.
    pub document: String,
    pub merkle_root: String,
    pub signature: String,
    pub kid: String,
    pub computed_at: Time,
}

/// The signature over the canonical JSON of the document without it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ResultsSignature {
    /// The signing key's id, as listed by `GET /api/v1/keys`.
    pub kid: String,
    /// Always `EdDSA` (Ed25519).
    pub alg: String,
    /// The Ed25519 signature, base64.
    pub value: String,
}

/// One question's count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QuestionResult {
    pub question_id: QuestionId,
    #[schema(value_type = String, example = "irv")]
    pub method: Method,
    pub seats: u32,
    /// Option ids, in order of election (best first for non-IRV/STV methods).
    pub winners: Vec<String>,
    /// The method's tally (see API.md): `counts`, `points`, `quota` and
    /// `rounds`, or `pairwise`, `strongest_paths` and `ranking`; always
    /// `total`, `blank` and `ties`.
    #[schema(value_type = Object)]
    pub tally: serde_json::Value,
    /// IRV/STV rounds (the same as `tally.rounds`); empty otherwise.
    #[schema(value_type = Vec<Object>)]
    pub rounds: Vec<serde_json::Value>,
}

/// The results of an election. Ties are broken by lot seeded with the
/// Merkle root's bytes, so anyone recounting the export gets the same
/// winners.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResultsDocument {
    pub election_id: ElectionId,
    /// Ballots counted: every ballot on the board.
    pub ballot_count: u64,
    /// The RFC 6962 root over the ballots (hex), fixed at close; also the
    /// tie-break seed.
    pub merkle_root: String,
    /// SHA-256 (hex) of the RFC 8785 form of the election definition (id,
    /// title, description, questions with their ids, prompts, methods,
    /// seats, selection limits and options): the results are signed over
    /// what was asked, so a relabelled option is caught.
    pub election_digest: String,
    /// When the tally ran (RFC 3339, UTC).
    pub computed_at: String,
    /// In question position order.
    pub questions: Vec<QuestionResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<ResultsSignature>,
}

impl ResultsDocument {
    /// The signed bytes: RFC 8785 canonical JSON without `signature`.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.remove("signature");
        }
        canonical_json(&value)
    }
}

/// The signed bytes of any results JSON (as found in an export): its
/// canonical form without `"signature"`.
pub fn signed_bytes_of(results: &serde_json::Value) -> Vec<u8> {
    let mut value = results.clone();
    if let Some(map) = value.as_object_mut() {
        map.remove("signature");
    }
    canonical_json(&value)
}
