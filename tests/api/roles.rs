//! Two PostgreSQL roles (#13): the owner migrates, the service runs as a
//! role that can append to the audit log but never rewrite it.

use ballotbox::config::Settings;
use ballotbox::crypto::Keys;
use ballotbox::startup::Application;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::{json, Value};

use crate::helpers::{pool_for, test_settings, Backend, TestApp, TestDb};
use crate::results::{export, run_election, tally};

/// The same server and database, logged in as another role (trust auth).
fn as_role(url: &str, role: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    format!("{scheme}://{role}@{host}")
}

fn ballotbox(url: &str, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_ballotbox"))
        .args(args)
        .current_dir(dir.path())
        .env("DATABASE_URL", url)
        .env("BALLOTBOX_ENV", "test")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run ballotbox")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_role_runs_an_election_but_cannot_alter_the_audit_log() {
    let Some(db) = TestDb::create(Backend::Postgres) else {
        return;
    };
    let suffix = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let (owner, service) = (format!("bb_owner_{suffix}"), format!("bb_app_{suffix}"));
    let name = db.url.rsplit('/').next().unwrap().to_string();
    {
        let mut su = PgConnection::establish(&db.url).expect("superuser");
        su.batch_execute(&format!(
            "CREATE ROLE {owner} LOGIN; CREATE ROLE {service} LOGIN;
             ALTER DATABASE {name} OWNER TO {owner};
             ALTER SCHEMA public OWNER TO {owner};"
        ))
        .unwrap();
    }
    let superuser = db.url.clone();
    let owner_url = as_role(&db.url, &owner);
    let service_url = as_role(&db.url, &service);
    for args in [
        &["migrate"][..],
        &["grant-service-role", "--role", &service][..],
        &["grant-service-role", "--role", &service][..],
    ] {
        let out = ballotbox(&owner_url, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A bad role name never reaches SQL.
    let out = ballotbox(
        &owner_url,
        &["grant-service-role", "--role", "x; DROP TABLE users"],
    );
    assert!(!out.status.success());

    // The service as it is deployed: Application::build, no migrations.
    let mut settings: Settings = test_settings(&service_url, db.data_dir());
    settings.database.migrate_on_start = false;
    let built = Application::build(settings.clone()).await;
    let app = built.expect("the service starts as its own role");
    let keys = Keys::load(&settings).expect("keys");
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    let app = TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: reqwest::Client::new(),
        pool: pool_for(&service_url),
        keys,
        _db: db,
        settings,
    };

    // Everything the service does works under that role.
    let ran = run_election(&app).await;
    tally(&app, &ran).await;
    let doc: Value = serde_json::from_str(&export(&app, &ran, "format=json").await).unwrap();
    assert_eq!(doc["ballot_count"], 5);
    let resp = app
        .post(&ran.path("/publish"), &json!({}), Some(&ran.admin))
        .await;
    assert_eq!(resp.status(), 200);

    // What it cannot do, whatever its code is made to run.
    for statement in [
        "UPDATE audit_events SET actor_id = NULL WHERE seq = 2",
        "DELETE FROM audit_events WHERE seq = 2",
        "TRUNCATE audit_events",
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_or_delete",
        "DROP TRIGGER audit_events_no_update_or_delete ON audit_events",
        "DROP TABLE audit_events",
        "ALTER TABLE audit_events ADD COLUMN x int",
        "DELETE FROM audit_checkpoints",
        "TRUNCATE audit_checkpoints",
        "CREATE TABLE shadow (x int)",
        "DELETE FROM __diesel_schema_migrations",
    ] {
        let s = statement.to_string();
        let result = app
            .with_conn(move |c| diesel::sql_query(s.as_str()).execute(c))
            .await;
        let err = result.expect_err(statement).to_string();
        assert!(
            err.contains("permission denied") || err.contains("must be owner"),
            "{statement}: {err}"
        );
    }
    // The owner still owns it (and is the one to trust with its key).
    let mut o = PgConnection::establish(&owner_url).unwrap();
    #[derive(diesel::QueryableByName)]
    struct Owner {
        #[diesel(sql_type = diesel::sql_types::Text)]
        tableowner: String,
    }
    let row: Owner = diesel::sql_query(
        "SELECT tableowner::text AS tableowner FROM pg_tables WHERE tablename = 'audit_events'",
    )
    .get_result(&mut o)
    .unwrap();
    assert_eq!(row.tableowner, owner);
    drop(o);
    drop(app);
    let admin_url = format!("{}/postgres", superuser.rsplit_once('/').unwrap().0);
    let mut su = PgConnection::establish(&admin_url).unwrap();
    for statement in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("DROP ROLE IF EXISTS {service}"),
        format!("DROP ROLE IF EXISTS {owner}"),
    ] {
        if let Err(e) = su.batch_execute(&statement) {
            eprintln!("cleanup: {statement}: {e}");
        }
    }
}
