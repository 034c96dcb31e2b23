//! Mail through the outbox, against a real SMTP server (aiosmtpd, started by
//! each test on its own port; `scripts/test` installs it into
//! target/tools-venv): invitations that activate accounts, reminders only to
//! those who have not voted, notices, bounces, retries, an SMTP outage, and
//! two instances sharing one database.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ballotbox::config::Settings;
use ballotbox::startup::Application;
use ballotbox::users::Role;
use serde_json::{json, Value};

use crate::helpers::{
    answers_picking, assert_problem, count_rows, election_body, fast_users, pool_for,
    spawn_app_with, test_settings, Backend, TestApp,
};

/// Runs each `async fn(Backend)` once per backend.
macro_rules! mail_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::helpers::Backend::Postgres).await
                }
            )*
        }
    };
}

mail_tests!(
    an_invitation_mail_links_to_the_web_app_and_its_token_activates_the_account,
    reminders_go_only_to_eligible_voters_who_have_not_voted,
    an_election_that_asks_for_notices_mails_its_voters_when_it_opens_and_is_published,
    a_permanent_refusal_is_bounced_and_never_retried,
    a_temporary_refusal_is_retried_and_then_sent_once,
    mail_queued_while_the_smtp_server_is_down_is_delivered_once_when_it_is_back,
    two_instances_on_one_database_send_each_message_once,
    a_claim_of_a_sender_that_died_is_respected_until_it_lapses_then_sent_once,
    without_mail_configured_nothing_is_queued,
);

const PUBLIC_URL: &str = "https://vote.example.org";

/// An aiosmtpd server on a port of its own, writing what it accepts to a file.
struct Sink {
    port: u16,
    out: PathBuf,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

fn sink_python() -> PathBuf {
    if let Ok(p) = std::env::var("SMTP_SINK_PYTHON") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/tools-venv/bin/python")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

impl Sink {
    /// A sink whose server is not started yet (the SMTP server is "down").
    fn stopped() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self {
            port: free_port(),
            out: dir.path().join("received.jsonl"),
            child: None,
            _dir: dir,
        }
    }

    fn started() -> Self {
        let mut s = Self::stopped();
        s.start();
        s
    }

    fn start(&mut self) {
        let python = sink_python();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
        let mut child = Command::new(&python)
            .arg(&script)
            .args(["--port", &self.port.to_string()])
            .arg("--out")
            .arg(&self.out)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start the SMTP sink with {} ({e}): run scripts/test, which installs aiosmtpd into target/tools-venv",
                    python.display()
                )
            });
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("sink output");
        assert_eq!(
            line.trim(),
            "ready",
            "the SMTP sink did not start (is aiosmtpd installed in target/tools-venv?)"
        );
        self.child = Some(child);
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Everything accepted so far.
    fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("sink json"))
            .collect()
    }

    /// Waits until at least `n` messages arrived, then returns them all.
    async fn wait_for(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "waited for {n} messages, got {}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop();
    }
}

fn with_mail(s: &mut Settings, sink: &Sink) {
    s.mail.smtp_url = sink.url();
    s.mail.from = "Elections <elections@example.org>".into();
    s.mail.poll_interval_ms = 50;
    s.mail.retry_base_secs = 1;
    s.mail.retry_max_secs = 1;
    s.mail.max_attempts = 100;
    s.mail.timeout_secs = 5;
    s.web.public_url = PUBLIC_URL.into();
}

async fn mail_app(backend: Backend, sink: &Sink) -> Option<TestApp> {
    spawn_app_with(backend, |s| with_mail(s, sink)).await
}

