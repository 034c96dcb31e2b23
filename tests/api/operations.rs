//! Running it as a service: the Prometheus listener, JSON logs.

use crate::helpers::{answers_picking, election_body, spawn_app_with, Backend};
use ballotbox::users::Role;

/// A port that was free a moment ago (the metrics listener binds it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_on_their_own_port_with_bounded_labels() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        metrics_on(backend).await;
    }
}

async fn metrics_on(backend: Backend) {
    let port = free_port();
    let Some(app) = spawn_app_with(backend, |s| {
        s.server.metrics_bind = format!("127.0.0.1:{port}");
    })
    .await
    else {
        return;
    };
    let admin = app.admin_token().await;
    let e = app
        .create_election(&admin, &election_body("Metrics", "all_voters", 2))
        .await;
    let id = e["id"].as_str().unwrap();
    assert_eq!(app.step(&admin, id, "open").await.status(), 200);
    let voter = app.token_for("v@example.org", &[Role::Voter]).await;
    assert_eq!(
        app.cast(&voter, id, &answers_picking(&e, 0)).await.status(),
        201
    );
    assert_eq!(
        app.cast(&voter, id, &answers_picking(&e, 1)).await.status(),
        409
    );

    // Not on the public port.
    assert_eq!(app.get("/metrics", None).await.status(), 404);

    let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .expect("scrape")
        .text()
        .await
        .unwrap();
    for needle in [
        r#"http_requests_total{method="POST",route="/api/v1/elections/{id}/ballots",status="201"}"#,
        r#"http_requests_total{method="POST",route="/api/v1/elections/{id}/ballots",status="409"}"#,
        r#"ballotbox_casts_total{outcome="accepted"}"#,
        r#"ballotbox_casts_total{outcome="duplicate"}"#,
        "http_request_duration_seconds_bucket",
        "ballotbox_db_pool_wait_seconds",
        "ballotbox_db_pool_connections",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    // No label carries an id, an email or a token: only route patterns.
    assert!(!text.contains(id), "an election id leaked into a label");
    assert!(!text.contains("example.org"));
    assert!(!text.contains(&admin[..20]));
    for line in text.lines().filter(|l| l.contains("route=\"")) {
        let route = line
            .split("route=\"")
            .nth(1)
            .and_then(|r| r.split('"').next());
        let route = route.unwrap_or_default();
        assert!(
            route == "unmatched" || route.starts_with('/'),
            "odd route label in {line}"
        );
        assert!(
            !route
                .split('/')
                .any(|seg| uuid::Uuid::parse_str(seg).is_ok()),
            "a raw path in {line}"
        );
    }
}
