//! The audit log: an append-only, hash-chained record of every admin and
//! system action, and of who read results, exports and the log itself.
//! Casting a ballot is never an event: its time would link a voter to a
//! ballot.

pub mod checkpoint;
pub mod handlers;
pub mod model;
pub mod repo;
pub mod service;

pub use model::AuditEvent;
pub use service::record;
