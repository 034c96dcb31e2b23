//! Authentication and authorization: argon2id passwords, short-lived JWT
//! access tokens bound to database sessions, rotating refresh tokens,
//! invitations and login throttling.

pub mod caller;
pub mod dto;
pub mod handlers;
pub mod identity;
pub mod model;
pub mod password;
pub mod repo;
pub mod service;
pub mod throttle;
pub mod tokens;

pub use caller::{AuthCheck, AuthUser};
pub use identity::{Admin, Auditor, SignedIn, Staff, Voter};
pub use model::SessionId;
