//! `/api/v1/elections/{id}/tally`, `/results` and `/export`.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use futures_util::StreamExt;
use utoipa::OpenApi;

use super::dto::{ExportFormat, ExportParams};
use super::model::{QuestionResult, ResultsDocument, ResultsSignature};
use super::service;
use crate::auth::{Admin, SignedIn, Staff};
use crate::elections::model::Election;
use crate::elections::ElectionId;
use crate::http::{ApiError, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(tally_election, get_results, export_election),
    components(schemas(ResultsDocument, QuestionResult, ResultsSignature, ExportFormat))
)]
pub struct ResultsApi;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/elections/{id}/tally").route(web::post().to(tally_election)),
    )
    .service(web::resource("/api/v1/elections/{id}/results").route(web::get().to(get_results)))
    .service(web::resource("/api/v1/elections/{id}/export").route(web::get().to(export_election)));
}

/// `closed → tallied`: counts every question (ties by lot seeded with the
/// Merkle root) and stores one signed results document. Runs on the
/// blocking pool; other requests keep being served.
#[utoipa::path(post, path = "/api/v1/elections/{id}/tally", tag = "results", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses(
    (status = 200, description = "The election, now tallied", body = Election),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "The election is not closed", body = Problem, content_type = "application/problem+json"),
))]
pub async fn tally_election(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<ElectionId>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .json(service::tally(&state.pool, &state.keys.signer, &admin, id.into_inner()).await?))
}

/// The signed results. `signature.value` is Ed25519 (key `signature.kid`
/// from `GET /api/v1/keys`) over the RFC 8785 canonical JSON of this object
/// without `signature`. Admins and auditors once tallied (409 before; each
/// read is recorded as a `results.read` audit event); eligible voters once
/// published (404 before).
#[utoipa::path(get, path = "/api/v1/elections/{id}/results", tag = "results", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses(
    (status = 200, body = ResultsDocument),
    (status = 404, description = "Unknown, not visible, or (voters) not yet published", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "Not tallied yet", body = Problem, content_type = "application/problem+json"),
))]
pub async fn get_results(
    user: SignedIn,
    state: web::Data<AppState>,
    id: web::Path<ElectionId>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(service::get(&state.pool, &user, id.into_inner()).await?))
}

/// The tally bundle, streamed, from `closed` on (409 before); recorded as an
/// `export.downloaded` audit event.
///
/// - `json` (default): `{"format":"ballotbox-export/2","election",
///   "merkle_root","public_key":{"kid","alg","public_key"},"ballots":[{
///   "tracking_code","ballot_hash","salt","answers":[{"question_id",
///   "selections"}]}
///   ...],"ballot_count","results"|null,"signature"|null,"audit_events":[...],
///   "checkpoint":{"seq","hash","at","kid","signature"}}`, ballots in
///   tracking-code order; the election's audit events in `seq` order up to
///   the export's own `export.downloaded` event, where `checkpoint` signs
///   the chain head; events of redactable actions (see `AuditEvent`)
///   without `details`, with `details_hash` and `"redacted":true`. The
///   results carry `election_digest`. Check it with `ballotbox verify` or
///   tools/verify/verify.py; docs/export-format.md describes every field.
/// - `csv`: `tracking_code,ballot_hash`, then one column per question
///   headed `prompt (question id)`: option ids joined by `>` for rankings
///   (borda, irv, stv, schulze), by `;` for sets (plurality, approval); an
///   empty cell is a blank answer; then `salt`, the ballot's 32 hex salt. CRLF line ends, RFC 4180 quoting.
/// - `blt` with `question=ID` (a ranked question): candidates are the
///   options in position order, named by option id; one weight-1 line per
///   ballot; the title is the prompt. `ballotbox count --method M --seed
///   MERKLE_ROOT FILE` reproduces that question's result.
#[utoipa::path(get, path = "/api/v1/elections/{id}/export", tag = "results",
    params(("id" = Uuid, Path), ExportParams), security(("bearer" = [])), responses(
    (status = 200, description = "The export, streamed", content(
        ("application/json"), ("text/csv"), ("text/plain"))),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "Not closed yet", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "A bad `question`", body = Problem, content_type = "application/problem+json"),
))]
pub async fn export_election(
    staff: Staff,
    state: web::Data<AppState>,
    id: web::Path<ElectionId>,
    params: web::Query<ExportParams>,
) -> Result<HttpResponse, ApiError> {
    let export = service::export(
        &state.pool,
        &state.keys.signer,
        &staff,
        id.into_inner(),
        params.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, export.content_type))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", export.filename),
        ))
        .streaming(export.stream().map(|chunk| chunk.map_err(ApiError::from))))
}
