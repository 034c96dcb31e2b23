//! Tamper evidence (#13): what an insider with the database, the export or
//! the server's files might change, and the check that names it.

use std::process::{Command, Output};

use diesel::RunQueryDsl;
use serde_json::{json, Value};

use ballotbox::audit::checkpoint::Checkpoint;
use ballotbox::audit::model::{details_hash, AuditEvent};

use crate::helpers::{assert_problem, spawn_app_with, Backend, TestApp};
use crate::results::{export, run_election, tally, Ran};

crate::both_backends!(
    content_edited_in_the_database_after_close_refuses_the_tally,
    a_ballot_added_in_the_database_after_close_refuses_the_tally,
    a_label_swapped_in_the_export_fails_the_election_digest,
    checkpoints_are_signed_at_every_state_change_and_never_change,
    a_chain_rewritten_with_triggers_dropped_is_caught_by_a_kept_checkpoint,
    each_tampered_export_fails_the_named_check_with_its_exit_bits,
    the_python_verifier_agrees_on_genuine_and_tampered_exports,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_head_is_checkpointed_on_an_interval_on_sqlite() {
    head_is_checkpointed_on_an_interval(crate::helpers::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_head_is_checkpointed_on_an_interval_on_postgres() {
    head_is_checkpointed_on_an_interval(crate::helpers::Backend::Postgres).await;
}

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

/// The Python that runs tools/verify/verify.py: `BALLOTBOX_PYTHON`
/// (scripts/test sets it to target/tools-venv), else the venv if present,
/// else `python3`. It must have `cryptography`: no silent skip.
fn python() -> String {
    let python = std::env::var("BALLOTBOX_PYTHON").unwrap_or_else(|_| {
        let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/target/tools-venv/bin/python");
        let has = |p: &str| {
            Command::new(p)
                .args(["-c", "import cryptography"])
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if has(venv) {
            venv.into()
        } else {
            "python3".into()
        }
    });
    let ok = Command::new(&python)
        .args(["-c", "import cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{python} lacks the cryptography package: run scripts/test, or pip install cryptography"
    );
    python
}

/// Runs the independent Python verifier on a document.
pub fn py_verify(doc: &Value, extra: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.json");
    std::fs::write(&path, serde_json::to_vec(doc).unwrap()).unwrap();
    Command::new(python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tools/verify/verify.py"
        ))
        .arg(&path)
        .args(extra)
        .output()
        .expect("run verify.py")
}

/// Both verifiers fail a document and name the same check.
fn both_catch(doc: &Value, check: &str, extra: &[&str]) {
    assert_caught(doc, check, extra);
    let out = py_verify(doc, extra);
    let text = text_of(&out);
    assert!(
        !out.status.success(),
        "verify.py passed despite tampering: {text}"
    );
    assert!(
        text.contains(&format!("FAIL {check}")),
        "verify.py, {check}: {text}"
    );
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

/// Every signed checkpoint, as the API lists them.
async fn checkpoints(app: &TestApp, token: &str) -> Vec<Checkpoint> {
    let resp = app
        .get("/api/v1/audit-log/checkpoints?limit=500", Some(token))
        .await;
    assert_eq!(resp.status(), 200);
    let page: Value = resp.json().await.unwrap();
    serde_json::from_value(page["items"].clone()).unwrap()
}

fn seq_of(events: &[Value], action: &str) -> i64 {
    events
        .iter()
        .find(|e| e["action"] == action)
        .unwrap_or_else(|| panic!("no {action}"))["seq"]
        .as_i64()
        .unwrap()
}

async fn checkpoints_are_signed_at_every_state_change_and_never_change(app: TestApp) {
    let ran = run_election(&app).await;
    tally(&app, &ran).await;
    let events = audit_events(&app, &ran).await;
    let kept = checkpoints(&app, &ran.auditor).await;
    let pk = app.keys.signer.public_key_b64();
    for action in [
        "election.created",
        "election.opened",
        "election.closed",
        "election.tallied",
    ] {
        let seq = seq_of(&events, action);
        let event = events.iter().find(|e| e["seq"] == seq).unwrap();
        let cp = kept
            .iter()
            .find(|c| c.seq == seq)
            .unwrap_or_else(|| panic!("no checkpoint at {action}: {kept:?}"));
        assert_eq!(cp.hash, event["hash"].as_str().unwrap(), "{action}");
        assert_eq!(cp.kid, app.keys.signer.kid);
        assert!(cp.verifies(&pk), "{action}: signature");
        let mut forged = cp.clone();
        forged.hash = ballotbox::audit::model::GENESIS_HASH.to_string();
        assert!(!forged.verifies(&pk));
    }
    // Voters and anonymous callers do not list them.
    let resp = app
        .get("/api/v1/audit-log/checkpoints", Some(&ran.voters[0]))
        .await;
    assert_problem(resp, 403).await;
    assert_problem(app.get("/api/v1/audit-log/checkpoints", None).await, 401).await;
    // A signed checkpoint cannot be re-signed, edited or removed, even
    // through SQL by the service's own connection.
    let seq = kept[0].seq;
    for statement in [
        format!("UPDATE audit_checkpoints SET hash = 'x' WHERE seq = {seq}"),
        format!("UPDATE audit_checkpoints SET signature = 'x' WHERE seq = {seq}"),
        format!("DELETE FROM audit_checkpoints WHERE seq = {seq}"),
    ] {
        let result = app
            .with_conn(move |c| diesel::sql_query(statement.as_str()).execute(c))
            .await;
        assert!(result.is_err(), "a signed checkpoint changed");
    }
    assert_eq!(checkpoints(&app, &ran.auditor).await[0], kept[0]);

    // The OpenAPI document lists the route and every redactable action,
    // and only those (the contract's closed list).
    let doc: Value = app
        .get("/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/api/v1/audit-log/checkpoints"]["get"].is_object());
    let described = doc["components"]["schemas"]["AuditEvent"]["description"]
        .as_str()
        .unwrap();
    let flat = described.split_whitespace().collect::<Vec<_>>().join(" ");
    let after = flat.split("Redactable actions: ").nth(1).unwrap();
    let listed: Vec<&str> = after.split(". ").next().unwrap().split(", ").collect();
    assert_eq!(
        listed,
        ballotbox::audit::model::REDACTABLE_ACTIONS,
        "{described}"
    );
}

async fn head_is_checkpointed_on_an_interval(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.audit.checkpoint_interval_secs = 1).await else {
        return;
    };
    let admin = app.admin_token().await;
    // user.created is not a state change: only the interval covers it.
    let resp = app
        .post(
            "/api/v1/users",
            &json!({"email": "new@example.org", "display_name": "New", "roles": ["voter"]}),
            Some(&admin),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let head = app
        .with_conn(|c| {
            ballotbox::audit::repo::page(c, None, None, 1000)
                .unwrap()
                .last()
                .unwrap()
                .seq
        })
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let list = checkpoints(&app, &admin).await;
        if let Some(cp) = list.iter().find(|c| c.seq >= head) {
            assert!(cp.verifies(&app.keys.signer.public_key_b64()));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint covers seq {head}: {list:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// What an owner of the database can do: turn off the append-only
/// triggers, edit an event, recompute every later hash so the chain checks
/// again, and turn the triggers back on.
async fn rewrite_chain_from(app: &TestApp, seq: i64) {
    app.with_conn(move |c| {
        let pg = ballotbox::db::is_pg(c);
        let off = if pg {
            "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_or_delete"
        } else {
            "DROP TRIGGER audit_events_no_update"
        };
        diesel::sql_query(off).execute(c).unwrap();
        let rows = ballotbox::audit::repo::page(c, None, Some(seq - 1), 100_000).unwrap();
        let mut prev = rows[0].prev_hash.clone();
        for row in rows {
            let mut e = AuditEvent::from_row(row);
            if e.seq == seq {
                e.actor_id = None;
                e.details["by"] = json!("timer");
            }
            e.prev_hash = prev.clone();
            e.hash = e.compute_hash();
            let details = String::from_utf8(ballotbox::crypto::canonical_json(&e.details)).unwrap();
            let actor = match e.actor_id {
                Some(a) => format!("'{a}'"),
                None => "NULL".into(),
            };
            diesel::sql_query(format!(
                "UPDATE audit_events SET actor_id = {actor}, details = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {}",
                details.replace('\'', "''"), e.prev_hash, e.hash, e.seq
            ))
            .execute(c)
            .unwrap();
            prev = e.hash;
        }
        let on = if pg {
            "ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_or_delete"
        } else {
            "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events \
             BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
        };
        diesel::sql_query(on).execute(c).unwrap();
    })
    .await
}

async fn a_chain_rewritten_with_triggers_dropped_is_caught_by_a_kept_checkpoint(app: TestApp) {
    let ran = run_election(&app).await;
    // The auditor keeps the checkpoints as they stand after the close.
    let resp = app
        .get(
            "/api/v1/audit-log/checkpoints?limit=500",
            Some(&ran.auditor),
        )
        .await;
    let kept_page: Value = resp.json().await.unwrap();
    let closed = seq_of(&audit_events(&app, &ran).await, "election.closed");
    assert!(kept_page["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["seq"] == closed));

    rewrite_chain_from(&app, closed).await;
    // Nothing inside the database notices: the chain checks end to end.
    let all = app
        .with_conn(|c| ballotbox::audit::repo::page(c, None, None, 100_000).unwrap())
        .await;
    let all: Vec<AuditEvent> = all.into_iter().map(AuditEvent::from_row).collect();
    ballotbox::audit::model::verify_chain(&all).unwrap();
    let rewritten = all.iter().find(|e| e.seq == closed).unwrap();
    assert!(rewritten.actor_id.is_none());

    tally(&app, &ran).await;
    let doc: Value = serde_json::from_str(&export(&app, &ran, "format=json").await).unwrap();
    let pk = app.keys.signer.public_key_b64();
    // The server signs whatever head it has: the export alone verifies...
    let out = verify_doc(&doc, &["--public-key", &pk]);
    assert!(out.status.success(), "{}", text_of(&out));
    // ...but not against the checkpoint kept before the rewrite.
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("kept.json");
    std::fs::write(&kept, serde_json::to_vec(&kept_page).unwrap()).unwrap();
    let kept = kept.to_str().unwrap();
    let text = assert_caught(
        &doc,
        "kept checkpoints",
        &["--public-key", &pk, "--checkpoints", kept],
    );
    assert!(text.contains(&format!("seq {closed}")), "{text}");
    let out = verify_doc(&doc, &["--public-key", &pk, "--checkpoints", kept]);
    assert_eq!(out.status.code(), Some(1 | 16), "{}", text_of(&out));
    // The independent verifier catches it the same way.
    let out = py_verify(&doc, &["--public-key", &pk]);
    assert!(out.status.success(), "{}", text_of(&out));
    let out = py_verify(&doc, &["--public-key", &pk, "--checkpoints", kept]);
    assert_eq!(out.status.code(), Some(1 | 16), "{}", text_of(&out));
    assert!(text_of(&out).contains("FAIL kept checkpoints"));
}

/// The SHA-256 of a ballot as API.md defines it (no server code).
/// The v2 ballot hash, under the ballot's own (published) salt.
fn rehash(election_id: &str, answers: &Value, salt: &str) -> String {
    let mut sorted = answers.as_array().unwrap().clone();
    sorted.sort_by_key(|a| a["question_id"].as_str().unwrap().to_string());
    ballotbox::crypto::sha256_hex(&ballotbox::crypto::canonical_json(
        &json!({"election_id": election_id, "answers": sorted, "salt": salt}),
    ))
}

fn status_of(doc: &Value, extra: &[&str]) -> i32 {
    verify_doc(doc, extra).status.code().unwrap()
}

async fn each_tampered_export_fails_the_named_check_with_its_exit_bits(app: TestApp) {
    let ran = run_election(&app).await;
    tally(&app, &ran).await;
    let doc: Value = serde_json::from_str(&export(&app, &ran, "format=json").await).unwrap();
    let pk = app.keys.signer.public_key_b64();
    let key = ["--public-key", pk.as_str()];
    let out = verify_doc(&doc, &key);
    let text = text_of(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for check in [
        "export format",
        "ballot hashes",
        "ballot validity",
        "merkle root",
        "ballot count",
        "recount",
        "election digest",
        "results signature",
        "audit chain",
        "audit redactions",
        "audit lifecycle",
        "audit checkpoint",
    ] {
        assert!(text.contains(&format!("ok   {check}")), "{check}: {text}");
    }
    // The roll's events are exported redacted and still chain.
    let events = doc["audit_events"].as_array().unwrap();
    let roll = events.iter().find(|e| e["action"] == "roll.added").unwrap();
    assert_eq!(roll["redacted"], true);
    assert!(roll.get("details").is_none(), "{roll}");
    assert!(!doc.to_string().contains(&ran.voter_ids[0]), "no voter id");

    // The close and the tally replaced by redacted stubs.
    let mut stubbed = doc.clone();
    for e in stubbed["audit_events"].as_array_mut().unwrap() {
        if e["action"] == "election.closed" || e["action"] == "election.tallied" {
            let dh = details_hash(&e["details"]);
            let map = e.as_object_mut().unwrap();
            map.remove("details");
            map.insert("details_hash".into(), json!(dh));
            map.insert("redacted".into(), json!(true));
        }
    }
    let text = assert_caught(&stubbed, "audit redactions", &key);
    assert!(text.contains("ok   audit chain"), "the stubs chain: {text}");
    assert!(text.contains("election.closed"), "{text}");
    assert_eq!(status_of(&stubbed, &key), 1 | 16);

    // Two audit events swapped.
    let mut reordered = doc.clone();
    reordered["audit_events"].as_array_mut().unwrap().swap(1, 2);
    assert_caught(&reordered, "audit chain", &key);

    // An event dropped from the end: the checkpoint no longer matches.
    let mut cut = doc.clone();
    cut["audit_events"].as_array_mut().unwrap().pop();
    assert_caught(&cut, "audit checkpoint", &key);

    // Another key: every signature fails.
    let other = ballotbox::crypto::Keys::generate().signer.public_key_b64();
    let text = assert_caught(&doc, "results signature", &["--public-key", &other]);
    assert!(text.contains("FAIL audit checkpoint"), "{text}");
    assert_eq!(status_of(&doc, &["--public-key", &other]), 1 | 8 | 16);

    // A ballot added: a copy of a genuine one under a new tracking code.
    let mut added = doc.clone();
    let mut copy = added["ballots"][0].clone();
    copy["tracking_code"] = json!("ZZZZZZZZZZZZZZZZ");
    added["ballots"].as_array_mut().unwrap().push(copy);
    let text = assert_caught(&added, "merkle root", &key);
    assert!(text.contains("FAIL ballot count"), "{text}");
    assert!(text.contains("FAIL recount"), "{text}");
    // (and election.tallied recorded another ballot count)
    assert!(text.contains("FAIL audit lifecycle"), "{text}");
    assert_eq!(status_of(&added, &key), 1 | 4 | 8 | 16);

    // A plurality answer with two choices, rehashed so the hash holds:
    // only the method's rules catch it.
    let mut invalid = doc.clone();
    let election_id = ran.id.clone();
    let ballot = &mut invalid["ballots"][0];
    let q0 = ran.question(0);
    for a in ballot["answers"].as_array_mut().unwrap() {
        if a["question_id"] == q0.as_str() {
            a["selections"] = json!([ran.option(0, 0), ran.option(0, 1)]);
        }
    }
    let answers = ballot["answers"].clone();
    let salt = ballot["salt"].as_str().unwrap().to_string();
    ballot["ballot_hash"] = json!(rehash(&election_id, &answers, &salt));
    let text = assert_caught(&invalid, "ballot validity", &key);
    assert!(text.contains("ok   ballot hashes"), "{text}");
    assert!(text.contains("plurality takes"), "{text}");
    assert!(status_of(&invalid, &key) & 4 != 0);

    // Not an export: 2.
    assert_eq!(status_of(&json!({"hello": "world"}), &key), 2);
}

async fn the_python_verifier_agrees_on_genuine_and_tampered_exports(app: TestApp) {
    let ran = run_election(&app).await;
    tally(&app, &ran).await;
    let doc: Value = serde_json::from_str(&export(&app, &ran, "format=json").await).unwrap();
    let pk = app.keys.signer.public_key_b64();
    let key = ["--public-key", pk.as_str()];
    let out = py_verify(&doc, &key);
    let text = text_of(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for check in [
        "ballot hashes",
        "ballot validity",
        "merkle root",
        "ballot count",
        "recount",
        "election digest",
        "results signature",
        "audit chain",
        "audit redactions",
        "audit checkpoint",
    ] {
        assert!(text.contains(&format!("ok   {check}")), "{check}: {text}");
    }
    // Checkpoints as the API lists them verify too.
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("kept.json");
    let list = checkpoints(&app, &ran.auditor).await;
    std::fs::write(&kept, serde_json::to_vec(&list).unwrap()).unwrap();
    let kept = kept.to_str().unwrap();
    let out = py_verify(&doc, &["--public-key", &pk, "--checkpoints", kept]);
    assert!(out.status.success(), "{}", text_of(&out));

    let mut swapped = doc.clone();
    let options = swapped["election"]["questions"][0]["options"]
        .as_array_mut()
        .unwrap();
    let l0 = options[0]["label"].clone();
    options[0]["label"] = options[2]["label"].clone();
    options[2]["label"] = l0;
    both_catch(&swapped, "election digest", &key);

    let mut stubbed = doc.clone();
    for e in stubbed["audit_events"].as_array_mut().unwrap() {
        if e["action"] == "election.closed" {
            let dh = details_hash(&e["details"]);
            let map = e.as_object_mut().unwrap();
            map.remove("details");
            map.insert("details_hash".into(), json!(dh));
            map.insert("redacted".into(), json!(true));
        }
    }
    both_catch(&stubbed, "audit redactions", &key);

    let mut reordered = doc.clone();
    reordered["audit_events"].as_array_mut().unwrap().swap(1, 2);
    both_catch(&reordered, "audit chain", &key);

    let mut added = doc.clone();
    let mut copy = added["ballots"][0].clone();
    copy["tracking_code"] = json!("ZZZZZZZZZZZZZZZZ");
    added["ballots"].as_array_mut().unwrap().push(copy);
    both_catch(&added, "merkle root", &key);
    both_catch(&added, "recount", &key);

    let mut edited = doc.clone();
    let q0 = ran.question(0);
    for a in edited["ballots"][0]["answers"].as_array_mut().unwrap() {
        if a["question_id"] == q0.as_str() {
            let now = a["selections"][0].as_str().unwrap().to_string();
            let other = (0..3)
                .map(|o| ran.option(0, o))
                .find(|o| *o != now)
                .unwrap();
            a["selections"] = json!([other]);
        }
    }
    both_catch(&edited, "ballot hashes", &key);

    let other = ballotbox::crypto::Keys::generate().signer.public_key_b64();
    both_catch(&doc, "results signature", &["--public-key", &other]);
    both_catch(&doc, "audit checkpoint", &["--public-key", &other]);

    let out = py_verify(&json!({"hello": "world"}), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text_of(&out));
}
