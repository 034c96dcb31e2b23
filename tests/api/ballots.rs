//! Casting: validation, one ballot per voter under concurrency, secrecy,
//! receipts, idempotent retries, the board and its inclusion proofs, turnout.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use ballotbox::users::Role;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{assert_problem, count_rows, fast_users, spawn_app_with, Backend, TestApp};

crate::both_backends!(
    every_invalid_ballot_is_422_and_records_nothing,
    a_hundred_simultaneous_casts_by_one_voter_give_exactly_one_ballot,
    voters_casting_while_an_admin_closes_lose_nothing_and_sneak_nothing_in,
    a_close_on_one_instance_leaves_no_counted_receipt_after_closes_at,
    the_ballot_row_holds_no_voter_and_the_board_names_nobody,
    the_same_idempotency_key_returns_the_same_receipt,
    receipts_verify_and_inclusion_proofs_check_against_the_root,
    my_ballot_tells_whether_never_what,
    casting_checks_the_session_and_role_in_the_database,
    a_voter_role_given_after_login_lets_the_same_token_cast,
);

async fn casting_checks_the_session_and_role_in_the_database(app: TestApp) {
    let (admin, e, voters) = ballot_election(&app, 3).await;
    let id = e["id"].as_str().unwrap();
    // The token still says voter; the database no longer does.
    let resp = app
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/users/{}", voters[0].0),
            &json!({"roles": ["auditor"]}),
            Some(&admin),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_problem(app.cast(&voters[0].1, id, &valid(&e, 0)).await, 403).await;
    // A disabled voter's token is refused, whatever the body.
    app.send_json(
        reqwest::Method::PATCH,
        &format!("/api/v1/users/{}", voters[1].0),
        &json!({"disabled": true}),
        Some(&admin),
    )
    .await;
    assert_problem(app.cast(&voters[1].1, id, &valid(&e, 0)).await, 401).await;
    let resp = app
        .post(
            &format!("/api/v1/elections/{id}/ballots"),
            &json!({"nonsense": true}),
            Some(&voters[1].1),
        )
        .await;
    assert_problem(resp, 401).await;
    // Body errors for a live voter.
    let url = app.url(&format!("/api/v1/elections/{id}/ballots"));
    let resp = app
        .client
        .post(&url)
        .bearer_auth(&voters[2].1)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 415).await;
    let resp = app
        .client
        .post(&url)
        .bearer_auth(&voters[2].1)
        .header("content-type", "application/json")
        .body("{\"answers\": [")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400).await;
    let big = "x".repeat(app.settings.server.body_limit + 1);
    let resp = app
        .client
        .post(&url)
        .bearer_auth(&voters[2].1)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_problem(resp, 413).await;
    assert_eq!(count_rows(&app, "ballots").await, 0);
    assert_eq!(
        app.cast(&voters[2].1, id, &valid(&e, 0)).await.status(),
        201
    );
}

/// An election with one question per method family, opened, with `n` voters.
async fn ballot_election(app: &TestApp, n: usize) -> (String, Value, Vec<(String, String)>) {
    let admin = app.admin_token().await;
    let opts = |n: usize| {
        (0..n)
            .map(|i| json!({"label": format!("o{i}")}))
            .collect::<Vec<_>>()
    };
    let body = json!({"title": "Casting", "eligibility": "all_voters", "questions": [
        {"prompt": "Chair", "method": "plurality", "options": opts(3)},
        {"prompt": "Motions", "method": "approval", "min_selections": 1, "max_selections": 2, "options": opts(4)},
        {"prompt": "Rank", "method": "irv", "options": opts(4), "allow_blank": true},
    ]});
    let e = app.create_election(&admin, &body).await;
    let id = e["id"].as_str().unwrap().to_string();
    assert_eq!(app.step(&admin, &id, "open").await.status(), 200);
    let voters = fast_users(app, "caster", n, &[Role::Voter]).await;
    (admin, e, voters)
}

