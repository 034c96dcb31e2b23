//! Audit event rows and their wire and hashing form.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::crypto::{canonical_json, sha256_hex};
use crate::db::schema::audit_events;
use crate::db::types::Time;
use crate::elections::ElectionId;
use crate::users::UserId;

/// The first event's `prev_hash`.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    pub seq: i64,
    pub at: Time,
    pub actor_id: Option<UserId>,
    pub action: String,
    pub election_id: Option<ElectionId>,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

/// One audit event as published. `hash = SHA-256(prev_hash || JCS(event
/// without "hash"))`, where `prev_hash` is taken as its 64 hex characters.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AuditEvent {
    pub seq: i64,
    /// RFC 3339 UTC with microseconds, exactly as hashed.
    pub at: String,
    pub actor_id: Option<UserId>,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub election_id: Option<ElectionId>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEvent {
    /// The hash this event must carry, computed from its other fields.
    pub fn compute_hash(&self) -> String {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.remove("hash");
        }
        let mut bytes = self.prev_hash.as_bytes().to_vec();
        bytes.extend_from_slice(&canonical_json(&value));
        sha256_hex(&bytes)
    }

    pub fn from_row(row: AuditRow) -> Self {
        Self {
            seq: row.seq,
            at: format_at(&row.at),
            actor_id: row.actor_id,
            action: row.action,
            election_id: row.election_id,
            details: serde_json::from_str(&row.details).unwrap_or(serde_json::Value::Null),
            prev_hash: row.prev_hash,
            hash: row.hash,
        }
    }
}

/// The one text form of an event time.
pub fn format_at(t: &Time) -> String {
    t.0.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Checks a downloaded chain: every hash recomputes and links to the one
/// before. Returns the first broken sequence number.
pub fn verify_chain(events: &[AuditEvent]) -> Result<(), i64> {
    let mut prev = GENESIS_HASH.to_string();
    for e in events {
        if e.prev_hash != prev || e.compute_hash() != e.hash {
            return Err(e.seq);
        }
        prev = e.hash.clone();
    }
    Ok(())
}

/// One event of a downloaded part of the chain. `event` is None when its
/// content was withheld (a redacted event), which keeps only its place.
#[derive(Debug, Clone)]
pub struct ChainEntry {
    pub seq: i64,
    pub prev_hash: String,
    pub hash: String,
    pub event: Option<AuditEvent>,
}

/// Checks a subsequence of the chain in `seq` order, such as one
/// election's events: every event with content recomputes its hash, `seq`
/// increases, `seq` 1 starts from the genesis hash, and events with
/// consecutive `seq` link. Returns the first broken sequence number.
pub fn verify_subsequence(entries: &[ChainEntry]) -> Result<(), i64> {
    let mut prev: Option<&ChainEntry> = None;
    for e in entries {
        if let Some(ev) = &e.event {
            if ev.seq != e.seq || ev.prev_hash != e.prev_hash || ev.hash != e.hash {
                return Err(e.seq);
            }
            if ev.compute_hash() != ev.hash {
                return Err(e.seq);
            }
        }
        if e.seq == 1 && e.prev_hash != GENESIS_HASH {
            return Err(e.seq);
        }
        if let Some(p) = prev {
            if e.seq <= p.seq || (e.seq == p.seq + 1 && e.prev_hash != p.hash) {
                return Err(e.seq);
            }
        }
        prev = Some(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEvent> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let mut e = AuditEvent {
                    seq,
                    at: "2026-11-24T18:00:00.000000Z".into(),
                    actor_id: None,
                    action: format!("a{seq}"),
                    election_id: None,
                    details: serde_json::json!({"n": seq}),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = e.compute_hash();
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn entry(e: &AuditEvent, redacted: bool) -> ChainEntry {
        ChainEntry {
            seq: e.seq,
            prev_hash: e.prev_hash.clone(),
            hash: e.hash.clone(),
            event: (!redacted).then(|| e.clone()),
        }
    }

    #[test]
    fn a_subsequence_with_gaps_and_redactions_verifies_and_edits_do_not() {
        let events = chain(6);
        assert_eq!(verify_chain(&events), Ok(()));
        // seq 1, 2 (redacted), 3, then a gap, then 5, 6.
        let picked: Vec<ChainEntry> = [0, 1, 2, 4, 5]
            .iter()
            .map(|&i| entry(&events[i], i == 1))
            .collect();
        assert_eq!(verify_subsequence(&picked), Ok(()));
        let mut edited = picked.clone();
        if let Some(e) = edited[2].event.as_mut() {
            e.details = serde_json::json!({"n": 99});
        }
        assert_eq!(verify_subsequence(&edited), Err(3));
        let mut relinked = picked.clone();
        relinked[4].prev_hash = GENESIS_HASH.into();
        if let Some(e) = relinked[4].event.as_mut() {
            e.prev_hash = GENESIS_HASH.into();
            e.hash = e.compute_hash();
            relinked[4].hash = e.hash.clone();
        }
        assert_eq!(verify_subsequence(&relinked), Err(6), "a broken link");
        let mut reordered = picked.clone();
        reordered.swap(3, 4);
        assert!(verify_subsequence(&reordered).is_err());
    }
}
