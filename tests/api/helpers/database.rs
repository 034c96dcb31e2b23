//! The database of one test: the PostgreSQL server (found or started once
//! per process), a fresh database per test, dropped with it.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use ballotbox::db::{self, DbPool, DbUrl, PoolOptions};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
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
