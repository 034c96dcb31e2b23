//! Turns actix's own errors (bad JSON, wrong content type, oversize body,
//! unknown route, wrong method) into RFC 9457 problem documents.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::error::{JsonPayloadError, PathError, PayloadError, QueryPayloadError};
use actix_web::http::header;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpRequest, HttpResponse};

use crate::error::{problem_response, ApiError, PROBLEM_JSON};

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
    ApiError::NotFound.into()
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
