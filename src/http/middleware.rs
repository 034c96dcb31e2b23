//! Middleware: a request id and one log line per request, security headers,
//! and a deadline on request bodies (actix has none of its own).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::HttpMessage;
use futures_util::Stream;

/// The route that casts a ballot, counted by outcome in the metrics.
const CAST_ROUTE: &str = "/api/v1/elections/{id}/ballots";

/// Response header carrying the request id that the log line shows.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Logs `method path status duration request-id`; never the query string,
/// headers or body, so no token, password or ballot reaches the log.
pub async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let method = req.method().clone();
    let path = req.path().to_string();
    // The pattern, never the path: metric labels must not carry ids.
    let route = req.match_pattern();
    let res = next.call(req).await;
    let status = match &res {
        Ok(res) => res.status().as_u16(),
        Err(e) => e.as_response_error().status_code().as_u16(),
    };
    let route = route.as_deref().unwrap_or("unmatched");
    crate::metrics::request(method.as_str(), route, status, started.elapsed());
    if method == actix_web::http::Method::POST && route == CAST_ROUTE {
        crate::metrics::cast(status);
    }
    let micros = started.elapsed().as_micros() as u64;
    log::info!(
        target: "ballotbox::request",
        method = method.as_str(), path = path.as_str(), status = status, micros = micros, rid = id.as_str();
        "{method} {path} {status} {micros}µs rid={id}"
    );
    let mut res = res?;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    Ok(res)
}

/// Security headers on every response; API answers are never cached.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let is_docs = req.path().starts_with("/docs");
    let mut res = next.call(req).await?;
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if is_docs {
        // Swagger UI's own scripts and styles, all served from this binary.
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                 script-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
            ),
        );
    } else if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        // The web app's responses carry their own policy (see `web`).
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

/// Cuts off a request body that has not fully arrived within `timeout`.
pub fn body_deadline(mut req: ServiceRequest, timeout: Duration) -> ServiceRequest {
    let inner = req.take_payload();
    let stream = DeadlinePayload {
        inner,
        deadline: Box::pin(tokio::time::sleep(timeout)),
        expired: false,
    };
    req.set_payload(Payload::from(
        Box::pin(stream) as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>
    ));
    req
}

struct DeadlinePayload {
    inner: Payload,
    deadline: Pin<Box<tokio::time::Sleep>>,
    expired: bool,
}

impl Stream for DeadlinePayload {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.expired = true;
            return Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "request body timed out",
            )))));
        }
        Poll::Pending
    }
}
