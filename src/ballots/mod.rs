//! Casting: one secret ballot per voter, signed receipts, idempotent
//! retries, the bulletin board with Merkle inclusion proofs, and turnout.

pub mod board;
pub mod handlers;
pub mod model;
pub mod repo;
pub mod rules;
pub mod seal;
pub mod service;
