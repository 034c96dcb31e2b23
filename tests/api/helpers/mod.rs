//! The test harness: each test gets the real application on a random port
//! against its own fresh database (a temporary SQLite file, or a new
//! PostgreSQL database dropped at the end), and speaks HTTP to it.
//!
//! - `database`: finding PostgreSQL, a throwaway database per test;
//! - `app`: starting the application on it, and the HTTP client;
//! - `seed`: users, tokens and elections, quickly (`ballotbox::testkit`
//!   writes users and sessions directly, as `tools/load` does).

mod app;
mod database;
mod seed;

pub use app::*;
pub use database::*;
pub use seed::*;

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
