//! The command line: serve refuses bad URLs, migrate is idempotent,
//! create-admin persists and refuses bad input with a non-zero exit.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::helpers::{Backend, TestDb};

fn ballotbox(dir: &Path, url: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ballotbox"))
        .args(args)
        .current_dir(dir)
        .env("DATABASE_URL", url)
        .env("BALLOTBOX_ENV", "test")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ballotbox");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("wait")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn migrate_twice_then_create_admin(backend: Backend) {
    let Some(db) = TestDb::create(backend) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let out = ballotbox(dir.path(), &db.url, &["migrate"], None);
        assert!(out.status.success(), "{}", text(&out));
    }
    let create = |email: &str, password: &str| {
        ballotbox(
            dir.path(),
            &db.url,
            &["create-admin", "--email", email, "--display-name", "Root"],
            Some(&format!("{password}\n")),
        )
    };
    let out = create("Admin@Example.org", "a long enough password");
    assert!(out.status.success(), "{}", text(&out));
    // The new account is in the audit log, like every user creation.
    let pool = crate::helpers::pool_for(&db.url);
    let mut conn = pool.get().unwrap();
    let rows = ballotbox::audit::repo::page(&mut conn, None, None, 100).unwrap();
    let created: Vec<_> = rows.iter().filter(|r| r.action == "user.created").collect();
    assert_eq!(created.len(), 1, "one user.created event");
    assert!(
        created[0].details.contains("\"via\":\"cli\""),
        "{}",
        created[0].details
    );
    assert!(created[0].actor_id.is_none());
    drop(conn);
    // A second process sees the first one's admin: it was persisted.
    let out = create("admin@example.org", "another long password");
    assert!(!out.status.success());
    assert!(text(&out).contains("already exists"), "{}", text(&out));
    let out = create("second@example.org", "too short");
    assert!(!out.status.success());
    assert!(text(&out).contains("12 to 128"), "{}", text(&out));
    let out = create("not-an-email", "a long enough password");
    assert!(!out.status.success());
    assert!(text(&out).contains("email"), "{}", text(&out));
    // The password never appears in output.
    assert!(!text(&out).contains("a long enough password"));
}

#[test]
fn migrate_is_idempotent_and_create_admin_persists_on_sqlite() {
    migrate_twice_then_create_admin(Backend::Sqlite);
}

#[test]
fn migrate_is_idempotent_and_create_admin_persists_on_postgres() {
    migrate_twice_then_create_admin(Backend::Postgres);
}

#[test]
fn an_unsupported_database_url_stops_the_start_and_creates_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = ballotbox(
        dir.path(),
        "mysql://root@localhost/x",
        &["serve", "--bind", "127.0.0.1:0"],
        None,
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("mysql://"), "{}", text(&out));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a file was created"
    );
}

#[test]
fn production_refuses_to_start_without_keys() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db").display().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_ballotbox"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env("DATABASE_URL", &db)
        .env("BALLOTBOX_ENV", "production")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("refusing to start"), "{}", text(&out));
}

#[test]
fn unknown_configuration_keys_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ballotbox"))
        .args(["migrate"])
        .current_dir(dir.path())
        .env(
            "DATABASE_URL",
            dir.path().join("x.db").display().to_string(),
        )
        .env("BALLOTBOX__SERVER__NO_SUCH_KEY", "1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("no_such_key"), "{}", text(&out));
}