/// The outbox as the admin API lists it.
async fn outbox(app: &TestApp, admin: &str, query: &str) -> Vec<Value> {
    let resp = app.get(&format!("/api/v1/mail{query}"), Some(admin)).await;
    assert_eq!(resp.status(), 200);
    let page: Value = resp.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

/// Waits until every listed message has left `queued`.
async fn settled(app: &TestApp, admin: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let items = outbox(app, admin, "").await;
        if items.len() >= n && items.iter().all(|m| m["status"] != "queued") {
            return items;
        }
        assert!(Instant::now() < deadline, "mail still queued: {items:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn invite(app: &TestApp, admin: &str, email: &str) -> Value {
    let resp = app
        .post(
            "/api/v1/users",
            &json!({"email": email, "display_name": "Grace Hopper", "roles": ["voter"]}),
            Some(admin),
        )
        .await;
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

fn rcpt(m: &Value) -> String {
    m["rcpt_tos"][0].as_str().unwrap().to_string()
}

async fn an_invitation_mail_links_to_the_web_app_and_its_token_activates_the_account(
    backend: Backend,
) {
    let sink = Sink::started();
    let Some(app) = mail_app(backend, &sink).await else {
        return;
    };
    let admin = app.admin_token().await;
    let created = invite(&app, &admin, "grace@example.org").await;
    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail["rcpt_tos"], json!(["grace@example.org"]));
    assert_eq!(mail["mail_from"], "elections@example.org");
    let h = &mail["headers"];
    assert!(h["From"]
        .as_str()
        .unwrap()
        .contains("elections@example.org"));
    assert!(h["To"].as_str().unwrap().contains("grace@example.org"));
    assert!(h["Date"].is_string() && h["Message-ID"].as_str().unwrap().ends_with("@example.org>"));
    assert_eq!(h["Auto-Submitted"], "auto-generated");
    assert!(
        h.get("List-Unsubscribe").is_none(),
        "an invitation is not a list"
    );
    assert_eq!(mail["content_type"], "multipart/alternative");
    let text = mail["text"].as_str().unwrap();
    let html = mail["html"].as_str().unwrap();
    assert!(text.contains("Grace Hopper"), "{text}");
    assert!(!html.contains("<img"), "no tracking pixel");
    let prefix = format!("{PUBLIC_URL}/#/activate?token=");
    let token = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix(&prefix))
        .expect("an activation link in the text part")
        .to_string();
    assert!(html.contains(&format!("{prefix}{token}")), "{html}");
    // The link carries the very token the API returned, and it works.
    assert_eq!(created["invitation_token"], token.as_str());
    let resp = app
        .post(
            "/api/v1/auth/activate",
            &json!({"invitation_token": token, "password": "orchid tramway 4812 quietly"}),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    let items = settled(&app, &admin, 1).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["kind"], "invitation");
    assert_eq!(items[0]["status"], "sent");
    assert_eq!(items[0]["to"], "grace@example.org");
    assert_eq!(items[0]["attempts"], 1);
    assert!(items[0]["sent_at"].is_string());
    // Admins only.
    let voter = app.token_for("v@example.org", &[Role::Voter]).await;
    assert_problem(app.get("/api/v1/mail", Some(&voter)).await, 403).await;
    assert_problem(app.get("/api/v1/mail", None).await, 401).await;
    assert_problem(app.get("/api/v1/mail?status=lost", Some(&admin)).await, 400).await;
}

async fn reminders_go_only_to_eligible_voters_who_have_not_voted(backend: Backend) {
    let sink = Sink::started();
    let Some(app) = mail_app(backend, &sink).await else {
        return;
    };
    let admin = app.admin_token().await;
    let voters = fast_users(&app, "roll", 4, &[Role::Voter]).await;
    let _off_roll = fast_users(&app, "other", 1, &[Role::Voter]).await;
    let election = app
        .create_election(&admin, &election_body("Board", "roll", 2))
        .await;
    let id = election["id"].as_str().unwrap().to_string();
    let ids: Vec<&str> = voters.iter().map(|(u, _)| u.as_str()).collect();
    let resp = app
        .post(
            &format!("/api/v1/elections/{id}/voters"),
            &json!({"user_ids": ids}),
            Some(&admin),
        )
        .await;
    assert_eq!(resp.status(), 200);
    // Not open yet: no reminders.
    let remind = |token: String| {
        let (app, id) = (&app, id.clone());
        async move {
            app.post(
                &format!("/api/v1/elections/{id}/reminders"),
                &json!({}),
                Some(&token),
            )
            .await
        }
    };
    assert_problem(remind(admin.clone()).await, 409).await;
    assert_eq!(app.step(&admin, &id, "open").await.status(), 200);
    assert_problem(remind(voters[0].1.clone()).await, 403).await;
    for (_, token) in &voters[..2] {
        assert_eq!(
            app.cast(token, &id, &answers_picking(&election, 0))
                .await
                .status(),
            201
        );
    }
    let resp = remind(admin.clone()).await;
    assert_eq!(resp.status(), 202);
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"queued": 2}));
    let got = sink.wait_for(2).await;
    let mut to: Vec<String> = got.iter().map(rcpt).collect();
    to.sort();
    assert_eq!(to, vec!["roll2@example.org", "roll3@example.org"]);
    for m in &got {
        let h = &m["headers"];
        assert!(h["Subject"].as_str().unwrap().contains("Board"), "{h}");
        assert_eq!(
            h["List-Unsubscribe"],
            "<mailto:elections@example.org?subject=unsubscribe>"
        );
        let text = m["text"].as_str().unwrap();
        assert!(
            text.contains(&format!("{PUBLIC_URL}/#/elections/{id}/vote")),
            "{text}"
        );
    }
    let listed = outbox(&app, &admin, &format!("?election_id={id}")).await;
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|m| m["kind"] == "reminder"));
    // Nothing more arrives.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.received().len(), 2);
}

