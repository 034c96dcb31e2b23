//! `/api/v1/audit-log` and `/api/v1/elections/{id}/audit-log`: the
//! hash-chained log, for admins and auditors.

use actix_web::{web, HttpResponse};
use utoipa::OpenApi;

use super::checkpoint::{self, Checkpoint};
use super::model::AuditEvent;
use super::service;
use crate::auth::Staff;
use crate::elections::ElectionId;
use crate::http::{ApiError, Problem};
use crate::paging::{Page, PageParams};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(list_audit_log, list_election_audit_log, list_checkpoints),
    components(schemas(AuditEvent, Page<AuditEvent>, Checkpoint, Page<Checkpoint>))
)]
pub struct AuditApi;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/audit-log").route(web::get().to(list_audit_log)))
        .service(
            web::resource("/api/v1/audit-log/checkpoints").route(web::get().to(list_checkpoints)),
        )
        .service(
            web::resource("/api/v1/elections/{id}/audit-log")
                .route(web::get().to(list_election_audit_log)),
        );
}

/// Every audit event in chain order (`seq` ascending), paged by cursor.
/// Check the chain with `hash = SHA-256(prev_hash || JCS(event without
/// "hash"))`; the first event's `prev_hash` is 64 zeros. A first page
/// (no cursor) is itself recorded as an `audit.read` event.
#[utoipa::path(get, path = "/api/v1/audit-log", tag = "audit", params(PageParams),
    security(("bearer" = [])), responses(
    (status = 200, body = Page<AuditEvent>),
    (status = 422, description = "A cursor not from this API", body = Problem, content_type = "application/problem+json"),
))]
pub async fn list_audit_log(
    staff: Staff,
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(service::list(&state.pool, &staff, None, page.into_inner()).await?))
}

/// One election's audit events in chain order, paged by cursor. They are a
/// subsequence of the whole chain: each event's hash recomputes, and
/// consecutive `seq` numbers link. A first page is recorded as `audit.read`.
#[utoipa::path(get, path = "/api/v1/elections/{id}/audit-log", tag = "audit",
    params(("id" = Uuid, Path), PageParams), security(("bearer" = [])), responses(
    (status = 200, body = Page<AuditEvent>),
    (status = 404, body = Problem, content_type = "application/problem+json"),
))]
pub async fn list_election_audit_log(
    staff: Staff,
    state: web::Data<AppState>,
    id: web::Path<ElectionId>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(
        service::list(
            &state.pool,
            &staff,
            Some(id.into_inner()),
            page.into_inner(),
        )
        .await?,
    ))
}

/// Signed checkpoints of the chain head, oldest first, paged by cursor.
/// Each is `{"seq","hash","at","kid","signature"}`: Ed25519 (key `kid`,
/// `GET /api/v1/keys`) over the RFC 8785 form of the first four fields.
/// One is fixed at every election state change and at least every
/// `audit.checkpoint_interval_secs` while the chain moves. Keep them: a
/// chain rewritten later no longer matches (`ballotbox verify --checkpoints`).
#[utoipa::path(get, path = "/api/v1/audit-log/checkpoints", tag = "audit", params(PageParams),
    security(("bearer" = [])), responses(
    (status = 200, body = Page<Checkpoint>),
    (status = 422, description = "A cursor not from this API", body = Problem, content_type = "application/problem+json"),
))]
pub async fn list_checkpoints(
    staff: Staff,
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = checkpoint::list(&state.pool, &state.keys.signer, &staff, page.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}
