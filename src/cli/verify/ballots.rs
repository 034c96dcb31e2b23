//! The ballot checks: hashes, each method's ballot rules, the Merkle root,
//! the count, and the recount with the server's tally code.

use serde_json::Value;

use super::{codes, Export, Report, BALLOTS};
use crate::ballots::rules;
use crate::crypto::merkle::{leaf_hash, RootBuilder};
use crate::elections::definition::Definition;
use crate::results::count::Counter;

/// Runs the ballot checks and returns a counter holding every ballot that
/// passes its election's rules (in the stored compact form, exactly as the
/// server counts).
pub(super) fn check<'a>(export: &Export, def: &'a Definition, report: &mut Report) -> Counter<'a> {
    let mut counter = Counter::new(def);
    let mut bad_hash: Vec<&str> = Vec::new();
    let mut invalid: Vec<(&str, String)> = Vec::new();
    for b in &export.ballots {
        if rules::ballot_hash(def.election_id, &b.answers, &b.salt) != b.ballot_hash {
            bad_hash.push(&b.tracking_code);
        }
        // The same validation as casting: one answer per question, each
        // within its method's rules (plurality one choice, approval within
        // its limits, rankings without repeats, blanks where allowed).
        match rules::validate(def, &b.answers) {
            Ok(valid) => {
                if let Err(e) = counter.add_content(&valid.content) {
                    invalid.push((&b.tracking_code, e));
                }
            }
            Err(e) => invalid.push((&b.tracking_code, why(e))),
        }
    }
    report.check(
        BALLOTS,
        "ballot hashes",
        if bad_hash.is_empty() {
            Ok(format!("{} ballots", export.ballots.len()))
        } else {
            Err(codes(&bad_hash))
        },
    );
    report.check(
        BALLOTS,
        "ballot validity",
        match invalid.first() {
            None => Ok(format!(
                "{} ballots follow their methods' rules",
                export.ballots.len()
            )),
            Some((code, reason)) => Err(format!(
                "{} ballot(s) break the election's rules; first {code}: {reason}",
                invalid.len()
            )),
        },
    );

    // Merkle root over (tracking code, ballot hash) in tracking-code order.
    let in_order = export
        .ballots
        .windows(2)
        .all(|w| w[0].tracking_code < w[1].tracking_code);
    let mut tree = RootBuilder::new();
    for b in &export.ballots {
        tree.push(leaf_hash(&b.tracking_code, &b.ballot_hash));
    }
    let root = hex::encode(tree.root());
    let results_root = export
        .results
        .as_ref()
        .and_then(|r| r.get("merkle_root"))
        .and_then(Value::as_str);
    report.check(
        BALLOTS,
        "merkle root",
        match (&export.merkle_root, results_root) {
            _ if !in_order => {
                Err("ballots are not in strictly increasing tracking-code order".into())
            }
            (None, _) => Err("the export has no merkle_root".into()),
            (Some(m), _) if *m != root => Err(format!("recomputed {root}, the export says {m}")),
            (Some(_), Some(r)) if r != root => {
                Err(format!("recomputed {root}, the results say {r}"))
            }
            _ => Ok(root.clone()),
        },
    );

    // The ballot count, everywhere it is stated.
    let n = export.ballots.len() as u64;
    let results_count = export
        .results
        .as_ref()
        .and_then(|r| r.get("ballot_count"))
        .and_then(Value::as_u64);
    report.check(
        BALLOTS,
        "ballot count",
        match (export.ballot_count, results_count) {
            (Some(c), _) if c != n => Err(format!("{n} ballots listed, the export says {c}")),
            (_, Some(c)) if c != n => Err(format!("{n} ballots listed, the results say {c}")),
            _ => Ok(n.to_string()),
        },
    );
    counter
}

/// The field messages of a refused ballot.
fn why(e: crate::error::AppError) -> String {
    match e {
        crate::error::AppError::Validation(errors) => errors
            .iter()
            .map(|f| f.message.clone())
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// Recounts every question from the valid ballots and compares it with the
/// stated results.
pub(super) fn recount(
    export: &Export,
    counter: Counter<'_>,
    results: &Value,
) -> Result<String, String> {
    let seed = export
        .merkle_root
        .as_deref()
        .and_then(|m| hex::decode(m).ok())
        .ok_or("the export has no readable merkle_root (the tie-break seed)")?;
    let counted = counter.finish(&seed).map_err(|e| e.to_string())?;
    let stated = results
        .get("questions")
        .and_then(Value::as_array)
        .ok_or("the results have no questions")?;
    if stated.len() != counted.len() {
        return Err(format!(
            "{} questions recounted, the results have {}",
            counted.len(),
            stated.len()
        ));
    }
    let mut differ = Vec::new();
    for (mine, theirs) in counted.iter().zip(stated) {
        let mine_v = serde_json::to_value(mine).map_err(|e| e.to_string())?;
        if &mine_v != theirs {
            differ.push(mine.question_id.to_string());
        }
    }
    if differ.is_empty() {
        Ok(format!("{} questions match", counted.len()))
    } else {
        Err(format!(
            "question {} differs from the results",
            differ.join(", ")
        ))
    }
}
