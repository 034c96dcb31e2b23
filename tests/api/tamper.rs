//! Tamper evidence (#13): what an insider with the database, the export or
//! the server's files might change, and the check that names it.

use std::process::{Command, Output};

use diesel::RunQueryDsl;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, TestApp};
use crate::results::{export, run_election, tally, Ran};

crate::both_backends!(
    content_edited_in_the_database_after_close_refuses_the_tally,
    a_ballot_added_in_the_database_after_close_refuses_the_tally,
    a_label_swapped_in_the_export_fails_the_election_digest,
);

/// Runs `ballotbox verify` on a document, with extra arguments.
pub fn verify_doc(doc: &Value, extra: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.json");
    std::fs::write(&path, serde_json::to_vec(doc).unwrap()).unwrap();
    Command::new(env!("CARGO_BIN_EXE_ballotbox"))
        .arg("verify")
        .arg(&path)
        .args(extra)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run ballotbox verify")
}

pub fn text_of(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Verify fails, names the check, and passes the genuine document.
pub fn assert_caught(doc: &Value, check: &str, extra: &[&str]) -> String {
    let out = verify_doc(doc, extra);
    let text = text_of(&out);
    assert!(!out.status.success(), "passed despite tampering: {text}");
    assert!(text.contains(&format!("FAIL {check}")), "{check}: {text}");
    text
}

/// Runs SQL on the test's database as its owner would.
async fn sql(app: &TestApp, statement: String) -> usize {
    app.with_conn(move |c| {
        diesel::sql_query(statement.as_str())
            .execute(c)
            .unwrap_or_else(|e| panic!("{statement}: {e}"))
    })
    .await
}

/// The election's audit events, as the API serves them.
async fn audit_events(app: &TestApp, ran: &Ran) -> Vec<Value> {
    let resp = app
        .get(&ran.path("/audit-log?limit=500"), Some(&ran.auditor))
        .await;
    assert_eq!(resp.status(), 200);
    let page: Value = resp.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

async fn assert_tally_refused(app: &TestApp, ran: &Ran, what: &str) {
    let resp = app
        .post(&ran.path("/tally"), &json!({}), Some(&ran.admin))
        .await;
    let problem = assert_problem(resp, 409).await;
    assert_eq!(
        problem["type"], "urn:ballotbox:problem:integrity",
        "{problem}"
    );
    assert!(
        problem["detail"].as_str().unwrap().contains(what),
        "{problem}"
    );
    let events = audit_events(app, ran).await;
    let failed: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "integrity.failed")
        .collect();
    assert_eq!(failed.len(), 1, "one integrity.failed event");
    assert!(events.iter().all(|e| e["action"] != "election.tallied"));
    let e: Value = app
        .get(&ran.path(""), Some(&ran.admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(e["state"], "closed", "nothing was tallied");
    assert_problem(app.get(&ran.path("/results"), Some(&ran.admin)).await, 409).await;
}

async fn content_edited_in_the_database_after_close_refuses_the_tally(app: TestApp) {
    let ran = run_election(&app).await;
    // The first plurality answer moved to another option, hash untouched:
    // the 3-1-1 count would silently become 2-2-1.
    let code = ran.receipts[0]["tracking_code"]
        .as_str()
        .unwrap()
        .to_string();
    #[derive(diesel::QueryableByName)]
    struct Content {
        #[diesel(sql_type = diesel::sql_types::Text)]
        content: String,
    }
    let c2 = code.clone();
    let content = app
        .with_conn(move |c| {
            diesel::sql_query(format!(
                "SELECT content FROM ballots WHERE tracking_code = '{c2}'"
            ))
            .get_result::<Content>(c)
            .unwrap()
            .content
        })
        .await;
    let (first, rest) = content.split_once(';').unwrap();
    let other = if first == "0" { "1" } else { "0" };
    let n = sql(
        &app,
        format!("UPDATE ballots SET content = '{other};{rest}' WHERE tracking_code = '{code}'"),
    )
    .await;
    assert_eq!(n, 1);
    assert_tally_refused(&app, &ran, &code).await;
    let event = audit_events(&app, &ran)
        .await
        .into_iter()
        .find(|e| e["action"] == "integrity.failed")
        .unwrap();
    assert_eq!(event["details"]["tracking_codes"], json!([code]), "{event}");
    assert_eq!(event["details"]["bad_ballots"], 1, "{event}");
}

async fn a_ballot_added_in_the_database_after_close_refuses_the_tally(app: TestApp) {
    let ran = run_election(&app).await;
    // A copy of a genuine ballot under a new tracking code: its hash
    // matches its content, only the Merkle root fixed at close can tell.
    let code = ran.receipts[0]["tracking_code"]
        .as_str()
        .unwrap()
        .to_string();
    let id = uuid::Uuid::new_v4();
    sql(
        &app,
        format!(
            "INSERT INTO ballots (id, election_id, tracking_code, ballot_hash, content) \
             SELECT '{id}', election_id, 'ZZZZZZZZZZZZZZZZ', ballot_hash, content \
             FROM ballots WHERE tracking_code = '{code}'"
        ),
    )
    .await;
    assert_tally_refused(&app, &ran, "Merkle root").await;
}

async fn a_label_swapped_in_the_export_fails_the_election_digest(app: TestApp) {
    let ran = run_election(&app).await;
    let results = tally(&app, &ran).await;
    assert_eq!(
        results["election_digest"].as_str().map(str::len),
        Some(64),
        "{results}"
    );
    let doc: Value = serde_json::from_str(&export(&app, &ran, "format=json").await).unwrap();
    let pk = app.keys.signer.public_key_b64();
    let out = verify_doc(&doc, &["--public-key", &pk]);
    assert!(out.status.success(), "{}", text_of(&out));
    assert!(text_of(&out).contains("ok   election digest"));

    // The plurality winner's label traded with a loser's: every count
    // still recounts, only the signed digest of the definition catches it.
    let mut swapped = doc.clone();
    let options = swapped["election"]["questions"][0]["options"]
        .as_array_mut()
        .unwrap();
    let l0 = options[0]["label"].clone();
    options[0]["label"] = options[1]["label"].clone();
    options[1]["label"] = l0;
    let text = assert_caught(&swapped, "election digest", &["--public-key", &pk]);
    assert!(text.contains("ok   recount"), "{text}");
    // A prompt reworded.
    let mut reworded = doc.clone();
    reworded["election"]["title"] = json!("Another vote");
    assert_caught(&reworded, "election digest", &["--public-key", &pk]);
}
