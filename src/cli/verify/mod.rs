//! `ballotbox verify`: checks a JSON export offline with the server's own
//! code, and prints one line per named check (`ok`, `FAIL` or `skip`).
//! The checks, in order: `export format`, `ballot hashes`, `ballot
//! validity`, `merkle root`, `ballot count`, `recount`, `election digest`,
//! `results signature`, `audit chain`, `audit redactions`, `audit
//! lifecycle`, `audit checkpoint`, `kept checkpoints`.
//!
//! Exit status: 0 when every check holds; 2 when the export or the
//! checkpoints file cannot be read; otherwise 1 plus a bit per group of
//! failed checks: 4 ballots (hashes, validity, Merkle root, count), 8
//! results (recount, digest, signature), 16 audit (chain, redactions,
//! lifecycle, checkpoints). So `status & 16` means "the audit trail does not
//! hold".

mod audit;
mod ballots;

use std::path::PathBuf;
use std::process::ExitCode;

use serde::Deserialize;
use serde_json::Value;

use crate::audit::checkpoint::Checkpoint;
use crate::ballots::model::Answer;
use crate::crypto::keys::verify_b64;
use crate::elections::definition::{Definition, QuestionDef};
use crate::elections::model::Election;
use crate::results::export::JSON_FORMAT;
use crate::results::integrity::election_digest;
use crate::results::model::signed_bytes_of;

/// Check a JSON export: recount it with each method's ballot rules,
/// recompute its ballot hashes, Merkle root and election digest, and verify
/// the results signature, the audit chain and its signed checkpoint.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 every check holds; 2 unreadable input; otherwise 1 \
    plus 4 if a ballot check failed (hashes, validity, Merkle root, count), 8 if a results \
    check failed (recount, election digest, signature), 16 if an audit check failed (chain, \
    redactions, lifecycle, checkpoints)."
)]
pub struct Verify {
    /// The export (`GET /api/v1/elections/{id}/export?format=json`).
    pub file: PathBuf,
    /// The results signing key, base64 (from `GET /api/v1/keys`). Without it
    /// the key inside the export is used, which shows the export is
    /// consistent but not who signed it.
    #[arg(long, value_name = "B64")]
    pub public_key: Option<String>,
    /// Checkpoints kept earlier (`GET /api/v1/audit-log/checkpoints`, the
    /// page or its `items`): each must verify and match the export's event
    /// at its `seq`, so a chain rewritten since is caught.
    #[arg(long, value_name = "FILE")]
    pub checkpoints: Option<PathBuf>,
}

/// Exit bits per group of checks.
const FORMAT: u8 = 0;
const BALLOTS: u8 = 4;
const RESULTS: u8 = 8;
const AUDIT: u8 = 16;

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
    #[serde(default)]
    format: Option<String>,
    election: Election,
    merkle_root: Option<String>,
    #[serde(default)]
    public_key: Option<Value>,
    ballots: Vec<ExportBallot>,
    ballot_count: Option<u64>,
    results: Option<Value>,
    #[serde(default)]
    audit_events: Vec<Value>,
    #[serde(default)]
    checkpoint: Option<Value>,
}

/// The outcome of each check, printed as it is made.
struct Report {
    status: u8,
}

impl Report {
    fn check(&mut self, group: u8, name: &str, result: Result<String, String>) {
        match result {
            Ok(note) if note.is_empty() => println!("ok   {name}"),
            Ok(note) => println!("ok   {name}: {note}"),
            Err(why) => {
                self.status |= 1 | group;
                println!("FAIL {name}: {why}");
            }
        }
    }

    fn skip(&self, name: &str, why: &str) {
        println!("skip {name}: {why}");
    }
}

/// The key signatures are checked with, and where it came from.
struct Key<'a> {
    b64: Option<&'a str>,
    source: &'static str,
}

impl Key<'_> {
    /// Checks a signature, or says why it does not hold.
    fn verify(&self, message: &[u8], signature: &str) -> Result<String, String> {
        match self.b64 {
            None => Err("no public key: pass --public-key".into()),
            Some(k) if verify_b64(k, message, signature) => Ok(format!("Ed25519, {}", self.source)),
            Some(_) => Err(format!("does not verify ({})", self.source)),
        }
    }
}

/// Runs the subcommand (exit status in the module doc).
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
    let kept = match &args.checkpoints {
        None => None,
        Some(path) => match read_checkpoints(path) {
            Ok(list) => Some(list),
            Err(e) => return fail(&format!("{}: {e}", path.display())),
        },
    };
    let mut report = Report { status: 0 };
    verify(
        &export,
        args.public_key.as_deref(),
        kept.as_deref(),
        &mut report,
    );
    if report.status != 0 {
        eprintln!(
            "ballotbox verify: checks failed (exit status {})",
            report.status
        );
    }
    ExitCode::from(report.status)
}

fn fail(message: &str) -> ExitCode {
    eprintln!("ballotbox verify: error: {message}");
    ExitCode::from(2)
}

/// A list of checkpoints, or a page of them as the API serves it.
fn read_checkpoints(path: &std::path::Path) -> Result<Vec<Checkpoint>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    let list = match value.get("items") {
        Some(items) => items.clone(),
        None => value,
    };
    serde_json::from_value(list).map_err(|e| format!("not a list of checkpoints: {e}"))
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

fn verify(
    export: &Export,
    public_key: Option<&str>,
    kept: Option<&[Checkpoint]>,
    report: &mut Report,
) {
    report.check(
        FORMAT,
        "export format",
        match export.format.as_deref() {
            Some(JSON_FORMAT) => Ok(JSON_FORMAT.into()),
            Some(other) => Err(format!("{other}; this verifier reads {JSON_FORMAT}")),
            None => Err("the export names no format".into()),
        },
    );
    let def = definition_of(&export.election);
    let exported_key = export
        .public_key
        .as_ref()
        .and_then(|k| k.get("public_key"))
        .and_then(Value::as_str);
    let key = match (public_key, exported_key) {
        (Some(k), _) => Key {
            b64: Some(k),
            source: "--public-key",
        },
        (None, k) => Key {
            b64: k,
            source: "the key in the export; pass --public-key to pin it",
        },
    };

    let counter = ballots::check(export, &def, report);

    match &export.results {
        None => {
            for name in ["recount", "election digest", "results signature"] {
                report.skip(name, "the election is not tallied");
            }
        }
        Some(results) => {
            report.check(
                RESULTS,
                "recount",
                ballots::recount(export, counter, results),
            );
            // The definition the results were signed over: a label, prompt
            // or option order changed in the export no longer matches.
            let digest = election_digest(&export.election);
            report.check(
                RESULTS,
                "election digest",
                match results.get("election_digest").and_then(Value::as_str) {
                    None => Err("the results carry no election_digest".into()),
                    Some(d) if d != digest => Err(format!(
                        "the export's election hashes to {digest}, the signed results say {d}"
                    )),
                    Some(_) => Ok(digest),
                },
            );
            let signature = results
                .get("signature")
                .and_then(|s| s.get("value"))
                .and_then(Value::as_str);
            report.check(
                RESULTS,
                "results signature",
                match signature {
                    None => Err("the results carry no signature".into()),
                    Some(sig) => key.verify(&signed_bytes_of(results), sig),
                },
            );
        }
    }
    audit::check(export, &key, kept, report);
}
