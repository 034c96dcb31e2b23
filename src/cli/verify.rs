//! `ballotbox verify`: checks a JSON export offline with the server's own
//! code: ballot hashes, the Merkle root, the ballot count, a recount of
//! every question, the results signature and the audit chain. Prints one
//! line per check and exits 0 only when every check holds.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use serde::Deserialize;
use serde_json::Value;

use crate::audit::model::{verify_subsequence, AuditEvent, ChainEntry};
use crate::ballots::model::Answer;
use crate::ballots::rules;
use crate::crypto::keys::verify_b64;
use crate::crypto::merkle::{leaf_hash, MerkleTree};
use crate::elections::definition::{Definition, QuestionDef};
use crate::elections::model::Election;
use crate::results::count::Counter;
use crate::results::model::signed_bytes_of;

/// Check a JSON export: recount it, recompute its Merkle root and ballot
/// hashes, and verify the results signature and the audit chain.
#[derive(Debug, clap::Args)]
pub struct Verify {
    /// The export (`GET /api/v1/elections/{id}/export?format=json`).
    pub file: PathBuf,
    /// The results signing key, base64 (from `GET /api/v1/keys`). Without it
    /// the key inside the export is used, which shows the export is
    /// consistent but not who signed it.
    #[arg(long, value_name = "B64")]
    pub public_key: Option<String>,
}

#[derive(Deserialize)]
struct ExportBallot {
    tracking_code: String,
    ballot_hash: String,
    /// Absent or '' for a ballot cast before v2 (hashed without a salt).
    #[serde(default)]
    salt: String,
    answers: Vec<Answer>,
}

#[derive(Deserialize)]
struct Export {
    election: Election,
    merkle_root: Option<String>,
    #[serde(default)]
    public_key: Option<Value>,
    ballots: Vec<ExportBallot>,
    ballot_count: Option<u64>,
    results: Option<Value>,
    #[serde(default)]
    audit_events: Vec<Value>,
}

/// The outcome of each check, printed as it is made.
struct Report {
    failed: bool,
}

impl Report {
    fn check(&mut self, name: &str, result: Result<String, String>) {
        match result {
            Ok(note) if note.is_empty() => println!("ok   {name}"),
            Ok(note) => println!("ok   {name}: {note}"),
            Err(why) => {
                self.failed = true;
                println!("FAIL {name}: {why}");
            }
        }
    }

    fn skip(&self, name: &str, why: &str) {
        println!("skip {name}: {why}");
    }
}

/// Runs the subcommand: 0 when every check holds, 1 when one fails, 2 when
/// the file cannot be read as an export.
pub fn run(args: &Verify) -> ExitCode {
    let text = match std::fs::read(&args.file) {
        Ok(bytes) => bytes,
        Err(e) => return fail(&format!("{}: {e}", args.file.display())),
    };
    let export: Export = match serde_json::from_slice(&text) {
        Ok(e) => e,
        Err(e) => {
            return fail(&format!(
                "{}: not a ballotbox JSON export: {e}",
                args.file.display()
            ))
        }
    };
    let mut report = Report { failed: false };
    verify(&export, args.public_key.as_deref(), &mut report);
    if report.failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("ballotbox verify: error: {message}");
    ExitCode::from(2)
}

/// The ballot definition an export's election describes.
fn definition_of(e: &Election) -> Definition {
    Definition {
        election_id: e.id,
        questions: e.questions.iter().map(QuestionDef::from).collect(),
    }
}

/// Lists the first few tracking codes of a failing check.
fn codes(list: &[&str]) -> String {
    let shown: Vec<&str> = list.iter().take(5).copied().collect();
    let more = if list.len() > 5 { ", ..." } else { "" };
    format!(
        "{} mismatch{} (tracking code {}{more})",
        list.len(),
        if list.len() == 1 { "" } else { "es" },
        shown.join(", ")
    )
}

