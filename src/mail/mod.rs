//! Mail through a durable outbox. A message is queued in the same database
//! transaction as the change that causes it (a user invited, an election
//! opened or published, an admin's reminder), and a sender in every instance
//! claims due messages, renders them, sends them over SMTP and records the
//! outcome: `sent`, retried with back-off after a temporary failure,
//! `bounced` after a permanent refusal, `failed` after too many tries.
//!
//! Exactly once: a claim is a conditional update (PostgreSQL `FOR UPDATE SKIP
//! LOCKED`; SQLite's single writer), held as a lease far longer than an SMTP
//! exchange may take, and the outcome is written only by the claim's holder.
//! The one duplicate left: an instance that dies between the server's `250`
//! and its own commit; the message is then sent again when the lease lapses,
//! with the same `Message-ID`, so receiving systems can tell.
//!
//! Secrecy: nothing here reads a ballot. Recipients are chosen from the roll
//! (reminders: the roll's `has_voted`, which admins already see), and
//! timing follows admin actions and the lifecycle, never a cast.

pub mod dto;
pub mod handlers;
pub mod model;
pub mod outbox;
pub mod repo;
pub mod sender;
pub mod service;
pub mod templates;
pub mod transport;

pub use model::{MailId, MailKind, MailStatus};
pub use outbox::Outbox;
