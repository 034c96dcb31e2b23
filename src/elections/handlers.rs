//! `/api/v1/elections`: definition, lifecycle and voter rolls.

use actix_web::{web, HttpResponse};
use utoipa::OpenApi;

use super::dto::{
    AddVotersRequest, CreateElectionRequest, ElectionFilter, OptionInput, QuestionInput,
    UpdateElectionRequest,
};
use super::lifecycle::{self, Step};
use super::model::{BallotOption, Election, ElectionId, ElectionState, Eligibility, Question};
use super::model::{RollEntry, RollReport};
use super::{roll, service};
use crate::auth::{Admin, SignedIn, Staff};
use crate::http::{ApiError, JsonBody, Problem};
use crate::paging::{Page, PageParams};
use crate::state::AppState;
use crate::users::UserId;

#[derive(OpenApi)]
#[openapi(
    paths(create_election, list_elections, get_election, update_election, delete_election,
        schedule_election, open_election, close_election, publish_election,
        list_voters, add_voters, remove_voter),
    components(schemas(CreateElectionRequest, UpdateElectionRequest, QuestionInput, OptionInput, Election,
        Question, BallotOption, ElectionState, Eligibility, AddVotersRequest, RollReport, RollEntry,
        Page<Election>, Page<RollEntry>))
)]
pub struct ElectionsApi;

/// `bulk` is the JSON config of roll changes, with its larger body limit.
pub fn routes(cfg: &mut web::ServiceConfig, bulk: &web::JsonConfig) {
    cfg.service(
        web::resource("/api/v1/elections")
            .route(web::post().to(create_election))
            .route(web::get().to(list_elections)),
    )
    .service(
        web::resource("/api/v1/elections/{id}")
            .route(web::get().to(get_election))
            .route(web::patch().to(update_election))
            .route(web::delete().to(delete_election)),
    )
    .service(
        web::resource("/api/v1/elections/{id}/schedule").route(web::post().to(schedule_election)),
    )
    .service(web::resource("/api/v1/elections/{id}/open").route(web::post().to(open_election)))
    .service(web::resource("/api/v1/elections/{id}/close").route(web::post().to(close_election)))
    .service(
        web::resource("/api/v1/elections/{id}/publish").route(web::post().to(publish_election)),
    )
    .service(
        web::resource("/api/v1/elections/{id}/voters")
            .app_data(bulk.clone())
            .route(web::get().to(list_voters))
            .route(web::post().to(add_voters)),
    )
    .service(
        web::resource("/api/v1/elections/{id}/voters/{user_id}")
            .route(web::delete().to(remove_voter)),
    );
}

/// Creates an election in `draft`.
#[utoipa::path(post, path = "/api/v1/elections", tag = "elections", request_body = CreateElectionRequest,
    security(("bearer" = [])), responses(
    (status = 201, body = Election),
    (status = 422, description = "One error per invalid field", body = Problem, content_type = "application/problem+json"),
))]
pub async fn create_election(
    admin: Admin,
    state: web::Data<AppState>,
    body: JsonBody<CreateElectionRequest>,
) -> Result<HttpResponse, ApiError> {
    let e = service::create(&state.pool, &admin, body.0).await?;
    Ok(HttpResponse::Created().json(e))
}

/// Lists elections: all for admins and auditors; for voters, the non-drafts
/// they are eligible for.
#[utoipa::path(get, path = "/api/v1/elections", tag = "elections", params(ElectionFilter),
    security(("bearer" = [])), responses((status = 200, body = Page<Election>)))]
pub async fn list_elections(
    user: SignedIn,
    state: web::Data<AppState>,
    filter: web::Query<ElectionFilter>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(service::list(&state.pool, &user, filter.into_inner()).await?))
}

/// One election (404 for a voter who may not see it).
#[utoipa::path(get, path = "/api/v1/elections/{id}", tag = "elections", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses(
    (status = 200, body = Election),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn get_election(
    user: SignedIn,
    state: web::Data<AppState>,
    id: web::Path<ElectionId>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(service::get(&state.pool, &user, id.into_inner()).await?))
}

