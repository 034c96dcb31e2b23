//! `/api/v1/mail` and `/api/v1/elections/{id}/reminders`: the outbox as
//! admins see it, and reminders to those who have not voted.

use actix_web::{web, HttpResponse};
use utoipa::OpenApi;

use super::dto::{Mail, MailFilter, Queued};
use super::model::{MailKind, MailStatus};
use super::service;
use crate::auth::Admin;
use crate::elections::ElectionId;
use crate::http::{ApiError, Problem};
use crate::paging::Page;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(list_mail, send_reminders),
    components(schemas(Mail, MailKind, MailStatus, Queued, Page<Mail>))
)]
pub struct MailApi;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/mail").route(web::get().to(list_mail)))
        .service(
            web::resource("/api/v1/elections/{id}/reminders").route(web::post().to(send_reminders)),
        );
}

/// Lists queued and sent mail (never bodies or tokens), oldest first.
#[utoipa::path(get, path = "/api/v1/mail", tag = "mail", params(MailFilter),
    security(("bearer" = [])), responses((status = 200, body = Page<Mail>)))]
pub async fn list_mail(
    admin: Admin,
    state: web::Data<AppState>,
    filter: web::Query<MailFilter>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(service::list(&state.pool, &admin, filter.into_inner()).await?))
}

/// Queues a reminder to every eligible voter who has not voted yet (open
/// elections only; 409 when mail is not configured).
#[utoipa::path(post, path = "/api/v1/elections/{id}/reminders", tag = "mail",
    params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 202, body = Queued),
    (status = 404, body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "The election is not open, or mail is not configured", body = Problem, content_type = "application/problem+json"),
))]
pub async fn send_reminders(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<ElectionId>,
) -> Result<HttpResponse, ApiError> {
    let queued = service::remind(
        &state.pool,
        state.outbox.as_deref(),
        &admin,
        id.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Accepted().json(queued))
}
