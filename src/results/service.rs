//! Tallying a closed election, reading its results, and preparing exports.

use serde_json::json;

use super::count::Counter;
use super::dto::{ExportFormat, ExportParams};
use super::export::{self, Export};
use super::integrity;
use super::model::{ResultsDocument, ResultsRow, ResultsSignature};
use super::repo;
use crate::audit;
use crate::auth::AuthUser;
use crate::ballots::definition;
use crate::crypto::sha256_hex;
use crate::db::types::Time;
use crate::db::{self, write_tx, DbConnection};
use crate::elections::model::Election;
use crate::elections::service::{can_see, load_visible, Viewer};
use crate::elections::{repo as elections_repo, ElectionId, ElectionRow, ElectionState, Method};
use crate::error::ApiError;
use crate::state::AppState;

fn wrong_state(row: &ElectionRow, action: &str) -> ApiError {
    ApiError::conflict(format!(
        "The election is {}; it cannot be {action}.",
        row.state
    ))
}

/// `closed → tallied`: checks the stored ballots against their hashes and
/// the Merkle root fixed at close (refusing with `integrity.failed` on any
/// mismatch), counts every question and stores one signed results
/// document. The ballots are streamed once, in tracking-code order, before
/// the write transaction (a closed election's ballots cannot change); the
/// transition, the results row and the `election.tallied` event then
/// commit together. A concurrent
/// second tally loses the conditional transition and gets 409.
pub async fn tally(
    state: &AppState,
    admin: &AuthUser,
    id: ElectionId,
) -> Result<Election, ApiError> {
    let actor = admin.id;
    let signer = state.keys.signer.clone();
    db::run(&state.pool, move |c| {
        let row = elections_repo::find_election(c, id)?.ok_or(ApiError::NotFound)?;
        if row.state() != ElectionState::Closed {
            return Err(wrong_state(&row, "tallied"));
        }
        let root = row
            .merkle_root
            .clone()
            .ok_or_else(|| ApiError::internal("a closed election without a Merkle root"))?;
        let seed = hex::decode(&root).map_err(ApiError::internal)?;
        let def = definition::load(c, id)?;
        let mut counter = Counter::new(&def);
        if let Err(failure) = integrity::check_and_count(c, id, &def, &root, &mut counter)? {
            log::error!("election {id}: {}", failure.describe());
            write_tx(c, |c| {
                audit::record(
                    c,
                    Some(actor),
                    "integrity.failed",
                    Some(id),
                    failure.details(),
                )
            })?;
            return Err(ApiError::Integrity(failure.describe()));
        }
        let election_digest = integrity::election_digest(&load_visible(c, Viewer::Staff, id)?);
        let ballot_count = counter.ballots();
        let questions = counter.finish(&seed).map_err(ApiError::internal)?;
        let computed_at = Time::now();
        let doc = ResultsDocument {
            election_id: id,
            ballot_count,
            merkle_root: root.clone(),
            election_digest,
            computed_at: computed_at.to_rfc3339(),
            questions,
            signature: None,
        };
        let signed = doc.signed_bytes();
        let signature = signer.sign_b64(&signed);
        let document = String::from_utf8(signed).map_err(ApiError::internal)?;
        write_tx(c, |c| {
            if !elections_repo::transition(c, id, "closed", "tallied", None, None)? {
                let row = elections_repo::find_election(c, id)?.ok_or(ApiError::NotFound)?;
                return Err(wrong_state(&row, "tallied"));
            }
            audit::record(
                c,
                Some(actor),
                "election.tallied",
                Some(id),
                json!({
                    "ballot_count": ballot_count,
                    "merkle_root": root,
                    "results_sha256": sha256_hex(document.as_bytes()),
                    "kid": signer.kid,
                }),
            )?;
            repo::insert_results(
                c,
                &ResultsRow {
                    election_id: id,
                    document,
                    merkle_root: root.clone(),
                    signature,
                    kid: signer.kid.clone(),
                    computed_at,
                },
            )?;
            load_visible(c, Viewer::Staff, id)
        })
    })
    .await
}

/// The served results: the stored signed document plus its signature.
pub fn results_json(row: &ResultsRow) -> Result<serde_json::Value, ApiError> {
    let mut value: serde_json::Value =
        serde_json::from_str(&row.document).map_err(ApiError::internal)?;
    let signature = ResultsSignature {
        kid: row.kid.clone(),
        alg: "EdDSA".into(),
        value: row.signature.clone(),
    };
    let map = value
        .as_object_mut()
        .ok_or_else(|| ApiError::internal("stored results are not an object"))?;
    map.insert(
        "signature".into(),
        serde_json::to_value(signature).map_err(ApiError::internal)?,
    );
    Ok(value)
}

