//! Hostile request bodies: each is refused with a 4xx problem, quickly, the
//! same on both databases, and changes nothing. The corpus is
//! tests/fuzz/corpus/bodies (replayed here against every JSON endpoint);
//! memory is measured on a real server process in `memory_stays_bounded`.

use std::time::{Duration, Instant};

use ballotbox::users::Role;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{
    assert_problem, count_rows, election_body, fast_users_on, Backend, TestApp, TestDb,
};

/// Longest a hostile body may take to be refused (debug build, shared cores).
const QUICK: Duration = Duration::from_secs(5);

both_backends!(
    nul_in_any_election_text_is_the_same_422,
    nul_in_user_text_is_422_and_in_a_login_or_search_is_no_500,
    hostile_json_is_a_quick_4xx_and_changes_nothing,
    corpus_bodies_are_never_a_server_error,
    random_bodies_are_never_a_server_error,
);

async fn post_raw(app: &TestApp, path: &str, body: Vec<u8>, token: &str) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request")
}

/// PostgreSQL cannot store NUL in text (it was a 500 there and a 201 on
/// SQLite): every text field of an election refuses it with a field error.
async fn nul_in_any_election_text_is_the_same_422(app: TestApp) {
    let admin = app.admin_token().await;
    type Change = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Change)> = vec![
        (
            "title",
            Box::new(|b| b["title"] = json!("Board\u{0}election")),
        ),
        (
            "description",
            Box::new(|b| b["description"] = json!("\u{0}")),
        ),
        (
            "questions[0].prompt",
            Box::new(|b| b["questions"][0]["prompt"] = json!("Who\u{0}?")),
        ),
        (
            "questions[0].options[1].label",
            Box::new(|b| b["questions"][0]["options"][1]["label"] = json!("B\u{0}")),
        ),
    ];
    for (field, change) in cases {
        let mut body = election_body("Nul", "all_voters", 3);
        change(&mut body);
        let resp = app.post("/api/v1/elections", &body, Some(&admin)).await;
        let problem = assert_problem(resp, 422).await;
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .expect("field errors")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert_eq!(fields, [field], "{problem}");
        assert!(problem["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("NUL")));
    }
    assert_eq!(count_rows(&app, "elections").await, 0);

    // Editing a draft goes through the same rules.
    let e = app
        .create_election(&admin, &election_body("Clean", "all_voters", 2))
        .await;
    let resp = app
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/elections/{}", e["id"].as_str().unwrap()),
            &json!({"title": "Dirty\u{0}"}),
            Some(&admin),
        )
        .await;
    assert_problem(resp, 422).await;
    let again = app
        .get(
            &format!("/api/v1/elections/{}", e["id"].as_str().unwrap()),
            Some(&admin),
        )
        .await;
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["title"], "Clean");
}

async fn nul_in_user_text_is_422_and_in_a_login_or_search_is_no_500(app: TestApp) {
    let admin = app.admin_token().await;
    let before = count_rows(&app, "users").await;
    for body in [
        json!({"email": "nul@example.org", "display_name": "A\u{0}B", "roles": ["voter"]}),
        json!({"email": "n\u{0}ul@example.org", "display_name": "AB", "roles": ["voter"]}),
    ] {
        let resp = app.post("/api/v1/users", &body, Some(&admin)).await;
        assert_problem(resp, 422).await;
    }
    let import = json!({"users": [{"email": "imp@example.org", "display_name": "I\u{0}"}]});
    let resp = app
        .post("/api/v1/users/import", &import, Some(&admin))
        .await;
    assert!(resp.status().is_client_error() || resp.status() == 200);
    if resp.status() == 200 {
        let report: Value = resp.json().await.unwrap();
        assert_eq!(report["created"], json!([]), "{report}");
        assert_eq!(report["errors"][0]["index"], 0, "{report}");
    }
    assert_eq!(count_rows(&app, "users").await, before);

    // No user can have such an email: the same 401 as any unknown account.
    let resp = app
        .post(
            "/api/v1/auth/login",
            &json!({"email": "admin\u{0}@example.org", "password": "whatever-long-enough"}),
            None,
        )
        .await;
    assert_problem(resp, 401).await;
    let resp = app.get("/api/v1/users?q=%00", Some(&admin)).await;
    assert!(resp.status().is_client_error() || resp.status() == 200);
    if resp.status() == 200 {
        let page: Value = resp.json().await.unwrap();
        assert_eq!(page["items"], json!([]), "{page}");
    }
}

