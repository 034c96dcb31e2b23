//! `ballotbox count`: a thin wrapper over [`crate::tally::blt::count_blt_from`],
//! which streams the file.

use crate::tally::{blt, ties, Method};
use std::path::PathBuf;
use std::process::ExitCode;

/// Count a BLT ballot file and print the results as JSON.
#[derive(Debug, clap::Args)]
pub struct Count {
    /// Counting method: plurality, approval, borda, irv, stv or schulze.
    #[arg(long)]
    pub method: Method,
    /// Number of seats (overrides the file's).
    #[arg(long)]
    pub seats: Option<u32>,
    /// Tie-break seed in hex (default: SHA-256 of the file's bytes).
    #[arg(long, value_name = "HEX")]
    pub seed: Option<String>,
    /// The BLT file.
    pub file: PathBuf,
}

/// Runs the subcommand: exit 0 on success, 2 for a bad seed, a malformed
/// file or an impossible count, 1 when the file cannot be read.
pub fn run(args: &Count) -> ExitCode {
    let seed = match args.seed.as_deref().map(ties::parse_hex).transpose() {
        Ok(seed) => seed,
        Err(e) => return fail(2, &format!("--seed: {e}")),
    };
    let file = match std::fs::File::open(&args.file) {
        Ok(file) => std::io::BufReader::with_capacity(1 << 16, file),
        Err(e) => return fail(1, &format!("{}: {e}", args.file.display())),
    };
    match blt::count_blt_from(file, args.method, args.seats, seed.as_deref()) {
        Ok(report) => match serde_json::to_string_pretty(&report) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(1, &format!("cannot write JSON: {e}")),
        },
        Err(e @ blt::CountError::Io(_)) => fail(1, &format!("{}: {e}", args.file.display())),
        Err(e) => fail(2, &format!("{}: {e}", args.file.display())),
    }
}

fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("ballotbox count: error: {message}");
    ExitCode::from(code)
}
