//! `/api/v1/auth/*` and `/api/v1/me`.

use actix_web::{web, HttpRequest, HttpResponse};
use utoipa::OpenApi;

use super::dto::{
    ActivateRequest, ChangePasswordRequest, LoginRequest, RefreshRequest, TokenResponse,
};
use super::identity::SignedIn;
use super::service;
use crate::http::{client_ip, ApiError, JsonBody, Problem};
use crate::state::AppState;
use crate::users::User;

#[derive(OpenApi)]
#[openapi(
    paths(login, refresh, logout, activate, get_me, change_password),
    components(schemas(
        LoginRequest,
        RefreshRequest,
        ActivateRequest,
        ChangePasswordRequest,
        TokenResponse,
        User
    ))
)]
pub struct AuthApi;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/auth/login").route(web::post().to(login)))
        .service(web::resource("/api/v1/auth/refresh").route(web::post().to(refresh)))
        .service(web::resource("/api/v1/auth/logout").route(web::post().to(logout)))
        .service(web::resource("/api/v1/auth/activate").route(web::post().to(activate)))
        .service(web::resource("/api/v1/me").route(web::get().to(get_me)))
        .service(web::resource("/api/v1/me/password").route(web::put().to(change_password)));
}

/// Logs in with email and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = TokenResponse),
    (status = 400, body = Problem, content_type = "application/problem+json"),
    (status = 401, description = "Wrong email or password (one answer for both)", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Email over 254 or password over 128 characters", body = Problem, content_type = "application/problem+json"),
    (status = 429, description = "Too many attempts; see Retry-After", body = Problem, content_type = "application/problem+json"),
    (status = 503, description = "Password hashing is saturated; see Retry-After", body = Problem, content_type = "application/problem+json"),
))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let ip = client_ip(&req, &state.settings.server.trusted_proxies).map(|a| a.to_string());
    let body = body.into_inner();
    let tokens = service::login(
        &state.pool,
        &state.passwords,
        state.issuer(),
        body.email,
        body.password,
        body.device_token,
        ip,
    )
    .await?;
    Ok(HttpResponse::Ok().json(tokens))
}

/// Exchanges a refresh token for a new pair; the old one is spent.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest, responses(
    (status = 200, body = TokenResponse),
    (status = 401, description = "Unknown, expired or spent token (a spent one revokes its family)", body = Problem, content_type = "application/problem+json"),
))]
pub async fn refresh(
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let tokens =
        service::refresh(&state.pool, state.issuer(), body.into_inner().refresh_token).await?;
    Ok(HttpResponse::Ok().json(tokens))
}

/// Ends the session of a refresh token.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    security(("bearer" = [])), responses(
    (status = 204, description = "Logged out"),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
pub async fn logout(
    user: SignedIn,
    state: web::Data<AppState>,
    body: JsonBody<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    service::logout(&state.pool, &user, body.0.map(|b| b.refresh_token)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sets the first password through a single-use invitation and logs in.
#[utoipa::path(post, path = "/api/v1/auth/activate", tag = "auth", request_body = ActivateRequest, responses(
    (status = 200, body = TokenResponse),
    (status = 401, description = "Unknown, used or expired invitation", body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
    (status = 429, description = "Too many activations from this address; see Retry-After", body = Problem, content_type = "application/problem+json"),
    (status = 503, description = "Password hashing is saturated; see Retry-After", body = Problem, content_type = "application/problem+json"),
))]
pub async fn activate(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<ActivateRequest>,
) -> Result<HttpResponse, ApiError> {
    let ip = client_ip(&req, &state.settings.server.trusted_proxies).map(|a| a.to_string());
    let body = body.into_inner();
    let tokens = service::activate(
        &state.pool,
        &state.passwords,
        state.issuer(),
        body.invitation_token,
        body.password,
        ip,
    )
    .await?;
    Ok(HttpResponse::Ok().json(tokens))
}

/// The caller's own account.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = User),
    (status = 401, body = Problem, content_type = "application/problem+json"),
))]
pub async fn get_me(user: SignedIn, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let me = service::me(&state.pool, &user).await?;
    Ok(HttpResponse::Ok().json(me))
}

/// Changes the caller's password; every session of theirs ends.
#[utoipa::path(put, path = "/api/v1/me/password", tag = "auth", request_body = ChangePasswordRequest,
    security(("bearer" = [])), responses(
    (status = 204, description = "Changed; all refresh tokens revoked"),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 422, body = Problem, content_type = "application/problem+json"),
))]
pub async fn change_password(
    user: SignedIn,
    state: web::Data<AppState>,
    body: JsonBody<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let passwords = body.0.map(|b| (b.current_password, b.new_password));
    service::change_password(&state.pool, &state.passwords, &user, passwords).await?;
    Ok(HttpResponse::NoContent().finish())
}
