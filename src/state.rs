//! What every handler shares: the pool, settings and keys.

use std::sync::Arc;

use crate::auth::password::Passwords;
use crate::ballots::board::BoardCache;
use crate::ballots::definition::DefinitionCache;
use crate::config::Settings;
use crate::crypto::Keys;
use crate::db::DbPool;

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
