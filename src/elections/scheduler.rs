//! The timer that opens scheduled drafts and closes elections at
//! `closes_at`. Every server instance runs it; each transition is a
//! conditional update, so it happens exactly once whoever gets there first.

use std::time::Duration;

use crate::db::{self, DbPool};

/// Starts the timer on the current runtime, every `interval_ms` (at least
/// 50); it stops with the runtime.
pub fn spawn(pool: DbPool, interval_ms: u64) {
    let every = Duration::from_millis(interval_ms.max(50));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match db::run(&pool, super::lifecycle::run_due).await {
                Ok(0) => {}
                Ok(n) => log::info!("timer: {n} election transition(s)"),
                Err(e) => log::debug!("timer: {e}"),
            }
        }
    });
}
