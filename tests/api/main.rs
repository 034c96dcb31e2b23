//! One integration test binary: each module is a feature, each test a sentence.

mod helpers;

mod auth;
mod cli;
mod elections;
mod foundation;
mod users;
