//! Results and exports: tally, signed results, streamed JSON/CSV/BLT
//! exports, and `ballotbox verify` on them.

use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use ballotbox::crypto::canonical_json;
use ballotbox::crypto::keys::verify_b64;
use ballotbox::users::Role;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, TestApp};

crate::both_backends!(
    results_are_signed_match_the_board_and_count_what_was_cast,
    json_export_holds_exactly_the_acknowledged_ballots_and_no_voter,
    verify_passes_on_a_genuine_export_and_names_each_tampering,
    csv_and_blt_exports_count_the_same_as_the_results,
    staff_reads_are_recorded_and_no_audit_event_is_a_cast,
    export_parameters_are_checked,
    tallying_20000_ballots_keeps_the_server_answering,
);

/// Rankings (option positions) cast per voter, by question.
const PLURALITY: [usize; 5] = [0, 0, 1, 2, 0];
const RANKED: [&[usize]; 5] = [&[0, 1, 2], &[1, 0, 2], &[2, 1, 0], &[0, 2, 1], &[1, 2, 0]];
const STV: [&[usize]; 5] = [&[0, 1, 2, 3], &[1, 0], &[2, 3], &[3, 2, 1], &[0, 3]];

/// An election run through HTTP up to `closed`.
pub struct Ran {
    pub id: String,
    pub election: Value,
    pub admin: String,
    pub auditor: String,
    pub voters: Vec<String>,
    pub voter_ids: Vec<String>,
    pub emails: Vec<String>,
    pub receipts: Vec<Value>,
}

impl Ran {
    pub fn path(&self, tail: &str) -> String {
        format!("/api/v1/elections/{}{tail}", self.id)
    }

    pub fn option(&self, q: usize, o: usize) -> String {
        self.election["questions"][q]["options"][o]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn question(&self, q: usize) -> String {
        self.election["questions"][q]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

fn options(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"label": format!("Option {i}")}))
        .collect()
}

