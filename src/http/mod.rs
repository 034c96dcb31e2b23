//! HTTP plumbing shared by every route: middleware, extractor error mapping,
//! paging parameters.

pub mod errors;
pub mod middleware;
pub mod paging;
