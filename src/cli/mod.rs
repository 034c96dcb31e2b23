//! The command line: `serve`, `migrate`, `create-admin` (and the offline
//! tools). Every command reads `DATABASE_URL` and `BALLOTBOX_ENV`.

pub mod count;
pub mod verify;

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::auth::password::{check_password, Hasher};
use crate::config::{LogFormat, Settings};
use crate::error::AppError;
use crate::startup::{self, Application};
use crate::users::{service as users, Role};

#[derive(Debug, Parser)]
#[command(
    name = "ballotbox",
    version,
    about = "An online voting service",
    long_about = "An online voting service.\n\nConfiguration: config/default.toml, then config/{BALLOTBOX_ENV}.toml (development by default, test, production), then BALLOTBOX__SECTION__KEY environment variables. DATABASE_URL picks the database: a path or sqlite://path for SQLite (default data/ballotbox.db), postgres://... for PostgreSQL."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve the HTTP API until SIGTERM/SIGINT.
    Serve {
        /// Address to listen on, HOST:PORT (default: server.bind, 127.0.0.1:8080).
        #[arg(long, value_name = "HOST:PORT")]
        bind: Option<String>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create an administrator. The password is read from stdin when stdin is
    /// not a terminal, else prompted for; never from the command line.
    CreateAdmin {
        /// The administrator's email address (their login).
        #[arg(long)]
        email: String,
        /// The name shown for the administrator (default: the email).
        #[arg(long)]
        display_name: Option<String>,
    },
    /// PostgreSQL: grant a service role what the service needs and nothing
    /// more (no DDL, no UPDATE/DELETE/TRUNCATE on the audit log). Run as the
    /// owner of the schema after every `migrate`; idempotent. Then serve
    /// with DATABASE_URL naming that role and
    /// BALLOTBOX__DATABASE__MIGRATE_ON_START=false.
    GrantServiceRole {
        /// The service's login role (created beforehand by a superuser).
        #[arg(long)]
        role: String,
    },
    /// Copy the SQLite database to a new file (0600) while the service may
    /// keep running: a consistent, compact snapshot (VACUUM INTO). To
    /// restore, stop the service and put the file in place of the database
    /// (or point DATABASE_URL at it). On PostgreSQL use pg_dump.
    Backup {
        /// The new file to write; an existing file is refused.
        file: std::path::PathBuf,
    },
    /// Count a BLT ballot file offline with the server's own tally code and
    /// print the results JSON (rounds included).
    Count(count::Count),
    /// Check a JSON export offline: ballot hashes and rules, Merkle root, a
    /// recount of every question, the election digest, the results
    /// signature, the audit chain and its checkpoints. Exit 0 only when
    /// every check holds (see `verify --help` for the other codes).
    Verify(verify::Verify),
}

/// Parses the command line, runs the command, and maps failures to exit codes.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        // Offline tools: no configuration, their own exit codes.
        Command::Count(args) => {
            init_logging(LogFormat::Text);
            return count::run(&args);
        }
        Command::Verify(args) => {
            init_logging(LogFormat::Text);
            return verify::run(&args);
        }
        Command::Serve { bind } => settings().and_then(|mut s| {
            if let Some(bind) = bind {
                s.server.bind = bind;
            }
            serve(s)
        }),
        Command::Migrate => settings().and_then(|s| migrate(&s)),
        Command::GrantServiceRole { role } => settings().and_then(|s| grant(&s, &role)),
        Command::Backup { file } => settings().and_then(|s| backup(&s, &file)),
        Command::CreateAdmin {
            email,
            display_name,
        } => settings().and_then(|s| create_admin(&s, &email, display_name.as_deref())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    if format == LogFormat::Json {
        builder.format(|out, record| {
            use std::io::Write;
            let mut line = serde_json::Map::new();
            line.insert("ts".into(), chrono::Utc::now().to_rfc3339().into());
            line.insert("level".into(), record.level().as_str().into());
            line.insert("target".into(), record.target().into());
            line.insert("msg".into(), record.args().to_string().into());
            let mut fields = JsonFields(&mut line);
            let _ = record.key_values().visit(&mut fields);
            writeln!(out, "{}", serde_json::Value::Object(line))
        });
    }
    // A second call (tests in one process) keeps the first logger.
    let _ = builder.try_init();
}