/// The bodies of the brief: each a 4xx problem within [`QUICK`].
fn hostile_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_object = format!(
        "{{\"title\":\"x\",\"questions\":{}{}}}",
        "{\"a\":".repeat(10_000),
        "}".repeat(10_000)
    );
    let zeros = vec!["0"; 1_000_000].join(",");
    let million = format!("[{zeros}]");
    let million_rows = format!("{{\"users\":[{zeros}],\"questions\":[]}}");
    let big_number = election_body("Big", "all_voters", 2)
        .to_string()
        .replace("\"questions\"", "\"seats\":1e400,\"questions\"");
    let seats_1e400 = r#"{"title":"T","description":"","eligibility":"all_voters","questions":[{"prompt":"P","method":"plurality","seats":1e400,"options":[{"label":"A"},{"label":"B"}]}]}"#;
    let duplicate = r#"{"title":"A","title":"B","description":"","eligibility":"all_voters","questions":[{"prompt":"P","method":"plurality","options":[{"label":"A"},{"label":"B"}]}]}"#;
    let mut invalid_utf8 = br#"{"title":""#.to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28]);
    invalid_utf8.extend_from_slice(
        br#"","description":"","eligibility":"all_voters","questions":[{"prompt":"P","method":"plurality","options":[{"label":"A"},{"label":"B"}]}]}"#,
    );
    let mut raw_nul = br#"{"title":"a"#.to_vec();
    raw_nul.push(0);
    raw_nul.extend_from_slice(
        br#"b","description":"","eligibility":"all_voters","questions":[{"prompt":"P","method":"plurality","options":[{"label":"A"},{"label":"B"}]}]}"#,
    );
    vec![
        ("arrays nested 10,000 deep", deep.into_bytes()),
        ("objects nested 10,000 deep", deep_object.into_bytes()),
        ("a million-element array", million.into_bytes()),
        ("a million-element array of rows", million_rows.into_bytes()),
        ("1e400 beside the fields", big_number.into_bytes()),
        ("1e400 as a count", seats_1e400.as_bytes().to_vec()),
        ("a duplicate key", duplicate.as_bytes().to_vec()),
        ("invalid UTF-8", invalid_utf8),
        ("a raw NUL byte in a string", raw_nul),
    ]
}

