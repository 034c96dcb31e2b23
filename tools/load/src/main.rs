//! `ballotbox-load`: the load generator behind `scripts/bench`.
//!
//! Given a running server (its base URL, its `DATABASE_URL`, its data folder
//! or JWT secret, and its process id), one run measures, in order:
//!
//! 1. **casting** through the API: C keep-alive clients, each voter casting
//!    exactly one ballot, until N ballots or T seconds; latencies in an HDR
//!    histogram, every non-201 status counted, the server's peak RSS;
//! 2. **the raw limit**: the same two-row transaction (participation row +
//!    ballot row, `db::write_tx`, durable commit) issued directly against the
//!    same database from C threads, no HTTP, no application logic; on
//!    PostgreSQL also `pgbench` running that transaction as a custom script;
//! 3. **casting at half the maximum rate** (paced, latency measured from each
//!    request's scheduled start, so queueing is not hidden);
//! 4. **login**: C clients logging in for T seconds, beside cores ÷ the time
//!    of one argon2id hash measured here, while a small paced group casts
//!    (its p99 compared with the same group on a quiet server);
//! 5. **tally**: M ballots written directly into a closed election, then the
//!    time to merely read them, `ballotbox count` on the same ballots as a
//!    BLT file, the library's count straight from the database, and `POST
//!    .../tally` when the server has that endpoint (404/405: skipped).
//!
//! Voters, sessions and the admin are seeded through `ballotbox::testkit`
//! (users with one precomputed argon2 hash, sessions written directly,
//! tokens signed with the server's key), so seeding pays no argon2 per
//! voter; elections are created and opened through the API. The report is a
//! markdown table, printed and optionally written to a file.
//!
//! One file per phase: `cast.rs` (1 and 3), `raw.rs` (2), `login.rs` (4),
//! `tally.rs` (5); `bench.rs` holds what they share, `report.rs` the figures.

mod bench;
mod cast;
mod login;
mod raw;
mod report;
mod tally;

use std::error::Error;
use std::path::PathBuf;

use ballotbox::db::DbUrl;
use clap::Parser;

use bench::Bench;
use report::Report;

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// The password every seeded voter has (one argon2 hash, computed once).
const PASSWORD: &str = "bench-password-0123456789";
/// Options of the benchmark's IRV question.
const OPTIONS: usize = 10;

#[derive(Debug, Parser)]
#[command(
    name = "ballotbox-load",
    about = "Load generator and benchmark for a running ballotbox server",
    long_about = "Seeds an election and voters through the library, then measures casting through the HTTP API against the raw two-row transaction, logins against argon2id, and the tally of many ballots. Reads the same configuration as the server (config/, BALLOTBOX_ENV, BALLOTBOX__* variables): run it from the repository root with the server's environment. Only ever point it at a server on 127.0.0.1."
)]
pub(crate) struct Args {
    /// Base URL of the running server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub(crate) url: String,
    /// The server's database (the same URL it was started with).
    #[arg(long, env = "DATABASE_URL")]
    pub(crate) database_url: String,
    /// The server's data folder: its development JWT secret is read from
    /// DIR/keys/jwt-secret (default: data.dir of the configuration).
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// The server's JWT secret (base64), when it is not in the data folder.
    #[arg(long, env = "BENCH_JWT_SECRET", hide_env_values = true)]
    pub(crate) jwt_secret: Option<String>,
    /// The server's process id, to read its peak RSS (VmHWM) from /proc.
    #[arg(long)]
    pub(crate) server_pid: Option<u32>,
    /// Voters to seed; each casts at most one ballot per election.
    #[arg(long, default_value_t = 20_000)]
    pub(crate) voters: usize,
    /// Concurrent HTTP clients (and threads for the raw loop and pgbench).
    #[arg(long, default_value_t = 64)]
    pub(crate) clients: usize,
    /// Time limit in seconds of the maximum-rate phases (API casting, raw loop).
    #[arg(long, default_value_t = 30.0)]
    pub(crate) secs: f64,
    /// Length in seconds of the paced phases (half rate, quiet probe) and pgbench.
    #[arg(long, default_value_t = 10.0)]
    pub(crate) paced_secs: f64,
    /// Length in seconds of the login storm.
    #[arg(long, default_value_t = 15.0)]
    pub(crate) login_secs: f64,
    /// Clients of the casting probe that runs beside the login storm.
    #[arg(long, default_value_t = 4)]
    pub(crate) probe_clients: usize,
    /// Ballots seeded for the tally measurements.
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) tally_ballots: usize,
    /// The `ballotbox` binary used for `ballotbox count`.
    #[arg(long, default_value = "target/release/ballotbox")]
    pub(crate) ballotbox_bin: PathBuf,
    /// The pgbench program (PostgreSQL only; skipped when it cannot run).
    #[arg(long, default_value = "pgbench")]
    pub(crate) pgbench: PathBuf,
    /// Folder for the BLT file and the pgbench script (default: a temporary one).
    #[arg(long, value_name = "DIR")]
    pub(crate) work_dir: Option<PathBuf>,
    /// Phases to run, comma-separated: cast, raw, login, tally.
    #[arg(long, value_delimiter = ',', default_value = "cast,raw,login,tally")]
    pub(crate) phases: Vec<String>,
    /// Name of the database in the report (default: from the URL).
    #[arg(long)]
    pub(crate) label: Option<String>,
    /// Also write the markdown report to this file.
    #[arg(long, value_name = "FILE")]
    pub(crate) report: Option<PathBuf>,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(args) {
        eprintln!("ballotbox-load: error: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Res<()> {
    for p in &args.phases {
        if !["cast", "raw", "login", "tally"].contains(&p.as_str()) {
            return Err(format!("--phases: unknown phase `{p}` (cast, raw, login, tally)").into());
        }
    }
    if !(args.url.starts_with("http://127.0.0.1") || args.url.starts_with("http://localhost")) {
        return Err("--url must be a server on 127.0.0.1 (this tool generates load)".into());
    }
    let bench = Bench::setup(args)?;
    let label = bench.args.label.clone().unwrap_or_else(|| match bench.url {
        DbUrl::Postgres(_) => "PostgreSQL".into(),
        DbUrl::Sqlite(_) => "SQLite".into(),
    });
    let mut report = Report {
        title: format!(
            "{label}: {} clients, {} voters, {} tally ballots",
            bench.args.clients, bench.args.voters, bench.args.tally_ballots
        ),
        rows: Vec::new(),
        notes: Vec::new(),
    };
    let phase = |name: &str, b: &Bench| b.args.phases.iter().any(|p| p == name);
    let mut api_rate = None;
    let mut api_ok = 0;
    if phase("cast", &bench) {
        let (rate, ok) = bench.cast_phase(&mut report)?;
        api_rate = Some(rate);
        api_ok = ok;
    }
    if phase("raw", &bench) {
        bench.raw_phase(&mut report, api_rate)?;
    }
    if phase("cast", &bench) {
        bench.half_rate_phase(&mut report, api_rate.unwrap_or(0.0))?;
    }
    if phase("login", &bench) {
        bench.login_phase(&mut report, api_rate)?;
    }
    if phase("tally", &bench) {
        bench.tally_phase(&mut report)?;
    }
    if let Some(rss) = bench.rss() {
        report.row(
            "server peak RSS at the end of the run (VmHWM)",
            rss,
            "",
            None,
        );
    }
    let md = report.markdown();
    println!("{md}");
    if let Some(path) = &bench.args.report {
        std::fs::write(path, &md).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if phase("cast", &bench) && api_ok == 0 {
        return Err("no ballot was accepted through the API".into());
    }
    Ok(())
}