async fn an_election_that_asks_for_notices_mails_its_voters_when_it_opens_and_is_published(
    backend: Backend,
) {
    let sink = Sink::started();
    let Some(app) = spawn_app_with(backend, |s| {
        with_mail(s, &sink);
        s.mail.locale = "fr".into();
    })
    .await
    else {
        return;
    };
    let admin = app.admin_token().await;
    let voters = fast_users(&app, "n", 2, &[Role::Voter]).await;
    let mut body = election_body("Conseil", "all_voters", 2);
    body["notify"] = json!({"on_open": true, "on_publish": true});
    let election = app.create_election(&admin, &body).await;
    assert_eq!(
        election["notify"],
        json!({"on_open": true, "on_publish": true})
    );
    let id = election["id"].as_str().unwrap().to_string();
    let quiet = app
        .create_election(&admin, &election_body("Quiet", "all_voters", 2))
        .await;
    assert_eq!(
        quiet["notify"],
        json!({"on_open": false, "on_publish": false})
    );
    let quiet_id = quiet["id"].as_str().unwrap().to_string();
    assert_eq!(app.step(&admin, &quiet_id, "open").await.status(), 200);
    assert_eq!(app.step(&admin, &id, "open").await.status(), 200);
    let opened = sink.wait_for(2).await;
    let mut to: Vec<String> = opened.iter().map(rcpt).collect();
    to.sort();
    assert_eq!(to, vec!["n0@example.org", "n1@example.org"]);
    for m in &opened {
        let subject = m["headers"]["Subject"].as_str().unwrap();
        assert!(
            subject.contains("Conseil") && subject.contains("ouvert"),
            "{subject}"
        );
    }
    app.cast(&voters[0].1, &id, &answers_picking(&election, 1))
        .await;
    for step in ["close", "tally", "publish"] {
        assert_eq!(app.step(&admin, &id, step).await.status(), 200, "{step}");
    }
    let all = sink.wait_for(4).await;
    let published: Vec<&Value> = all[2..].iter().collect();
    for m in &published {
        assert!(m["headers"]["Subject"]
            .as_str()
            .unwrap()
            .contains("Résultats"));
        let text = m["text"].as_str().unwrap();
        assert!(text.contains(&format!("{PUBLIC_URL}/#/elections/{id}/results")));
    }
    // The voter who voted and the one who did not get the same notice.
    let bodies: Vec<String> = published
        .iter()
        .map(|m| {
            m["text"]
                .as_str()
                .unwrap()
                .replace("n0@", "")
                .replace("n1@", "")
        })
        .collect();
    assert_eq!(bodies[0], bodies[1]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.received().len(), 4, "the quiet election sent nothing");
    // A PATCH may turn notices on or off in draft.
    let draft = app
        .create_election(&admin, &election_body("Later", "roll", 2))
        .await;
    let resp = app
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/elections/{}", draft["id"].as_str().unwrap()),
            &json!({"notify": {"on_publish": true}}),
            Some(&admin),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let patched: Value = resp.json().await.unwrap();
    assert_eq!(
        patched["notify"],
        json!({"on_open": false, "on_publish": true})
    );
    let resp = app
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/elections/{}", draft["id"].as_str().unwrap()),
            &json!({"notify": {"on_close": true}}),
            Some(&admin),
        )
        .await;
    assert_problem(resp, 400).await;
}