async fn hostile_json_is_a_quick_4xx_and_changes_nothing(app: TestApp) {
    let admin = app.admin_token().await;
    let e = app
        .create_election(&admin, &election_body("Target", "all_voters", 2))
        .await;
    let id = e["id"].as_str().unwrap();
    let voter = app
        .token_for("hostile-voter@example.org", &[Role::Voter])
        .await;
    app.step(&admin, id, "open").await;
    let (elections, users, ballots) = (
        count_rows(&app, "elections").await,
        count_rows(&app, "users").await,
        count_rows(&app, "ballots").await,
    );
    let targets = [
        ("/api/v1/elections".to_string(), &admin),
        ("/api/v1/users/import".to_string(), &admin),
        (format!("/api/v1/elections/{id}/voters"), &admin),
        (format!("/api/v1/elections/{id}/ballots"), &voter),
    ];
    for (name, body) in hostile_bodies() {
        for (path, token) in &targets {
            let t = Instant::now();
            let resp = post_raw(&app, path, body.clone(), token).await;
            let status = resp.status().as_u16();
            assert!(
                (400..500).contains(&status),
                "{name} to {path}: {status} {}",
                resp.text().await.unwrap_or_default()
            );
            assert_problem(resp, status).await;
            assert!(
                t.elapsed() < QUICK,
                "{name} to {path} took {:?}",
                t.elapsed()
            );
        }
    }
    assert_eq!(count_rows(&app, "elections").await, elections);
    assert_eq!(count_rows(&app, "users").await, users);
    assert_eq!(count_rows(&app, "ballots").await, ballots);
    assert_eq!(app.get("/healthz", None).await.status(), 200);
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus/bodies");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("tests/fuzz/corpus/bodies")
        .map(|e| {
            let path = e.expect("corpus entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).expect("corpus file"))
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "empty corpus");
    out
}

/// Every JSON endpoint of every role, with an id that exists.
async fn json_targets(app: &TestApp) -> Vec<(reqwest::Method, String, String)> {
    let admin = app.admin_token().await;
    let voter = app
        .token_for("corpus-voter@example.org", &[Role::Voter])
        .await;
    let e = app
        .create_election(&admin, &election_body("Corpus", "all_voters", 2))
        .await;
    let id = e["id"].as_str().unwrap().to_string();
    app.step(&admin, &id, "open").await;
    let draft = app
        .create_election(&admin, &election_body("Draft", "all_voters", 2))
        .await;
    let draft_id = draft["id"].as_str().unwrap().to_string();
    let users: Value = app
        .get("/api/v1/users", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let user_id = users["items"][0]["id"].as_str().unwrap().to_string();
    use reqwest::Method as M;
    vec![
        (M::POST, "/api/v1/auth/login".into(), String::new()),
        (M::POST, "/api/v1/auth/refresh".into(), String::new()),
        (M::POST, "/api/v1/elections".into(), admin.clone()),
        (
            M::PATCH,
            format!("/api/v1/elections/{draft_id}"),
            admin.clone(),
        ),
        (
            M::POST,
            format!("/api/v1/elections/{draft_id}/schedule"),
            admin.clone(),
        ),
        (
            M::POST,
            format!("/api/v1/elections/{id}/voters"),
            admin.clone(),
        ),
        (M::POST, "/api/v1/users".into(), admin.clone()),
        (M::POST, "/api/v1/users/import".into(), admin.clone()),
        (M::PATCH, format!("/api/v1/users/{user_id}"), admin.clone()),
        (M::POST, format!("/api/v1/elections/{id}/ballots"), voter),
    ]
}

async fn send(
    app: &TestApp,
    (method, path, token): &(reqwest::Method, String, String),
    body: Vec<u8>,
) -> u16 {
    let mut req = app
        .client
        .request(method.clone(), app.url(path))
        .header("content-type", "application/json")
        .body(body);
    if !token.is_empty() {
        req = req.bearer_auth(token);
    }
    req.send().await.expect("request").status().as_u16()
}

async fn corpus_bodies_are_never_a_server_error(app: TestApp) {
    let targets = json_targets(&app).await;
    for (name, body) in corpus() {
        for target in &targets {
            let t = Instant::now();
            let status = send(&app, target, body.clone()).await;
            assert!(
                status < 500,
                "{name} to {} {}: {status}",
                target.0,
                target.1
            );
            assert!(
                t.elapsed() < QUICK,
                "{name} to {}: {:?}",
                target.1,
                t.elapsed()
            );
        }
    }
}

/// A bounded fuzz loop: corpus bodies mutated at random (byte flips,
/// insertions, deletions, splices, NUL and `\u0000` and deep brackets
/// dropped in) against every JSON endpoint. `BALLOTBOX_FUZZ_CASES` sets the
/// number of bodies (default 150); `BALLOTBOX_FUZZ_SEED` replays a run.
async fn random_bodies_are_never_a_server_error(app: TestApp) {
    use rand::{Rng, SeedableRng};
    let cases: usize = std::env::var("BALLOTBOX_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150);
    let seed: u64 = std::env::var("BALLOTBOX_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let corpus = corpus();
    let targets = json_targets(&app).await;
    for case in 0..cases {
        let mut body = corpus[rng.gen_range(0..corpus.len())].1.clone();
        for _ in 0..rng.gen_range(1..=4) {
            mutate(&mut rng, &mut body, &corpus);
        }
        let target = &targets[rng.gen_range(0..targets.len())];
        let status = send(&app, target, body.clone()).await;
        assert!(
            status < 500,
            "BALLOTBOX_FUZZ_SEED={seed}, case {case}: {status} from {} {} for {:?}",
            target.0,
            target.1,
            String::from_utf8_lossy(&body)
        );
    }
}

fn mutate(rng: &mut impl rand::Rng, body: &mut Vec<u8>, corpus: &[(String, Vec<u8>)]) {
    const TOKENS: &[&[u8]] = &[
        b"\\u0000",
        b"\0",
        b"\xff",
        b"1e400",
        b"-0",
        b"18446744073709551616",
        b"[[[[[[[[[[[[[[[[",
        b"{\"a\":",
        b"null",
        b"\"\"",
        b"\\ud800",
        b",",
    ];
    let at = |rng: &mut dyn rand::RngCore, len: usize| (rng.next_u32() as usize) % (len + 1);
    match rng.gen_range(0..5) {
        0 if !body.is_empty() => {
            let i = at(rng, body.len() - 1);
            body[i] ^= 1 << rng.gen_range(0..8);
        }
        1 => {
            let i = at(rng, body.len());
            let t = TOKENS[rng.gen_range(0..TOKENS.len())];
            body.splice(i..i, t.iter().copied());
        }
        2 if !body.is_empty() => {
            let i = at(rng, body.len() - 1);
            let n = rng.gen_range(1..=8).min(body.len() - i);
            body.drain(i..i + n);
        }
        3 => {
            let other = &corpus[rng.gen_range(0..corpus.len())].1;
            if !other.is_empty() {
                let from = at(rng, other.len() - 1);
                let to = from + rng.gen_range(1..=32).min(other.len() - from);
                let i = at(rng, body.len());
                body.splice(i..i, other[from..to].iter().copied());
            }
        }
        _ => {
            let i = at(rng, body.len());
            body.truncate(i);
        }
    }
}

/// Peak RSS (VmHWM) of a real server process before and after the hostile
/// bodies, 20 times each: the bodies may cost a body limit each, not grow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_bounded_under_hostile_bodies() {
    let Some(db) = TestDb::create(Backend::Sqlite) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_ballotbox"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .env("DATABASE_URL", &db.url)
        .env("BALLOTBOX_ENV", "development")
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start server");
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..150 {
        if client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "server did not start");
    let secret = std::fs::read_to_string(dir.path().join("data/keys/jwt-secret")).unwrap();
    let mut keys = ballotbox::crypto::Keys::generate();
    use base64::Engine;
    keys.jwt = ballotbox::crypto::HmacKey::new(
        base64::engine::general_purpose::STANDARD
            .decode(secret.trim())
            .unwrap(),
    );
    let settings = crate::helpers::test_settings(&db.url, dir.path().join("data"));
    let pool = crate::helpers::pool_for(&db.url);
    let admin = fast_users_on(&pool, &keys, &settings.auth, "madmin", 1, &[Role::Admin])
        .await
        .remove(0)
        .1;
    let hwm = || {
        let status = std::fs::read_to_string(format!("/proc/{}/status", server.id())).unwrap();
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .expect("VmHWM")
    };
    let round = |body: Vec<u8>, path: &'static str| {
        let (client, base, admin) = (client.clone(), base.clone(), admin.clone());
        async move {
            let resp = client
                .post(format!("{base}{path}"))
                .bearer_auth(&admin)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("request");
            resp.status().as_u16()
        }
    };
    // Warm up: one of each, so that buffers and thread stacks exist.
    for (_, body) in hostile_bodies() {
        for path in ["/api/v1/elections", "/api/v1/users/import"] {
            let s = round(body.clone(), path).await;
            assert!((400..500).contains(&s), "{path}: {s}");
        }
    }
    let before = hwm();
    for _ in 0..20 {
        for (_, body) in hostile_bodies() {
            for path in ["/api/v1/elections", "/api/v1/users/import"] {
                let s = round(body.clone(), path).await;
                assert!((400..500).contains(&s), "{path}: {s}");
            }
        }
    }
    let after = hwm();
    let _ = server.kill();
    let _ = server.wait();
    eprintln!("server VmHWM: {before} KiB after warm-up, {after} KiB after 20 more rounds");
    // Growth past a few MiB would mean memory kept per hostile body.
    assert!(
        after <= before + 16 * 1024,
        "peak RSS grew from {before} KiB to {after} KiB"
    );
    // And the peak itself stays within a small multiple of the 4 MiB bulk limit.
    assert!(after < 256 * 1024, "peak RSS {after} KiB");
}
