//! The timer that opens scheduled drafts and closes elections at
//! `closes_at`. Every server instance runs it; each transition is a
//! conditional update, so it happens exactly once whoever gets there first.

use std::time::Duration;

use crate::db;
use crate::state::AppState;

/// Starts the timer on the current runtime; it stops with the runtime.
pub fn spawn(state: &AppState) {
    let pool = state.pool.clone();
    let every = Duration::from_millis(state.settings.scheduler.interval_ms.max(50));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match db::run(&pool, super::service::run_due).await {
                Ok(0) => {}
                Ok(n) => log::info!("timer: {n} election transition(s)"),
                Err(e) => log::debug!("timer: {e}"),
            }
        }
    });
}
