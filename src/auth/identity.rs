//! The HTTP side of authentication. The middleware only verifies the bearer
//! token (signature, expiry, issuer, audience) and stores its claims: no
//! database. The extractors turn those claims into an [`AuthCheck`] naming
//! the roles a route needs, so that a handler shows who may call it in its
//! signature (`async fn open_election(admin: Admin, ...)`); the service then
//! confirms session and roles inside its own database task. Every route is
//! treated the same way: no path is special.

use std::future::{ready, Ready};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use super::caller::AuthCheck;
use super::tokens::{verify_access_token, Claims};
use crate::error::AppError;
use crate::http::ApiError;
use crate::state::AppState;
use crate::users::Role;

/// What the middleware found in `Authorization`.
#[derive(Debug, Clone)]
enum Bearer {
    Verified(Claims),
    Invalid,
}

/// Verifies `Authorization: Bearer` when present and records the outcome.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let bearer = req.headers().get(header::AUTHORIZATION).map(|v| {
        v.to_str()
            .ok()
            .and_then(|s| s.strip_prefix("Bearer "))
            .map(str::trim)
            .map(str::to_owned)
    });
    if let Some(bearer) = bearer {
        let verified = match (bearer, req.app_data::<web::Data<AppState>>()) {
            (Some(token), Some(state)) => {
                verify_access_token(&state.keys, &state.settings.auth, &token)
            }
            _ => None,
        };
        req.extensions_mut()
            .insert(verified.map_or(Bearer::Invalid, Bearer::Verified));
    }
    next.call(req).await
}

/// The check a route needs, from the verified claims; 401 without them.
fn auth_check(req: &HttpRequest, any_of: &'static [Role]) -> Result<AuthCheck, ApiError> {
    match req.extensions().get::<Bearer>() {
        Some(Bearer::Verified(claims)) => Ok(AuthCheck::new(claims, any_of)),
        _ => Err(AppError::Unauthorized.into()),
    }
}

macro_rules! caller {
    ($(#[$doc:meta])* $name:ident, [$($role:expr),*]) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub AuthCheck);

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = Ready<Result<Self, ApiError>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                const ROLES: &[Role] = &[$($role),*];
                ready(auth_check(req, ROLES).map($name))
            }
        }

        impl std::ops::Deref for $name {
            type Target = AuthCheck;
            fn deref(&self) -> &AuthCheck {
                &self.0
            }
        }
    };
}

caller!(
    /// Any signed-in user.
    SignedIn,
    []
);
caller!(
    /// A caller holding the admin role.
    Admin,
    [Role::Admin]
);
caller!(
    /// A caller holding the voter role.
    Voter,
    [Role::Voter]
);
caller!(
    /// A caller holding the auditor role.
    Auditor,
    [Role::Auditor]
);
caller!(
    /// An admin or an auditor: those who oversee every election.
    Staff,
    [Role::Admin, Role::Auditor]
);
