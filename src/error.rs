//! Errors. Services return [`ApiError`]; it is mapped once, here, to an RFC 9457
//! problem document. Internal causes go to the log, never to the client.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field in a `422` answer.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

/// The error every handler and service returns.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unauthorized")]
    Unauthorized,
    /// Login failed: one answer whether the email or the password was wrong.
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("invalid invitation")]
    InvalidInvitation,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// Stored data no longer matches what was committed (a `409`).
    #[error("integrity: {0}")]
    Integrity(String),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("request timeout")]
    RequestTimeout,
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn conflict(detail: impl Into<String>) -> Self {
        ApiError::Conflict(detail.into())
    }
    pub fn bad_request(detail: impl Into<String>) -> Self {
        ApiError::BadRequest(detail.into())
    }
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }
    /// A `422` with a single field error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    fn slug_and_detail(&self) -> (&'static str, String) {
        match self {
            ApiError::BadRequest(d) => ("bad-request", d.clone()),
            ApiError::Unauthorized => (
                "unauthorized",
                "A valid bearer access token is required.".into(),
            ),
            ApiError::InvalidCredentials => {
                ("invalid-credentials", "Invalid email or password.".into())
            }
            ApiError::InvalidInvitation => (
                "invalid-invitation",
                "The invitation is unknown, already used or expired.".into(),
            ),
            ApiError::Forbidden => (
                "forbidden",
                "Your role does not allow this operation.".into(),
            ),
            ApiError::NotFound => ("not-found", "No such resource.".into()),
            ApiError::Conflict(d) => ("conflict", d.clone()),
            ApiError::Integrity(d) => ("integrity", d.clone()),
            ApiError::PayloadTooLarge => (
                "payload-too-large",
                "The request body is over the configured limit.".into(),
            ),
            ApiError::UnsupportedMediaType => (
                "unsupported-media-type",
                "Send the body as application/json.".into(),
            ),
            ApiError::RequestTimeout => (
                "request-timeout",
                "The request body did not arrive in time.".into(),
            ),
            ApiError::Validation(_) => (
                "validation",
                "The request is well-formed but some fields are invalid.".into(),
            ),
            ApiError::TooManyRequests { retry_after_secs } => (
                "too-many-requests",
                format!("Too many attempts; retry after {retry_after_secs} seconds."),
            ),
            ApiError::Unavailable(_) => (
                "unavailable",
                "The database is unavailable; try again shortly.".into(),
            ),
            ApiError::Internal(_) => ("internal", "An internal error occurred.".into()),
        }
    }
}

/// The `type` URI of a problem kind.
pub fn problem_type(slug: &str) -> String {
    format!("urn:ballotbox:problem:{slug}")
}

/// Builds a problem response for any status (also used for actix's own errors).
pub fn problem_response(
    status: StatusCode,
    slug: &str,
    detail: String,
    errors: Option<Vec<FieldError>>,
) -> HttpResponse {
    let problem = Problem {
        kind: problem_type(slug),
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        status: status.as_u16(),
        detail,
        errors,
    };
    let mut builder = HttpResponse::build(status);
    builder.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
    if status == StatusCode::UNAUTHORIZED {
        builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
    }
    builder.body(serde_json::to_string(&problem).unwrap_or_default())
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized | ApiError::InvalidCredentials | ApiError::InvalidInvitation => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) | ApiError::Integrity(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(cause) => log::error!("internal error: {cause}"),
            ApiError::Unavailable(cause) => log::warn!("database unavailable: {cause}"),
            _ => {}
        }
        let (slug, detail) = self.slug_and_detail();
        let errors = match self {
            ApiError::Validation(errors) => Some(errors.clone()),
            _ => None,
        };
        let mut response = problem_response(self.status_code(), slug, detail, errors);
        if let ApiError::TooManyRequests { retry_after_secs } = self {
            if let Ok(value) = header::HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match e {
            E::NotFound => ApiError::NotFound,
            E::DatabaseError(K::UniqueViolation, _) => {
                ApiError::conflict("This conflicts with an existing record.")
            }
            E::DatabaseError(K::ClosedConnection | K::UnableToSendCommand, info) => {
                ApiError::Unavailable(info.message().to_string())
            }
            // SQLite reports a lock it waited on past its busy timeout this way.
            E::DatabaseError(_, ref info)
                if info.message().contains("database is locked")
                    || info.message().contains("database is busy") =>
            {
                ApiError::Unavailable(info.message().to_string())
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        ApiError::Unavailable(e.to_string())
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<validator::ValidationErrors> for ApiError {
    fn from(errors: validator::ValidationErrors) -> Self {
        ApiError::Validation(field_errors(&errors, ""))
    }
}

/// Flattens validator's nested errors into `field` paths (`questions[0].prompt`).
pub fn field_errors(errors: &validator::ValidationErrors, prefix: &str) -> Vec<FieldError> {
    use validator::ValidationErrorsKind as Kind;
    let mut out = Vec::new();
    let join = |name: &str| {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        }
    };
    for (field, kind) in errors.errors() {
        let path = join(field);
        match kind {
            Kind::Field(list) => {
                for e in list {
                    let message = e
                        .message
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| format!("invalid ({})", e.code));
                    out.push(FieldError::new(path.clone(), message));
                }
            }
            Kind::Struct(inner) => out.extend(field_errors(inner, &path)),
            Kind::List(items) => {
                for (i, inner) in items {
                    out.extend(field_errors(inner, &format!("{path}[{i}]")));
                }
            }
        }
    }
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}
