//! `ballotbox-castcheck`: a Jepsen-style checker for casting.
//!
//! It starts `ballotbox serve` itself on a database it is given, seeds
//! voters (sessions and tokens written straight to the database), and lets
//! C clients cast one ballot per voter through the HTTP API while a
//! controller kills the server with SIGKILL at random every `--min-secs` to
//! `--max-secs` seconds and starts it again, `--cycles` times; optionally it
//! also runs `--db-stop` under load, keeps the database down
//! `--outage-secs`, and runs `--db-start`.
//!
//! Every request is recorded as **ok** (201 with a receipt), **failed** (an
//! answer that says nothing was written: 4xx, 503) or **unknown** (no
//! answer: connection refused or reset, timeout, other 5xx). A client
//! retries a voter's cast with the same `Idempotency-Key` until it is
//! acknowledged, so an unknown outcome is resolved by the server's own
//! answer whenever it can be.
//!
//! At the end, with the server up: close, tally, export, `ballotbox verify`
//! on the export (ballot hashes, the Merkle root recomputed from the rows,
//! the recount, the signatures), and the ledger checks:
//! - **lost**: acknowledged tracking codes missing from the export (must be 0);
//! - **phantom**: exported ballots beyond the acknowledged ones (must not
//!   exceed the voters whose outcome stayed unknown);
//! - participations (`has_voted` on the roll) = ballots in the export;
//! - no voter with an answer that refused every attempt has voted.
//!
//! Exit 0 only when every check holds; the summary is printed as Markdown.

mod ledger;
mod server;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use rand::Rng;
use serde_json::{json, Value};

