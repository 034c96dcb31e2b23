//! The audit checks: the chain of the election's events (whole or
//! redacted), which events may be redacted, that the lifecycle events are
//! there and agree with the ballots and results, the export's signed
//! checkpoint, and the checkpoints an auditor kept earlier.

use std::collections::HashMap;

use serde_json::Value;

use super::{Export, Key, Report, AUDIT};
use crate::audit::checkpoint::{signed_bytes, Checkpoint};
use crate::audit::model::{is_redactable, verify_subsequence, ChainEntry};
use crate::crypto::sha256_hex;
use crate::elections::ElectionState;
use crate::results::model::signed_bytes_of;

pub(super) fn check(
    export: &Export,
    key: &Key<'_>,
    kept: Option<&[Checkpoint]>,
    report: &mut Report,
) {
    let mut entries = Vec::with_capacity(export.audit_events.len());
    let mut malformed = None;
    for v in &export.audit_events {
        match ChainEntry::of_published(v) {
            Ok(e) => entries.push(e),
            Err(e) => {
                let seq = v.get("seq").and_then(Value::as_i64).unwrap_or(0);
                malformed.get_or_insert(format!("event {seq} is malformed: {e}"));
            }
        }
    }
    let redacted: Vec<&Value> = export
        .audit_events
        .iter()
        .filter(|v| v.get("redacted").and_then(Value::as_bool) == Some(true))
        .collect();
    let gaps = entries
        .windows(2)
        .filter(|w| w[1].seq != w[0].seq + 1)
        .count();
    report.check(
        AUDIT,
        "audit chain",
        match (malformed, verify_subsequence(&entries)) {
            (Some(why), _) => Err(why),
            (None, Err(seq)) => Err(format!(
                "event {seq} does not match its hash, is out of order or does not link"
            )),
            (None, Ok(())) => Ok(format!(
                "{} events ({} redacted), {gaps} gaps for events of other scopes (compare with GET /api/v1/audit-log)",
                entries.len(),
                redacted.len()
            )),
        },
    );

    // Only events that name people may be withheld; a lifecycle event,
    // tally or key registration replaced by a stub hides what happened.
    let wrongly: Vec<String> = redacted
        .iter()
        .filter(|v| {
            !v.get("action")
                .and_then(Value::as_str)
                .is_some_and(is_redactable)
        })
        .map(|v| {
            format!(
                "{} ({})",
                v.get("seq").and_then(Value::as_i64).unwrap_or(0),
                v.get("action").and_then(Value::as_str).unwrap_or("?")
            )
        })
        .collect();
    report.check(
        AUDIT,
        "audit redactions",
        if wrongly.is_empty() {
            Ok(format!(
                "{} redacted, all of redactable actions",
                redacted.len()
            ))
        } else {
            Err(format!(
                "events that may not be redacted are: {}",
                wrongly.join(", ")
            ))
        },
    );

    report.check(AUDIT, "audit lifecycle", lifecycle(export));
    let head = checkpoint(export, key, report);
    kept_checkpoints(export, key, kept, head.as_ref(), report);
}

/// The events every election in the export's state must have, whole, and
/// agreeing with the export.
fn lifecycle(export: &Export) -> Result<String, String> {
    let by_action = |action: &str| {
        export.audit_events.iter().rev().find(|v| {
            v.get("action").and_then(Value::as_str) == Some(action)
                && v.get("redacted").and_then(Value::as_bool) != Some(true)
        })
    };
    let state = export.election.state;
    let mut needed = vec!["election.created", "election.opened", "election.closed"];
    if matches!(state, ElectionState::Tallied | ElectionState::Published) {
        needed.push("election.tallied");
    }
    if state == ElectionState::Published {
        needed.push("election.published");
    }
    let missing: Vec<&str> = needed
        .iter()
        .copied()
        .filter(|a| by_action(a).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(format!("no {} event", missing.join(", no ")));
    }
    let details = |action: &str| by_action(action).and_then(|v| v.get("details"));
    let root = export.merkle_root.as_deref();
    let closed_root = details("election.closed")
        .and_then(|d| d.get("merkle_root"))
        .and_then(Value::as_str);
    if closed_root != root {
        return Err(format!(
            "election.closed fixed Merkle root {}, the export has {}",
            closed_root.unwrap_or("none"),
            root.unwrap_or("none")
        ));
    }
    if let (Some(d), Some(results)) = (details("election.tallied"), &export.results) {
        let sha = sha256_hex(&signed_bytes_of(results));
        if d.get("results_sha256").and_then(Value::as_str) != Some(sha.as_str()) {
            return Err("election.tallied recorded other results than the export's".into());
        }
        if d.get("ballot_count").and_then(Value::as_u64) != Some(export.ballots.len() as u64) {
            return Err("election.tallied recorded another ballot count".into());
        }
    }
    Ok(needed.join(", "))
}

