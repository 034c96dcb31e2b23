//! One integration test binary: each module is a feature, each test a sentence.

mod helpers;

mod abuse;
mod audit;
mod auth;
mod ballots;
mod cli;
mod durability;
mod elections;
mod foundation;
mod hostile;
mod mail;
mod operations;
mod results;
mod roles;
mod secrecy;
mod tamper;
mod users;
mod web;