async fn a_permanent_refusal_is_bounced_and_never_retried(backend: Backend) {
    let sink = Sink::started();
    let Some(app) = mail_app(backend, &sink).await else {
        return;
    };
    let admin = app.admin_token().await;
    invite(&app, &admin, "bounce-1@example.org").await;
    let items = settled(&app, &admin, 1).await;
    assert_eq!(items[0]["status"], "bounced");
    assert_eq!(items[0]["attempts"], 1);
    assert!(
        items[0]["last_error"].as_str().unwrap().contains("550"),
        "{items:?}"
    );
    assert!(items[0]["sent_at"].is_null());
    let bounced = outbox(&app, &admin, "?status=bounced").await;
    assert_eq!(bounced.len(), 1);
    assert!(outbox(&app, &admin, "?status=sent").await.is_empty());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(outbox(&app, &admin, "").await[0]["attempts"], 1);
    assert!(sink.received().is_empty());
}

async fn a_temporary_refusal_is_retried_and_then_sent_once(backend: Backend) {
    let sink = Sink::started();
    let Some(app) = mail_app(backend, &sink).await else {
        return;
    };
    let admin = app.admin_token().await;
    invite(&app, &admin, "tempfail-1@example.org").await;
    // The server answers 451 twice: the first try and one retry fail.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let items = outbox(&app, &admin, "").await;
        if items[0]["attempts"].as_i64().unwrap() >= 1 && items[0]["last_error"].is_string() {
            assert_eq!(items[0]["status"], "queued");
            assert!(items[0]["last_error"].as_str().unwrap().contains("451"));
            break;
        }
        assert!(Instant::now() < deadline, "no first attempt: {items:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let items = settled(&app, &admin, 1).await;
    assert_eq!(items[0]["status"], "sent");
    assert_eq!(items[0]["attempts"], 3);
    assert_eq!(sink.wait_for(1).await.len(), 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sink.received().len(), 1);
}

async fn mail_queued_while_the_smtp_server_is_down_is_delivered_once_when_it_is_back(
    backend: Backend,
) {
    let mut sink = Sink::stopped();
    let Some(app) = mail_app(backend, &sink).await else {
        return;
    };
    let admin = app.admin_token().await;
    let users: Vec<Value> = (0..6)
        .map(|i| json!({"email": format!("down{i}@example.org"), "display_name": format!("D {i}")}))
        .collect();
    let resp = app
        .post(
            "/api/v1/users/import",
            &json!({ "users": users }),
            Some(&admin),
        )
        .await;
    assert_eq!(resp.status(), 200);
    // Tried and failed while nobody listens.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let items = outbox(&app, &admin, "").await;
    assert_eq!(items.len(), 6);
    assert!(items.iter().all(|m| m["status"] == "queued"), "{items:?}");
    assert!(items.iter().any(|m| m["attempts"].as_i64().unwrap() >= 1));
    assert!(items.iter().any(|m| m["last_error"].is_string()));
    sink.start();
    let got = sink.wait_for(6).await;
    settled(&app, &admin, 6).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got_later = sink.received();
    assert_eq!(got_later.len(), 6, "each message once");
    let mut to: Vec<String> = got.iter().map(rcpt).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 6);
    assert!(outbox(&app, &admin, "")
        .await
        .iter()
        .all(|m| m["status"] == "sent"));
}