/// Edits a draft (`questions` replaces them all); 409 past draft.
#[utoipa::path(patch, path = "/api/v1/elections/{id}", tag = "elections", params(("id" = Uuid, Path)),
    request_body = UpdateElectionRequest, security(("bearer" = [])), responses(
    (status = 200, body = Election),
    (status = 409, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn update_election(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<ElectionId>,
    body: JsonBody<UpdateElectionRequest>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .json(service::update(&state.pool, &admin, id.into_inner(), body.0).await?))
}

/// Deletes a draft; 409 past draft.
#[utoipa::path(delete, path = "/api/v1/elections/{id}", tag = "elections", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses(
    (status = 204, description = "Deleted"),
    (status = 409, body = Problem, content_type = "application/problem+json"),
))]
pub async fn delete_election(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<ElectionId>,
) -> Result<HttpResponse, ApiError> {
    service::delete(&state.pool, &admin, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Arms a draft with a future `opens_at` to open by itself.
#[utoipa::path(post, path = "/api/v1/elections/{id}/schedule", tag = "elections", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses(
    (status = 200, body = Election),
    (status = 409, body = Problem, content_type = "application/problem+json"),
))]
pub async fn schedule_election(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<ElectionId>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(lifecycle::schedule(&state.pool, &admin, id.into_inner()).await?))
}

async fn step(
    admin: Admin,
    state: web::Data<AppState>,
    id: ElectionId,
    step: Step,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(lifecycle::step(&state.pool, &admin, id, step).await?))
}

/// `draft → open` now.
#[utoipa::path(post, path = "/api/v1/elections/{id}/open", tag = "elections", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, body = Election),
    (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn open_election(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<ElectionId>,
) -> Result<HttpResponse, ApiError> {
    step(admin, state, id.into_inner(), Step::Open).await
}

/// `open → closed` now; fixes the Merkle root over the ballots.
#[utoipa::path(post, path = "/api/v1/elections/{id}/close", tag = "elections", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, body = Election),
    (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn close_election(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<ElectionId>,
) -> Result<HttpResponse, ApiError> {
    step(admin, state, id.into_inner(), Step::Close).await
}

/// `tallied → published`: voters may now read the results.
#[utoipa::path(post, path = "/api/v1/elections/{id}/publish", tag = "elections", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, body = Election),
    (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn publish_election(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<ElectionId>,
) -> Result<HttpResponse, ApiError> {
    step(admin, state, id.into_inner(), Step::Publish).await
}

/// The roll, with whether each voter voted (never what).
#[utoipa::path(get, path = "/api/v1/elections/{id}/voters", tag = "elections", params(("id" = Uuid, Path), PageParams),
    security(("bearer" = [])), responses((status = 200, body = Page<RollEntry>)))]
pub async fn list_voters(
    staff: Staff,
    state: web::Data<AppState>,
    id: web::Path<ElectionId>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .json(roll::list_roll(&state.pool, &staff, id.into_inner(), page.into_inner()).await?))
}

/// Adds voters by ids or emails (draft or open), in one transaction.
#[utoipa::path(post, path = "/api/v1/elections/{id}/voters", tag = "elections", params(("id" = Uuid, Path)),
    request_body = AddVotersRequest, security(("bearer" = [])), responses(
    (status = 200, body = RollReport),
    (status = 409, body = Problem, content_type = "application/problem+json"),
))]
pub async fn add_voters(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<ElectionId>,
    body: JsonBody<AddVotersRequest>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .json(roll::add_voters(&state.pool, &admin, id.into_inner(), body.0).await?))
}

/// Removes a voter from a draft's roll.
#[utoipa::path(delete, path = "/api/v1/elections/{id}/voters/{user_id}", tag = "elections",
    params(("id" = Uuid, Path), ("user_id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "Removed"),
    (status = 409, body = Problem, content_type = "application/problem+json"),
))]
pub async fn remove_voter(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<(ElectionId, UserId)>,
) -> Result<HttpResponse, ApiError> {
    let (id, user) = path.into_inner();
    roll::remove_voter(&state.pool, &admin, id, user).await?;
    Ok(HttpResponse::NoContent().finish())
}
