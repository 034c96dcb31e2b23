//! The OpenAPI 3 document, assembled from each feature module's own part.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ballotbox",
        description = "Online voting: elections, voter rolls, secret ballots, signed and verifiable results. Errors are RFC 9457 problem documents (application/problem+json).",
        version = "1"
    ),
    components(schemas(crate::http::Problem, crate::error::FieldError)),
    modifiers(&BearerAuth)
)]
struct BaseApi;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = BaseApi::openapi();
    doc.merge(crate::system::handlers::SystemApi::openapi());
    doc.merge(crate::auth::handlers::AuthApi::openapi());
    doc.merge(crate::users::handlers::UsersApi::openapi());
    doc.merge(crate::elections::handlers::ElectionsApi::openapi());
    doc.merge(crate::ballots::handlers::BallotsApi::openapi());
    doc.merge(crate::results::handlers::ResultsApi::openapi());
    doc.merge(crate::audit::handlers::AuditApi::openapi());
    describe_responses(&mut doc);
    doc
}

/// OpenAPI requires a description on every response; handlers that name only
/// a status and a body get the status's reason phrase.
fn describe_responses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::RefOr;
    for item in doc.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in ops.into_iter().flatten() {
            for (status, response) in op.responses.responses.iter_mut() {
                if let RefOr::T(r) = response {
                    if r.description.is_empty() {
                        r.description = status
                            .parse::<u16>()
                            .ok()
                            .and_then(|s| actix_web::http::StatusCode::from_u16(s).ok())
                            .and_then(|s| s.canonical_reason())
                            .unwrap_or("Response")
                            .to_string();
                    }
                }
            }
        }
    }
}
