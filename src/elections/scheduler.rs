//! The timer that opens scheduled drafts and closes elections at
//! `closes_at`. Every server instance runs it; each transition is a
//! conditional update, so it happens exactly once whoever gets there first.

use std::sync::Arc;
use std::time::Duration;

use crate::db::{self, DbPool};
use crate::mail::Outbox;

/// Starts the timer on the current runtime, every `interval_ms` (at least
/// 50); it stops with the runtime. Openings queue their notices in `outbox`.
pub fn spawn(pool: DbPool, interval_ms: u64, outbox: Option<Arc<Outbox>>) {
    let every = Duration::from_millis(interval_ms.max(50));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let outbox = outbox.clone();
            let due =
                move |c: &mut db::DbConnection| super::lifecycle::run_due(c, outbox.as_deref());
            match db::run(&pool, due).await {
                Ok(0) => {}
                Ok(n) => log::info!("timer: {n} election transition(s)"),
                Err(e) => log::debug!("timer: {e}"),
            }
        }
    });
}