/// Copies a log record's key-values into the JSON line.
struct JsonFields<'a>(&'a mut serde_json::Map<String, serde_json::Value>);

impl<'kvs> log::kv::VisitSource<'kvs> for JsonFields<'_> {
    fn visit_pair(
        &mut self,
        key: log::kv::Key<'kvs>,
        value: log::kv::Value<'kvs>,
    ) -> Result<(), log::kv::Error> {
        let v = match value.to_u64() {
            Some(n) => serde_json::Value::from(n),
            None => serde_json::Value::from(value.to_string()),
        };
        self.0.insert(key.as_str().to_string(), v);
        Ok(())
    }
}

/// Loads the configuration and starts logging as it says.
fn settings() -> Result<Settings, String> {
    let settings = Settings::load().map_err(|e| {
        init_logging(LogFormat::Text);
        e.to_string()
    })?;
    init_logging(settings.log.format);
    Ok(settings)
}

fn migrate(settings: &Settings) -> Result<(), String> {
    let pool = startup::open_pool(settings).map_err(|e| e.to_string())?;
    let n = startup::migrate(&pool).map_err(|e| e.to_string())?;
    println!("migrations applied: {n}");
    Ok(())
}

fn grant(settings: &Settings, role: &str) -> Result<(), String> {
    let pool = startup::open_pool(settings).map_err(|e| e.to_string())?;
    let mut conn = pool
        .get()
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    crate::db::roles::grant_service_role(&mut conn, role)?;
    println!("granted the service's rights to {role}");
    Ok(())
}

fn serve(settings: Settings) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings)
            .await
            .map_err(|e| e.to_string())?;
        log::info!("listening on port {}", app.port());
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}

fn backup(settings: &Settings, file: &std::path::Path) -> Result<(), String> {
    let pool = startup::open_pool(settings).map_err(|e| e.to_string())?;
    crate::db::with_conn(&pool, |c| crate::db::backup::sqlite_backup(c, file)).map_err(describe)?;
    println!("backup written to {}", file.display());
    Ok(())
}

fn create_admin(
    settings: &Settings,
    email: &str,
    display_name: Option<&str>,
) -> Result<(), String> {
    users::check_email(email).map_err(describe)?;
    let password = read_password()?;
    check_password("password", &password).map_err(describe)?;
    let hasher = Hasher::new(&settings.auth)?;
    let hash = hasher.hash(&password).map_err(describe)?;
    let pool = startup::open_pool(settings).map_err(|e| e.to_string())?;
    if settings.database.migrate_on_start {
        startup::migrate(&pool).map_err(|e| e.to_string())?;
    }
    let mut conn = pool
        .get()
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    let user = users::create_user_from_cli(
        &mut conn,
        email,
        display_name.unwrap_or(email.trim()),
        &[Role::Admin],
        &hash,
    )
    .map_err(describe)?;
    println!("created admin {} ({})", user.email, user.id);
    Ok(())
}

/// The password from stdin (piped) or a no-echo prompt; one line, newline
/// removed, nothing else trimmed.
fn read_password() -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Repeat: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the passwords differ".into());
        }
        return Ok(first);
    }
    let mut text = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    let line = text.lines().next().unwrap_or("");
    Ok(line.to_string())
}

fn describe(e: AppError) -> String {
    match e {
        AppError::Validation(errors) => errors
            .iter()
            .map(|f| format!("{} {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; "),
        AppError::Conflict(d) => d,
        other => other.to_string(),
    }
}