fn opt(e: &Value, q: usize, o: usize) -> Value {
    e["questions"][q]["options"][o]["id"].clone()
}

fn qid(e: &Value, q: usize) -> Value {
    e["questions"][q]["id"].clone()
}

/// A valid ballot for the election above, varied by `k`.
fn valid(e: &Value, k: usize) -> Value {
    json!([
        {"question_id": qid(e, 0), "selections": [opt(e, 0, k % 3)]},
        {"question_id": qid(e, 1), "selections": [opt(e, 1, k % 4), opt(e, 1, (k + 1) % 4)]},
        {"question_id": qid(e, 2), "selections": [opt(e, 2, (k + 2) % 4), opt(e, 2, k % 4)]},
    ])
}

async fn every_invalid_ballot_is_422_and_records_nothing(app: TestApp) {
    let (_, e, voters) = ballot_election(&app, 1).await;
    let (id, token) = (e["id"].as_str().unwrap(), &voters[0].1);
    let good = valid(&e, 0);
    let with = |i: usize, sel: Value| {
        let mut a = good.clone();
        a[i]["selections"] = sel;
        a
    };
    let cases = vec![
        ("a question unanswered", json!([good[0], good[1]])),
        (
            "a question answered twice",
            json!([good[0], good[0], good[1], good[2]]),
        ),
        (
            "an unknown question",
            json!([good[0], good[1], good[2], {"question_id": uuid::Uuid::new_v4(), "selections": []}]),
        ),
        (
            "an option of another question",
            with(0, json!([opt(&e, 1, 0)])),
        ),
        ("an unknown option", with(2, json!([uuid::Uuid::new_v4()]))),
        (
            "a repeated option",
            with(2, json!([opt(&e, 2, 1), opt(&e, 2, 1)])),
        ),
        (
            "two plurality picks",
            with(0, json!([opt(&e, 0, 0), opt(&e, 0, 1)])),
        ),
        ("a blank plurality answer", with(0, json!([]))),
        (
            "too many approvals",
            with(1, json!([opt(&e, 1, 0), opt(&e, 1, 1), opt(&e, 1, 2)])),
        ),
        ("a blank approval", with(1, json!([]))),
    ];
    for (name, answers) in cases {
        let p = assert_problem(app.cast(token, id, &answers).await, 422).await;
        assert!(
            p["errors"].as_array().is_some_and(|e| !e.is_empty()),
            "{name}: {p}"
        );
    }
    let named = assert_problem(app.cast(token, id, &with(0, json!([]))).await, 422).await;
    let q0 = e["questions"][0]["id"].as_str().unwrap();
    assert!(
        named["errors"][0]["message"].as_str().unwrap().contains(q0),
        "the message names the question: {named}"
    );
    // Wrong types and unknown fields are 400.
    assert_problem(
        app.cast(token, id, &with(0, json!(["not-a-uuid"]))).await,
        400,
    )
    .await;
    let resp = app
        .post(
            &format!("/api/v1/elections/{id}/ballots"),
            &json!({"answers": good, "voter_id": voters[0].0}),
            Some(token),
        )
        .await;
    assert_problem(resp, 400).await;
    assert_eq!(count_rows(&app, "participations").await, 0);
    assert_eq!(count_rows(&app, "ballots").await, 0);
    // A blank ranking is allowed where allow_blank is set.
    let resp = app.cast(token, id, &with(2, json!([]))).await;
    assert_eq!(resp.status(), 201);
}

