//! `/api/v1/users`: user administration, for admins.

use actix_web::{web, HttpResponse};
use utoipa::OpenApi;

use super::dto::{
    CreateUserRequest, CreatedUser, ImportError, ImportReport, ImportRequest, ImportRow,
    ImportedUser, UpdateUserRequest, UserFilter,
};
use super::model::{Role, User, UserId};
use super::service;
use crate::auth::Admin;
use crate::http::{ApiError, JsonBody, Problem};
use crate::paging::Page;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(create_user, import_users, list_users, get_user, update_user),
    components(schemas(CreateUserRequest, CreatedUser, ImportRequest, ImportRow, ImportReport, ImportedUser,
        ImportError, UpdateUserRequest, User, Role, Page<User>))
)]
pub struct UsersApi;

/// `bulk` is the JSON config of the import, with its larger body limit.
pub fn routes(cfg: &mut web::ServiceConfig, bulk: &web::JsonConfig) {
    cfg.service(
        web::resource("/api/v1/users")
            .route(web::post().to(create_user))
            .route(web::get().to(list_users)),
    )
    .service(
        web::resource("/api/v1/users/import")
            .app_data(bulk.clone())
            .route(web::post().to(import_users)),
    )
    .service(
        web::resource("/api/v1/users/{id}")
            .route(web::get().to(get_user))
            .route(web::patch().to(update_user)),
    );
}

/// Creates a user, with a password or a single-use invitation token.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUserRequest,
    security(("bearer" = [])), responses(
    (status = 201, body = CreatedUser),
    (status = 409, description = "Duplicate email (case-insensitive)", body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn create_user(
    admin: Admin,
    state: web::Data<AppState>,
    body: JsonBody<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let created = service::create(
        &state.pool,
        &state.passwords,
        state.settings.auth.invitation_ttl_days,
        &admin,
        body.0,
    )
    .await?;
    Ok(HttpResponse::Created().json(created))
}

/// Imports up to 10,000 users in one transaction, with a per-row report.
#[utoipa::path(post, path = "/api/v1/users/import", tag = "users", request_body = ImportRequest,
    security(("bearer" = [])), responses((status = 200, body = ImportReport)))]
pub async fn import_users(
    admin: Admin,
    state: web::Data<AppState>,
    body: JsonBody<ImportRequest>,
) -> Result<HttpResponse, ApiError> {
    let report = service::import(
        &state.pool,
        state.settings.auth.invitation_ttl_days,
        &admin,
        body.0,
    )
    .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Lists users, filtered by role and a search string, with cursor paging.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserFilter),
    security(("bearer" = [])), responses(
    (status = 200, body = Page<User>),
    (status = 422, description = "`q` holds a NUL (U+0000) character", body = Problem, content_type = "application/problem+json"),
))]
pub async fn list_users(
    admin: Admin,
    state: web::Data<AppState>,
    filter: web::Query<UserFilter>,
) -> Result<HttpResponse, ApiError> {
    let page = service::list(&state.pool, &admin, filter.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One user.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses(
    (status = 200, body = User),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn get_user(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<UserId>,
) -> Result<HttpResponse, ApiError> {
    let user = service::get_user(&state.pool, &admin, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(user))
}

/// Changes a user's display name, roles or disabled flag.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)),
    request_body = UpdateUserRequest, security(("bearer" = [])), responses(
    (status = 200, body = User),
    (status = 409, description = "An admin cannot disable itself or drop its own admin role", body = Problem, content_type = "application/problem+json"),
))]
pub async fn update_user(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<UserId>,
    body: JsonBody<UpdateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let user = service::update(&state.pool, &admin, id.into_inner(), body.0).await?;
    Ok(HttpResponse::Ok().json(user))
}
