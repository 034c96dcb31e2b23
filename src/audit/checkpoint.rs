//! Signed checkpoints of the audit chain: `{"seq","hash","at","kid"}` of the
//! chain head, signed with the results key (Ed25519 over its RFC 8785
//! form). Whoever keeps one can later prove that the chain up to `seq` was
//! rewritten, even by someone who owns the database and recomputed every
//! hash: the rewritten head no longer matches a signature they cannot make.
//!
//! A checkpoint is fixed in the very transaction of every election state
//! change (`record` writes it unsigned, since appending does not hold the
//! key) and signed right after by the first server that gets to it (the
//! timer below, a listing, an export). The timer also fixes the head at
//! least every `audit.checkpoint_interval_secs` while the chain moves.

use std::time::Duration;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::model::format_at;
use crate::crypto::keys::verify_b64;
use crate::crypto::{canonical_json, Signer};
use crate::db::schema::audit_checkpoints::dsl as k;
use crate::db::schema::audit_events::dsl as a;
use crate::db::types::Time;
use crate::db::{self, write_tx, DbConnection};
use crate::error::AppError;
use crate::state::AppState;

/// Actions whose event is checkpointed in its own transaction: every
/// election state change, refused tallies and key registrations.
pub const CHECKPOINTED_ACTIONS: &[&str] = &[
    "election.created",
    "election.scheduled",
    "election.opened",
    "election.closed",
    "election.tallied",
    "election.published",
    "election.deleted",
    "integrity.failed",
    "key.registered",
];

/// How often the timer signs pending checkpoints.
const SIGN_EVERY: Duration = Duration::from_secs(1);

/// A signed head of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Checkpoint {
    /// The sequence number of the last event covered.
    pub seq: i64,
    /// That event's `hash`.
    pub hash: String,
    /// When the head was fixed (RFC 3339 UTC, microseconds).
    pub at: String,
    /// The signing key's id (`GET /api/v1/keys`, and `key.registered` events).
    pub kid: String,
    /// Ed25519 (base64) over the RFC 8785 form of the other four fields.
    pub signature: String,
}

/// The bytes a checkpoint signature covers.
pub fn signed_bytes(seq: i64, hash: &str, at: &str, kid: &str) -> Vec<u8> {
    canonical_json(&json!({"seq": seq, "hash": hash, "at": at, "kid": kid}))
}

impl Checkpoint {
    /// Whether the signature holds under a base64 Ed25519 public key.
    pub fn verifies(&self, public_key_b64: &str) -> bool {
        verify_b64(
            public_key_b64,
            &signed_bytes(self.seq, &self.hash, &self.at, &self.kid),
            &self.signature,
        )
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::db::schema::audit_checkpoints)]
struct CheckpointRow {
    seq: i64,
    hash: String,
    at: Time,
    kid: Option<String>,
    signature: Option<String>,
}

impl CheckpointRow {
    fn signed(self) -> Option<Checkpoint> {
        Some(Checkpoint {
            seq: self.seq,
            hash: self.hash,
            at: format_at(&self.at),
            kid: self.kid?,
            signature: self.signature?,
        })
    }
}

/// Fixes an unsigned checkpoint at an event just appended (same transaction).
pub fn insert_pending(conn: &mut DbConnection, seq: i64, hash: &str, at: Time) -> QueryResult<()> {
    diesel::insert_into(k::audit_checkpoints)
        .values(CheckpointRow {
            seq,
            hash: hash.to_string(),
            at,
            kid: None,
            signature: None,
        })
        .execute(conn)
        .map(|_| ())
}

/// Signs every pending checkpoint; a row another server signed first is
/// left as it is (the update is conditional).
pub fn sign_pending(conn: &mut DbConnection, signer: &Signer) -> Result<usize, AppError> {
    let rows: Vec<CheckpointRow> = k::audit_checkpoints
        .filter(k::signature.is_null())
        .order(k::seq.asc())
        .select(CheckpointRow::as_select())
        .load(conn)?;
    let mut signed = 0;
    for row in rows {
        let sig = signer.sign_b64(&signed_bytes(
            row.seq,
            &row.hash,
            &format_at(&row.at),
            &signer.kid,
        ));
        signed += diesel::update(
            k::audit_checkpoints
                .filter(k::seq.eq(row.seq))
                .filter(k::signature.is_null()),
        )
        .set((k::kid.eq(&signer.kid), k::signature.eq(sig)))
        .execute(conn)?;
    }
    Ok(signed)
}

