//! Casting, the voter's own status, the bulletin board, receipts, turnout.

use actix_web::{web, HttpRequest, HttpResponse};
use utoipa::OpenApi;

use super::model::{
    Answer, BoardEntry, BoardPage, CastRequest, CastResponse, MyBallot, Receipt, ReceiptCheck,
    Turnout,
};
use super::service;
use crate::auth::{SignedIn, Voter};
use crate::elections::ElectionId;
use crate::http::{ApiError, JsonBody, Problem};
use crate::paging::PageParams;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(cast_ballot, get_my_ballot, get_board, check_receipt, get_turnout),
    components(schemas(
        CastRequest,
        Answer,
        CastResponse,
        Receipt,
        MyBallot,
        BoardPage,
        BoardEntry,
        ReceiptCheck,
        Turnout
    ))
)]
pub struct BallotsApi;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/elections/{id}/ballots").route(web::post().to(cast_ballot)))
        .service(
            web::resource("/api/v1/elections/{id}/my-ballot").route(web::get().to(get_my_ballot)),
        )
        .service(web::resource("/api/v1/elections/{id}/board").route(web::get().to(get_board)))
        .service(
            web::resource("/api/v1/elections/{id}/receipts/{tracking_code}")
                .route(web::get().to(check_receipt)),
        )
        .service(web::resource("/api/v1/elections/{id}/turnout").route(web::get().to(get_turnout)));
}

/// Casts the caller's one ballot; returns a signed receipt.
#[utoipa::path(post, path = "/api/v1/elections/{id}/ballots", tag = "ballots", request_body = CastRequest,
    params(("id" = Uuid, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters; a retry with the same key and body returns the same receipt")),
    security(("bearer" = [])), responses(
    (status = 201, body = CastResponse),
    (status = 403, description = "Not a voter, or not eligible (whatever the body: the body is read only once the caller may cast)", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No election the caller may see (a draft's id, for a voter), whatever the body", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "Already voted, or the election is not open", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid ballot, or the key reused with another body", body = Problem, content_type = "application/problem+json"),
))]
pub async fn cast_ballot(
    voter: Voter,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<ElectionId>,
    body: JsonBody<CastRequest>,
) -> Result<HttpResponse, ApiError> {
    let key = match req.headers().get("idempotency-key") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| ApiError::bad_request("Idempotency-Key must be visible ASCII."))?
                .to_string(),
        ),
        None => None,
    };
    let casting = service::Casting {
        keys: state.keys.clone(),
        definitions: state.definitions.clone(),
    };
    let receipt = service::cast(
        &state.pool,
        &casting,
        &voter,
        id.into_inner(),
        body.0.map(|b| b.answers),
        key,
    )
    .await?;
    Ok(HttpResponse::Created().json(CastResponse { receipt }))
}

/// Whether the caller voted in this election, and when; never what.
#[utoipa::path(get, path = "/api/v1/elections/{id}/my-ballot", tag = "ballots", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, body = MyBallot)))]
pub async fn get_my_ballot(
    voter: Voter,
    state: web::Data<AppState>,
    id: web::Path<ElectionId>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(service::my_ballot(&state.pool, &voter, id.into_inner()).await?))
}

/// The bulletin board: tracking codes and salted ballot hashes in
/// tracking-code order, with the Merkle root; published whole from `closed`
/// on, so that nobody watches ballots arrive and pairs them with the roll's
/// `has_voted`.
#[utoipa::path(get, path = "/api/v1/elections/{id}/board", tag = "ballots", params(("id" = Uuid, Path), PageParams),
    security(("bearer" = [])), responses(
    (status = 200, body = BoardPage),
    (status = 404, description = "No election the caller may see", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "The election is still in draft or open: the board is not published yet", body = Problem, content_type = "application/problem+json"),
))]
pub async fn get_board(
    user: SignedIn,
    state: web::Data<AppState>,
    id: web::Path<ElectionId>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .json(service::board(&state.pool, &user, id.into_inner(), page.into_inner()).await?))
}

/// Whether a tracking code is on the board, with its salted hash (works
/// while the election is open); from `closed` on, with the ballot's salt
/// and its RFC 6962 inclusion proof.
#[utoipa::path(get, path = "/api/v1/elections/{id}/receipts/{tracking_code}", tag = "ballots",
    params(("id" = Uuid, Path), ("tracking_code" = String, Path)), security(("bearer" = [])), responses(
    (status = 200, body = ReceiptCheck),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn check_receipt(
    user: SignedIn,
    state: web::Data<AppState>,
    path: web::Path<(ElectionId, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, code) = path.into_inner();
    let boards = state.boards.clone();
    Ok(
        HttpResponse::Ok()
            .json(service::check_receipt(&state.pool, boards, &user, id, code).await?),
    )
}

/// Eligible voters, participations and ballots (always equal).
#[utoipa::path(get, path = "/api/v1/elections/{id}/turnout", tag = "ballots", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, body = Turnout)))]
pub async fn get_turnout(
    user: SignedIn,
    state: web::Data<AppState>,
    id: web::Path<ElectionId>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(service::turnout(&state.pool, &user, id.into_inner()).await?))
}
