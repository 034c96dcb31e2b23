//! Prometheus metrics: one process-wide recorder, read at `GET /metrics` on
//! the separate `server.metrics_bind` listener (never the public port).
//!
//! Labels are bounded: the route *pattern* (`/api/v1/elections/{id}`),
//! never the raw path, so no id, token or email reaches a label, and the
//! number of series is fixed by the route table. Casts are counted by
//! outcome only (never by election or voter): the counter moves for every
//! cast, so its timing says no more than the public turnout does.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::db::DbPool;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Latency buckets in seconds, from a fast read to a slow tally.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Installs the recorder once per process (several test servers share it);
/// `None` when another recorder was installed first.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new().set_buckets(BUCKETS).ok()?;
            let handle = builder.install_recorder().ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    metrics::describe_counter!(
        "http_requests_total",
        "HTTP requests by method, route pattern and status"
    );
    metrics::describe_histogram!(
        "http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by method and route pattern"
    );
    metrics::describe_counter!(
        "ballotbox_casts_total",
        "Ballot casts by outcome (accepted, duplicate, refused, invalid, unavailable)"
    );
    metrics::describe_histogram!(
        "ballotbox_db_pool_wait_seconds",
        metrics::Unit::Seconds,
        "Time waiting for a pooled database connection"
    );
    metrics::describe_gauge!("ballotbox_db_pool_connections", "Open pooled connections");
    metrics::describe_gauge!("ballotbox_db_pool_idle", "Idle pooled connections");
    metrics::describe_histogram!(
        "ballotbox_tally_duration_seconds",
        metrics::Unit::Seconds,
        "Time to tally an election"
    );
    metrics::describe_histogram!(
        "ballotbox_export_duration_seconds",
        metrics::Unit::Seconds,
        "Time to stream an export"
    );
}

/// Records one answered request. `route` is the matched pattern, or
/// `"unmatched"`.
pub fn request(method: &str, route: &str, status: u16, elapsed: Duration) {
    metrics::counter!(
        "http_requests_total",
        "method" => method.to_string(),
        "route" => route.to_string(),
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!(
        "http_request_duration_seconds",
        "method" => method.to_string(),
        "route" => route.to_string()
    )
    .record(elapsed.as_secs_f64());
}

/// Records a cast by what the answer's status means.
pub fn cast(status: u16) {
    let outcome = match status {
        200 | 201 => "accepted",
        409 => "duplicate",
        401 | 403 | 404 => "refused",
        400 | 413 | 415 | 422 => "invalid",
        503 => "unavailable",
        _ => "other",
    };
    metrics::counter!("ballotbox_casts_total", "outcome" => outcome).increment(1);
}

/// Time spent waiting for a pooled connection.
pub fn pool_wait(elapsed: Duration) {
    metrics::histogram!("ballotbox_db_pool_wait_seconds").record(elapsed.as_secs_f64());
}

/// How long a tally took.
pub fn tally(elapsed: Duration) {
    metrics::histogram!("ballotbox_tally_duration_seconds").record(elapsed.as_secs_f64());
}

/// How long an export took to stream.
pub fn export(elapsed: Duration) {
    metrics::histogram!("ballotbox_export_duration_seconds").record(elapsed.as_secs_f64());
}

/// The Prometheus text for a scrape, with the pool's state read now.
pub fn render(pool: &DbPool) -> String {
    let state = pool.state();
    metrics::gauge!("ballotbox_db_pool_connections").set(f64::from(state.connections));
    metrics::gauge!("ballotbox_db_pool_idle").set(f64::from(state.idle_connections));
    match install() {
        Some(handle) => {
            handle.run_upkeep();
            handle.render()
        }
        None => String::new(),
    }
}
