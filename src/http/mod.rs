//! HTTP plumbing shared by every route: the HTTP error and its problem
//! documents, middleware, extractor error mapping.

pub mod client;
pub mod errors;
pub mod middleware;

pub use client::client_ip;
pub use errors::{ApiError, JsonBody, Problem};
