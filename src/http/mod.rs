//! HTTP plumbing shared by every route: the HTTP error and its problem
//! documents, middleware, extractor error mapping.

pub mod errors;
pub mod middleware;

pub use errors::{ApiError, JsonBody, Problem};
