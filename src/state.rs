//! What every handler shares: the pool, settings and keys.

use std::sync::Arc;

use crate::auth::password::Passwords;
use crate::ballots::board::BoardCache;
use crate::config::Settings;
use crate::crypto::Keys;
use crate::db::DbPool;
use crate::elections::definition::DefinitionCache;

/// Application state, cloned cheaply into each worker.
#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub settings: Arc<Settings>,
    pub keys: Arc<Keys>,
    pub passwords: Arc<Passwords>,
    /// Ballot definitions of elections past draft (immutable).
    pub definitions: Arc<DefinitionCache>,
    /// Merkle trees of closed elections (immutable).
    pub boards: Arc<BoardCache>,
}

impl AppState {
    /// What the auth service needs to issue tokens.
    pub fn issuer(&self) -> crate::auth::service::Issuer<'_> {
        crate::auth::service::Issuer {
            keys: &self.keys,
            settings: &self.settings.auth,
        }
    }
}
