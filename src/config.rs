//! Settings: `config/default.toml` (compiled in, or read from disk when
//! present), then `config/{BALLOTBOX_ENV}.toml`, then `BALLOTBOX__SECTION__KEY`
//! variables, then `DATABASE_URL`. Unknown keys are an error.

use std::path::{Path, PathBuf};

use serde::Deserialize;

const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// Which overlay to load; production insists on configured keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Test,
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Development => "development",
            Environment::Test => "test",
            Environment::Production => "production",
        }
    }

    /// Reads `BALLOTBOX_ENV` (default `development`).
    pub fn from_env() -> Result<Self, ConfigError> {
        match std::env::var("BALLOTBOX_ENV") {
            Ok(v) => v.parse(),
            Err(_) => Ok(Environment::Development),
        }
    }
}

impl std::str::FromStr for Environment {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "development" | "dev" => Ok(Environment::Development),
            "test" => Ok(Environment::Test),
            "production" | "prod" => Ok(Environment::Production),
            other => Err(ConfigError(format!(
                "BALLOTBOX_ENV is `{other}`; use `development`, `test` or `production`"
            ))),
        }
    }
}

/// A configuration problem, reported before anything starts.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub data: DataSettings,
    pub keys: KeySettings,
    pub auth: AuthSettings,
    pub scheduler: SchedulerSettings,
    #[serde(default)]
    pub audit: AuditSettings,
    pub log: LogSettings,
    #[serde(skip, default = "default_env")]
    pub environment: Environment,
}

fn default_env() -> Environment {
    Environment::Development
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: String,
    pub workers: usize,
    pub body_limit: usize,
    pub bulk_body_limit: usize,
    pub body_timeout_secs: u64,
    pub cors_origins: Vec<String>,
    /// Address of the separate `/metrics` listener; empty: no listener.
    pub metrics_bind: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line, with the request line's fields.
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub pool_size: u32,
    pub connect_timeout_secs: u64,
    pub sqlite_busy_timeout_ms: u64,
    /// Whether `serve` applies pending migrations first. Off when the
    /// service runs as a PostgreSQL role without DDL rights (the owner
    /// runs `ballotbox migrate` and `grant-service-role` instead).
    #[serde(default = "yes")]
    pub migrate_on_start: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSettings {
    pub dir: PathBuf,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySettings {
    pub jwt_secret: String,
    pub jwt_secret_file: String,
    pub jwt_previous_secrets: Vec<String>,
    pub signing_key: String,
    pub signing_key_file: String,
}

// Secrets never reach a log line through `{:?}`.
impl std::fmt::Debug for KeySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySettings")
            .field("jwt_secret_file", &self.jwt_secret_file)
            .field("signing_key_file", &self.signing_key_file)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub issuer: String,
    pub audience: String,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_days: i64,
    pub invitation_ttl_days: i64,
    pub argon2_m_cost: u32,
    pub argon2_t_cost: u32,
    pub argon2_p_cost: u32,
    pub login_max_failures: i64,
    pub login_window_secs: i64,
    pub login_ip_per_minute: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerSettings {
    pub interval_ms: u64,
}

/// Signed checkpoints of the audit chain.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// The chain head is signed at least this often while it moves (and at
    /// every election state change).
    pub checkpoint_interval_secs: u64,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            checkpoint_interval_secs: 300,
        }
    }
}

impl Settings {
    /// Loads settings for `BALLOTBOX_ENV` from `./config` and the environment.
    pub fn load() -> Result<Self, ConfigError> {
        Self::load_from(Path::new("config"), Environment::from_env()?, true)
    }

    /// Loads settings from `dir`; `use_env` adds the environment variables.
    pub fn load_from(dir: &Path, env: Environment, use_env: bool) -> Result<Self, ConfigError> {
        let default_path = dir.join("default.toml");
        let base = if default_path.exists() {
            config::File::from(default_path)
        } else {
            // A binary run away from its source tree still has sane defaults.
            return Self::build(
                config::Config::builder().add_source(config::File::from_str(
                    DEFAULT_TOML,
                    config::FileFormat::Toml,
                )),
                dir,
                env,
                use_env,
            );
        };
        Self::build(
            config::Config::builder().add_source(base),
            dir,
            env,
            use_env,
        )
    }

    fn build(
        builder: config::ConfigBuilder<config::builder::DefaultState>,
        dir: &Path,
        env: Environment,
        use_env: bool,
    ) -> Result<Self, ConfigError> {
        let mut builder = builder.add_source(
            config::File::from(dir.join(format!("{}.toml", env.as_str()))).required(false),
        );
        if use_env {
            builder = builder.add_source(
                config::Environment::with_prefix("BALLOTBOX")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .list_separator(",")
                    .with_list_parse_key("server.cors_origins")
                    .with_list_parse_key("keys.jwt_previous_secrets"),
            );
            if let Ok(url) = std::env::var("DATABASE_URL") {
                if !url.is_empty() {
                    builder = builder
                        .set_override("database.url", url)
                        .map_err(|e| ConfigError(e.to_string()))?;
                }
            }
        }
        let mut settings: Settings = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| ConfigError(e.to_string()))?;
        settings.environment = env;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let a = &self.auth;
        if !(60..=900).contains(&a.access_token_ttl_secs) {
            return Err(ConfigError(
                "auth.access_token_ttl_secs must be between 60 and 900 (15 minutes)".into(),
            ));
        }
        if a.argon2_m_cost < 19456 || a.argon2_t_cost < 2 || a.argon2_p_cost < 1 {
            return Err(ConfigError(
                "argon2 parameters below the OWASP minimum (m=19456, t=2, p=1)".into(),
            ));
        }
        if self.server.body_limit == 0 || self.database.pool_size == 0 {
            return Err(ConfigError(
                "server.body_limit and database.pool_size must be positive".into(),
            ));
        }
        Ok(())
    }
}
