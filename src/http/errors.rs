//! The HTTP error: the domain's [`AppError`] plus what only HTTP can go
//! wrong (a body too large, of the wrong type, or too slow), mapped once to a
//! status and an RFC 9457 problem document. Also turns actix's own errors
//! (bad JSON, unknown route, wrong method) into problem documents.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::error::{JsonPayloadError, PathError, PayloadError, QueryPayloadError};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub use crate::error::FieldError;
use crate::error::{AppError, Input};

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

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

/// The error every handler returns.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    App(#[from] AppError),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("request timeout")]
    RequestTimeout,
}

impl ApiError {
    pub fn bad_request(detail: impl Into<String>) -> Self {
        AppError::bad_request(detail).into()
    }

    fn slug_and_detail(&self) -> (&'static str, String) {
        let app = match self {
            ApiError::PayloadTooLarge => {
                return (
                    "payload-too-large",
                    "The request body is over the configured limit.".into(),
                )
            }
            ApiError::UnsupportedMediaType => {
                return (
                    "unsupported-media-type",
                    "Send the body as application/json.".into(),
                )
            }
            ApiError::RequestTimeout => {
                return (
                    "request-timeout",
                    "The request body did not arrive in time.".into(),
                )
            }
            ApiError::App(app) => app,
        };
        match app {
            AppError::BadRequest(d) => ("bad-request", d.clone()),
            AppError::Unauthorized => (
                "unauthorized",
                "A valid bearer access token is required.".into(),
            ),
            AppError::InvalidCredentials => {
                ("invalid-credentials", "Invalid email or password.".into())
            }
            AppError::InvalidInvitation => (
                "invalid-invitation",
                "The invitation is unknown, already used or expired.".into(),
            ),
            AppError::Forbidden => (
                "forbidden",
                "Your role does not allow this operation.".into(),
            ),
            AppError::NotFound => ("not-found", "No such resource.".into()),
            AppError::Conflict(d) => ("conflict", d.clone()),
            AppError::Integrity(d) => ("integrity", d.clone()),
            AppError::Validation(_) => (
                "validation",
                "The request is well-formed but some fields are invalid.".into(),
            ),
            AppError::TooManyRequests { retry_after_secs } => (
                "too-many-requests",
                format!("Too many attempts; retry after {retry_after_secs} seconds."),
            ),
            AppError::Unavailable(_) => (
                "unavailable",
                "The database is unavailable; try again shortly.".into(),
            ),
            AppError::Internal(_) => ("internal", "An internal error occurred.".into()),
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
        let app = match self {
            ApiError::PayloadTooLarge => return StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => return StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RequestTimeout => return StatusCode::REQUEST_TIMEOUT,
            ApiError::App(app) => app,
        };
        match app {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized | AppError::InvalidCredentials | AppError::InvalidInvitation => {
                StatusCode::UNAUTHORIZED
            }
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict(_) | AppError::Integrity(_) => StatusCode::CONFLICT,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::App(AppError::Internal(cause)) => log::error!("internal error: {cause}"),
            ApiError::App(AppError::Unavailable(cause)) => {
                log::warn!("database unavailable: {cause}")
            }
            _ => {}
        }
        let (slug, detail) = self.slug_and_detail();
        let errors = match self {
            ApiError::App(AppError::Validation(errors)) => Some(errors.clone()),
            _ => None,
        };
        let mut response = problem_response(self.status_code(), slug, detail, errors);
        if let ApiError::App(AppError::TooManyRequests { retry_after_secs }) = self {
            if let Ok(value) = header::HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// A JSON body whose parse error waits for the service: a body that is not
/// JSON at all, too large or too slow is refused here (415, 413, 408), but
/// one that fails to parse reaches the service as an [`Input`] holding the
/// 400, which it returns only after checking the caller.
pub struct JsonBody<T>(pub Input<T>);

impl<T: serde::de::DeserializeOwned + 'static> actix_web::FromRequest for JsonBody<T> {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let json = actix_web::web::Json::<T>::from_request(req, payload);
        Box::pin(async move {
            match json.await {
                Ok(body) => Ok(JsonBody(Input::new(Ok(body.into_inner())))),
                Err(e) => match e.as_error::<ApiError>() {
                    Some(ApiError::App(AppError::BadRequest(detail))) => Ok(JsonBody(Input::new(
                        Err(AppError::BadRequest(detail.clone())),
                    ))),
                    _ => Err(e),
                },
            }
        })
    }
}

/// JSON extraction with a body limit and problem-document errors.
pub fn json_config(limit: usize) -> actix_web::web::JsonConfig {
    actix_web::web::JsonConfig::default()
        .limit(limit)
        .error_handler(json_error)
}

/// Maps a JSON body extraction failure to its status.
pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType,
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::PayloadTooLarge
        }
        JsonPayloadError::Payload(PayloadError::Overflow) => ApiError::PayloadTooLarge,
        JsonPayloadError::Payload(PayloadError::Io(e))
            if e.kind() == std::io::ErrorKind::TimedOut =>
        {
            ApiError::RequestTimeout
        }
        JsonPayloadError::Deserialize(e) => {
            // serde's message names the field or type at fault and holds no secret.
            ApiError::bad_request(format!("Invalid JSON body: {e}"))
        }
        _ => ApiError::bad_request("Invalid request body."),
    };
    api.into()
}

/// Maps a bad path parameter (a malformed id) to 404: no such resource.
pub fn path_error(_err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::from(AppError::NotFound).into()
}

/// Maps a bad query string to 400.
pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request(format!("Invalid query string: {err}")).into()
}

/// Rewrites any error response that is not already a problem document (a 404
/// from routing, a 405 from a resource) into one.
pub fn ensure_problem<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let slug = match status.as_u16() {
        404 => "not-found",
        405 => "method-not-allowed",
        413 => "payload-too-large",
        415 => "unsupported-media-type",
        408 => "request-timeout",
        400 => "bad-request",
        s if s >= 500 => "internal",
        _ => "error",
    };
    let detail = match status.as_u16() {
        404 => "No such resource.".to_string(),
        405 => "This method is not allowed on this resource.".to_string(),
        s if s >= 500 => "An internal error occurred.".to_string(),
        _ => status.canonical_reason().unwrap_or("Error").to_string(),
    };
    let (req, old) = res.into_parts();
    let mut new: HttpResponse<BoxBody> = problem_response(status, slug, detail, None);
    // Keep headers such as Allow, Retry-After and WWW-Authenticate.
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    let res = ServiceResponse::new(req, new).map_into_right_body::<B>();
    Ok(ErrorHandlerResponse::Response(res))
}

/// Default route: 404 problem.
pub async fn not_found() -> HttpResponse {
    problem_response(
        actix_web::http::StatusCode::NOT_FOUND,
        "not-found",
        "No such resource.".into(),
        None,
    )
}