/// The export's own checkpoint: signed, and at the last exported event.
fn checkpoint(export: &Export, key: &Key<'_>, report: &mut Report) -> Option<Checkpoint> {
    let Some(value) = &export.checkpoint else {
        report.check(
            AUDIT,
            "audit checkpoint",
            Err("the export carries no checkpoint".into()),
        );
        return None;
    };
    let cp: Checkpoint = match serde_json::from_value(value.clone()) {
        Ok(cp) => cp,
        Err(e) => {
            report.check(AUDIT, "audit checkpoint", Err(format!("malformed: {e}")));
            return None;
        }
    };
    let last = export.audit_events.last();
    let last_seq = last.and_then(|v| v.get("seq")).and_then(Value::as_i64);
    let last_hash = last.and_then(|v| v.get("hash")).and_then(Value::as_str);
    let result = match key.verify(
        &signed_bytes(cp.seq, &cp.hash, &cp.at, &cp.kid),
        &cp.signature,
    ) {
        Err(why) => Err(format!("seq {}: {why}", cp.seq)),
        Ok(_) if last_seq != Some(cp.seq) || last_hash != Some(cp.hash.as_str()) => Err(format!(
            "signed head seq {} does not match the last exported event (seq {})",
            cp.seq,
            last_seq.map_or("none".into(), |s| s.to_string())
        )),
        Ok(how) => Ok(format!("seq {} signed at {}, {how}", cp.seq, cp.at)),
    };
    let good = result.is_ok();
    report.check(AUDIT, "audit checkpoint", result);
    good.then_some(cp)
}

/// Checkpoints kept earlier: each must verify, and where the export holds
/// the event at its `seq`, carry that event's hash.
fn kept_checkpoints(
    export: &Export,
    key: &Key<'_>,
    kept: Option<&[Checkpoint]>,
    head: Option<&Checkpoint>,
    report: &mut Report,
) {
    let Some(kept) = kept else {
        report.skip(
            "kept checkpoints",
            "pass --checkpoints FILE with checkpoints kept earlier to catch a rewritten chain",
        );
        return;
    };
    let hashes: HashMap<i64, &str> = export
        .audit_events
        .iter()
        .filter_map(|v| Some((v.get("seq")?.as_i64()?, v.get("hash")?.as_str()?)))
        .collect();
    let mut matched = 0;
    let mut elsewhere = 0;
    let mut problems = Vec::new();
    for cp in kept {
        if let Err(why) = key.verify(
            &signed_bytes(cp.seq, &cp.hash, &cp.at, &cp.kid),
            &cp.signature,
        ) {
            problems.push(format!("seq {}: {why}", cp.seq));
            continue;
        }
        match hashes.get(&cp.seq) {
            Some(h) if *h == cp.hash => matched += 1,
            Some(h) => problems.push(format!(
                "seq {}: the export's event hashes to {h}, the kept checkpoint signed {} (the chain was rewritten)",
                cp.seq, cp.hash
            )),
            None if head.is_some_and(|h| h.seq == cp.seq && h.hash != cp.hash) => problems.push(
                format!("seq {}: the export's checkpoint differs from the kept one", cp.seq),
            ),
            None => elsewhere += 1,
        }
    }
    report.check(
        AUDIT,
        "kept checkpoints",
        if problems.is_empty() {
            Ok(format!(
                "{matched} match the export's events; {elsewhere} fall on events of other scopes or later ones"
            ))
        } else {
            Err(problems.join("; "))
        },
    );
}
