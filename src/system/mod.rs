//! Service-level endpoints: liveness, readiness and the public signing keys.

pub mod handlers;