/// Creates an election with one question per method, puts five voters on
/// its roll, opens it, casts their ballots and closes it.
pub async fn run_election(app: &TestApp) -> Ran {
    let admin = app.admin_token().await;
    let auditor = app.token_for("auditor@example.org", &[Role::Auditor]).await;
    let body = json!({
        "title": "Club elections", "description": "Annual", "eligibility": "roll",
        "questions": [
            {"prompt": "Chair", "method": "plurality", "options": options(3)},
            {"prompt": "Approve, \"any\"", "method": "approval", "options": options(4)},
            {"prompt": "Treasurer", "method": "irv", "options": options(3)},
            {"prompt": "Board", "method": "stv", "seats": 2, "options": options(4)},
            {"prompt": "Venue", "method": "borda", "options": options(3)},
            {"prompt": "Motto", "method": "schulze", "options": options(3)},
        ]
    });
    let resp = app.post("/api/v1/elections", &body, Some(&admin)).await;
    assert_eq!(resp.status(), 201);
    let election: Value = resp.json().await.unwrap();
    let id = election["id"].as_str().unwrap().to_string();
    let mut ran = Ran {
        id,
        election,
        admin,
        auditor,
        voters: Vec::new(),
        voter_ids: Vec::new(),
        emails: Vec::new(),
        receipts: Vec::new(),
    };
    for i in 0..5 {
        let email = format!("voter{i}@example.org");
        let u = app.seed_user(&email, &[Role::Voter]).await;
        let token = app.login(&u.email, &u.password).await["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        ran.voters.push(token);
        ran.voter_ids.push(u.id);
        ran.emails.push(email);
    }
    let resp = app
        .post(
            &ran.path("/voters"),
            &json!({ "emails": ran.emails }),
            Some(&ran.admin),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let resp = app
        .post(&ran.path("/open"), &json!({}), Some(&ran.admin))
        .await;
    assert_eq!(resp.status(), 200);
    for i in 0..5 {
        let pick = |q: usize, list: &[usize]| -> Vec<String> {
            list.iter().map(|&o| ran.option(q, o)).collect()
        };
        let answers = json!([
            {"question_id": ran.question(0), "selections": pick(0, &[PLURALITY[i]])},
            {"question_id": ran.question(1), "selections": pick(1, &[0, 1 + i % 3])},
            {"question_id": ran.question(2), "selections": pick(2, RANKED[i])},
            {"question_id": ran.question(3), "selections": pick(3, STV[i])},
            {"question_id": ran.question(4), "selections": pick(4, RANKED[i])},
            {"question_id": ran.question(5), "selections": pick(5, RANKED[i])},
        ]);
        let resp = app
            .post(
                &ran.path("/ballots"),
                &json!({ "answers": answers }),
                Some(&ran.voters[i]),
            )
            .await;
        assert_eq!(resp.status(), 201);
        ran.receipts
            .push(resp.json::<Value>().await.unwrap()["receipt"].clone());
    }
    let resp = app
        .post(&ran.path("/close"), &json!({}), Some(&ran.admin))
        .await;
    assert_eq!(resp.status(), 200);
    ran
}

/// Tallies a closed election and returns the results as the admin sees them.
pub async fn tally(app: &TestApp, ran: &Ran) -> Value {
    let resp = app
        .post(&ran.path("/tally"), &json!({}), Some(&ran.admin))
        .await;
    assert_eq!(resp.status(), 200);
    let e: Value = resp.json().await.unwrap();
    assert_eq!(e["state"], "tallied");
    let resp = app.get(&ran.path("/results"), Some(&ran.admin)).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// Downloads an export as text.
pub async fn export(app: &TestApp, ran: &Ran, query: &str) -> String {
    let resp = app
        .get(&ran.path(&format!("/export?{query}")), Some(&ran.auditor))
        .await;
    assert_eq!(resp.status(), 200, "export {query}");
    resp.text().await.unwrap()
}

fn plurality_expected(ran: &Ran) -> BTreeMap<String, u64> {
    let mut m: BTreeMap<String, u64> = (0..3).map(|o| (ran.option(0, o), 0)).collect();
    for p in PLURALITY {
        *m.get_mut(&ran.option(0, p)).unwrap() += 1;
    }
    m
}

fn counts_of(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
        .collect()
}

async fn results_are_signed_match_the_board_and_count_what_was_cast(app: TestApp) {
    let ran = run_election(&app).await;
    let voter = ran.voters[0].clone();
    // Closed, not tallied: staff 409, voters 404.
    assert_problem(
        app.get(&ran.path("/results"), Some(&ran.auditor)).await,
        409,
    )
    .await;
    assert_problem(app.get(&ran.path("/results"), Some(&voter)).await, 404).await;
    assert_problem(
        app.post(&ran.path("/tally"), &json!({}), Some(&ran.auditor))
            .await,
        403,
    )
    .await;
    let results = tally(&app, &ran).await;
    // A second tally is a wrong-state 409, and changes nothing.
    assert_problem(
        app.post(&ran.path("/tally"), &json!({}), Some(&ran.admin))
            .await,
        409,
    )
    .await;
    assert_eq!(crate::helpers::count_rows(&app, "results").await, 1);

    // Signed with the published key, over JCS without "signature".
    let keys: Value = app.get("/api/v1/keys", None).await.json().await.unwrap();
    let key = &keys["keys"][0];
    assert_eq!(results["signature"]["kid"], key["kid"]);
    assert_eq!(results["signature"]["alg"], "EdDSA");
    let mut unsigned = results.clone();
    unsigned.as_object_mut().unwrap().remove("signature");
    let sig = results["signature"]["value"].as_str().unwrap();
    let pk = key["public_key"].as_str().unwrap();
    assert!(verify_b64(pk, &canonical_json(&unsigned), sig));
    unsigned["ballot_count"] = json!(6);
    assert!(!verify_b64(pk, &canonical_json(&unsigned), sig));

    // The board's root, the ballots cast, the counts cast.
    let board: Value = app
        .get(&ran.path("/board"), Some(&ran.admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(results["merkle_root"], board["merkle_root"]);
    assert_eq!(results["election_id"], ran.id.as_str());
    assert_eq!(results["ballot_count"], 5);
    let qs = results["questions"].as_array().unwrap();
    assert_eq!(qs.len(), 6);
    let methods: Vec<&str> = qs.iter().map(|q| q["method"].as_str().unwrap()).collect();
    assert_eq!(
        methods,
        ["plurality", "approval", "irv", "stv", "borda", "schulze"]
    );
    for (i, q) in qs.iter().enumerate() {
        assert_eq!(q["question_id"], ran.question(i).as_str());
        assert!(q["rounds"].is_array() && q["winners"].is_array(), "{q}");
    }
    assert_eq!(
        counts_of(&qs[0]["tally"]["counts"]),
        plurality_expected(&ran)
    );
    assert_eq!(qs[0]["winners"], json!([ran.option(0, 0)]));
    // Approval: everyone approved option 0; options 1..3 as cast.
    let approvals = counts_of(&qs[1]["tally"]["counts"]);
    assert_eq!(approvals[&ran.option(1, 0)], 5);
    assert_eq!(approvals[&ran.option(1, 1)], 2);
    assert_eq!(approvals[&ran.option(1, 2)], 2);
    assert_eq!(approvals[&ran.option(1, 3)], 1);
    assert_eq!(qs[3]["seats"], 2);
    assert_eq!(qs[3]["winners"].as_array().unwrap().len(), 2);
    assert!(qs[3]["tally"]["quota"].is_string(), "{}", qs[3]["tally"]);
    assert!(!qs[2]["rounds"].as_array().unwrap().is_empty());

    // Voters: 404 until published, then the same signed document.
    assert_problem(app.get(&ran.path("/results"), Some(&voter)).await, 404).await;
    let resp = app
        .post(&ran.path("/publish"), &json!({}), Some(&ran.admin))
        .await;
    assert_eq!(resp.status(), 200);
    let resp = app.get(&ran.path("/results"), Some(&voter)).await;
    assert_eq!(resp.status(), 200);
    let seen: Value = resp.json().await.unwrap();
    assert_eq!(seen, results);
    // A voter not on the roll still cannot see it.
    let outsider = app.token_for("outsider@example.org", &[Role::Voter]).await;
    assert_problem(app.get(&ran.path("/results"), Some(&outsider)).await, 404).await;
}

async fn json_export_holds_exactly_the_acknowledged_ballots_and_no_voter(app: TestApp) {
    let ran = run_election(&app).await;
    let text = export(&app, &ran, "format=json").await;
    let before: Value = serde_json::from_str(&text).unwrap();
    assert!(before["results"].is_null(), "not tallied yet");
    let results = tally(&app, &ran).await;
    let resp = app
        .get(&ran.path("/export?format=json"), Some(&ran.admin))
        .await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let text = resp.text().await.unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();

    let mut acknowledged: Vec<(String, String)> = ran
        .receipts
        .iter()
        .map(|r| {
            (
                r["tracking_code"].as_str().unwrap().to_string(),
                r["ballot_hash"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    acknowledged.sort();
    let exported: Vec<(String, String)> = doc["ballots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["tracking_code"].as_str().unwrap().to_string(),
                b["ballot_hash"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(exported, acknowledged, "exactly the receipts, in order");
    assert_eq!(doc["ballot_count"], 5);
    assert_eq!(doc["results"], results);
    assert_eq!(doc["signature"], results["signature"]);
    assert_eq!(doc["merkle_root"], results["merkle_root"]);
    assert_eq!(doc["election"]["id"], ran.id.as_str());
    assert_eq!(doc["public_key"]["kid"], results["signature"]["kid"]);
    assert_eq!(
        doc["public_key"]["public_key"],
        app.keys.signer.public_key_b64()
    );
    let actions: Vec<&str> = doc["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "election.created",
        "roll.added",
        "election.closed",
        "election.tallied",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    for (id, email) in ran.voter_ids.iter().zip(&ran.emails) {
        assert!(!text.contains(id.as_str()), "voter id in the export");
        assert!(!text.contains(email.as_str()), "email in the export");
    }
    assert!(!text.contains("@example.org"));

    // A plurality recount from the export matches the results.
    let q0 = ran.question(0);
    let mut recount: BTreeMap<String, u64> = (0..3).map(|o| (ran.option(0, o), 0)).collect();
    for b in doc["ballots"].as_array().unwrap() {
        let a = b["answers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["question_id"] == q0.as_str())
            .unwrap();
        for s in a["selections"].as_array().unwrap() {
            *recount.get_mut(s.as_str().unwrap()).unwrap() += 1;
        }
    }
    assert_eq!(
        recount,
        counts_of(&results["questions"][0]["tally"]["counts"])
    );
}

fn verify_file(doc: &Value, extra: &[&str]) -> Output {
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

fn stdout(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Asserts that verify fails and names the check.
fn assert_fails(doc: &Value, check: &str) {
    let out = verify_file(doc, &[]);
    let text = stdout(&out);
    assert!(!out.status.success(), "passed despite tampering: {text}");
    assert!(text.contains(&format!("FAIL {check}")), "{check}: {text}");
}

async fn verify_passes_on_a_genuine_export_and_names_each_tampering(app: TestApp) {
    let ran = run_election(&app).await;
    tally(&app, &ran).await;
    let doc: Value = serde_json::from_str(&export(&app, &ran, "format=json").await).unwrap();
    let pk = app.keys.signer.public_key_b64();
    let out = verify_file(&doc, &["--public-key", &pk]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    for check in [
        "ok   ballot hashes",
        "ok   merkle root",
        "ok   ballot count",
        "ok   recount",
        "ok   results signature",
        "ok   audit chain",
    ] {
        assert!(text.contains(check), "{check}: {text}");
    }
    assert!(!text.contains("FAIL"));

    // Another key: the signature check fails.
    let other = ballotbox::crypto::Keys::generate().signer.public_key_b64();
    let out = verify_file(&doc, &["--public-key", &other]);
    assert!(!out.status.success());
    assert!(stdout(&out).contains("FAIL results signature"));

    // One ballot's answer changed (another plurality option).
    let mut changed = doc.clone();
    let q0 = ran.question(0);
    let ballot = &mut changed["ballots"][0];
    let a = ballot["answers"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|a| a["question_id"] == q0.as_str())
        .unwrap();
    let current = a["selections"][0].as_str().unwrap().to_string();
    let other = (0..3)
        .map(|o| ran.option(0, o))
        .find(|o| *o != current)
        .unwrap();
    a["selections"] = json!([other]);
    let code = ballot["tracking_code"].as_str().unwrap().to_string();
    assert_fails(&changed, "ballot hashes");
    let text = stdout(&verify_file(&changed, &[]));
    assert!(text.contains(&code), "names the ballot: {text}");
    assert!(text.contains("FAIL recount"), "{text}");

    // One ballot removed.
    let mut removed = doc.clone();
    removed["ballots"].as_array_mut().unwrap().remove(2);
    assert_fails(&removed, "merkle root");
    assert_fails(&removed, "ballot count");

    // The results edited: a count bumped.
    let mut edited = doc.clone();
    let option = ran.option(0, 1);
    let n = edited["results"]["questions"][0]["tally"]["counts"][&option]
        .as_u64()
        .unwrap();
    edited["results"]["questions"][0]["tally"]["counts"][&option] = json!(n + 1);
    assert_fails(&edited, "results signature");
    assert_fails(&edited, "recount");

    // One audit event altered.
    let mut altered = doc.clone();
    let events = altered["audit_events"].as_array_mut().unwrap();
    let closed = events
        .iter_mut()
        .find(|e| e["action"] == "election.closed")
        .unwrap();
    closed["details"]["by"] = json!("timer");
    assert_fails(&altered, "audit chain");

    // Not an export at all: exit 2 with a message.
    let out = verify_file(&json!({"hello": "world"}), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
}

async fn csv_and_blt_exports_count_the_same_as_the_results(app: TestApp) {
    let ran = run_election(&app).await;
    let results = tally(&app, &ran).await;

    // CSV: one row per ballot; plurality and approval columns recount.
    let csv = export(&app, &ran, "format=csv").await;
    let mut lines = csv.split("\r\n").filter(|l| !l.is_empty());
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("tracking_code,ballot_hash,Chair ("),
        "{header}"
    );
    assert!(
        header.contains("\"Approve, \"\"any\"\" ("),
        "quoted: {header}"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 5);
    let mut plurality: BTreeMap<String, u64> = (0..3).map(|o| (ran.option(0, o), 0)).collect();
    let mut approval: BTreeMap<String, u64> = (0..4).map(|o| (ran.option(1, o), 0)).collect();
    let mut codes = Vec::new();
    for row in &rows {
        let cells: Vec<&str> = row.split(',').collect();
        // v2: the salt comes last, after the six questions.
        assert_eq!(cells.len(), 9, "{row}");
        assert_eq!(cells[8].len(), 32, "the salt: {row}");
        codes.push(cells[0].to_string());
        *plurality.get_mut(cells[2]).unwrap() += 1;
        for o in cells[3].split(';') {
            *approval.get_mut(o).unwrap() += 1;
        }
        assert_eq!(cells[4].split('>').count(), 3, "a ranking: {row}");
    }
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(codes, sorted, "tracking-code order");
    assert_eq!(
        plurality,
        counts_of(&results["questions"][0]["tally"]["counts"])
    );
    assert_eq!(
        approval,
        counts_of(&results["questions"][1]["tally"]["counts"])
    );

    // BLT of each ranked question through `ballotbox count` with the Merkle
    // root as seed gives the very same outcome.
    let seed = results["merkle_root"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (qi, method) in [(2, "irv"), (3, "stv"), (4, "borda"), (5, "schulze")] {
        let blt = export(
            &app,
            &ran,
            &format!("format=blt&question={}", ran.question(qi)),
        )
        .await;
        assert!(blt.starts_with(&format!(
            "{} {}\n",
            ran.election["questions"][qi]["options"]
                .as_array()
                .unwrap()
                .len(),
            ran.election["questions"][qi]["seats"]
        )));
        let path = dir.path().join(format!("q{qi}.blt"));
        std::fs::write(&path, &blt).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_ballotbox"))
            .args(["count", "--method", method, "--seed", seed])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stdout(&out));
        let counted: Value = serde_json::from_slice(&out.stdout).unwrap();
        let q = &results["questions"][qi];
        assert_eq!(counted["winners"], q["winners"], "{method}");
        assert_eq!(counted["tally"], q["tally"], "{method}");
        assert_eq!(counted["election"]["ballots"], 5);
    }
}

async fn staff_reads_are_recorded_and_no_audit_event_is_a_cast(app: TestApp) {
    let ran = run_election(&app).await;
    tally(&app, &ran).await;
    let auditor_id = app
        .get("/api/v1/me", Some(&ran.auditor))
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.get(&ran.path("/results"), Some(&ran.auditor))
            .await
            .status(),
        200
    );
    export(&app, &ran, "format=csv").await;
    export(
        &app,
        &ran,
        &format!("format=blt&question={}", ran.question(2)),
    )
    .await;
    let page: Value = app
        .get("/api/v1/audit-log?limit=500", Some(&ran.auditor))
        .await
        .json()
        .await
        .unwrap();
    // The read of the log is recorded with it, so read it again.
    let events: Vec<Value> = app
        .get("/api/v1/audit-log?limit=500", Some(&ran.auditor))
        .await
        .json::<Value>()
        .await
        .unwrap()["items"]
        .as_array()
        .unwrap()
        .clone();
    assert!(events.len() > page["items"].as_array().unwrap().len());
    let by_auditor: Vec<(&str, &Value)> = events
        .iter()
        .filter(|e| e["actor_id"] == auditor_id.as_str())
        .map(|e| (e["action"].as_str().unwrap(), &e["details"]))
        .collect();
    let actions: Vec<&str> = by_auditor.iter().map(|(a, _)| *a).collect();
    assert_eq!(
        actions,
        [
            "results.read",
            "export.downloaded",
            "export.downloaded",
            "audit.read"
        ]
    );
    assert_eq!(by_auditor[1].1["format"], "csv");
    assert_eq!(by_auditor[2].1["format"], "blt");
    assert_eq!(by_auditor[2].1["question_id"], ran.question(2).as_str());
    for e in &events {
        let a = e["action"].as_str().unwrap();
        assert!(!a.contains("ballot") && !a.contains("cast"), "{a}");
    }
    // Voters read published results without an event.
    app.post(&ran.path("/publish"), &json!({}), Some(&ran.admin))
        .await;
    let before = crate::helpers::count_rows(&app, "audit_events").await;
    assert_eq!(
        app.get(&ran.path("/results"), Some(&ran.voters[0]))
            .await
            .status(),
        200
    );
    assert_eq!(
        crate::helpers::count_rows(&app, "audit_events").await,
        before
    );
}

async fn export_parameters_are_checked(app: TestApp) {
    let ran = run_election(&app).await;
    let admin = ran.admin.clone();
    let body = json!({"title": "Draft", "eligibility": "all_voters", "questions": [
        {"prompt": "Q", "method": "plurality", "options": options(2)}]});
    let e: Value = app
        .post("/api/v1/elections", &body, Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/elections/{}", e["id"].as_str().unwrap());
    assert_problem(app.get(&format!("{path}/export"), Some(&admin)).await, 409).await;
    assert_problem(
        app.post(&format!("{path}/tally"), &json!({}), Some(&admin))
            .await,
        409,
    )
    .await;
    let auditor = &ran.auditor;
    for (query, status) in [
        ("format=xml", 400),
        ("format=blt", 422),
        (
            &format!("format=blt&question={}", ran.question(0)) as &str,
            422,
        ),
        (
            &format!("format=blt&question={}", uuid::Uuid::new_v4()),
            422,
        ),
        (&format!("format=csv&question={}", ran.question(2)), 422),
        ("format=json&voter=1", 400),
    ] {
        assert_problem(
            app.get(&ran.path(&format!("/export?{query}")), Some(auditor))
                .await,
            status,
        )
        .await;
    }
    // The default is JSON.
    let resp = app.get(&ran.path("/export"), Some(auditor)).await;
    assert_eq!(resp.status(), 200);
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(doc["format"], "ballotbox-export/2");
    // Voters may not export.
    assert_problem(
        app.get(&ran.path("/export"), Some(&ran.voters[0])).await,
        403,
    )
    .await;
}

async fn tallying_20000_ballots_keeps_the_server_answering(app: TestApp) {
    use ballotbox::ballots::model::{Answer, BallotId, BallotRow};
    use ballotbox::ballots::rules;
    use ballotbox::elections::definition;
    let admin = app.admin_token().await;
    let body = json!({"title": "Big", "eligibility": "all_voters", "questions": [
        {"prompt": "Pick", "method": "plurality", "options": options(4)},
        {"prompt": "Rank", "method": "irv", "options": options(5)}]});
    let e: Value = app
        .post("/api/v1/elections", &body, Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let id = e["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/elections/{id}");
    assert_eq!(
        app.post(&format!("{path}/open"), &json!({}), Some(&admin))
            .await
            .status(),
        200
    );
    const N: usize = 20_000;
    let eid: ballotbox::elections::ElectionId = id.parse().unwrap();
    let expected = app
        .with_conn(move |c| {
            let def = definition::load(c, eid).unwrap();
            let mut counts = [0u64; 4];
            let rows: Vec<BallotRow> = (0..N)
                .map(|i| {
                    let pick = (i * 7 + i / 3) % 4;
                    counts[pick] += 1;
                    let ranking: Vec<_> = (0..1 + i % 5)
                        .map(|k| def.questions[1].options[(i + k) % 5])
                        .collect();
                    let answers = vec![
                        Answer {
                            question_id: def.questions[0].id,
                            selections: vec![def.questions[0].options[pick]],
                        },
                        Answer {
                            question_id: def.questions[1].id,
                            selections: ranking,
                        },
                    ];
                    let valid = rules::validate(&def, &answers).unwrap();
                    BallotRow {
                        id: BallotId(uuid::Uuid::new_v4()),
                        election_id: eid,
                        tracking_code: rules::tracking_code(),
                        ballot_hash: valid.ballot_hash,
                        content: valid.content,
                        salt: valid.salt,
                    }
                })
                .collect();
            ballotbox::db::write_tx(c, |c| {
                for row in &rows {
                    ballotbox::ballots::repo::insert_ballot(c, row)?;
                }
                Ok::<_, diesel::result::Error>(())
            })
            .unwrap();
            def.questions[0]
                .options
                .iter()
                .map(|o| o.to_string())
                .zip(counts)
                .collect::<BTreeMap<String, u64>>()
        })
        .await;
    assert_eq!(
        app.post(&format!("{path}/close"), &json!({}), Some(&admin))
            .await
            .status(),
        200
    );
    let client = app.client.clone();
    let url = app.url(&format!("{path}/tally"));
    let token = admin.clone();
    let tally = tokio::spawn(async move {
        client
            .post(url)
            .bearer_auth(token)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status()
    });
    let mut answered = 0;
    while !tally.is_finished() {
        let started = Instant::now();
        let resp = app.get("/healthz", None).await;
        assert_eq!(resp.status(), 200);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "healthz stalled"
        );
        answered += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(tally.await.unwrap(), 200);
    assert!(answered >= 1);
    let results: Value = app
        .get(&format!("{path}/results"), Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(results["ballot_count"], N);
    assert_eq!(
        counts_of(&results["questions"][0]["tally"]["counts"]),
        expected
    );
    assert_eq!(results["questions"][1]["tally"]["total"], N);
}
