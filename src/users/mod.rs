//! User accounts and their roles.

pub mod dto;
pub mod handlers;
pub mod model;
pub mod repo;
pub mod service;

pub use model::{Role, User, UserId};
