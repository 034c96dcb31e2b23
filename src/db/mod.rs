//! Database access: one connection enum over PostgreSQL and SQLite, an r2d2
//! pool, embedded migrations per backend, and the helpers every service uses
//! to run queries on the blocking pool.

pub mod backup;
pub mod roles;
pub mod schema;
pub mod types;

use std::path::Path;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{self, ManageConnection, PooledConnection};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::AppError;

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// A connection to either backend; queries are written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// The backend a URL names, decided from its scheme alone: SQLite accepts any
/// string as a path, so trying each backend in turn could silently create a
/// stray database file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    Postgres(String),
    /// A path or `file:` URI for SQLite (`:memory:` included).
    Sqlite(String),
}

impl DbUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if url.is_empty() {
            return Err("the database URL is empty".into());
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbUrl::Postgres(url.to_string()));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// needs a file path".into());
            }
            return Ok(DbUrl::Sqlite(path.to_string()));
        }
        if url.starts_with("file:") {
            return Ok(DbUrl::Sqlite(url.to_string()));
        }
        if let Some((scheme, _)) = url.split_once(':') {
            let looks_like_scheme = !scheme.is_empty()
                && scheme.len() > 1 // a Windows drive letter is not a scheme
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
            if looks_like_scheme && url[scheme.len()..].starts_with("://") {
                return Err(format!(
                    "unsupported database URL scheme `{scheme}://`: use postgres://, postgresql://, sqlite:// or a file path"
                ));
            }
        }
        Ok(DbUrl::Sqlite(url.to_string()))
    }

    /// The SQLite file's path, when there is one on disk.
    pub fn sqlite_file(&self) -> Option<&Path> {
        match self {
            DbUrl::Sqlite(p) if p != ":memory:" && !p.starts_with("file:") => Some(Path::new(p)),
            _ => None,
        }
    }
}

/// A pooled connection, and whether it was found dead: a connection that
/// failed never goes back into the pool, so the first request after a
/// database outage is the last one to see that connection.
pub struct Conn {
    inner: DbConnection,
    dead: bool,
}

impl std::ops::Deref for Conn {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.inner
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.inner
    }
}

impl Conn {
    /// After a failed statement: on PostgreSQL a ping tells a lost server
    /// (the connection is then dropped instead of returned to the pool) from
    /// an ordinary error. libpq can fail a statement while preparing it
    /// without diesel's transaction manager noticing, which once left dead
    /// connections circulating for 18 s after an outage.
    fn check_after_error(&mut self) {
        if matches!(self.inner, DbConnection::Pg(_))
            && self.inner.batch_execute("SELECT 1").is_err()
        {
            self.dead = true;
        }
    }
}

/// Opens connections for the pool and sets SQLite's pragmas on each.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DbUrl,
    busy_timeout_ms: u64,
}

impl ManageConnection for ConnectionManager {
    type Connection = Conn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Conn, r2d2::Error> {
        let inner = self.open()?;
        Ok(Conn { inner, dead: false })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.dead
            || match &mut conn.inner {
                DbConnection::Pg(c) => AnsiTransactionManager::is_broken_transaction_manager(c),
                DbConnection::Sqlite(c) => AnsiTransactionManager::is_broken_transaction_manager(c),
            }
    }
}

impl ConnectionManager {
    fn open(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.url {
            DbUrl::Postgres(url) => PgConnection::establish(url)
                .map(DbConnection::Pg)
                .map_err(r2d2::Error::ConnectionError),
            DbUrl::Sqlite(path) => {
                let mut conn =
                    SqliteConnection::establish(path).map_err(r2d2::Error::ConnectionError)?;
                // WAL + FULL: an acknowledged commit survives a power cut.
                // secure_delete: deleted cells and freed pages are zeroed, so
                // the rows rewritten at close leave no old layout behind.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
                     PRAGMA secure_delete = ON;",
                    self.busy_timeout_ms
                ))
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

pub type DbPool = r2d2::Pool<ConnectionManager>;
pub type PooledConn = PooledConnection<ConnectionManager>;

/// Pool settings, from configuration.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub size: u32,
    pub connect_timeout: Duration,
    pub busy_timeout_ms: u64,
}

/// Builds a pool without connecting yet, so that a server can start (and say
/// `/readyz` 503) while the database is down.
pub fn build_pool(url: &DbUrl, opts: &PoolOptions) -> Result<DbPool, String> {
    if let Some(file) = url.sqlite_file() {
        crate::private::prepare_sqlite_file(file)
            .map_err(|e| format!("cannot prepare the database file {}: {e}", file.display()))?;
    }
    let manager = ConnectionManager {
        url: url.clone(),
        busy_timeout_ms: opts.busy_timeout_ms,
    };
    Ok(r2d2::Pool::builder()
        .max_size(opts.size)
        .min_idle(Some(0))
        // A checkout ping would cost a round trip on every request; broken
        // connections are dropped by `has_broken` instead.
        .test_on_check_out(false)
        .connection_timeout(opts.connect_timeout)
        .build_unchecked(manager))
}

/// Applies pending migrations of the connection's backend.
pub fn run_migrations(conn: &mut DbConnection) -> Result<usize, String> {
    let applied = match conn {
        DbConnection::Pg(c) => c.run_pending_migrations(PG_MIGRATIONS).map(|v| v.len()),
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    };
    applied.map_err(|e| format!("migration failed: {e}"))
}

/// Runs `f` with a pooled connection on the blocking thread pool.
pub async fn run<T, F>(pool: &DbPool, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || with_conn(&pool, f))
        .await
        .map_err(AppError::internal)?
}

