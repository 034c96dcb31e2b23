//! The audit log over HTTP: paging, the chain end to end, append-only.

use ballotbox::audit::model::{verify_chain, AuditEvent};
use ballotbox::users::Role;
use diesel::RunQueryDsl;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, TestApp};
use crate::results::{run_election, tally};

crate::both_backends!(
    the_chain_verifies_end_to_end_after_a_full_election,
    updates_and_deletes_of_audit_events_are_refused,
    the_audit_log_is_for_staff_with_cursors_from_this_api,
);

/// Every event, read through the API `limit` at a time.
async fn download(app: &TestApp, token: &str, path: &str, limit: u32) -> Vec<AuditEvent> {
    let mut events = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}?limit={limit}&cursor={c}"),
            None => format!("{path}?limit={limit}"),
        };
        let resp = app.get(&url, Some(token)).await;
        assert_eq!(resp.status(), 200);
        let page: Value = resp.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit as usize);
        for e in items {
            events.push(serde_json::from_value(e.clone()).unwrap());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return events,
        }
    }
}

async fn the_chain_verifies_end_to_end_after_a_full_election(app: TestApp) {
    let ran = run_election(&app).await;
    tally(&app, &ran).await;
    app.post(&ran.path("/publish"), &json!({}), Some(&ran.admin))
        .await;
    let events = download(&app, &ran.auditor, "/api/v1/audit-log", 3).await;
    verify_chain(&events).unwrap();
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=events.len() as i64).collect::<Vec<_>>());
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    for a in [
        "election.created",
        "roll.added",
        "election.opened",
        "election.closed",
        "election.tallied",
        "results.read",
        "election.published",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    let tallied = events
        .iter()
        .find(|e| e.action == "election.tallied")
        .unwrap();
    assert_eq!(tallied.details["ballot_count"], 5);
    assert_eq!(tallied.election_id.unwrap().to_string(), ran.id);
    // A changed event breaks the chain right there.
    let mut forged = events.clone();
    forged[2].details = json!({"forged": true});
    assert_eq!(verify_chain(&forged), Err(forged[2].seq));

    // The election's own log: its events only, each hash recomputes.
    let mine = download(&app, &ran.admin, &ran.path("/audit-log"), 2).await;
    assert!(mine.len() >= 6);
    for e in &mine {
        assert_eq!(e.election_id.unwrap().to_string(), ran.id);
        assert_eq!(e.compute_hash(), e.hash);
    }
}

async fn updates_and_deletes_of_audit_events_are_refused(app: TestApp) {
    let admin = app.admin_token().await;
    app.post(
        "/api/v1/users",
        &json!({"email": "n@example.org", "display_name": "N", "roles": ["voter"]}),
        Some(&admin),
    )
    .await;
    let before = crate::helpers::count_rows(&app, "audit_events").await;
    assert!(before >= 1);
    for sql in [
        "UPDATE audit_events SET action = 'forged'",
        "DELETE FROM audit_events",
    ] {
        let refused = app
            .with_conn(move |c| diesel::sql_query(sql).execute(c))
            .await;
        let err = refused.expect_err(sql).to_string();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(
        crate::helpers::count_rows(&app, "audit_events").await,
        before
    );
    let events = download(&app, &admin, "/api/v1/audit-log", 50).await;
    assert!(events.iter().all(|e| e.action != "forged"));
    verify_chain(&events).unwrap();
}

async fn the_audit_log_is_for_staff_with_cursors_from_this_api(app: TestApp) {
    let admin = app.admin_token().await;
    let voter = app.token_for("v@example.org", &[Role::Voter]).await;
    assert_problem(app.get("/api/v1/audit-log", Some(&voter)).await, 403).await;
    assert_problem(app.get("/api/v1/audit-log", None).await, 401).await;
    assert_problem(
        app.get("/api/v1/audit-log?cursor=bm90LWEtbnVtYmVy", Some(&admin))
            .await,
        422,
    )
    .await;
    assert_problem(
        app.get(
            &format!("/api/v1/elections/{}/audit-log", uuid::Uuid::new_v4()),
            Some(&admin),
        )
        .await,
        404,
    )
    .await;
    for i in 0..2 {
        let body =
            json!({"email": format!("u{i}@example.org"), "display_name": "U", "roles": ["voter"]});
        app.post("/api/v1/users", &body, Some(&admin)).await;
    }
    // Only the first page of a download is recorded, so paging ends even at
    // one event per page.
    let events = download(&app, &admin, "/api/v1/audit-log", 1).await;
    assert_eq!(events.last().unwrap().action, "audit.read");
    let reads = events.iter().filter(|e| e.action == "audit.read").count();
    assert_eq!(reads, 1);
    assert_eq!(events.len(), 3);
}
