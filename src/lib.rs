//! ballotbox: an online voting service. See README.md and docs/ for the
//! design; each folder is one domain (`auth`, `users`, `elections`, ...).

pub mod audit;
pub mod auth;
pub mod ballots;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod elections;
pub mod error;
pub mod http;
pub mod mail;
pub mod metrics;
pub mod openapi;
pub mod paging;
pub mod private;
pub mod results;
pub mod startup;
pub mod state;
pub mod system;
pub mod tally;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod text;
pub mod users;
pub mod web;

/// Mounts every feature's routes.
pub fn routes(cfg: &mut actix_web::web::ServiceConfig, settings: &config::Settings) {
    let bulk = http::errors::json_config(settings.server.bulk_body_limit);
    // No two routes overlap, so the order changes speed only, never who
    // answers: actix tries each resource's regex in turn, and casting, the
    // busiest route, goes first (about 3 % of a cast's CPU, BENCHMARKS.md).
    ballots::handlers::routes(cfg);
    system::handlers::routes(cfg);
    auth::handlers::routes(cfg);
    users::handlers::routes(cfg, &bulk);
    elections::handlers::routes(cfg, &bulk);
    results::handlers::routes(cfg);
    audit::handlers::routes(cfg);
    mail::handlers::routes(cfg);
    web::routes(cfg);
}
