//! The application under test, started in-process on a random port, and
//! the HTTP client that speaks to it.

use std::path::PathBuf;

use ballotbox::config::{Environment, Settings};
use ballotbox::crypto::Keys;
use ballotbox::db::{self, DbPool};
use ballotbox::startup::Application;
use serde_json::Value;

use super::database::{count_rows_on, pool_for, Backend, TestDb};

/// Settings for a test server on `url`.
pub fn test_settings(url: &str, data_dir: PathBuf) -> Settings {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut s = Settings::load_from(&dir, Environment::Test, false).expect("test settings");
    s.server.bind = "127.0.0.1:0".into();
    s.server.workers = 2;
    s.database.url = url.to_string();
    s.database.pool_size = 8;
    s.server.body_timeout_secs = 2;
    s.data.dir = data_dir;
    s
}

/// A running application and a client for it.
pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub pool: DbPool,
    pub keys: Keys,
    /// Held for its `Drop`, which drops the test database.
    pub _db: TestDb,
    pub settings: Settings,
}

/// Starts the app on a fresh database; None when the backend is unavailable.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// Like [`spawn_app`], with a chance to change the settings first.
pub async fn spawn_app_with(
    backend: Backend,
    tweak: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    let db = tokio::task::spawn_blocking(move || TestDb::create(backend))
        .await
        .expect("create db")?;
    let mut settings = test_settings(&db.url, db.data_dir());
    tweak(&mut settings);
    let pool = pool_for(&settings.database.url);
    let p = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = p.get().expect("connection");
        db::run_migrations(&mut conn).expect("migrations");
    })
    .await
    .expect("migrate");
    let keys = Keys::generate();
    let app =
        Application::build_with(settings.clone(), pool.clone(), keys.clone()).expect("build app");
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    Some(TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        pool,
        keys,
        _db: db,
        settings,
    })
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        token: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self.client.request(method, self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    pub async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> reqwest::Response {
        self.send_json(reqwest::Method::POST, path, body, token)
            .await
    }

    /// Runs `f` on a pooled connection to the test's database.
    pub async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut db::DbConnection) -> T + Send + 'static,
    ) -> T {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || f(&mut pool.get().expect("connection")))
            .await
            .expect("blocking task")
    }
}

/// Asserts a problem document with this status and returns it.
pub async fn assert_problem(resp: reqwest::Response, status: u16) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status");
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        ct.starts_with("application/problem+json"),
        "content type {ct}"
    );
    let body: Value = resp.json().await.expect("problem json");
    assert_eq!(body["status"], status, "{body}");
    for key in ["type", "title", "detail"] {
        assert!(body[key].is_string(), "problem lacks {key}: {body}");
    }
    body
}

/// Counts rows of a table.
pub async fn count_rows(app: &TestApp, table: &'static str) -> i64 {
    count_rows_on(&app.pool, table).await
}

/// Starts another application on an existing database (a second instance).
pub async fn spawn_instance(url: &str, data_dir: PathBuf, keys: Keys) -> (u16, Settings) {
    let settings = test_settings(url, data_dir);
    let app =
        Application::build_with(settings.clone(), pool_for(url), keys).expect("second instance");
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    (port, settings)
}
