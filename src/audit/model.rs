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

/// One audit event as published. `hash = SHA-256(prev_hash || JCS({"seq",
/// "at","actor_id","action","election_id" (left out when null),
/// "details_hash","prev_hash"}))`, where `details_hash` is the SHA-256 (hex)
/// of JCS(details) and `prev_hash` is taken as its 64 ASCII hex characters;
/// the first event's `prev_hash` is 64 zeros.
///
/// Redactable actions: roll.added, roll.removed, user.created,
/// user.updated, users.imported. An export may publish an event of these
/// actions (and of no other) without `details`, as `{"seq","at","actor_id",
/// "action","election_id","details_hash","prev_hash","hash",
/// "redacted":true}`; the chain still checks. Lifecycle events, tallies,
/// integrity failures and key registrations are never redacted.
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

/// The only actions whose events may be published without their details
/// (as `details_hash` and `"redacted": true`): those whose details name
/// people (voters on a roll, user accounts). Lifecycle events, tallies,
/// integrity failures, key registrations and reads never are, and
/// `ballotbox verify` fails an export in which one is.
pub const REDACTABLE_ACTIONS: &[&str] = &[
    "roll.added",
    "roll.removed",
    "user.created",
    "user.updated",
    "users.imported",
];

pub fn is_redactable(action: &str) -> bool {
    REDACTABLE_ACTIONS.contains(&action)
}

/// SHA-256 (hex) of the RFC 8785 form of an event's details.
pub fn details_hash(details: &serde_json::Value) -> String {
    sha256_hex(&canonical_json(details))
}

/// The hash of a published event, whole or redacted: `SHA-256(prev_hash ||
/// JCS({"seq","at","actor_id","action","election_id"?,"details_hash",
/// "prev_hash"}))`, where `details_hash` is taken from a redacted event and
/// computed from the details of a whole one, and `election_id` is left out
/// when absent or null. Errors name a missing or mistyped field.
pub fn hash_of_published(v: &serde_json::Value) -> Result<String, String> {
    let map = v.as_object().ok_or("an event is not an object")?;
    let field = |k: &str| map.get(k).ok_or_else(|| format!("the event has no {k}"));
    let redacted = map.get("redacted").and_then(serde_json::Value::as_bool) == Some(true);
    let dh = if redacted {
        match map.get("details_hash").and_then(serde_json::Value::as_str) {
            Some(h) => h.to_string(),
            None => return Err("a redacted event has no details_hash".into()),
        }
    } else {
        details_hash(field("details")?)
    };
    let prev_hash = field("prev_hash")?
        .as_str()
        .ok_or("prev_hash is not a string")?;
    let mut form = serde_json::Map::new();
    for k in ["seq", "at", "actor_id", "action"] {
        form.insert(k.into(), field(k)?.clone());
    }
    if let Some(e) = map.get("election_id").filter(|e| !e.is_null()) {
        form.insert("election_id".into(), e.clone());
    }
    form.insert("details_hash".into(), dh.into());
    form.insert("prev_hash".into(), prev_hash.into());
    let mut bytes = prev_hash.as_bytes().to_vec();
    bytes.extend_from_slice(&canonical_json(&serde_json::Value::Object(form)));
    Ok(sha256_hex(&bytes))
}

impl AuditEvent {
    /// The hash this event must carry, computed from its other fields (see
    /// [`hash_of_published`]).
    pub fn compute_hash(&self) -> String {
        let value = serde_json::to_value(self).unwrap_or_default();
        hash_of_published(&value).unwrap_or_default()
    }

    /// The event without its details, as an export may publish it: the
    /// chain still checks through `details_hash`.
    pub fn redacted(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = v.as_object_mut() {
            map.remove("details");
            map.insert("details_hash".into(), details_hash(&self.details).into());
            map.insert("redacted".into(), true.into());
        }
        v
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

/// One event of a downloaded part of the chain, whole or redacted.
#[derive(Debug, Clone)]
pub struct ChainEntry {
    pub seq: i64,
    pub prev_hash: String,
    pub hash: String,
    /// The hash recomputed from the event's content.
    pub computed: String,
}

impl ChainEntry {
    /// Reads a published event (see [`hash_of_published`]).
    pub fn of_published(v: &serde_json::Value) -> Result<Self, String> {
        let text = |k: &str| {
            v.get(k)
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("the event has no {k}"))
        };
        Ok(Self {
            seq: v
                .get("seq")
                .and_then(serde_json::Value::as_i64)
                .ok_or("an event has no seq")?,
            prev_hash: text("prev_hash")?,
            hash: text("hash")?,
            computed: hash_of_published(v)?,
        })
    }
}

/// Checks a subsequence of the chain in `seq` order, such as one
/// election's events: every event recomputes its hash (a redacted one
/// through its `details_hash`), `seq` increases, `seq` 1 starts from the
/// genesis hash, and events with consecutive `seq` link. Returns the first
/// broken sequence number.
pub fn verify_subsequence(entries: &[ChainEntry]) -> Result<(), i64> {
    let mut prev: Option<&ChainEntry> = None;
    for e in entries {
        if e.computed != e.hash {
            return Err(e.seq);
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
        let v = if redacted {
            e.redacted()
        } else {
            serde_json::to_value(e).unwrap()
        };
        ChainEntry::of_published(&v).unwrap()
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
        let mut edited_event = events[2].clone();
        edited_event.details = serde_json::json!({"n": 99});
        let mut edited = picked.clone();
        edited[2] = entry(&edited_event, false);
        assert_eq!(verify_subsequence(&edited), Err(3));
        // A redacted stub whose details_hash was changed no longer checks.
        let mut stub = events[1].redacted();
        stub["details_hash"] = serde_json::json!(details_hash(&serde_json::json!({"n": 7})));
        let mut restubbed = picked.clone();
        restubbed[1] = ChainEntry::of_published(&stub).unwrap();
        assert_eq!(verify_subsequence(&restubbed), Err(2));
        let mut relinked_event = events[5].clone();
        relinked_event.prev_hash = GENESIS_HASH.into();
        relinked_event.hash = relinked_event.compute_hash();
        let mut relinked = picked.clone();
        relinked[4] = entry(&relinked_event, false);
        assert_eq!(verify_subsequence(&relinked), Err(6), "a broken link");
        let mut reordered = picked.clone();
        reordered.swap(3, 4);
        assert!(verify_subsequence(&reordered).is_err());
    }
}