#[test]
fn serve_answers_then_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ballotbox"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .env("BALLOTBOX_ENV", "development")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut ok = false;
    for _ in 0..100 {
        if let Ok(resp) = reqwest::blocking_get(&format!("http://127.0.0.1:{port}/readyz")) {
            ok = resp == 200;
            if ok {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(ok, "server did not become ready");
    // Zero set-up: the default SQLite database and development keys appear under data/.
    assert!(dir.path().join("data/ballotbox.db").exists());
    assert!(dir.path().join("data/keys/signing-key").exists());
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
    // The signing key is in the audit chain once, however often the server starts.
    let db = dir.path().join("data/ballotbox.db").display().to_string();
    let count = || {
        use diesel::Connection;
        ballotbox_audit_count(&mut diesel::SqliteConnection::establish(&db).unwrap())
    };
    assert_eq!(count(), 1);
    let out = Command::new(env!("CARGO_BIN_EXE_ballotbox"))
        .args(["migrate"])
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut again = Command::new(env!("CARGO_BIN_EXE_ballotbox"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env("BALLOTBOX_ENV", "development")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    again.kill().unwrap();
    again.wait().unwrap();
    assert_eq!(count(), 1, "the same key is registered once");
}

fn ballotbox_audit_count(c: &mut diesel::SqliteConnection) -> i64 {
    use diesel::prelude::*;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'key.registered'")
        .get_result::<N>(c)
        .unwrap()
        .n
}

mod reqwest {
    /// A tiny blocking GET returning the status code, without another client.
    pub fn blocking_get(url: &str) -> std::io::Result<u16> {
        use std::io::{Read, Write};
        let rest = url.trim_start_matches("http://");
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let mut s = std::net::TcpStream::connect(host)?;
        write!(
            s,
            "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )?;
        let mut buf = String::new();
        s.read_to_string(&mut buf)?;
        Ok(buf
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0))
    }
}

/// Starts `serve` on a free port with extra environment; the child and port.
fn serve_with(dir: &Path, env: &[(&str, &str)]) -> (std::process::Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ballotbox"));
    cmd.args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .current_dir(dir)
        .env("BALLOTBOX_ENV", "development")
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    for _ in 0..100 {
        if matches!(reqwest::blocking_get(&format!("http://127.0.0.1:{port}/readyz")), Ok(r) if r == 200)
        {
            return (child, port);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server did not become ready");
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn stop(mut child: std::process::Child) -> String {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(child.wait().unwrap().success());
    err
}

#[test]
fn json_logs_carry_the_request_line_as_fields() {
    let dir = tempfile::tempdir().unwrap();
    let (child, port) = serve_with(dir.path(), &[("BALLOTBOX__LOG__FORMAT", "json")]);
    let rid = block_on(async {
        let resp = ::reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
            .await
            .unwrap();
        resp.headers()["x-request-id"].to_str().unwrap().to_string()
    });
    let err = stop(child);
    let lines: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let line = lines
        .iter()
        .find(|l| l["rid"] == rid.as_str())
        .unwrap_or_else(|| panic!("no line with rid {rid} in {err}"));
    assert_eq!(line["path"], "/healthz");
    assert_eq!(line["status"], 200);
    assert_eq!(line["level"], "INFO");
    assert!(line["ts"].as_str().is_some() && line["micros"].as_u64().is_some());
}

#[test]
fn backup_is_a_private_consistent_copy_that_a_server_can_restore_from() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db").display().to_string();
    let out = ballotbox(
        dir.path(),
        &db,
        &["create-admin", "--email", "root@example.org"],
        Some("a long admin password 1\n"),
    );
    assert!(out.status.success(), "{}", text(&out));
    // A backup while a server runs on the database.
    let (child, _) = serve_with(dir.path(), &[("DATABASE_URL", &db)]);
    let copy = dir.path().join("copy.db");
    let out = ballotbox(dir.path(), &db, &["backup", copy.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out));
    stop(child);
    let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the backup holds ballots: owner only");
    // Never over an existing file.
    let again = ballotbox(dir.path(), &db, &["backup", copy.to_str().unwrap()], None);
    assert!(!again.status.success());
    assert!(text(&again).contains("already exists"), "{}", text(&again));
    // Restore: a server on the copy has the admin and the same audit chain.
    let copy_url = copy.display().to_string();
    let (child, port) = serve_with(dir.path(), &[("DATABASE_URL", &copy_url)]);
    let login = block_on(async {
        ::reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/api/v1/auth/login"))
            .json(&serde_json::json!({"email": "root@example.org", "password": "a long admin password 1"}))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(login, 200);
    stop(child);
    let count = |path: &str| {
        use diesel::Connection;
        ballotbox_audit_count(&mut diesel::SqliteConnection::establish(path).unwrap())
    };
    assert!(count(&copy_url) >= 1);
    assert_eq!(
        count(&copy_url),
        count(&db),
        "the copy holds the same chain"
    );
    // PostgreSQL has its own tools.
    if let Some(pg) = TestDb::create(Backend::Postgres) {
        let out = ballotbox(
            dir.path(),
            &pg.url,
            &["backup", dir.path().join("pg.db").to_str().unwrap()],
            None,
        );
        assert!(!out.status.success());
        assert!(text(&out).contains("pg_dump"), "{}", text(&out));
    }
}
