//! The `Application`: binds its listener first (port 0 in tests), then runs.
//! The one place where routes, middleware and shared state meet.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::{Server, Service};
use actix_web::middleware::{from_fn, ErrorHandlers};
use actix_web::{web, App, HttpServer};
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use crate::auth::password::Passwords;
use crate::config::Settings;
use crate::crypto::Keys;
use crate::db::{self, DbPool, DbUrl, PoolOptions};
use crate::http::{errors, middleware};
use crate::state::AppState;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartupError(pub String);

impl From<String> for StartupError {
    fn from(s: String) -> Self {
        StartupError(s)
    }
}

/// Opens the pool for the configured database (without connecting).
pub fn open_pool(settings: &Settings) -> Result<DbPool, StartupError> {
    let url = DbUrl::parse(&settings.database.url).map_err(|e| format!("DATABASE_URL: {e}"))?;
    if matches!(url, DbUrl::Sqlite(_)) {
        crate::private::create_dir(&settings.data.dir).map_err(|e| {
            format!(
                "cannot create the data folder {}: {e}",
                settings.data.dir.display()
            )
        })?;
    }
    Ok(db::build_pool(
        &url,
        &PoolOptions {
            size: settings.database.pool_size,
            connect_timeout: Duration::from_secs(settings.database.connect_timeout_secs),
            busy_timeout_ms: settings.database.sqlite_busy_timeout_ms,
        },
    )?)
}

/// Applies pending migrations; returns how many ran.
pub fn migrate(pool: &DbPool) -> Result<usize, StartupError> {
    let mut conn = pool
        .get()
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    Ok(db::run_migrations(&mut conn)?)
}

/// Records a signing key the audit chain has not seen yet, so that anyone
/// holding the chain knows every key that signed receipts and results.
fn register_signing_key(pool: &DbPool, signer: &crate::crypto::Signer) -> Result<(), StartupError> {
    let mut conn = pool
        .get()
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    db::write_tx(&mut conn, |c| {
        if crate::audit::service::key_registered(c, &signer.kid)? {
            return Ok(());
        }
        crate::audit::record(
            c,
            None,
            "key.registered",
            None,
            serde_json::json!({"kid": signer.kid, "alg": "EdDSA", "public_key": signer.public_key_b64()}),
        )
        .map(|_| ())
    })
    .map_err(|e: crate::error::AppError| StartupError(format!("recording the signing key: {e}")))
}

pub struct Application {
    port: u16,
    server: Server,
    metrics: Option<(u16, Server)>,
    state: AppState,
}

impl Application {
    /// Opens the database, runs migrations, loads keys and binds `bind`.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let pool = open_pool(&settings)?;
        if settings.database.migrate_on_start {
            let p = pool.clone();
            tokio::task::spawn_blocking(move || migrate(&p))
                .await
                .map_err(|e| StartupError(e.to_string()))??;
        }
        let keys = Keys::load(&settings)?;
        let (p, signer) = (pool.clone(), keys.signer.clone());
        tokio::task::spawn_blocking(move || register_signing_key(&p, &signer))
            .await
            .map_err(|e| StartupError(e.to_string()))??;
        Self::build_with(settings, pool, keys)
    }

    /// Builds on an existing pool and keys (tests, tools).
    pub fn build_with(settings: Settings, pool: DbPool, keys: Keys) -> Result<Self, StartupError> {
        let listener = TcpListener::bind(&settings.server.bind)
            .map_err(|e| format!("cannot listen on {}: {e}", settings.server.bind))?;
        let port = listener
            .local_addr()
            .map_err(|e| StartupError(e.to_string()))?
            .port();
        let passwords = Passwords::new(&settings.auth)?;
        let outbox = crate::mail::Outbox::new(&settings.mail, &keys.jwt.secret).map(Arc::new);
        let sender = crate::mail::sender::Sender::new(
            pool.clone(),
            &settings,
            crate::mail::outbox::Sealer::derive(&keys.jwt.secret)
                .ok_or_else(|| StartupError("cannot derive the mail key".into()))?,
        )
        .map_err(|e| StartupError(format!("mail: {e}")))?;
        let state = AppState {
            pool,
            settings: Arc::new(settings),
            keys: Arc::new(keys),
            passwords: Arc::new(passwords),
            definitions: Default::default(),
            boards: Default::default(),
            outbox,
        };
        crate::elections::scheduler::spawn(
            state.pool.clone(),
            state.settings.scheduler.interval_ms,
            state.outbox.clone(),
        );
        if let Some(sender) = sender {
            sender.spawn();
        }
        crate::auth::throttle::spawn_purge(state.pool.clone(), state.settings.auth.clone());
        crate::audit::checkpoint::spawn(&state);
        let metrics = match state.settings.server.metrics_bind.as_str() {
            "" => None,
            bind => Some(metrics_server(bind, state.pool.clone())?),
        };
        let server = run(listener, state.clone())?;
        Ok(Self {
            port,
            server,
            metrics,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the `/metrics` listener, when `server.metrics_bind` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|m| m.0)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM/SIGINT, finishing requests in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        match self.metrics {
            None => self.server.await,
            Some((_, metrics)) => {
                let (api, metrics) = futures_util::future::join(self.server, metrics).await;
                api.and(metrics)
            }
        }
    }
}

