//! The test harness: each test gets the real application on a random port
//! against its own fresh database (a temporary SQLite file, or a new
//! PostgreSQL database dropped at the end), and speaks HTTP to it.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use ballotbox::config::{Environment, Settings};
use ballotbox::crypto::Keys;
use ballotbox::db::{self, DbPool, DbUrl, PoolOptions};
use ballotbox::startup::Application;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn(TestApp)` once per backend.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite).await {
                        super::$name(app).await
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await {
                        super::$name(app).await
                    }
                }
            )*
        }
    };
}

/// A fresh database for one test; dropped with it.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    pg_name: Option<String>,
    _dir: tempfile::TempDir,
}

impl TestDb {
    /// A new empty database, or None when PostgreSQL is unavailable outside CI.
    pub fn create(backend: Backend) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => {
                let url = dir.path().join("test.db").display().to_string();
                Some(Self {
                    backend,
                    url,
                    pg_name: None,
                    _dir: dir,
                })
            }
            Backend::Postgres => {
                let server = pg_server()?;
                let name = format!(
                    "bb_test_{}_{}",
                    std::process::id(),
                    uuid::Uuid::new_v4().simple()
                );
                let mut admin = PgConnection::establish(&server.admin_url()).expect("pg admin");
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                Some(Self {
                    backend,
                    url: server.url_for(&name),
                    pg_name: Some(name),
                    _dir: dir,
                })
            }
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self._dir.path().join("data")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let (Some(name), Some(server)) = (&self.pg_name, PG.get().and_then(|s| s.as_ref())) {
            if let Ok(mut admin) = PgConnection::establish(&server.admin_url()) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// Where the test PostgreSQL server is.
pub struct PgServer {
    base: String,
}

impl PgServer {
    fn admin_url(&self) -> String {
        self.url_for("postgres")
    }
    fn url_for(&self, db: &str) -> String {
        format!("{}/{db}", self.base.trim_end_matches('/'))
    }
}

static PG: OnceLock<Option<PgServer>> = OnceLock::new();

/// Finds PostgreSQL once per process: `TEST_DATABASE_URL`, else the local
/// server on 127.0.0.1:5432 (started with pg_ctlcluster when down), else a
/// throwaway cluster when `initdb` is on the PATH. Under `CI=true`, no
/// PostgreSQL is a failure, never a silent skip.
pub fn pg_server() -> Option<&'static PgServer> {
    PG.get_or_init(|| {
        let found = find_pg();
        match (&found, std::env::var("CI").as_deref()) {
            (None, Ok("true")) => {
                panic!("CI=true but no PostgreSQL server could be found or started")
            }
            (None, _) => eprintln!(
                "PostgreSQL unavailable: skipping PostgreSQL tests (set TEST_DATABASE_URL)"
            ),
            (Some(s), _) => sweep_stale_databases(s),
        }
        found
    })
    .as_ref()
}

fn base_of(url: &str) -> String {
    // postgres://user@host:port/db -> postgres://user@host:port
    match url.rfind('/') {
        Some(i) if i > "postgres://".len() => url[..i].to_string(),
        _ => url.to_string(),
    }
}

fn reachable(base: &str) -> bool {
    PgConnection::establish(&format!("{base}/postgres")).is_ok()
}

fn find_pg() -> Option<PgServer> {
    if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
        let base = base_of(&url);
        return reachable(&base).then_some(PgServer { base });
    }
    let local = "postgres://postgres@127.0.0.1:5432".to_string();
    if reachable(&local) {
        return Some(PgServer { base: local });
    }
    if let Ok(out) = Command::new("sh")
        .arg("-c")
        .arg("pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -n1) main start")
        .output()
    {
        if out.status.success() {
            for _ in 0..30 {
                if reachable(&local) {
                    return Some(PgServer { base: local });
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
    throwaway_cluster()
}

/// A cluster in a temporary folder, for machines with `initdb` but no server.
fn throwaway_cluster() -> Option<PgServer> {
    let initdb = which("initdb")?;
    let bindir = initdb.parent()?.to_path_buf();
    let dir = std::env::temp_dir().join(format!("bb-pg-{}", std::process::id()));
    let port = 55432 + (std::process::id() % 1000) as u16;
    let as_postgres = |cmd: &str| {
        let is_root = Command::new("id").arg("-u").output().ok()?.stdout == b"0\n";
        let status = if is_root {
            Command::new("runuser")
                .args(["-u", "postgres", "--", "sh", "-c", cmd])
                .status()
        } else {
            Command::new("sh").args(["-c", cmd]).status()
        };
        status.ok().filter(|s| s.success())
    };
    std::fs::create_dir_all(&dir).ok()?;
    let _ = Command::new("chmod")
        .args(["777", &dir.display().to_string()])
        .status();
    let data = dir.join("data");
    as_postgres(&format!(
        "{}/initdb -D {} --auth=trust -U postgres >/dev/null",
        bindir.display(),
        data.display()
    ))?;
    as_postgres(&format!(
        "{}/pg_ctl -D {} -o '-p {port} -k {} -c listen_addresses=127.0.0.1' -l {}/log -w start >/dev/null",
        bindir.display(),
        data.display(),
        dir.display(),
        dir.display()
    ))?;
    let base = format!("postgres://postgres@127.0.0.1:{port}");
    reachable(&base).then_some(PgServer { base })
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Drops test databases left behind by test processes that no longer run.
fn sweep_stale_databases(server: &PgServer) {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let Ok(mut admin) = PgConnection::establish(&server.admin_url()) else {
        return;
    };
    let names: Vec<Name> =
        diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE 'bb\\_test\\_%'")
            .load(&mut admin)
            .unwrap_or_default();
    for Name { datname } in names {
        let pid = datname
            .split('_')
            .nth(2)
            .and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {datname} WITH (FORCE)"));
        }
    }
}

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

pub fn pool_for(url: &str) -> DbPool {
    db::build_pool(
        &DbUrl::parse(url).expect("url"),
        &PoolOptions {
            size: 8,
            connect_timeout: Duration::from_secs(3),
            busy_timeout_ms: 5000,
        },
    )
    .expect("pool")
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

/// Counts rows of a table through any pool.
pub async fn count_rows_on(pool: &DbPool, table: &'static str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result::<N>(&mut **pool.get().expect("connection"))
            .expect("count")
            .n
    })
    .await
    .expect("count task")
}

/// A user made directly through the library (no HTTP), and its password.
pub struct Seeded {
    pub id: String,
    pub email: String,
    pub password: String,
}

impl TestApp {
    /// Creates a user with these roles (one argon2 hash, no HTTP).
    pub async fn seed_user(&self, email: &str, roles: &[ballotbox::users::Role]) -> Seeded {
        let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
        let hasher = ballotbox::auth::password::Hasher::new(&self.settings.auth).unwrap();
        let hash = hasher.hash(&password).unwrap();
        let (email_c, roles) = (email.to_string(), roles.to_vec());
        let user = self
            .with_conn(move |c| {
                ballotbox::users::service::create_user(c, &email_c, &email_c, &roles, Some(&hash))
                    .unwrap()
            })
            .await;
        Seeded {
            id: user.id.to_string(),
            email: email.to_string(),
            password,
        }
    }

    /// Logs in and returns the whole token response.
    pub async fn login(&self, email: &str, password: &str) -> Value {
        let resp = self
            .post(
                "/api/v1/auth/login",
                &serde_json::json!({"email": email, "password": password}),
                None,
            )
            .await;
        assert_eq!(resp.status(), 200, "login of {email}");
        resp.json().await.unwrap()
    }

    /// Seeds a user with `roles` and returns an access token for them.
    pub async fn token_for(&self, email: &str, roles: &[ballotbox::users::Role]) -> String {
        let u = self.seed_user(email, roles).await;
        self.login(&u.email, &u.password).await["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn admin_token(&self) -> String {
        self.token_for("admin@example.org", &[ballotbox::users::Role::Admin])
            .await
    }
}

/// Many voters at once: one shared password hash, sessions written straight
/// to the database and tokens signed with the app's key (no argon2 per voter,
/// no login round trip). Returns (user id, access token) pairs.
pub async fn fast_users(
    app: &TestApp,
    prefix: &str,
    n: usize,
    roles: &[ballotbox::users::Role],
) -> Vec<(String, String)> {
    fast_users_on(&app.pool, &app.keys, &app.settings.auth, prefix, n, roles).await
}

/// [`fast_users`] on any database, with any server's keys.
pub async fn fast_users_on(
    pool: &DbPool,
    keys: &Keys,
    auth: &ballotbox::config::AuthSettings,
    prefix: &str,
    n: usize,
    roles: &[ballotbox::users::Role],
) -> Vec<(String, String)> {
    use ballotbox::auth::{repo as auth_repo, tokens};
    use ballotbox::db::types::Time;
    let (prefix, roles, keys, auth, pool) = (
        prefix.to_string(),
        roles.to_vec(),
        keys.clone(),
        auth.clone(),
        pool.clone(),
    );
    tokio::task::spawn_blocking(move || {
        let c = &mut pool.get().expect("connection");
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let email = format!("{prefix}{i}@example.org");
            let user = ballotbox::users::service::create_user(
                c,
                &email,
                &email,
                &roles,
                Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"),
            )
            .unwrap();
            let now = Time::now();
            let sid = auth_repo::create_session(
                c,
                user.id,
                now,
                Time(now.0 + chrono::Duration::hours(1)),
            )
            .unwrap();
            let token =
                tokens::issue_access_token(&keys, &auth, user.id, sid, &user.roles).unwrap();
            out.push((user.id.to_string(), token));
        }
        out
    })
    .await
    .expect("seeding")
}

/// A valid election body: one plurality question with `n` options.
pub fn election_body(title: &str, eligibility: &str, n: usize) -> Value {
    let options: Vec<Value> = (0..n)
        .map(|i| serde_json::json!({"label": format!("Option {i}")}))
        .collect();
    serde_json::json!({
        "title": title,
        "description": "",
        "eligibility": eligibility,
        "questions": [{"prompt": "Who?", "method": "plurality", "options": options}]
    })
}

impl TestApp {
    /// Creates an election and returns it.
    pub async fn create_election(&self, admin: &str, body: &Value) -> Value {
        let resp = self.post("/api/v1/elections", body, Some(admin)).await;
        assert_eq!(resp.status(), 201, "create election");
        resp.json().await.unwrap()
    }

    /// POSTs an admin step (`open`, `close`, `schedule`, ...) and returns the status.
    pub async fn step(&self, admin: &str, id: &str, action: &str) -> reqwest::Response {
        self.post(
            &format!("/api/v1/elections/{id}/{action}"),
            &serde_json::json!({}),
            Some(admin),
        )
        .await
    }

    /// Casts `answers` in election `id`.
    pub async fn cast(&self, token: &str, id: &str, answers: &Value) -> reqwest::Response {
        self.post(
            &format!("/api/v1/elections/{id}/ballots"),
            &serde_json::json!({ "answers": answers }),
            Some(token),
        )
        .await
    }
}

/// The answers choosing option `pick` of every question (rankings rank it first).
pub fn answers_picking(election: &Value, pick: usize) -> Value {
    Value::Array(
        election["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| serde_json::json!({"question_id": q["id"], "selections": [q["options"][pick]["id"]]}))
            .collect(),
    )
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
