//! Tallying a closed election, reading its results, and preparing exports.

use serde_json::json;

use super::count::Counter;
use super::dto::{ExportFormat, ExportParams};
use super::export::{self, Export};
use super::integrity;
use super::model::{ResultsDocument, ResultsRow, ResultsSignature};
use super::repo;
use crate::audit;
use crate::auth::{AuthCheck, AuthUser};
use crate::crypto::{sha256_hex, Signer};
use crate::db::types::Time;
use crate::db::{self, write_tx, DbConnection, DbPool};
use crate::elections::definition;
use crate::elections::lifecycle::wrong_state;
use crate::elections::model::Election;
use crate::elections::visibility::{can_see, load_visible, Viewer};
use crate::elections::{repo as elections_repo, ElectionId, ElectionState, Method};
use crate::error::AppError;

/// `closed → tallied`: checks the stored ballots against their hashes and
/// the Merkle root fixed at close (refusing with `integrity.failed` on any
/// mismatch), counts every question and stores one signed results
/// document. The ballots are streamed once, in tracking-code order, before
/// the write transaction (a closed election's ballots cannot change); the
/// transition, the results row and the `election.tallied` event then
/// commit together. A concurrent
/// second tally loses the conditional transition and gets 409.
pub async fn tally(
    pool: &DbPool,
    signer: &Signer,
    admin: &AuthCheck,
    id: ElectionId,
) -> Result<Election, AppError> {
    let admin = admin.clone();
    let signer = signer.clone();
    db::run(pool, move |c| {
        let actor = admin.check(c)?.id;
        let row = elections_repo::find_election(c, id)?.ok_or(AppError::NotFound)?;
        if row.state() != ElectionState::Closed {
            return Err(wrong_state(&row, "tallied"));
        }
        let root = row
            .merkle_root
            .clone()
            .ok_or_else(|| AppError::internal("a closed election without a Merkle root"))?;
        let seed = hex::decode(&root).map_err(AppError::internal)?;
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
            return Err(AppError::Integrity(failure.describe()));
        }
        let election_digest = integrity::election_digest(&load_visible(c, Viewer::Staff, id)?);
        let ballot_count = counter.ballots();
        let questions = counter.finish(&seed).map_err(AppError::internal)?;
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
        let document = String::from_utf8(signed).map_err(AppError::internal)?;
        write_tx(c, |c| {
            if !elections_repo::transition(c, id, "closed", "tallied", None, None)? {
                let row = elections_repo::find_election(c, id)?.ok_or(AppError::NotFound)?;
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
pub fn results_json(row: &ResultsRow) -> Result<serde_json::Value, AppError> {
    let mut value: serde_json::Value =
        serde_json::from_str(&row.document).map_err(AppError::internal)?;
    let signature = ResultsSignature {
        kid: row.kid.clone(),
        alg: "EdDSA".into(),
        value: row.signature.clone(),
    };
    let map = value
        .as_object_mut()
        .ok_or_else(|| AppError::internal("stored results are not an object"))?;
    map.insert(
        "signature".into(),
        serde_json::to_value(signature).map_err(AppError::internal)?,
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
) -> Result<(), AppError> {
    write_tx(c, |c| {
        audit::record(c, Some(reader.id), action, Some(id), details).map(|_| ())
    })
}

/// The results: admins and auditors once tallied (409 before; each read is
/// an audit event), eligible voters once published (404 before).
pub async fn get(
    pool: &DbPool,
    user: &AuthCheck,
    id: ElectionId,
) -> Result<serde_json::Value, AppError> {
    let user = user.clone();
    db::run(pool, move |c| {
        let reader = user.check(c)?;
        let viewer = Viewer::of(&reader)?;
        let row = elections_repo::find_election(c, id)?.ok_or(AppError::NotFound)?;
        if !can_see(c, viewer, &row)? {
            return Err(AppError::NotFound);
        }
        match viewer {
            Viewer::Voter(_) if row.state() != ElectionState::Published => {
                return Err(AppError::NotFound)
            }
            Viewer::Staff
                if !matches!(
                    row.state(),
                    ElectionState::Tallied | ElectionState::Published
                ) =>
            {
                return Err(AppError::conflict(format!(
                    "The election is {}; results exist once it is tallied.",
                    row.state
                )))
            }
            _ => {}
        }
        let results = repo::find_results(c, id)?
            .ok_or_else(|| AppError::internal("a tallied election without results"))?;
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
    pool: &DbPool,
    signer: &Signer,
    staff: &AuthCheck,
    id: ElectionId,
    params: ExportParams,
) -> Result<Export, AppError> {
    let format = params.format.unwrap_or_default();
    match (format, params.question) {
        (ExportFormat::Blt, None) => {
            return Err(AppError::invalid(
                "question",
                "is required with format=blt (one ranked question per BLT file)",
            ))
        }
        (ExportFormat::Json | ExportFormat::Csv, Some(_)) => {
            return Err(AppError::invalid(
                "question",
                "applies to format=blt only; json and csv hold every question",
            ))
        }
        _ => {}
    }
    let staff = staff.clone();
    let signer = signer.clone();
    let public_key = json!({
        "kid": signer.kid,
        "alg": "EdDSA",
        "public_key": signer.public_key_b64(),
    });
    let job = db::run(pool, move |c| {
        let reader = staff.check(c)?;
        let row = elections_repo::find_election(c, id)?.ok_or(AppError::NotFound)?;
        if matches!(row.state(), ElectionState::Draft | ElectionState::Open) {
            return Err(AppError::conflict(format!(
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
                        AppError::invalid("question", "is not a question of this election")
                    })?;
                let method = def.questions[qi].method;
                if matches!(method, Method::Plurality | Method::Approval) {
                    return Err(AppError::invalid(
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
                .ok_or_else(|| AppError::internal("no checkpoint after an append"))
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
    Ok(export::start(pool.clone(), job))
}
