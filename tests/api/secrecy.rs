//! Ballot secrecy (#12): who may cast is settled before the body is read;
//! hashes are salted and the board is withheld until close; storage keeps
//! nothing that pairs a voter with a ballot; data files are private.

use std::collections::HashSet;

use ballotbox::users::Role;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{assert_problem, count_rows, election_body, fast_users, TestApp};

crate::both_backends!(
    a_caller_who_may_not_vote_learns_nothing_from_the_body,
    hashing_every_possible_answer_of_an_open_election_matches_nothing,
    polling_has_voted_and_the_board_pairs_nobody,
);

const SECRET_PROMPT: &str = "Unannounced merger with ACME?";

/// Every kind of body a prober could send: valid, invalid in each way the
/// validator explains, and malformed.
fn probe_bodies(e: &Value) -> Vec<String> {
    let q = &e["questions"][0];
    vec![
        json!({"answers": [{"question_id": q["id"], "selections": [q["options"][0]["id"]]}]})
            .to_string(),
        json!({"answers": []}).to_string(),
        json!({"answers": [{"question_id": q["id"], "selections": []}]}).to_string(),
        json!({"answers": [{"question_id": uuid::Uuid::new_v4(), "selections": []}]}).to_string(),
        json!({"nonsense": true}).to_string(),
        "{\"answers\": [".to_string(),
    ]
}

