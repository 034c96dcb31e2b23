//! Authentication middleware and the authorization extractors built on it.
//! The middleware verifies the bearer token and checks its session against
//! the database (one indexed read), so logout, a password change, disabling
//! a user or removing a role takes effect on the very next request. Handlers
//! then name who may call them: `async fn open_election(admin: Admin, ...)`.
//!
//! Casting is the one exception, for speed: its middleware step verifies the
//! token only, and `ballots::service::cast` checks the session inside its own
//! database task (one hop and one pooled connection per ballot).

use std::future::{ready, Ready};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use super::service;
use super::tokens::{verify_access_token, Claims};
use super::SessionId;
use crate::error::ApiError;
use crate::state::AppState;
use crate::users::{Role, UserId};

/// The caller, as the database sees them now.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: UserId,
    pub session: SessionId,
    pub roles: Vec<Role>,
}

impl AuthUser {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// What the middleware found for this request.
#[derive(Debug, Clone)]
enum Identity {
    User(AuthUser),
    /// A verified token whose session the handler checks itself.
    Token(Claims),
    Invalid,
    Unavailable,
}

/// Whether the handler checks the session itself: casting a ballot.
fn handler_checks_session(req: &ServiceRequest) -> bool {
    req.method() == actix_web::http::Method::POST
        && req.path().starts_with("/api/v1/elections/")
        && req.path().ends_with("/ballots")
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
        let deferred = handler_checks_session(&req);
        let identity = match (bearer, req.app_data::<web::Data<AppState>>()) {
            (Some(token), Some(state)) => identify(state, &token, deferred).await,
            _ => Identity::Invalid,
        };
        req.extensions_mut().insert(identity);
    }
    next.call(req).await
}

async fn identify(state: &AppState, token: &str, deferred: bool) -> Identity {
    let Some(claims) = verify_access_token(&state.keys, &state.settings.auth, token) else {
        return Identity::Invalid;
    };
    if deferred {
        return Identity::Token(claims);
    }
    match service::check_session(&state.pool, claims.sub, claims.sid).await {
        Ok(user) => Identity::User(user),
        Err(ApiError::Unavailable(_)) => Identity::Unavailable,
        Err(_) => Identity::Invalid,
    }
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.extensions().get::<Identity>() {
            Some(Identity::User(user)) => Ok(user.clone()),
            Some(Identity::Unavailable) => Err(ApiError::Unavailable("session check".into())),
            _ => Err(ApiError::Unauthorized),
        })
    }
}

/// A verified access token that claims the voter role, for casting: the
/// session and the role are checked again against the database in the
/// cast's own task. A token without the voter role is 403 at once.
#[derive(Debug, Clone)]
pub struct VoterToken(pub Claims);

impl FromRequest for VoterToken {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.extensions().get::<Identity>() {
            Some(Identity::Token(c)) if c.roles.contains(&Role::Voter) => Ok(VoterToken(c.clone())),
            Some(Identity::Token(_)) => Err(ApiError::Forbidden),
            _ => Err(ApiError::Unauthorized),
        })
    }
}

macro_rules! role_guard {
    ($(#[$doc:meta])* $name:ident, $($role:expr),+) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub AuthUser);

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = Ready<Result<Self, ApiError>>;

            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                let user = match AuthUser::from_request(req, payload).into_inner() {
                    Ok(user) => user,
                    Err(e) => return ready(Err(e)),
                };
                if [$($role),+].iter().any(|r| user.has(*r)) {
                    ready(Ok($name(user)))
                } else {
                    ready(Err(ApiError::Forbidden))
                }
            }
        }

        impl std::ops::Deref for $name {
            type Target = AuthUser;
            fn deref(&self) -> &AuthUser {
                &self.0
            }
        }
    };
}

role_guard!(
    /// A caller holding the admin role.
    Admin,
    Role::Admin
);
role_guard!(
    /// A caller holding the voter role.
    Voter,
    Role::Voter
);
role_guard!(
    /// A caller holding the auditor role.
    Auditor,
    Role::Auditor
);
role_guard!(
    /// An admin or an auditor: those who oversee every election.
    Staff,
    Role::Admin,
    Role::Auditor
);
