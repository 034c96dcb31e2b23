//! The audit log: an append-only, hash-chained record of every admin and
//! system action. Casting a ballot is never an event: its time would link a
//! voter to a ballot.

pub mod model;
pub mod service;

pub use model::AuditEvent;
pub use service::record;
