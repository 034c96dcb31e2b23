//! Killing the server with SIGKILL in the middle of a load loses no ballot
//! that got a receipt.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use ballotbox::crypto::{HmacKey, Keys};
use ballotbox::users::Role;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::{
    answers_picking, count_rows_on, election_body, fast_users_on, pool_for, test_settings, Backend,
    TestDb,
};

fn start(dir: &std::path::Path, url: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ballotbox"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .current_dir(dir)
        .env("DATABASE_URL", url)
        .env("BALLOTBOX_ENV", "development")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start server")
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    for _ in 0..150 {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
            if r.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server at {base} did not become ready");
}

async fn kill_mid_load_and_restart(backend: Backend) {
    let Some(db) = TestDb::create(backend) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut server = start(dir.path(), &db.url, port);
    wait_ready(&client, &base).await;

    // Tokens signed with the running server's own development secret.
    let secret = std::fs::read_to_string(dir.path().join("data/keys/jwt-secret")).unwrap();
    let mut keys = Keys::generate();
    keys.jwt = HmacKey::new(B64.decode(secret.trim()).unwrap());
    let settings = test_settings(&db.url, dir.path().join("data"));
    let pool = pool_for(&db.url);
    let admin = fast_users_on(&pool, &keys, &settings.auth, "kadmin", 1, &[Role::Admin])
        .await
        .remove(0)
        .1;
    let voters = fast_users_on(&pool, &keys, &settings.auth, "kvoter", 400, &[Role::Voter]).await;
    let e: Value = client
        .post(format!("{base}/api/v1/elections"))
        .bearer_auth(&admin)
        .json(&election_body("Durable", "all_voters", 3))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = e["id"].as_str().unwrap().to_string();
    let r = client
        .post(format!("{base}/api/v1/elections/{id}/open"))
        .bearer_auth(&admin)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let answers = answers_picking(&e, 1);
    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let queue = Arc::new(std::sync::Mutex::new(
        voters.into_iter().map(|v| v.1).collect::<Vec<_>>(),
    ));
    let mut workers = Vec::new();
    for _ in 0..16 {
        let (client, base, id, answers, acknowledged, queue) = (
            client.clone(),
            base.clone(),
            id.clone(),
            answers.clone(),
            acknowledged.clone(),
            queue.clone(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let Some(token) = queue.lock().unwrap().pop() else {
                    return;
                };
                let resp = client
                    .post(format!("{base}/api/v1/elections/{id}/ballots"))
                    .bearer_auth(token)
                    .json(&json!({ "answers": answers }))
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status() == 201 => {
                        if let Ok(body) = r.json::<Value>().await {
                            let code = body["receipt"]["tracking_code"]
                                .as_str()
                                .unwrap()
                                .to_string();
                            acknowledged.lock().unwrap().push(code);
                        }
                    }
                    _ => {}
                }
            }
        }));
    }
    // Kill once a good number of ballots are in, with requests in flight.
    for _ in 0..1000 {
        if acknowledged.lock().unwrap().len() >= 120 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    for w in workers {
        w.await.unwrap();
    }
    let receipts = acknowledged.lock().unwrap().clone();
    assert!(
        receipts.len() >= 50,
        "only {} receipts before the kill",
        receipts.len()
    );

    let mut server = start(dir.path(), &db.url, port);
    wait_ready(&client, &base).await;
    let stored: Vec<String> = {
        let pool = pool.clone();
        tokio::task::spawn_blocking(move || {
            use ballotbox::db::schema::ballots::dsl::*;
            use diesel::prelude::*;
            ballots
                .select(tracking_code)
                .load::<String>(&mut **pool.get().unwrap())
                .unwrap()
        })
        .await
        .unwrap()
    };
    let stored: std::collections::HashSet<String> = stored.into_iter().collect();
    for code in &receipts {
        assert!(stored.contains(code), "acknowledged ballot {code} was lost");
    }
    assert_eq!(
        count_rows_on(&pool, "participations").await,
        count_rows_on(&pool, "ballots").await
    );
    server.kill().unwrap();
    server.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_load_loses_no_acknowledged_ballot_on_sqlite() {
    kill_mid_load_and_restart(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_load_loses_no_acknowledged_ballot_on_postgres() {
    kill_mid_load_and_restart(Backend::Postgres).await;
}