/// Runs `f` with a pooled connection on this thread; a connection that
/// turns out dead after an error is not returned to the pool.
pub fn with_conn<T, F>(pool: &DbPool, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, AppError>,
{
    let waited = std::time::Instant::now();
    let conn = pool.get();
    crate::metrics::pool_wait(waited.elapsed());
    let mut conn = conn?;
    let result = f(&mut conn);
    if result.is_err() {
        conn.check_after_error();
    }
    result
}

/// Readiness: whether the database answers within `timeout` in all, waiting
/// for a connection included. Never blocks an async worker.
pub async fn ready(pool: &DbPool, timeout: Duration) -> Result<(), AppError> {
    let pool = pool.clone();
    // The pool wait gets most of the budget; the rest covers the query.
    let wait = timeout.mul_f32(0.8);
    let check = tokio::task::spawn_blocking(move || ping(&pool, wait));
    match tokio::time::timeout(timeout, check).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => Err(AppError::Unavailable(e.to_string())),
        Err(_) => Err(AppError::Unavailable("readiness check timed out".into())),
    }
}

/// Whether the database answers a trivial query within `timeout` of waiting
/// for a connection; a connection that fails it is dropped.
pub fn ping(pool: &DbPool, timeout: Duration) -> Result<(), AppError> {
    let mut conn = pool.get_timeout(timeout)?;
    conn.batch_execute("SELECT 1").map_err(|e| {
        conn.dead = true;
        AppError::from(e)
    })
}

/// SQLite has one writer at a time, and its busy handler polls with
/// back-off, letting newcomers overtake: under load a waiting writer can
/// starve for seconds (a login storm pushed casting p99 to 3.5 s). Writers of
/// this process therefore queue here first, and get the write lock in arrival
/// order. Never taken twice by one thread: `write_tx` does not nest.
static SQLITE_WRITERS: parking_lot::FairMutex<()> = parking_lot::const_fair_mutex(());

/// Runs `f` in a write transaction: `BEGIN IMMEDIATE` on SQLite, so that a
/// transaction that reads then writes takes the write lock up front instead
/// of failing with "database is locked" under concurrency.
/// SQLite: copies the WAL into the database and truncates it to zero bytes,
/// so that no file holds the frames that each cast's commit wrote together
/// (they pair a participation page with a ballot page). Called after a
/// close. A reader holding an old snapshot can keep part of the log alive;
/// then the next close or SQLite's own checkpoints finish the job, and a
/// warning says so. Nothing to do on PostgreSQL.
pub fn forget_log(conn: &mut DbConnection) {
    #[derive(diesel::QueryableByName)]
    struct Checkpoint {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        busy: i32,
    }
    if let DbConnection::Sqlite(c) = conn {
        let _turn = SQLITE_WRITERS.lock();
        match diesel::RunQueryDsl::get_result::<Checkpoint>(
            diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)"),
            c,
        ) {
            Ok(r) if r.busy == 0 => {}
            Ok(_) => log::warn!("the WAL could not be truncated after a close: a reader was busy"),
            Err(e) => log::warn!("the WAL could not be truncated after a close: {e}"),
        }
    }
}

pub fn write_tx<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let _turn = matches!(conn, DbConnection::Sqlite(_)).then(|| SQLITE_WRITERS.lock());
    match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        DbConnection::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    match f(conn) {
        Ok(value) => {
            let committed = match conn {
                DbConnection::Sqlite(c) => AnsiTransactionManager::commit_transaction(c),
                DbConnection::Pg(c) => AnsiTransactionManager::commit_transaction(c),
            };
            if let Err(e) = committed {
                rollback(conn);
                return Err(e.into());
            }
            Ok(value)
        }
        Err(e) => {
            rollback(conn);
            Err(e)
        }
    }
}

fn rollback(conn: &mut DbConnection) {
    let result = match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::rollback_transaction(c),
        DbConnection::Pg(c) => AnsiTransactionManager::rollback_transaction(c),
    };
    if let Err(e) = result {
        // The manager marks itself broken; r2d2 then drops the connection.
        log::warn!("rollback failed: {e}");
    }
}

/// True when the connection is PostgreSQL (for the few queries that differ).
pub fn is_pg(conn: &DbConnection) -> bool {
    matches!(conn, DbConnection::Pg(_))
}