fn verify(export: &Export, public_key: Option<&str>, report: &mut Report) {
    let def = definition_of(&export.election);
    let election_id = export.election.id;

    // Ballot hashes: SHA-256 of JCS {"election_id","answers","salt"},
    // answers sorted by question id, selections in ballot order.
    let bad: Vec<&str> = export
        .ballots
        .iter()
        .filter(|b| rules::ballot_hash(election_id, &b.answers, &b.salt) != b.ballot_hash)
        .map(|b| b.tracking_code.as_str())
        .collect();
    report.check(
        "ballot hashes",
        if bad.is_empty() {
            Ok(format!("{} ballots", export.ballots.len()))
        } else {
            Err(codes(&bad))
        },
    );

    // Merkle root over (tracking code, ballot hash) in tracking-code order.
    let in_order = export
        .ballots
        .windows(2)
        .all(|w| w[0].tracking_code < w[1].tracking_code);
    let tree = MerkleTree::from_leaves(
        export
            .ballots
            .iter()
            .map(|b| leaf_hash(&b.tracking_code, &b.ballot_hash))
            .collect(),
    );
    let root = hex::encode(tree.root());
    let results_root = export
        .results
        .as_ref()
        .and_then(|r| r.get("merkle_root"))
        .and_then(Value::as_str);
    report.check(
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
        "ballot count",
        match (export.ballot_count, results_count) {
            (Some(c), _) if c != n => Err(format!("{n} ballots listed, the export says {c}")),
            (_, Some(c)) if c != n => Err(format!("{n} ballots listed, the results say {c}")),
            _ => Ok(n.to_string()),
        },
    );

    let Some(results) = &export.results else {
        report.skip("recount", "the election is not tallied");
        report.skip("results signature", "the election is not tallied");
        check_audit(export, report);
        return;
    };

    // Recount every question from the ballots with the server's tally code.
    report.check("recount", recount(export, &def, results));

    // The signature over the canonical results without "signature".
    let signature = results.get("signature");
    let value = signature
        .and_then(|s| s.get("value"))
        .and_then(Value::as_str);
    let exported_key = export
        .public_key
        .as_ref()
        .and_then(|k| k.get("public_key"))
        .and_then(Value::as_str);
    let (key, source) = match (public_key, exported_key) {
        (Some(k), _) => (Some(k), "--public-key"),
        (None, k) => (k, "the key in the export; pass --public-key to pin it"),
    };
    report.check(
        "results signature",
        match (value, key) {
            (None, _) => Err("the results carry no signature".into()),
            (_, None) => Err("no public key: pass --public-key".into()),
            (Some(sig), Some(key)) => {
                if verify_b64(key, &signed_bytes_of(results), sig) {
                    Ok(format!("Ed25519, {source}"))
                } else {
                    Err(format!("does not verify ({source})"))
                }
            }
        },
    );
    check_audit(export, report);
}

/// Recounts every question and compares it with the stated results.
fn recount(export: &Export, def: &Definition, results: &Value) -> Result<String, String> {
    let seed = export
        .merkle_root
        .as_deref()
        .and_then(|m| hex::decode(m).ok())
        .ok_or("the export has no readable merkle_root (the tie-break seed)")?;
    let questions: HashMap<_, _> = def
        .questions
        .iter()
        .enumerate()
        .map(|(i, q)| (q.id, i))
        .collect();
    let mut counter = Counter::new(def);
    let mut bad: Vec<&str> = Vec::new();
    for b in &export.ballots {
        let mut positions: Vec<Option<Vec<u16>>> = vec![None; def.questions.len()];
        let mut ok = true;
        for a in &b.answers {
            let Some(&qi) = questions.get(&a.question_id) else {
                ok = false;
                continue;
            };
            let opts = &def.questions[qi].options;
            let p: Option<Vec<u16>> = a
                .selections
                .iter()
                .map(|s| opts.iter().position(|o| o == s).map(|i| i as u16))
                .collect();
            ok &= p.is_some() && positions[qi].is_none();
            positions[qi] = p;
        }
        let all: Option<Vec<Vec<u16>>> = positions.into_iter().collect();
        match all {
            Some(all) if ok => counter.add_positions(&all)?,
            _ => bad.push(&b.tracking_code),
        }
    }
    if !bad.is_empty() {
        return Err(format!(
            "answers that do not fit the election: {}",
            codes(&bad)
        ));
    }
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

/// The election's audit events: each recomputes its hash and consecutive
/// ones link; redacted events (naming voters) keep only their place.
fn check_audit(export: &Export, report: &mut Report) {
    let mut entries = Vec::with_capacity(export.audit_events.len());
    let mut redacted = 0;
    for v in &export.audit_events {
        let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let seq = v.get("seq").and_then(Value::as_i64).unwrap_or(0);
        let event = if v.get("redacted").and_then(Value::as_bool) == Some(true) {
            redacted += 1;
            None
        } else {
            match serde_json::from_value::<AuditEvent>(v.clone()) {
                Ok(e) => Some(e),
                Err(e) => {
                    report.check("audit chain", Err(format!("event {seq} is malformed: {e}")));
                    return;
                }
            }
        };
        entries.push(ChainEntry {
            seq,
            prev_hash: text("prev_hash"),
            hash: text("hash"),
            event,
        });
    }
    let gaps = entries
        .windows(2)
        .filter(|w| w[1].seq != w[0].seq + 1)
        .count();
    report.check(
        "audit chain",
        match verify_subsequence(&entries) {
            Ok(()) => Ok(format!(
                "{} events ({redacted} redacted), {gaps} gaps for events of other scopes (compare with GET /api/v1/audit-log)",
                entries.len()
            )),
            Err(seq) => Err(format!("event {seq} does not match its hash or does not link")),
        },
    );
}