use ledger::{Ledger, Outcome};
use server::Server;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Debug, Parser, Clone)]
#[command(
    name = "ballotbox-castcheck",
    about = "Casts through crashes and outages, then checks nothing acknowledged was lost"
)]
pub struct Args {
    /// The ballotbox binary to run.
    #[arg(long, default_value = "target/debug/ballotbox")]
    pub bin: PathBuf,
    /// The database: a SQLite path or a postgres:// URL (a fresh one).
    #[arg(long)]
    pub database_url: String,
    /// The server's data folder (keys; the SQLite file's folder).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Port to serve on (kept across restarts).
    #[arg(long)]
    pub port: u16,
    /// Voters, each casting one ballot.
    #[arg(long, default_value_t = 400)]
    pub voters: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// SIGKILL-and-restart cycles.
    #[arg(long, default_value_t = 20)]
    pub cycles: usize,
    /// Shortest and longest time between kills, seconds.
    #[arg(long, default_value_t = 5.0)]
    pub min_secs: f64,
    #[arg(long, default_value_t = 30.0)]
    pub max_secs: f64,
    /// A shell command that stops the database abruptly (run once, halfway).
    #[arg(long)]
    pub db_stop: Option<String>,
    /// A shell command that starts it again.
    #[arg(long)]
    pub db_start: Option<String>,
    /// How long the database stays down.
    #[arg(long, default_value_t = 30.0)]
    pub outage_secs: f64,
    /// Where to write the summary (Markdown); also printed.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// A label for the summary (e.g. SQLite).
    #[arg(long, default_value = "")]
    pub label: String,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("castcheck: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match rt.block_on(run(args)) {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(e) => {
            eprintln!("castcheck: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> Res<bool> {
    let started = Instant::now();
    let mut server = Server::start(&args).await?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let seeded = ledger::seed(&args, args.voters)?;
    let base = format!("http://127.0.0.1:{}", args.port);

    // One plurality question; each voter picks at random.
    let election = post(
        &http,
        &base,
        "/api/v1/elections",
        &seeded.admin,
        &json!({
            "title": "castcheck", "description": "", "eligibility": "all_voters",
            "questions": [{"prompt": "Which?", "method": "plurality",
                           "options": [{"label": "A"}, {"label": "B"}, {"label": "C"}]}]
        }),
    )
    .await?;
    let eid = election["id"].as_str().ok_or("no election id")?.to_string();
    post(
        &http,
        &base,
        &format!("/api/v1/elections/{eid}/open"),
        &seeded.admin,
        &json!({}),
    )
    .await?;
    let question = election["questions"][0]["id"]
        .as_str()
        .ok_or("no question")?
        .to_string();
    let options: Vec<String> = election["questions"][0]["options"]
        .as_array()
        .ok_or("no options")?
        .iter()
        .filter_map(|o| o["id"].as_str().map(str::to_string))
        .collect();

    let ledger = Arc::new(Ledger::new(seeded.voters.len()));
    let queue = Arc::new(tokio::sync::Mutex::new(
        (0..seeded.voters.len()).collect::<Vec<_>>(),
    ));
    let voters = Arc::new(seeded.voters);
    let mut clients = Vec::new();
    for _ in 0..args.clients {
        let (http, base, eid, question, options) = (
            http.clone(),
            base.clone(),
            eid.clone(),
            question.clone(),
            options.clone(),
        );
        let (ledger, queue, voters) = (ledger.clone(), queue.clone(), voters.clone());
        clients.push(tokio::spawn(async move {
            loop {
                let Some(v) = queue.lock().await.pop() else {
                    break;
                };
                let pick = options[rand::thread_rng().gen_range(0..options.len())].clone();
                let body = json!({"answers": [{"question_id": question, "selections": [pick]}]});
                let key = uuid::Uuid::new_v4().to_string();
                // Until acknowledged or plainly refused for good.
                for attempt in 0..400u32 {
                    let sent = http
                        .post(format!("{base}/api/v1/elections/{eid}/ballots"))
                        .bearer_auth(&voters[v].1)
                        .header("idempotency-key", &key)
                        .json(&body)
                        .send()
                        .await;
                    let outcome = match sent {
                        Ok(resp) => {
                            let status = resp.status().as_u16();
                            match status {
                                201 => match resp.json::<Value>().await {
                                    Ok(r) => Outcome::Ok(
                                        r["receipt"]["tracking_code"]
                                            .as_str()
                                            .unwrap_or("")
                                            .to_string(),
                                    ),
                                    Err(_) => Outcome::Unknown,
                                },
                                400..=499 | 503 => Outcome::Failed(status),
                                _ => Outcome::Unknown,
                            }
                        }
                        Err(_) => Outcome::Unknown,
                    };
                    let settled = ledger.record(v, &outcome);
                    if settled {
                        break;
                    }
                    let wait = 50 + 20 * u64::from(attempt.min(25));
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                }
            }
        }));
    }

    // The controller: SIGKILL and restart, and the database outage halfway.
    let mut outage = None;
    for cycle in 0..args.cycles {
        let secs = rand::thread_rng().gen_range(args.min_secs..=args.max_secs.max(args.min_secs));
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
        if clients.iter().all(|c| c.is_finished()) {
            eprintln!("castcheck: every voter has cast after {cycle} cycles");
            break;
        }
        if cycle == args.cycles / 2 {
            if let (Some(stop), Some(start)) = (&args.db_stop, &args.db_start) {
                outage = Some(server::outage(&base, stop, start, args.outage_secs).await?);
            }
        }
        server.kill_and_restart(&args).await?;
        eprintln!(
            "castcheck: cycle {} of {}: killed and restarted",
            cycle + 1,
            args.cycles
        );
    }
    for c in clients {
        c.await?;
    }

    // The checks, with the server up and left alone.
    let export = server::close_tally_export(&http, &base, &seeded.admin, &eid, &args).await?;
    let verified = server::verify(&args, &export)?;
    let roll_voted = server::voted_count(&http, &base, &seeded.admin, &eid).await?;
    let exported: std::collections::HashSet<String> = export["ballots"]
        .as_array()
        .ok_or("export without ballots")?
        .iter()
        .filter_map(|b| b["tracking_code"].as_str().map(str::to_string))
        .collect();
    let summary = ledger.summary();
    let lost = summary
        .acked
        .iter()
        .filter(|c| !exported.contains(*c))
        .count();
    let phantom = exported.len().saturating_sub(summary.acked.len());
    let checks = [
        ("no acknowledged ballot lost", lost == 0),
        (
            "phantom ballots ≤ voters left unknown",
            phantom <= summary.unknown_voters,
        ),
        ("participations = ballots", roll_voted == exported.len()),
        (
            "ballotbox verify passes (hashes, root, recount, signatures)",
            verified,
        ),
        ("every voter settled", summary.unsettled == 0),
    ];
    server.stop();

    let mut out = String::new();
    out.push_str(&format!(
        "### Cast checker{}\n\n",
        if args.label.is_empty() {
            String::new()
        } else {
            format!(": {}", args.label)
        }
    ));
    out.push_str(&format!(
        "{} voters, {} clients, {} kill cycles every {}–{} s{}; {:.0} s in all.\n\n",
        args.voters,
        args.clients,
        server.restarts,
        args.min_secs,
        args.max_secs,
        match outage {
            Some(o) => format!(", database down {o:.0} s once"),
            None => String::new(),
        },
        started.elapsed().as_secs_f64()
    ));
    out.push_str("| requests ok | failed (answered) | unknown (no answer) | acknowledged | exported | lost | phantom | voted (roll) |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    out.push_str(&format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} |\n\n",
        summary.ok,
        summary.failed,
        summary.unknown,
        summary.acked.len(),
        exported.len(),
        lost,
        phantom,
        roll_voted
    ));
    for (name, ok) in &checks {
        out.push_str(&format!(
            "- {} {}\n",
            if *ok { "PASS" } else { "FAIL" },
            name
        ));
    }
    print!("{out}");
    if let Some(path) = &args.report {
        std::fs::write(path, &out)?;
    }
    Ok(checks.iter().all(|c| c.1))
}

/// POSTs as `token`; the JSON answer of a 2xx, else an error.
pub async fn post(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    token: &str,
    body: &Value,
) -> Res<Value> {
    for _ in 0..100 {
        match http
            .post(format!("{base}{path}"))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => return Ok(r.json().await.unwrap_or(Value::Null)),
            Ok(r) if r.status().as_u16() == 503 => {}
            Ok(r) => {
                return Err(format!(
                    "POST {path}: {} {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                )
                .into())
            }
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("POST {path}: no answer").into())
}