async fn a_hundred_simultaneous_casts_by_one_voter_give_exactly_one_ballot(app: TestApp) {
    let (_, e, voters) = ballot_election(&app, 1).await;
    let app = Arc::new(app);
    let id = e["id"].as_str().unwrap().to_string();
    let token = voters[0].1.clone();
    let mut tasks = Vec::new();
    for k in 0..100 {
        let (app, id, token, answers) = (app.clone(), id.clone(), token.clone(), valid(&e, k));
        tasks.push(tokio::spawn(async move {
            app.cast(&token, &id, &answers).await.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        99,
        "{statuses:?}"
    );
    assert_eq!(count_rows(&app, "participations").await, 1);
    assert_eq!(count_rows(&app, "ballots").await, 1);
}

async fn voters_casting_while_an_admin_closes_lose_nothing_and_sneak_nothing_in(app: TestApp) {
    let (admin, e, voters) = ballot_election(&app, 200).await;
    let app = Arc::new(app);
    let id = e["id"].as_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for (k, (_, token)) in voters.iter().enumerate() {
        let (app, id, token, answers) = (app.clone(), id.clone(), token.clone(), valid(&e, k));
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis((k as u64 % 50) * 4)).await;
            let resp = app.cast(&token, &id, &answers).await;
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            (status, body)
        }));
    }
    // Turnout never shows a participation without its ballot.
    let watcher = {
        let (app, id, admin) = (app.clone(), id.clone(), admin.clone());
        tokio::spawn(async move {
            for _ in 0..20 {
                let t: Value = app
                    .get(&format!("/api/v1/elections/{id}/turnout"), Some(&admin))
                    .await
                    .json()
                    .await
                    .unwrap();
                assert_eq!(t["voted"], t["ballots"], "{t}");
                assert_eq!(t["eligible"], 200);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    // Close once ballots are flowing, with most casts still to come.
    for _ in 0..500 {
        if count_rows(&app, "ballots").await >= 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let closed = app.step(&admin, &id, "close").await;
    assert_eq!(closed.status(), 200);
    let mut receipts = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            201 => receipts.push(
                body["receipt"]["tracking_code"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            ),
            409 => {}
            other => panic!("unexpected status {other}: {body}"),
        }
    }
    watcher.await.unwrap();
    assert!(!receipts.is_empty(), "nobody got in before the close");
    // Every receipt is on the board; nothing else is.
    let board = board_entries(&app, &admin, &id).await;
    let on_board: HashSet<String> = board.iter().map(|b| b.0.clone()).collect();
    assert_eq!(on_board, receipts.iter().cloned().collect::<HashSet<_>>());
    assert_eq!(
        count_rows(&app, "participations").await,
        receipts.len() as i64
    );
    assert_eq!(count_rows(&app, "ballots").await, receipts.len() as i64);
    // The root fixed at close covers exactly the ballots now stored: nothing
    // was accepted after the close committed.
    let e: Value = app
        .get(&format!("/api/v1/elections/{id}"), Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        e["merkle_root"].as_str().unwrap(),
        hex::encode(rfc6962_root(&board))
    );
    assert_eq!(e["ballot_count"], receipts.len());
}

/// An admin closes on one instance while voters cast through another: every
/// accepted receipt was signed before the `closes_at` the election records
/// (the close reads the time only once it holds the election row).
async fn a_close_on_one_instance_leaves_no_counted_receipt_after_closes_at(app: TestApp) {
    let (admin, e, voters) = ballot_election(&app, 150).await;
    let (port, _) = crate::helpers::spawn_instance(
        &app.settings.database.url,
        app.settings.data.dir.join("second"),
        app.keys.clone(),
    )
    .await;
    let other = format!("http://127.0.0.1:{port}");
    let id = e["id"].as_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for (k, (_, token)) in voters.iter().enumerate() {
        let (client, url) = (
            app.client.clone(),
            format!("{other}/api/v1/elections/{id}/ballots"),
        );
        let (token, answers) = (token.clone(), valid(&e, k));
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis((k as u64 % 50) * 3)).await;
            let resp = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "answers": answers }))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }));
    }
    for _ in 0..500 {
        if count_rows(&app, "ballots").await >= 15 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(app.step(&admin, &id, "close").await.status(), 200);
    let mut cast_times = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            (201, body) => cast_times.push(
                chrono::DateTime::parse_from_rfc3339(body["receipt"]["cast_at"].as_str().unwrap())
                    .unwrap(),
            ),
            (409, _) => {}
            (other, body) => panic!("unexpected status {other}: {body}"),
        }
    }
    let e: Value = app
        .get(&format!("/api/v1/elections/{id}"), Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let closes_at = chrono::DateTime::parse_from_rfc3339(e["closes_at"].as_str().unwrap()).unwrap();
    assert!(!cast_times.is_empty());
    let late: Vec<_> = cast_times.iter().filter(|t| **t >= closes_at).collect();
    assert!(
        late.is_empty(),
        "{} receipts at or after closes_at {closes_at}: {late:?}",
        late.len()
    );
    assert_eq!(e["ballot_count"], cast_times.len());
}