async fn post_raw(app: &TestApp, token: &str, id: &str, body: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/elections/{id}/ballots")))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

/// Sends every probe body and expects `status` each time, never a word of
/// the questions.
async fn probe(app: &TestApp, token: &str, e: &Value, status: u16, what: &str) {
    let id = e["id"].as_str().unwrap();
    for body in probe_bodies(e) {
        let resp = post_raw(app, token, id, &body).await;
        assert_eq!(resp.status().as_u16(), status, "{what}, body {body}");
        let text = resp.text().await.unwrap();
        assert!(
            !text.contains(SECRET_PROMPT),
            "{what} leaks the prompt: {text}"
        );
        assert!(
            !text.contains("question"),
            "{what} speaks of questions: {text}"
        );
    }
}

fn secret_election(title: &str, eligibility: &str) -> Value {
    let mut body = election_body(title, eligibility, 3);
    body["questions"][0]["prompt"] = json!(SECRET_PROMPT);
    body
}

async fn a_caller_who_may_not_vote_learns_nothing_from_the_body(app: TestApp) {
    let admin = app.admin_token().await;
    let voters = fast_users(&app, "prober", 3, &[Role::Voter]).await;
    let (on, off, other) = (&voters[0], &voters[1], &voters[2]);
    let roll = app
        .create_election(&admin, &secret_election("Roll", "roll"))
        .await;
    let roll_id = roll["id"].as_str().unwrap();
    let resp = app
        .post(
            &format!("/api/v1/elections/{roll_id}/voters"),
            &json!({"user_ids": [on.0]}),
            Some(&admin),
        )
        .await;
    assert!(resp.status().is_success(), "{}", resp.status());
    assert_eq!(app.step(&admin, roll_id, "open").await.status(), 200);
    let draft = app
        .create_election(&admin, &secret_election("Draft", "all_voters"))
        .await;
    let closed = app
        .create_election(&admin, &secret_election("Closed", "all_voters"))
        .await;
    let closed_id = closed["id"].as_str().unwrap();
    assert_eq!(app.step(&admin, closed_id, "open").await.status(), 200);
    assert_eq!(app.step(&admin, closed_id, "close").await.status(), 200);

    // Off the roll: 403 whatever the body; a draft's id: 404 whatever the body.
    probe(&app, &off.1, &roll, 403, "off the roll").await;
    probe(&app, &on.1, &draft, 404, "a draft").await;
    probe(&app, &other.1, &draft, 404, "a draft").await;
    // An unknown id: 404 whatever the body.
    let mut unknown = draft.clone();
    unknown["id"] = json!(uuid::Uuid::new_v4());
    probe(&app, &on.1, &unknown, 404, "an unknown election").await;
    // Not open: 409 whatever the body.
    probe(&app, &on.1, &closed, 409, "a closed election").await;
    assert_eq!(count_rows(&app, "ballots").await, 0);
    assert_eq!(count_rows(&app, "participations").await, 0);

    // An eligible voter of an open election is told what is wrong with it.
    let bodies = probe_bodies(&roll);
    let resp = post_raw(&app, &on.1, roll_id, &bodies[1]).await;
    let problem = assert_problem(resp, 422).await;
    assert!(problem.to_string().contains(SECRET_PROMPT), "{problem}");
    assert_problem(post_raw(&app, &on.1, roll_id, &bodies[5]).await, 400).await;
    assert_eq!(
        post_raw(&app, &on.1, roll_id, &bodies[0]).await.status(),
        201
    );
    // Having voted: 409 whatever the body, before any validation.
    probe(&app, &on.1, &roll, 409, "already voted").await;
    assert_eq!(count_rows(&app, "ballots").await, 1);
}

/// Every ballot a voter could cast in `e`: each question answered by every
/// ordered selection of up to `depth` options (or blank), every combination.
fn every_ballot(e: &Value, depth: usize) -> Vec<Vec<Value>> {
    let mut all: Vec<Vec<Value>> = vec![Vec::new()];
    for q in e["questions"].as_array().unwrap() {
        let opts: Vec<Value> = q["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].clone())
            .collect();
        let mut selections: Vec<Vec<Value>> = vec![Vec::new()];
        let mut frontier: Vec<Vec<Value>> = vec![Vec::new()];
        for _ in 0..depth {
            let mut next = Vec::new();
            for s in &frontier {
                for o in &opts {
                    if !s.contains(o) {
                        let mut t = s.clone();
                        t.push(o.clone());
                        next.push(t);
                    }
                }
            }
            selections.extend(next.iter().cloned());
            frontier = next;
        }
        all = all
            .into_iter()
            .flat_map(|prefix| {
                selections.iter().map(move |s| {
                    let mut b = prefix.clone();
                    b.push(json!({"question_id": q["id"], "selections": s}));
                    b
                })
            })
            .collect();
    }
    all
}

/// The hash an observer computes for a guessed ballot: the v1 formula, and
/// the v2 one with an empty salt.
fn guessed_hashes(election_id: &str, answers: &[Value]) -> [String; 2] {
    let mut sorted = answers.to_vec();
    sorted.sort_by_key(|a| a["question_id"].as_str().unwrap().to_string());
    let h = |doc: Value| {
        hex::encode(Sha256::digest(
            serde_json_canonicalizer::to_vec(&doc).unwrap(),
        ))
    };
    [
        h(json!({"election_id": election_id, "answers": sorted})),
        h(json!({"election_id": election_id, "answers": sorted, "salt": ""})),
    ]
}

async fn hashing_every_possible_answer_of_an_open_election_matches_nothing(app: TestApp) {
    let admin = app.admin_token().await;
    let auditor = app.token_for("auditor@example.org", &[Role::Auditor]).await;
    let mut body = election_body("Open", "all_voters", 3);
    body["questions"].as_array_mut().unwrap().push(
        json!({"prompt": "Rank", "method": "irv", "allow_blank": true,
                     "options": [{"label": "x"}, {"label": "y"}, {"label": "z"}]}),
    );
    let e = app.create_election(&admin, &body).await;
    let id = e["id"].as_str().unwrap();
    assert_eq!(app.step(&admin, id, "open").await.status(), 200);
    let voters = fast_users(&app, "hash", 4, &[Role::Voter]).await;
    let candidates = every_ballot(&e, 3);
    let mut receipts = Vec::new();
    for (k, (_, token)) in voters.iter().enumerate() {
        // The dictionary holds invalid ballots too; cast valid ones (one
        // plurality choice).
        let valid: Vec<&Vec<Value>> = candidates
            .iter()
            .filter(|b| b[0]["selections"].as_array().unwrap().len() == 1)
            .collect();
        let answers = valid[(k * 7) % valid.len()].clone();
        let resp = app.cast(token, id, &Value::Array(answers.clone())).await;
        assert_eq!(resp.status(), 201);
        let r: Value = resp.json().await.unwrap();
        receipts.push((r["receipt"].clone(), answers, token.clone()));
    }
    // What anyone can read while voting runs.
    for token in [&admin, &auditor, &voters[0].1] {
        assert_problem(
            app.get(&format!("/api/v1/elections/{id}/board"), Some(token))
                .await,
            409,
        )
        .await;
        assert_problem(
            app.get(&format!("/api/v1/elections/{id}/export"), Some(token))
                .await,
            if token == &voters[0].1 { 403 } else { 409 },
        )
        .await;
    }
    let mut seen: HashSet<String> = HashSet::new();
    for (r, _, token) in &receipts {
        seen.insert(r["ballot_hash"].as_str().unwrap().to_string());
        let code = r["tracking_code"].as_str().unwrap();
        let check: Value = app
            .get(
                &format!("/api/v1/elections/{id}/receipts/{code}"),
                Some(token),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(check["included"], true);
        assert!(check.get("salt").is_none(), "{check}");
        seen.insert(check["ballot_hash"].as_str().unwrap().to_string());
        assert!(!check.to_string().contains("selections"));
    }
    // The dictionary attack of the issue: hash every possible ballot.
    assert!(candidates.len() > 100, "{}", candidates.len());
    for answers in &candidates {
        for h in guessed_hashes(id, answers) {
            assert!(!seen.contains(&h), "a guessed ballot matched a hash");
        }
    }
    // The guess is right for the ballots cast: only the salt defeats it.
    let unsalted: HashSet<String> = receipts
        .iter()
        .map(|(_, a, _)| guessed_hashes(id, a)[0].clone())
        .collect();
    assert!(unsalted.is_disjoint(&seen));

    // From close on, salts are out and every hash recomputes.
    assert_eq!(app.step(&admin, id, "close").await.status(), 200);
    let export: Value = app
        .get(
            &format!("/api/v1/elections/{id}/export?format=json"),
            Some(&auditor),
        )
        .await
        .json()
        .await
        .unwrap();
    let ballots = export["ballots"].as_array().unwrap();
    assert_eq!(ballots.len(), receipts.len());
    let mut salts = HashSet::new();
    for b in ballots {
        let salt = b["salt"].as_str().unwrap();
        assert_eq!(salt.len(), 32);
        assert!(salts.insert(salt.to_string()), "salts repeat");
        let mut sorted = b["answers"].as_array().unwrap().clone();
        sorted.sort_by_key(|a| a["question_id"].as_str().unwrap().to_string());
        let doc = json!({"election_id": id, "answers": sorted, "salt": salt});
        assert_eq!(
            b["ballot_hash"].as_str().unwrap(),
            hex::encode(Sha256::digest(
                serde_json_canonicalizer::to_vec(&doc).unwrap()
            ))
        );
    }
    for (r, _, token) in &receipts {
        let code = r["tracking_code"].as_str().unwrap();
        let check: Value = app
            .get(
                &format!("/api/v1/elections/{id}/receipts/{code}"),
                Some(token),
            )
            .await
            .json()
            .await
            .unwrap();
        let b = ballots
            .iter()
            .find(|b| b["tracking_code"] == r["tracking_code"])
            .unwrap();
        assert_eq!(check["salt"], b["salt"]);
    }
    // `verify` recomputes salted hashes, and a changed salt fails it.
    let out = verify_file(&export);
    assert!(out.0, "{}", out.1);
    assert!(out.1.contains("ok   ballot hashes"), "{}", out.1);
    let mut changed = export.clone();
    changed["ballots"][0]["salt"] = json!("00000000000000000000000000000000");
    let out = verify_file(&changed);
    assert!(!out.0 && out.1.contains("FAIL ballot hashes"), "{}", out.1);
    // The CSV carries the salt too, last.
    let csv = app
        .get(
            &format!("/api/v1/elections/{id}/export?format=csv"),
            Some(&auditor),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.lines().next().unwrap().ends_with(",salt"), "{csv}");
    for b in ballots {
        assert!(csv.contains(b["salt"].as_str().unwrap()));
    }
}

/// Runs `ballotbox verify` on a document: (passed, output).
fn verify_file(doc: &Value) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.json");
    std::fs::write(&path, serde_json::to_vec(doc).unwrap()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ballotbox"))
        .arg("verify")
        .arg(&path)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run ballotbox verify");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The roll as staff read it: voter id to has_voted.
async fn has_voted(app: &TestApp, token: &str, id: &str) -> Vec<(String, bool)> {
    let page: Value = app
        .get(
            &format!("/api/v1/elections/{id}/voters?limit=100"),
            Some(token),
        )
        .await
        .json()
        .await
        .unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_string(),
                v["has_voted"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// What the board shows `token` now: tracking codes, or None when withheld.
async fn board_codes(app: &TestApp, token: &str, id: &str) -> Option<HashSet<String>> {
    let resp = app
        .get(
            &format!("/api/v1/elections/{id}/board?limit=100"),
            Some(token),
        )
        .await;
    if resp.status() == 409 {
        return None;
    }
    assert_eq!(resp.status(), 200);
    let page: Value = resp.json().await.unwrap();
    Some(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["tracking_code"].as_str().unwrap().to_string())
            .collect(),
    )
}

async fn polling_has_voted_and_the_board_pairs_nobody(app: TestApp) {
    let admin = app.admin_token().await;
    let auditor = app.token_for("auditor@example.org", &[Role::Auditor]).await;
    let voters = fast_users(&app, "polled", 5, &[Role::Voter]).await;
    let e = app
        .create_election(&admin, &election_body("Polled", "roll", 3))
        .await;
    let id = e["id"].as_str().unwrap();
    let ids: Vec<&str> = voters.iter().map(|v| v.0.as_str()).collect();
    let resp = app
        .post(
            &format!("/api/v1/elections/{id}/voters"),
            &json!({"user_ids": ids}),
            Some(&admin),
        )
        .await;
    assert!(resp.status().is_success());
    assert_eq!(app.step(&admin, id, "open").await.status(), 200);
    // The auditor polls the roll and the board between every two casts and
    // pairs each voter who flipped with the codes that appeared meanwhile.
    let mut known: HashSet<String> = HashSet::new();
    let mut paired: Vec<(String, HashSet<String>)> = Vec::new();
    for (k, (uid, token)) in voters.iter().enumerate() {
        let before = has_voted(&app, &auditor, id).await;
        let answers = crate::helpers::answers_picking(&e, k % 3);
        assert_eq!(app.cast(token, id, &answers).await.status(), 201);
        let after = has_voted(&app, &auditor, id).await;
        let flipped: Vec<&String> = after
            .iter()
            .filter(|(v, now)| *now && before.iter().any(|(w, then)| w == v && !then))
            .map(|(v, _)| v)
            .collect();
        assert_eq!(flipped, [uid], "has_voted is public to staff");
        for token in [&auditor, &admin, token] {
            let codes = board_codes(&app, token, id).await;
            assert!(codes.is_none(), "the board is withheld while open");
        }
        let fresh: HashSet<String> = board_codes(&app, &auditor, id)
            .await
            .unwrap_or_default()
            .difference(&known)
            .cloned()
            .collect();
        known.extend(fresh.iter().cloned());
        paired.push((uid.clone(), fresh));
    }
    for (uid, codes) in &paired {
        assert!(codes.is_empty(), "voter {uid} paired with {codes:?}");
    }
    // At close the whole board appears at once: every code, no order of arrival.
    assert_eq!(app.step(&admin, id, "close").await.status(), 200);
    let all = board_codes(&app, &auditor, id).await.unwrap();
    assert_eq!(all.len(), voters.len());
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The server's start on SQLite: data folder, database, WAL and keys.
#[cfg(unix)]
fn start_files(root: &std::path::Path) -> (ballotbox::db::DbPool, std::path::PathBuf) {
    let data = root.join("data");
    let db = data.join("ballotbox.db");
    let settings = crate::helpers::test_settings(&db.display().to_string(), data.clone());
    ballotbox::crypto::Keys::load(&settings).expect("keys");
    let pool = ballotbox::startup::open_pool(&settings).expect("pool");
    ballotbox::startup::migrate(&pool).expect("migrate");
    (pool, db)
}

#[cfg(unix)]
#[test]
fn data_files_and_folders_are_created_private_and_tightened_when_found_open() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let (pool, db) = start_files(root.path());
    {
        // A write, with the connection held open, so the WAL and -shm exist.
        let mut conn = pool.get().unwrap();
        ballotbox::users::service::create_user(
            &mut conn,
            "mode@example.org",
            "Mode",
            &[Role::Voter],
            None,
        )
        .unwrap();
        let data = root.path().join("data");
        assert_eq!(mode(&data), 0o700, "data folder");
        assert_eq!(mode(&data.join("keys")), 0o700, "keys folder");
        for key in ["jwt-secret", "signing-key"] {
            assert_eq!(mode(&data.join("keys").join(key)), 0o600, "{key}");
        }
        let files = ballotbox::private::sqlite_files(&db);
        for f in &files[..3] {
            assert!(
                f.exists(),
                "{} exists while a connection is open",
                f.display()
            );
            assert_eq!(mode(f), 0o600, "{}", f.display());
        }
    }
    drop(pool);
    // Files left 0644 in a 0755 folder by an older version are tightened at
    // the next start.
    let data = root.path().join("data");
    let open = |p: &std::path::Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
    };
    open(&data, 0o755);
    open(&data.join("keys"), 0o755);
    open(&data.join("keys").join("signing-key"), 0o644);
    for f in ballotbox::private::sqlite_files(&db)
        .iter()
        .filter(|f| f.exists())
    {
        open(f, 0o644);
    }
    let (pool, db) = start_files(root.path());
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("keys")), 0o700);
    assert_eq!(mode(&data.join("keys").join("signing-key")), 0o600);
    for f in ballotbox::private::sqlite_files(&db)
        .iter()
        .filter(|f| f.exists())
    {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    drop(pool);
}

/// Correct pairings allowed after close: pairing N voters with N ballots by
/// a random permutation gets about 1 right (Poisson(1)); 6 or more happens
/// by chance less than once in 1,500 runs.
const CHANCE_LIMIT: usize = 6;
const STORAGE_VOTERS: usize = 40;

/// An open election with `STORAGE_VOTERS` ballots cast; returns the admin,
/// the election id and the truth: voter id to tracking code.
async fn cast_for_storage(
    app: &TestApp,
) -> (String, String, std::collections::HashMap<String, String>) {
    let admin = app.admin_token().await;
    let e = app
        .create_election(&admin, &election_body("Stored", "all_voters", 3))
        .await;
    let id = e["id"].as_str().unwrap().to_string();
    assert_eq!(app.step(&admin, &id, "open").await.status(), 200);
    let voters = fast_users(app, "stored", STORAGE_VOTERS, &[Role::Voter]).await;
    let mut truth = std::collections::HashMap::new();
    for (k, (uid, token)) in voters.iter().enumerate() {
        let resp = app
            .cast(token, &id, &crate::helpers::answers_picking(&e, k % 3))
            .await;
        assert_eq!(resp.status(), 201);
        let r: Value = resp.json().await.unwrap();
        truth.insert(
            uid.clone(),
            r["receipt"]["tracking_code"].as_str().unwrap().to_string(),
        );
    }
    (admin, id, truth)
}

/// How many voters a guess pairs with their own ballot.
fn correct(guess: &[(String, String)], truth: &std::collections::HashMap<String, String>) -> usize {
    guess
        .iter()
        .filter(|(voter, code)| truth.get(voter) == Some(code))
        .count()
}

/// Pairs two lists rank by rank.
fn by_rank(voters: &[String], codes: &[String]) -> Vec<(String, String)> {
    voters.iter().cloned().zip(codes.iter().cloned()).collect()
}

#[derive(diesel::QueryableByName, Debug)]
struct SysRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    key: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    xmin: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    ctid: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    at: String,
}

/// What a SELECT-only role reads: each table in its default (heap) order,
/// with the system columns.
fn pg_read(url: &str, eid: &str) -> (Vec<SysRow>, Vec<SysRow>) {
    use diesel::{Connection, RunQueryDsl};
    let mut c = diesel::PgConnection::establish(url).expect("reader connects");
    let parts = diesel::sql_query(format!(
        "SELECT voter_id::text AS key, xmin::text AS xmin, ctid::text AS ctid, cast_at::text AS at \
         FROM participations WHERE election_id = '{eid}'"
    ))
    .load::<SysRow>(&mut c)
    .expect("reader selects participations");
    let ballots = diesel::sql_query(format!(
        "SELECT tracking_code AS key, xmin::text AS xmin, ctid::text AS ctid, '' AS at \
         FROM ballots WHERE election_id = '{eid}'"
    ))
    .load::<SysRow>(&mut c)
    .expect("reader selects ballots");
    (parts, ballots)
}

fn ctid_key(ctid: &str) -> (u64, u64) {
    let inner = ctid.trim_matches(|c| c == '(' || c == ')');
    let (a, b) = inner.split_once(',').unwrap();
    (a.parse().unwrap(), b.parse().unwrap())
}

/// Every pairing the reader can try: (name, guess).
fn pg_attacks(parts: &[SysRow], ballots: &[SysRow]) -> Vec<(&'static str, Vec<(String, String)>)> {
    let keys = |rows: &[&SysRow]| rows.iter().map(|r| r.key.clone()).collect::<Vec<_>>();
    let heap_p: Vec<&SysRow> = parts.iter().collect();
    let heap_b: Vec<&SysRow> = ballots.iter().collect();
    let mut ctid_p = heap_p.clone();
    ctid_p.sort_by_key(|r| ctid_key(&r.ctid));
    let mut ctid_b = heap_b.clone();
    ctid_b.sort_by_key(|r| ctid_key(&r.ctid));
    let mut time_p = heap_p.clone();
    time_p.sort_by(|a, b| a.at.cmp(&b.at));
    let mut xmin_p = heap_p.clone();
    xmin_p.sort_by_key(|r| r.xmin.parse::<u64>().unwrap());
    let mut xmin_b = heap_b.clone();
    xmin_b.sort_by_key(|r| r.xmin.parse::<u64>().unwrap());
    let same_xmin: Vec<(String, String)> = parts
        .iter()
        .filter_map(|p| {
            let mut c = ballots.iter().filter(|b| b.xmin == p.xmin);
            match (c.next(), c.next()) {
                (Some(b), None) => Some((p.key.clone(), b.key.clone())),
                _ => None,
            }
        })
        .collect();
    vec![
        ("same xmin", same_xmin),
        ("xmin order", by_rank(&keys(&xmin_p), &keys(&xmin_b))),
        ("ctid order", by_rank(&keys(&ctid_p), &keys(&ctid_b))),
        ("heap order", by_rank(&keys(&heap_p), &keys(&heap_b))),
        (
            "cast_at against ctid",
            by_rank(&keys(&time_p), &keys(&ctid_b)),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_select_only_postgres_role_pairs_closed_election_rows_no_better_than_chance() {
    use diesel::{Connection, RunQueryDsl};
    let Some(app) = crate::helpers::spawn_app(crate::helpers::Backend::Postgres).await else {
        return;
    };
    let (admin, id, truth) = cast_for_storage(&app).await;
    let owner_url = app.settings.database.url.clone();
    let db_name = reqwest::Url::parse(&owner_url)
        .unwrap()
        .path()
        .trim_start_matches('/')
        .to_string();
    let role = format!("bb_reader_{}", uuid::Uuid::new_v4().simple());
    let mut owner = diesel::PgConnection::establish(&owner_url).unwrap();
    diesel::connection::SimpleConnection::batch_execute(
        &mut owner,
        &format!(
            "CREATE ROLE {role} LOGIN NOSUPERUSER NOINHERIT; \
             GRANT CONNECT ON DATABASE {db_name} TO {role}; \
             GRANT USAGE ON SCHEMA public TO {role}; \
             GRANT SELECT ON participations, ballots TO {role};"
        ),
    )
    .unwrap();
    let mut reader_url = reqwest::Url::parse(&owner_url).unwrap();
    reader_url.set_username(&role).unwrap();
    reader_url.set_password(None).unwrap();
    let reader_url = reader_url.to_string();

    let (url, eid) = (reader_url.clone(), id.clone());
    let (parts, ballots) = tokio::task::spawn_blocking(move || pg_read(&url, &eid))
        .await
        .unwrap();
    assert_eq!(
        (parts.len(), ballots.len()),
        (STORAGE_VOTERS, STORAGE_VOTERS)
    );
    // While open, each cast's transaction id pairs its two rows (README).
    let open = pg_attacks(&parts, &ballots);
    assert_eq!(
        correct(&open[0].1, &truth),
        STORAGE_VOTERS,
        "the control attack works while open"
    );

    assert_eq!(app.step(&admin, &id, "close").await.status(), 200);
    let (url, eid) = (reader_url.clone(), id.clone());
    let (parts, ballots) = tokio::task::spawn_blocking(move || pg_read(&url, &eid))
        .await
        .unwrap();
    assert_eq!(
        (parts.len(), ballots.len()),
        (STORAGE_VOTERS, STORAGE_VOTERS)
    );
    let xmins: HashSet<&str> = parts
        .iter()
        .chain(&ballots)
        .map(|r| r.xmin.as_str())
        .collect();
    assert_eq!(
        xmins.len(),
        1,
        "one transaction id for every row after close"
    );
    for (name, guess) in pg_attacks(&parts, &ballots) {
        let right = correct(&guess, &truth);
        assert!(
            right < CHANCE_LIMIT,
            "{name} pairs {right} of {STORAGE_VOTERS}"
        );
    }
    // The receipts still check, and the board is whole.
    let code = truth.values().next().unwrap();
    let check: Value = app
        .get(
            &format!("/api/v1/elections/{id}/receipts/{code}"),
            Some(&admin),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(check["included"], true);
    assert_eq!(
        board_codes(&app, &admin, &id).await.unwrap().len(),
        STORAGE_VOTERS
    );

    diesel::connection::SimpleConnection::batch_execute(
        &mut owner,
        &format!(
            "REVOKE ALL ON participations, ballots FROM {role}; \
             REVOKE ALL ON SCHEMA public FROM {role}; \
             REVOKE ALL ON DATABASE {db_name} FROM {role}; \
             DROP ROLE {role};"
        ),
    )
    .unwrap();
    let _ = RunQueryDsl::execute(diesel::sql_query("SELECT 1"), &mut owner);
}

/// Byte offsets of the first occurrence of each needle in `hay`, needles in
/// that order (absent ones left out).
fn first_offsets(hay: &[u8], needles: &[String]) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = needles
        .iter()
        .filter_map(|n| {
            hay.windows(n.len())
                .position(|w| w == n.as_bytes())
                .map(|p| (p, n.clone()))
        })
        .collect();
    out.sort();
    out
}

/// Pairs voters and codes by the order they first appear in `bytes`.
fn file_order_guess(
    bytes: &[u8],
    truth: &std::collections::HashMap<String, String>,
) -> Vec<(String, String)> {
    let voters: Vec<String> = truth.keys().cloned().collect();
    let codes: Vec<String> = truth.values().cloned().collect();
    let v: Vec<String> = first_offsets(bytes, &voters)
        .into_iter()
        .map(|x| x.1)
        .collect();
    let c: Vec<String> = first_offsets(bytes, &codes)
        .into_iter()
        .map(|x| x.1)
        .collect();
    by_rank(&v, &c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_of_the_sqlite_files_after_close_pairs_no_better_than_chance() {
    let Some(app) = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await else {
        return;
    };
    let (admin, id, truth) = cast_for_storage(&app).await;
    let db = std::path::PathBuf::from(&app.settings.database.url);
    let copy = || -> Vec<Vec<u8>> {
        ballotbox::private::sqlite_files(&db)[..2]
            .iter()
            .map(|f| std::fs::read(f).unwrap_or_default())
            .collect()
    };
    // While open, the WAL holds each cast's commit: its frames name the voter
    // and the tracking code together, in the order of the casts (README).
    let open = copy();
    let from_wal = file_order_guess(&open[1], &truth);
    assert!(
        correct(&from_wal, &truth) > STORAGE_VOTERS / 2,
        "the control attack on the WAL works while open: {}",
        correct(&from_wal, &truth)
    );

    assert_eq!(app.step(&admin, &id, "close").await.status(), 200);
    let closed = copy();
    assert!(
        closed[1].is_empty(),
        "the WAL is truncated at close: {} bytes",
        closed[1].len()
    );
    let mut all = closed[0].clone();
    all.extend_from_slice(&closed[1]);
    let right = correct(&file_order_guess(&all, &truth), &truth);
    assert!(
        right < CHANCE_LIMIT,
        "file order pairs {right} of {STORAGE_VOTERS}"
    );
    // Pairing by the last copy (the participations and ballots tables come
    // after users and sessions) does no better.
    let rev_all: Vec<u8> = all.iter().rev().copied().collect();
    let reversed: std::collections::HashMap<String, String> = truth
        .iter()
        .map(|(v, c)| (v.chars().rev().collect(), c.chars().rev().collect()))
        .collect();
    let right = correct(&file_order_guess(&rev_all, &reversed), &reversed);
    assert!(
        right < CHANCE_LIMIT,
        "last copies pair {right} of {STORAGE_VOTERS}"
    );
    // Every voter id is stored as many times as every other, and every code
    // too: no stale copy in freed space tells the old layout.
    let count = |needle: &str| {
        closed[0]
            .windows(needle.len())
            .filter(|w| *w == needle.as_bytes())
            .count()
    };
    let voter_counts: HashSet<usize> = truth.keys().map(|v| count(v)).collect();
    let code_counts: HashSet<usize> = truth.values().map(|c| count(c)).collect();
    assert_eq!(
        voter_counts.len(),
        1,
        "voter ids stored unevenly: {voter_counts:?}"
    );
    assert_eq!(
        code_counts.len(),
        1,
        "codes stored unevenly: {code_counts:?}"
    );
    assert_eq!(
        board_codes(&app, &admin, &id).await.unwrap().len(),
        STORAGE_VOTERS
    );
}