/// Fixes and signs a checkpoint at the current head (unless one is there),
/// and returns it. Must run in a write transaction; holds the chain's
/// append lock so the head cannot move meanwhile.
pub fn checkpoint_head(
    conn: &mut DbConnection,
    signer: &Signer,
) -> Result<Option<Checkpoint>, AppError> {
    super::service::lock_chain(conn)?;
    let head: Option<(i64, String)> = a::audit_events
        .order(a::seq.desc())
        .select((a::seq, a::hash))
        .first(conn)
        .optional()?;
    let Some((seq, hash)) = head else {
        return Ok(None);
    };
    let exists = k::audit_checkpoints
        .find(seq)
        .select(k::seq)
        .first::<i64>(conn)
        .optional()?
        .is_some();
    if !exists {
        insert_pending(conn, seq, &hash, Time::now())?;
    }
    sign_pending(conn, signer)?;
    find(conn, seq)
}

/// A signed checkpoint by sequence number.
pub fn find(conn: &mut DbConnection, seq: i64) -> Result<Option<Checkpoint>, AppError> {
    Ok(k::audit_checkpoints
        .find(seq)
        .select(CheckpointRow::as_select())
        .first(conn)
        .optional()?
        .and_then(CheckpointRow::signed))
}

/// Up to `limit` signed checkpoints after `after`, oldest first.
pub fn page(
    conn: &mut DbConnection,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<Checkpoint>, AppError> {
    let mut q = k::audit_checkpoints
        .filter(k::signature.is_not_null())
        .select(CheckpointRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(k::seq.gt(after));
    }
    Ok(q.order(k::seq.asc())
        .limit(limit)
        .load(conn)?
        .into_iter()
        .filter_map(CheckpointRow::signed)
        .collect())
}

/// One pass of the timer: signs what is pending, and fixes the head when the
/// chain moved past the last checkpoint and the interval has passed. Looks
/// first without a write transaction, so an idle server never takes
/// SQLite's write lock.
pub fn tick(conn: &mut DbConnection, signer: &Signer, interval: Duration) -> Result<(), AppError> {
    let due = |c: &mut DbConnection| -> Result<(bool, bool), AppError> {
        let pending = k::audit_checkpoints
            .filter(k::signature.is_null())
            .select(k::seq)
            .first::<i64>(c)
            .optional()?
            .is_some();
        let last: Option<(i64, Time)> = k::audit_checkpoints
            .order(k::seq.desc())
            .select((k::seq, k::at))
            .first(c)
            .optional()?;
        let head: Option<i64> = a::audit_events.select(diesel::dsl::max(a::seq)).first(c)?;
        let head_due = match (last, head) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some((seq, at)), Some(head)) => {
                let age = chrono::Utc::now().signed_duration_since(at.0);
                head > seq && age.to_std().unwrap_or_default() >= interval
            }
        };
        Ok((pending, head_due))
    };
    if due(conn)? == (false, false) {
        return Ok(());
    }
    write_tx(conn, |c| {
        let (_, head_due) = due(c)?;
        sign_pending(c, signer)?;
        if head_due {
            checkpoint_head(c, signer)?;
        }
        Ok(())
    })
}

/// Starts the checkpoint timer on the current runtime.
pub fn spawn(state: &AppState) {
    let pool = state.pool.clone();
    let signer = state.keys.signer.clone();
    let interval = Duration::from_secs(state.settings.audit.checkpoint_interval_secs.max(1));
    tokio::spawn(async move {
        let mut every = tokio::time::interval(SIGN_EVERY.min(interval));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let signer = signer.clone();
            if let Err(e) = db::run(&pool, move |c| tick(c, &signer, interval)).await {
                log::debug!("checkpoints: {e}");
            }
        }
    });
}

/// Signs what is pending, then reads a page (for `GET .../checkpoints`),
/// once the caller is confirmed as staff.
pub async fn list(
    pool: &crate::db::DbPool,
    signer: &Signer,
    staff: &crate::auth::AuthCheck,
    params: crate::paging::PageParams,
) -> Result<crate::paging::Page<Checkpoint>, AppError> {
    use crate::paging::Page;
    let limit = params.limit();
    let after = params.after_as::<i64>()?;
    let (signer, staff) = (signer.clone(), staff.clone());
    db::run(pool, move |c| {
        staff.check(c)?;
        write_tx(c, |c| sign_pending(c, &signer))?;
        let rows = page(c, after, limit + 1)?;
        Ok(Page::from_rows(rows, limit, |cp: &Checkpoint| {
            cp.seq.to_string()
        }))
    })
    .await
}
