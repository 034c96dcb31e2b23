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
    components(schemas(crate::error::Problem, crate::error::FieldError)),
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
    doc
}