/// The separate listener that serves only `GET /metrics`, so that the
/// figures never reach the public port.
fn metrics_server(bind: &str, pool: DbPool) -> Result<(u16, Server), StartupError> {
    crate::metrics::install();
    let listener =
        TcpListener::bind(bind).map_err(|e| format!("cannot listen on {bind} for metrics: {e}"))?;
    let port = listener
        .local_addr()
        .map_err(|e| StartupError(e.to_string()))?
        .port();
    let pool = web::Data::new(pool);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(pool.clone())
            .route("/metrics", web::get().to(crate::system::handlers::metrics))
            .default_service(web::to(errors::not_found))
    })
    .workers(1)
    .shutdown_timeout(5)
    .listen(listener)
    .map_err(|e| StartupError(e.to_string()))?
    .run();
    Ok((port, server))
}

fn run(listener: TcpListener, state: AppState) -> Result<Server, StartupError> {
    let settings = state.settings.clone();
    let body_limit = settings.server.body_limit;
    let body_timeout = Duration::from_secs(settings.server.body_timeout_secs);
    let openapi = crate::openapi::document();
    let data = web::Data::new(state);
    let workers = match settings.server.workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let server = HttpServer::new(move || {
        let cors = settings
            .server
            .cors_origins
            .iter()
            .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
            .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
            .allowed_headers(["authorization", "content-type", "idempotency-key"])
            .max_age(3600);
        App::new()
            .app_data(data.clone())
            .app_data(errors::json_config(body_limit))
            .app_data(web::PayloadConfig::new(body_limit))
            .app_data(web::PathConfig::default().error_handler(errors::path_error))
            .app_data(web::QueryConfig::default().error_handler(errors::query_error))
            .wrap(ErrorHandlers::new().default_handler(errors::ensure_problem))
            .wrap(from_fn(crate::auth::identity::authenticate))
            .wrap(from_fn(middleware::security_headers))
            .wrap(cors)
            .wrap_fn(move |req, srv| srv.call(middleware::body_deadline(req, body_timeout)))
            .wrap(from_fn(middleware::request_log))
            .configure(|cfg| crate::routes(cfg, &settings))
            .service(web::redirect("/docs", "/docs/"))
            .service(
                SwaggerUi::new("/docs/{_:.*}")
                    .url("/api/v1/openapi.json", openapi.clone())
                    .config(SwaggerConfig::default().validator_url("none")),
            )
            .default_service(web::to(errors::not_found))
    })
    .workers(workers)
    .shutdown_timeout(30)
    .listen(listener)
    .map_err(|e| StartupError(e.to_string()))?
    .run();
    Ok(server)
}