/// Records that a member of staff read something (never for voters).
fn record_read(
    c: &mut DbConnection,
    reader: &AuthUser,
    action: &str,
    id: ElectionId,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    write_tx(c, |c| {
        audit::record(c, Some(reader.id), action, Some(id), details).map(|_| ())
    })
}

/// The results: admins and auditors once tallied (409 before; each read is
/// an audit event), eligible voters once published (404 before).
pub async fn get(
    state: &AppState,
    user: &AuthUser,
    id: ElectionId,
) -> Result<serde_json::Value, ApiError> {
    let viewer = Viewer::of(user)?;
    let reader = user.clone();
    db::run(&state.pool, move |c| {
        let row = elections_repo::find_election(c, id)?.ok_or(ApiError::NotFound)?;
        if !can_see(c, viewer, &row)? {
            return Err(ApiError::NotFound);
        }
        match viewer {
            Viewer::Voter(_) if row.state() != ElectionState::Published => {
                return Err(ApiError::NotFound)
            }
            Viewer::Staff
                if !matches!(
                    row.state(),
                    ElectionState::Tallied | ElectionState::Published
                ) =>
            {
                return Err(ApiError::conflict(format!(
                    "The election is {}; results exist once it is tallied.",
                    row.state
                )))
            }
            _ => {}
        }
        let results = repo::find_results(c, id)?
            .ok_or_else(|| ApiError::internal("a tallied election without results"))?;
        let body = results_json(&results)?;
        if matches!(viewer, Viewer::Staff) {
            record_read(c, &reader, "results.read", id, json!({}))?;
        }
        Ok(body)
    })
    .await
}

/// Checks an export request and records it (`export.downloaded`), then
/// starts streaming it from the blocking pool.
pub async fn export(
    state: &AppState,
    staff: &AuthUser,
    id: ElectionId,
    params: ExportParams,
) -> Result<Export, ApiError> {
    let format = params.format.unwrap_or_default();
    match (format, params.question) {
        (ExportFormat::Blt, None) => {
            return Err(ApiError::invalid(
                "question",
                "is required with format=blt (one ranked question per BLT file)",
            ))
        }
        (ExportFormat::Json | ExportFormat::Csv, Some(_)) => {
            return Err(ApiError::invalid(
                "question",
                "applies to format=blt only; json and csv hold every question",
            ))
        }
        _ => {}
    }
    let reader = staff.clone();
    let signer = state.keys.signer.clone();
    let public_key = json!({
        "kid": state.keys.signer.kid,
        "alg": "EdDSA",
        "public_key": state.keys.signer.public_key_b64(),
    });
    let job = db::run(&state.pool, move |c| {
        let row = elections_repo::find_election(c, id)?.ok_or(ApiError::NotFound)?;
        if matches!(row.state(), ElectionState::Draft | ElectionState::Open) {
            return Err(ApiError::conflict(format!(
                "The election is {}; exports exist once it is closed.",
                row.state
            )));
        }
        let election = load_visible(c, Viewer::Staff, id)?;
        let def = definition::load(c, id)?;
        let question = match params.question {
            None => None,
            Some(qid) => {
                let qi = def
                    .questions
                    .iter()
                    .position(|q| q.id == qid)
                    .ok_or_else(|| {
                        ApiError::invalid("question", "is not a question of this election")
                    })?;
                let method = def.questions[qi].method;
                if matches!(method, Method::Plurality | Method::Approval) {
                    return Err(ApiError::invalid(
                        "question",
                        format!(
                            "is counted by {method}: BLT holds rankings (borda, irv, stv, schulze)"
                        ),
                    ));
                }
                Some(qi)
            }
        };
        let results = repo::find_results(c, id)?
            .map(|r| results_json(&r))
            .transpose()?;
        let mut details = json!({ "format": format.as_str() });
        if let Some(qid) = params.question {
            details["question_id"] = json!(qid);
        }
        // The export's checkpoint is fixed at its own event, in the same
        // transaction, so it covers exactly the events exported.
        let checkpoint = write_tx(c, |c| {
            audit::record(c, Some(reader.id), "export.downloaded", Some(id), details)?;
            audit::checkpoint::checkpoint_head(c, &signer)?
                .ok_or_else(|| ApiError::internal("no checkpoint after an append"))
        })?;
        Ok(export::Job {
            format,
            election,
            def,
            question,
            results,
            public_key,
            checkpoint,
        })
    })
    .await?;
    Ok(export::start(state.pool.clone(), job))
}