async fn two_instances_on_one_database_send_each_message_once(backend: Backend) {
    let sink = Sink::started();
    let Some(app) = mail_app(backend, &sink).await else {
        return;
    };
    let mut settings = test_settings(&app.settings.database.url, app.settings.data.dir.clone());
    with_mail(&mut settings, &sink);
    let second = Application::build_with(
        settings,
        pool_for(&app.settings.database.url),
        app.keys.clone(),
    )
    .expect("second instance");
    tokio::spawn(second.run_until_stopped());
    let admin = app.admin_token().await;
    let n = 40;
    let users: Vec<Value> = (0..n)
        .map(|i| json!({"email": format!("pair{i}@example.org"), "display_name": format!("P {i}")}))
        .collect();
    let resp = app
        .post(
            "/api/v1/users/import",
            &json!({ "users": users }),
            Some(&admin),
        )
        .await;
    assert_eq!(resp.status(), 200);
    sink.wait_for(n).await;
    settled(&app, &admin, n).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = sink.received();
    assert_eq!(got.len(), n, "each message exactly once");
    let mut ids: Vec<String> = got
        .iter()
        .map(|m| m["headers"]["Message-ID"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n);
    let items = outbox(&app, &admin, "?limit=500").await;
    assert!(items
        .iter()
        .all(|m| m["status"] == "sent" && m["attempts"] == 1));
}

async fn without_mail_configured_nothing_is_queued(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    let admin = app.admin_token().await;
    let created = invite(&app, &admin, "quiet@example.org").await;
    assert!(created["invitation_token"].is_string());
    let mut body = election_body("Silent", "all_voters", 2);
    body["notify"] = json!({"on_open": true, "on_publish": true});
    let e = app.create_election(&admin, &body).await;
    let id = e["id"].as_str().unwrap();
    assert_eq!(app.step(&admin, id, "open").await.status(), 200);
    let resp = app
        .post(
            &format!("/api/v1/elections/{id}/reminders"),
            &json!({}),
            Some(&admin),
        )
        .await;
    assert_problem(resp, 409).await;
    assert_eq!(count_rows(&app, "mail_outbox").await, 0);
    assert!(outbox(&app, &admin, "").await.is_empty());
}

async fn a_claim_of_a_sender_that_died_is_respected_until_it_lapses_then_sent_once(
    backend: Backend,
) {
    use ballotbox::db::schema::mail_outbox;
    use ballotbox::db::types::Time;
    use diesel::prelude::*;
    let mut sink = Sink::stopped();
    let Some(app) = mail_app(backend, &sink).await else {
        return;
    };
    let admin = app.admin_token().await;
    invite(&app, &admin, "lease@example.org").await;
    // Another instance claimed the message and died mid-send: its claim
    // (status `sending`) runs 3 more seconds.
    let lapses = Time(Time::now().0 + chrono::Duration::seconds(3));
    app.with_conn(move |c| {
        diesel::update(mail_outbox::table)
            .set((
                mail_outbox::status.eq("sending"),
                mail_outbox::attempts.eq(50),
                mail_outbox::claimed_until.eq(Some(lapses)),
            ))
            .execute(c)
            .unwrap()
    })
    .await;
    sink.start();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(sink.received().is_empty(), "a live claim is left alone");
    assert_eq!(outbox(&app, &admin, "").await[0]["status"], "queued");
    let got = sink.wait_for(1).await;
    assert_eq!(rcpt(&got[0]), "lease@example.org");
    let items = settled(&app, &admin, 1).await;
    assert_eq!(items[0]["status"], "sent");
    assert_eq!(items[0]["attempts"], 51);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(sink.received().len(), 1);
}
