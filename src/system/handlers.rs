//! `/healthz`, `/readyz` and `/api/v1/keys`.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::db;
use crate::http::ApiError;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(healthz, readyz, list_keys),
    components(schemas(Health, PublicKey, KeyList))
)]
pub struct SystemApi;

/// Mounts the routes of this module.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(healthz)))
        .service(web::resource("/readyz").route(web::get().to(readyz)))
        .service(web::resource("/api/v1/keys").route(web::get().to(list_keys)));
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`
    pub status: &'static str,
}

/// Liveness: 200 while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, body = Health)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness: 200 when the database answers, 503 (within 2 s) when not.
#[utoipa::path(get, path = "/readyz", tag = "system", responses(
    (status = 200, body = Health),
    (status = 503, body = crate::http::Problem, content_type = "application/problem+json")
))]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    db::ready(&state.pool, Duration::from_millis(1900)).await?;
    Ok(HttpResponse::Ok().json(Health { status: "ok" }))
}

#[derive(Serialize, ToSchema)]
pub struct PublicKey {
    pub kid: String,
    /// Always `EdDSA` (Ed25519).
    pub alg: &'static str,
    /// The raw 32-byte public key, base64.
    pub public_key: String,
}

#[derive(Serialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<PublicKey>,
}

/// The public keys that sign receipts and results.
#[utoipa::path(get, path = "/api/v1/keys", tag = "system", responses((status = 200, body = KeyList)))]
pub async fn list_keys(state: web::Data<AppState>) -> HttpResponse {
    let signer = &state.keys.signer;
    HttpResponse::Ok().json(KeyList {
        keys: vec![PublicKey {
            kid: signer.kid.clone(),
            alg: "EdDSA",
            public_key: signer.public_key_b64(),
        }],
    })
}

/// Prometheus text for a scrape; served only on the `server.metrics_bind`
/// listener (see `startup`), so it is not part of the public API document.
pub async fn metrics(pool: web::Data<crate::db::DbPool>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crate::metrics::render(&pool))
}