/// Reads the whole board through the API, page by page.
async fn board_entries(app: &TestApp, token: &str, id: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let page: Value = app
            .get(
                &format!("/api/v1/elections/{id}/board?limit=37&cursor={cursor}"),
                Some(token),
            )
            .await
            .json()
            .await
            .unwrap();
        for item in page["items"].as_array().unwrap() {
            out.push((
                item["tracking_code"].as_str().unwrap().to_string(),
                item["ballot_hash"].as_str().unwrap().to_string(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    let mut sorted = out.clone();
    sorted.sort();
    assert_eq!(out, sorted, "the board is in tracking-code order");
    out
}

// An independent RFC 6962 implementation, written from the RFC for the tests.
fn leaf(data: &[u8]) -> [u8; 32] {
    Sha256::digest([&[0u8][..], data].concat()).into()
}
fn node(l: &[u8; 32], r: &[u8; 32]) -> [u8; 32] {
    Sha256::digest([&[1u8][..], l, r].concat()).into()
}
fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => Sha256::digest(b"").into(),
        1 => leaves[0],
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            node(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}
/// RFC 6962 §2.1.1 PATH(m, D[n]).
fn path(m: usize, leaves: &[[u8; 32]]) -> Vec<[u8; 32]> {
    let n = leaves.len();
    if n <= 1 {
        return vec![];
    }
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    if m < k {
        let mut p = path(m, &leaves[..k]);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = path(m - k, &leaves[k..]);
        p.push(mth(&leaves[..k]));
        p
    }
}
fn ballot_leaf(code: &str, hash_hex: &str) -> [u8; 32] {
    leaf(&[code.as_bytes(), &hex::decode(hash_hex).unwrap()].concat())
}
fn rfc6962_root(board: &[(String, String)]) -> [u8; 32] {
    mth(&board
        .iter()
        .map(|(c, h)| ballot_leaf(c, h))
        .collect::<Vec<_>>())
}

#[test]
fn the_test_verifier_reproduces_the_certificate_transparency_vectors() {
    let data: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x00],
        vec![0x10],
        vec![0x20, 0x21],
        vec![0x30, 0x31],
        vec![0x40, 0x41, 0x42, 0x43],
        vec![0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
        (0x60..=0x6f).collect(),
    ];
    let leaves: Vec<[u8; 32]> = data.iter().map(|d| leaf(d)).collect();
    assert_eq!(
        hex::encode(mth(&leaves)),
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    );
    assert_eq!(
        hex::encode(mth(&leaves[..1])),
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    );
    assert_eq!(
        hex::encode(mth(&leaves[..7])),
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"
    );
    let p: Vec<String> = path(0, &leaves).iter().map(hex::encode).collect();
    assert_eq!(
        p,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ]
    );
}

async fn the_ballot_row_holds_no_voter_and_the_board_names_nobody(app: TestApp) {
    let (admin, e, voters) = ballot_election(&app, 3).await;
    let id = e["id"].as_str().unwrap();
    for (k, (_, token)) in voters.iter().enumerate() {
        assert_eq!(app.cast(token, id, &valid(&e, k)).await.status(), 201);
    }
    #[derive(diesel::QueryableByName)]
    struct Col {
        #[diesel(sql_type = diesel::sql_types::Text)]
        c: String,
    }
    let pg = app.settings.database.url.starts_with("postgres");
    let columns: Vec<String> = app
        .with_conn(move |conn| {
            use diesel::RunQueryDsl;
            let sql = if pg {
                "SELECT column_name::text AS c FROM information_schema.columns WHERE table_name = 'ballots'"
            } else {
                "SELECT name AS c FROM pragma_table_info('ballots')"
            };
            diesel::sql_query(sql).load::<Col>(conn).unwrap().into_iter().map(|c| c.c).collect()
        })
        .await;
    let mut sorted = columns.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "ballot_hash",
            "content",
            "election_id",
            "id",
            "salt",
            "tracking_code"
        ]
    );
    for c in &columns {
        for forbidden in ["voter", "user", "session", "cast", "time", "_at"] {
            assert!(!c.contains(forbidden), "ballots.{c}");
        }
    }
    // v2: the board is out once voting ends.
    assert_eq!(app.step(&admin, id, "close").await.status(), 200);
    let page = app
        .get(&format!("/api/v1/elections/{id}/board"), Some(&voters[0].1))
        .await
        .text()
        .await
        .unwrap();
    for (uid, _) in &voters {
        assert!(!page.contains(uid.as_str()), "board names a voter");
    }
    assert!(!page.contains("@example.org"));
    let as_admin = app
        .get(&format!("/api/v1/elections/{id}/board"), Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    assert!(!as_admin.contains("caster0"));
    // The audit chain records no cast.
    let casts = app
        .with_conn(|c| {
            use ballotbox::db::schema::audit_events::dsl::*;
            use diesel::prelude::*;
            audit_events
                .filter(action.like("%ballot%").or(action.like("%cast%")))
                .count()
                .get_result::<i64>(c)
                .unwrap()
        })
        .await;
    assert_eq!(casts, 0);
}

async fn the_same_idempotency_key_returns_the_same_receipt(app: TestApp) {
    let (_, e, voters) = ballot_election(&app, 2).await;
    let id = e["id"].as_str().unwrap();
    let url = app.url(&format!("/api/v1/elections/{id}/ballots"));
    let send = |token: String, key: Option<&'static str>, answers: Value| {
        let mut req = app
            .client
            .post(&url)
            .bearer_auth(token)
            .json(&json!({ "answers": answers }));
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        req.send()
    };
    let token = voters[0].1.clone();
    let first = send(token.clone(), Some("retry-7f3a"), valid(&e, 1))
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = send(token.clone(), Some("retry-7f3a"), valid(&e, 1))
        .await
        .unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(
        again.json::<Value>().await.unwrap(),
        first,
        "identical receipt"
    );
    assert_problem(
        send(token.clone(), Some("retry-7f3a"), valid(&e, 2))
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_problem(
        send(token.clone(), Some("another-key"), valid(&e, 1))
            .await
            .unwrap(),
        409,
    )
    .await;
    assert_problem(send(token.clone(), None, valid(&e, 1)).await.unwrap(), 409).await;
    assert_eq!(count_rows(&app, "ballots").await, 1);
    // Another voter's identical key is their own.
    let other = send(voters[1].1.clone(), Some("retry-7f3a"), valid(&e, 1))
        .await
        .unwrap();
    assert_eq!(other.status(), 201);
    assert_ne!(
        other.json::<Value>().await.unwrap()["receipt"]["tracking_code"],
        first["receipt"]["tracking_code"]
    );
    // The database holds the receipt only sealed: no tracking code in clear.
    let code = first["receipt"]["tracking_code"]
        .as_str()
        .unwrap()
        .to_string();
    let leaked = app
        .with_conn(move |c| {
            use ballotbox::db::schema::participations::dsl::*;
            use diesel::prelude::*;
            let blobs: Vec<Option<Vec<u8>>> =
                participations.select(idempotency_sealed).load(c).unwrap();
            blobs
                .into_iter()
                .flatten()
                .any(|b| String::from_utf8_lossy(&b).contains(&code))
        })
        .await;
    assert!(!leaked);
}

async fn receipts_verify_and_inclusion_proofs_check_against_the_root(app: TestApp) {
    let (admin, e, voters) = ballot_election(&app, 7).await;
    let id = e["id"].as_str().unwrap();
    let keys: Value = app.get("/api/v1/keys", None).await.json().await.unwrap();
    let pk_b64 = keys["keys"][0]["public_key"].as_str().unwrap();
    let pk =
        ed25519_dalek::VerifyingKey::from_bytes(&B64.decode(pk_b64).unwrap().try_into().unwrap())
            .unwrap();
    let mut receipts = Vec::new();
    for (k, (_, token)) in voters.iter().enumerate() {
        let answers = valid(&e, k);
        let r: Value = app.cast(token, id, &answers).await.json().await.unwrap();
        let r = r["receipt"].clone();
        assert_eq!(r["kid"], keys["keys"][0]["kid"]);
        let signed = json!({"election_id": r["election_id"], "tracking_code": r["tracking_code"],
                            "ballot_hash": r["ballot_hash"], "cast_at": r["cast_at"]});
        let msg = serde_json_canonicalizer::to_vec(&signed).unwrap();
        let sig = ed25519_dalek::Signature::from_slice(
            &B64.decode(r["signature"].as_str().unwrap()).unwrap(),
        )
        .unwrap();
        pk.verify_strict(&msg, &sig)
            .expect("receipt signature verifies");
        let mut tampered = msg.clone();
        tampered[10] ^= 1;
        assert!(pk.verify_strict(&tampered, &sig).is_err());
        // v2: the hash is salted, so the answers alone do not give it.
        let mut sorted: Vec<Value> = answers.as_array().unwrap().clone();
        sorted.sort_by_key(|a| a["question_id"].as_str().unwrap().to_string());
        let doc = serde_json_canonicalizer::to_vec(&json!({"election_id": id, "answers": sorted}))
            .unwrap();
        assert_ne!(
            r["ballot_hash"].as_str().unwrap(),
            hex::encode(Sha256::digest(doc))
        );
        assert_eq!(r["tracking_code"].as_str().unwrap().len(), 16);
        receipts.push((r, sorted));
    }
    let receipts: Vec<Value> = receipts
        .into_iter()
        .map(|(mut r, sorted)| {
            r["sorted_answers"] = Value::Array(sorted);
            r
        })
        .collect();
    // While open: included, no proof yet.
    let code = receipts[0]["tracking_code"].as_str().unwrap();
    let check: Value = app
        .get(
            &format!("/api/v1/elections/{id}/receipts/{code}"),
            Some(&voters[0].1),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(check["included"], true);
    assert_eq!(check["ballot_hash"], receipts[0]["ballot_hash"]);
    assert!(check.get("inclusion_proof").is_none());
    assert!(check.get("salt").is_none(), "the salt is secret while open");
    app.step(&admin, id, "close").await;
    let board = board_entries(&app, &admin, id).await;
    let root = hex::encode(rfc6962_root(&board));
    for r in &receipts {
        let code = r["tracking_code"].as_str().unwrap();
        let check: Value = app
            .get(
                &format!("/api/v1/elections/{id}/receipts/{code}"),
                Some(&voters[3].1),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(check["merkle_root"], root);
        assert_eq!(check["ballot_hash"], r["ballot_hash"]);
        // From close on, the salt: SHA-256 of the canonical
        // {"election_id","answers","salt"}, answers sorted by question id.
        let salt = check["salt"].as_str().unwrap();
        assert_eq!(salt.len(), 32);
        assert!(salt.bytes().all(|b| b.is_ascii_hexdigit()));
        let doc = serde_json_canonicalizer::to_vec(
            &json!({"election_id": id, "answers": r["sorted_answers"], "salt": salt}),
        )
        .unwrap();
        assert_eq!(
            r["ballot_hash"].as_str().unwrap(),
            hex::encode(Sha256::digest(doc))
        );
        let index = check["leaf_index"].as_u64().unwrap() as usize;
        assert_eq!(board[index].0, code);
        let leaves: Vec<[u8; 32]> = board.iter().map(|(c, h)| ballot_leaf(c, h)).collect();
        let expected: Vec<String> = path(index, &leaves).iter().map(hex::encode).collect();
        let got: Vec<String> = check["inclusion_proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, expected, "proof of {code}");
    }
    let page: Value = app
        .get(&format!("/api/v1/elections/{id}/board"), Some(&voters[0].1))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["merkle_root"], root);
    assert_problem(
        app.get(
            &format!("/api/v1/elections/{id}/receipts/NOTACODE00000000"),
            Some(&admin),
        )
        .await,
        404,
    )
    .await;
}

async fn my_ballot_tells_whether_never_what(app: TestApp) {
    let (_, e, voters) = ballot_election(&app, 1).await;
    let id = e["id"].as_str().unwrap();
    let token = &voters[0].1;
    let before: Value = app
        .get(&format!("/api/v1/elections/{id}/my-ballot"), Some(token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(before, json!({"has_voted": false}));
    app.cast(token, id, &valid(&e, 0)).await;
    let after: Value = app
        .get(&format!("/api/v1/elections/{id}/my-ballot"), Some(token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["has_voted"], true);
    assert!(after["cast_at"].is_string());
    assert_eq!(
        after.as_object().unwrap().len(),
        2,
        "whether and when, nothing else: {after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ballot_after_closes_at_is_refused_even_before_the_timer_runs() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app_with(backend, |s| s.scheduler.interval_ms = 3_600_000).await
        else {
            continue;
        };
        let admin = app.admin_token().await;
        let mut body = crate::helpers::election_body("Deadline", "all_voters", 2);
        body["closes_at"] =
            json!((chrono::Utc::now() + chrono::Duration::milliseconds(3000)).to_rfc3339());
        let e = app.create_election(&admin, &body).await;
        let id = e["id"].as_str().unwrap();
        app.step(&admin, id, "open").await;
        let voters = fast_users(&app, "late", 2, &[Role::Voter]).await;
        let answers = crate::helpers::answers_picking(&e, 0);
        assert_eq!(app.cast(&voters[0].1, id, &answers).await.status(), 201);
        tokio::time::sleep(Duration::from_millis(3300)).await;
        let e2: Value = app
            .get(&format!("/api/v1/elections/{id}"), Some(&admin))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(e2["state"], "open", "the timer has not run");
        assert_problem(app.cast(&voters[1].1, id, &answers).await, 409).await;
        assert_eq!(count_rows(&app, "ballots").await, 1);
    }
}

/// Casting checks roles as the database holds them now, like every other
/// route: the token's own role claim neither grants nor refuses.
async fn a_voter_role_given_after_login_lets_the_same_token_cast(app: TestApp) {
    let (admin, e, _) = ballot_election(&app, 0).await;
    let id = e["id"].as_str().unwrap();
    let late = app.seed_user("late@example.org", &[Role::Auditor]).await;
    let token = app.login(&late.email, &late.password).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_problem(app.cast(&token, id, &valid(&e, 0)).await, 403).await;
    let resp = app
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/users/{}", late.id),
            &json!({"roles": ["auditor", "voter"]}),
            Some(&admin),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.cast(&token, id, &valid(&e, 0)).await.status(), 201);
    assert_eq!(count_rows(&app, "ballots").await, 1);
}
