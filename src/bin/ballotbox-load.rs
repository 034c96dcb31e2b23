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
//! Voters, sessions and the admin are seeded through the library
//! (`users::service::create_user` with one precomputed argon2 hash, sessions
//! through the auth repo, tokens from `auth::tokens::issue_access_token`), so
//! seeding pays no argon2 per voter. The report is a markdown table, printed
//! and optionally written to a file.

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ballotbox::auth::model::SessionId;
use ballotbox::auth::password::Hasher;
use ballotbox::auth::{repo as auth_repo, tokens};
use ballotbox::ballots::model::{BallotId, BallotRow, ParticipationRow};
use ballotbox::ballots::{repo as ballots_repo, rules};
use ballotbox::config::Settings;
use ballotbox::crypto::{sha256_hex, Keys};
use ballotbox::db::schema::ballots;
use ballotbox::db::types::Time;
use ballotbox::db::{self, write_tx, DbConnection, DbPool, DbUrl, PoolOptions};
use ballotbox::elections::ElectionId;
use ballotbox::tally::{self, Aggregator};
use ballotbox::users::{service as users, Role, UserId};
use clap::Parser;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use hdrhistogram::Histogram;
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::{json, Value};

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
struct Args {
    /// Base URL of the running server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The server's database (the same URL it was started with).
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// The server's data folder: its development JWT secret is read from
    /// DIR/keys/jwt-secret (default: data.dir of the configuration).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The server's JWT secret (base64), when it is not in the data folder.
    #[arg(long, env = "BENCH_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// The server's process id, to read its peak RSS (VmHWM) from /proc.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Voters to seed; each casts at most one ballot per election.
    #[arg(long, default_value_t = 20_000)]
    voters: usize,
    /// Concurrent HTTP clients (and threads for the raw loop and pgbench).
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Time limit in seconds of the maximum-rate phases (API casting, raw loop).
    #[arg(long, default_value_t = 30.0)]
    secs: f64,
    /// Length in seconds of the paced phases (half rate, quiet probe) and pgbench.
    #[arg(long, default_value_t = 10.0)]
    paced_secs: f64,
    /// Length in seconds of the login storm.
    #[arg(long, default_value_t = 15.0)]
    login_secs: f64,
    /// Clients of the casting probe that runs beside the login storm.
    #[arg(long, default_value_t = 4)]
    probe_clients: usize,
    /// Ballots seeded for the tally measurements.
    #[arg(long, default_value_t = 1_000_000)]
    tally_ballots: usize,
    /// The `ballotbox` binary used for `ballotbox count`.
    #[arg(long, default_value = "target/release/ballotbox")]
    ballotbox_bin: PathBuf,
    /// The pgbench program (PostgreSQL only; skipped when it cannot run).
    #[arg(long, default_value = "pgbench")]
    pgbench: PathBuf,
    /// Folder for the BLT file and the pgbench script (default: a temporary one).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Phases to run, comma-separated: cast, raw, login, tally.
    #[arg(long, value_delimiter = ',', default_value = "cast,raw,login,tally")]
    phases: Vec<String>,
    /// Name of the database in the report (default: from the URL).
    #[arg(long)]
    label: Option<String>,
    /// Also write the markdown report to this file.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

/// A seeded voter: the session their tokens are bound to.
#[derive(Clone)]
struct Voter {
    id: UserId,
    email: String,
    session: SessionId,
}

/// The ids a ballot needs.
#[derive(Clone)]
struct ElectionInfo {
    id: String,
    question: String,
    options: Vec<String>,
}

/// What one phase of requests or transactions measured.
struct Run {
    ok: u64,
    statuses: BTreeMap<String, u64>,
    hist: Histogram<u64>,
    elapsed: Duration,
}

impl Run {
    fn new() -> Self {
        Self {
            ok: 0,
            statuses: BTreeMap::new(),
            hist: new_hist(),
            elapsed: Duration::ZERO,
        }
    }

    fn merge(&mut self, other: &Run) {
        self.ok += other.ok;
        for (k, v) in &other.statuses {
            *self.statuses.entry(k.clone()).or_default() += v;
        }
        // Same bounds on both sides: cannot fail.
        let _ = self.hist.add(&other.hist);
    }

    fn record(&mut self, micros: u64) {
        self.hist.saturating_record(micros.max(1));
    }

    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn ms(&self, q: f64) -> f64 {
        self.hist.value_at_quantile(q) as f64 / 1000.0
    }

    fn latencies(&self) -> String {
        if self.hist.is_empty() {
            return "no requests".into();
        }
        format!(
            "p50 {:.1} / p95 {:.1} / p99 {:.1} / max {:.1} ms",
            self.ms(0.5),
            self.ms(0.95),
            self.ms(0.99),
            self.hist.max() as f64 / 1000.0
        )
    }

    fn failures(&self) -> String {
        if self.statuses.is_empty() {
            "none".into()
        } else {
            self.statuses
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

fn new_hist() -> Histogram<u64> {
    // 1 µs to 10 min, 3 significant digits; these bounds are valid.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// The report: rows of (measure, measured, target, verdict).
struct Report {
    title: String,
    rows: Vec<[String; 4]>,
    notes: Vec<String>,
}

impl Report {
    fn row(&mut self, measure: &str, measured: String, target: &str, verdict: Option<bool>) {
        let verdict = match verdict {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "",
        };
        let line = [measure.into(), measured, target.into(), verdict.into()];
        eprintln!("  {} | {} | {} | {}", line[0], line[1], line[2], line[3]);
        self.rows.push(line);
    }

    fn markdown(&self) -> String {
        let mut s = format!(
            "### {}\n\n| measure | measured | target | met |\n| --- | --- | --- | --- |\n",
            self.title
        );
        for r in &self.rows {
            let _ = writeln!(s, "| {} | {} | {} | {} |", r[0], r[1], r[2], r[3]);
        }
        if !self.notes.is_empty() {
            s.push('\n');
            for n in &self.notes {
                let _ = writeln!(s, "- {n}");
            }
        }
        s
    }
}

/// Everything the phases share.
struct Bench {
    args: Args,
    settings: Settings,
    keys: Keys,
    url: DbUrl,
    pool: DbPool,
    http: reqwest::Client,
    rt: tokio::runtime::Runtime,
    admin_token: String,
    voters: Arc<Vec<Voter>>,
    tag: String,
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

impl Bench {
    fn setup(args: Args) -> Res<Self> {
        let mut settings = Settings::load().map_err(|e| e.to_string())?;
        settings.database.url = args.database_url.clone();
        if let Some(dir) = &args.data_dir {
            let secret = dir.join("keys").join("jwt-secret");
            if args.jwt_secret.is_none() && !secret.exists() {
                return Err(format!(
                    "{} does not exist: start the server first, or pass --jwt-secret",
                    secret.display()
                )
                .into());
            }
            settings.data.dir = dir.clone();
        }
        if let Some(s) = &args.jwt_secret {
            settings.keys.jwt_secret = s.clone();
        }
        let keys = Keys::load(&settings)?;
        let url = DbUrl::parse(&args.database_url)?;
        let pool = db::build_pool(
            &url,
            &PoolOptions {
                size: 2,
                connect_timeout: Duration::from_secs(30),
                busy_timeout_ms: settings.database.sqlite_busy_timeout_ms,
            },
        )?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(usize::MAX)
            .timeout(Duration::from_secs(120))
            .build()?;
        let tag = format!("{:08x}", rand::thread_rng().gen::<u32>());
        let mut b = Self {
            args,
            settings,
            keys,
            url,
            pool,
            http,
            rt,
            admin_token: String::new(),
            voters: Arc::new(Vec::new()),
            tag,
        };
        b.seed()?;
        Ok(b)
    }

    /// A connection for seeding, with durability off: seeding is not measured.
    fn seeding_pool(&self, size: u32) -> Res<DbPool> {
        let pool = db::build_pool(
            &self.url,
            &PoolOptions {
                size,
                connect_timeout: Duration::from_secs(30),
                busy_timeout_ms: 60_000,
            },
        )?;
        Ok(pool)
    }

    fn fast_conn(pool: &DbPool) -> Res<db::PooledConn> {
        let mut c = pool.get()?;
        if db::is_pg(&c) {
            c.batch_execute("SET synchronous_commit = off")?;
        } else {
            c.batch_execute("PRAGMA synchronous = OFF")?;
        }
        Ok(c)
    }

    fn seed(&mut self) -> Res<()> {
        let t0 = Instant::now();
        let hasher = Hasher::new(&self.settings.auth)?;
        let hash = hasher.hash(PASSWORD).map_err(|e| e.to_string())?;
        let threads = 4usize;
        let pool = self.seeding_pool(threads as u32)?;
        let ttl = chrono::Duration::days(1);
        let (admin, admin_sid) = {
            let mut c = Self::fast_conn(&pool)?;
            let email = format!("admin-{}@bench.example.org", self.tag);
            let u = users::create_user(&mut c, &email, "Bench admin", &[Role::Admin], Some(&hash))
                .map_err(|e| format!("create admin: {e}"))?;
            let sid = new_session(&mut c, u.id, ttl)?;
            (u.id, sid)
        };
        self.admin_token = tokens::issue_access_token(
            &self.keys,
            &self.settings.auth,
            admin,
            admin_sid,
            &[Role::Admin],
        )?;
        let n = self.args.voters;
        let tag = self.tag.clone();
        let out: Mutex<Vec<(usize, Voter)>> = Mutex::new(Vec::with_capacity(n));
        let next = AtomicUsize::new(0);
        std::thread::scope(|s| -> Res<()> {
            let mut handles = Vec::new();
            for _ in 0..threads {
                handles.push(s.spawn(|| -> Res<()> {
                    let mut c = Self::fast_conn(&pool)?;
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        let email = format!("voter-{tag}-{i}@bench.example.org");
                        let u = users::create_user(
                            &mut c,
                            &email,
                            &format!("Voter {i}"),
                            &[Role::Voter],
                            Some(&hash),
                        )
                        .map_err(|e| format!("create voter: {e}"))?;
                        mine.push((i, u.id, email));
                    }
                    // Sessions in big transactions.
                    for chunk in mine.chunks(1000) {
                        let voters =
                            write_tx(&mut c, |c| -> Result<Vec<_>, diesel::result::Error> {
                                let now = Time::now();
                                chunk
                                    .iter()
                                    .map(|(i, id, email)| {
                                        let sid = auth_repo::create_session(
                                            c,
                                            *id,
                                            now,
                                            Time(now.0 + ttl),
                                        )?;
                                        Ok((
                                            *i,
                                            Voter {
                                                id: *id,
                                                email: email.clone(),
                                                session: sid,
                                            },
                                        ))
                                    })
                                    .collect()
                            })?;
                        out.lock().map_err(|_| "poisoned")?.extend(voters);
                    }
                    Ok(())
                }));
            }
            for h in handles {
                h.join().map_err(|_| "a seeding thread panicked")??;
            }
            Ok(())
        })?;
        let mut voters = out.into_inner().map_err(|_| "poisoned")?;
        voters.sort_by_key(|v| v.0);
        self.voters = Arc::new(voters.into_iter().map(|v| v.1).collect());
        eprintln!(
            "seeded an admin and {n} voters with sessions in {:.1} s",
            t0.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// Fresh access tokens for every voter (they live at most 15 minutes).
    fn tokens(&self) -> Res<Arc<Vec<String>>> {
        let v = self
            .voters
            .iter()
            .map(|v| {
                tokens::issue_access_token(
                    &self.keys,
                    &self.settings.auth,
                    v.id,
                    v.session,
                    &[Role::Voter],
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Arc::new(v))
    }

    fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.args.url.trim_end_matches('/'))
    }

    /// An admin request; any status outside 2xx is an error.
    fn admin_post(&self, path: &str, body: Value) -> Res<Value> {
        let (status, value) = self.admin_post_status(path, body)?;
        if !(200..300).contains(&status) {
            return Err(format!("POST {path}: {status} {value}").into());
        }
        Ok(value)
    }

    fn admin_post_status(&self, path: &str, body: Value) -> Res<(u16, Value)> {
        let req = self
            .http
            .post(self.api(path))
            .bearer_auth(&self.admin_token)
            .json(&body);
        self.rt.block_on(async {
            let resp = req.send().await?;
            let status = resp.status().as_u16();
            let text = resp.text().await?;
            Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
        })
    }

    /// Creates an `all_voters` election with one IRV question of ten options.
    fn election(&self, title: &str, open: bool) -> Res<ElectionInfo> {
        let options: Vec<Value> = (1..=OPTIONS)
            .map(|i| json!({ "label": format!("Option {i}") }))
            .collect();
        let e = self.admin_post(
            "/elections",
            json!({
                "title": format!("{title} {}", self.tag),
                "description": "ballotbox-load",
                "eligibility": "all_voters",
                "questions": [{"prompt": "Rank the options", "method": "irv", "options": options}],
            }),
        )?;
        let str_at = |v: &Value| {
            v.as_str()
                .map(str::to_string)
                .ok_or("unexpected election JSON")
        };
        let id = str_at(&e["id"])?;
        let q = &e["questions"][0];
        let info = ElectionInfo {
            id: id.clone(),
            question: str_at(&q["id"])?,
            options: q["options"]
                .as_array()
                .ok_or("unexpected election JSON")?
                .iter()
                .map(|o| str_at(&o["id"]))
                .collect::<Result<_, _>>()?,
        };
        if open {
            self.admin_post(&format!("/elections/{id}/open"), json!({}))?;
        }
        Ok(info)
    }

    /// Peak and current RSS of the server.
    fn rss(&self) -> Option<String> {
        let pid = self.args.server_pid?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        };
        Some(format!(
            "{:.1} MiB (now {:.1} MiB)",
            field("VmHWM:")? / 1024.0,
            field("VmRSS:")? / 1024.0
        ))
    }

    fn rss_mib(&self) -> Option<f64> {
        let pid = self.args.server_pid?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
    }

    /// Casts ballots: `clients` clients take voters `from..to` in turn until
    /// they run out or `secs` pass; paced at `rate` requests/s when given.
    #[allow(clippy::too_many_arguments)]
    fn cast(
        &self,
        e: &ElectionInfo,
        toks: &Arc<Vec<String>>,
        from: usize,
        to: usize,
        clients: usize,
        secs: f64,
        rate: Option<f64>,
        stop: Option<Arc<AtomicBool>>,
    ) -> Run {
        let next = Arc::new(AtomicUsize::new(from));
        let slot = Arc::new(AtomicUsize::new(0));
        let url = self.api(&format!("/elections/{}/ballots", e.id));
        let start = Instant::now();
        let deadline = Duration::from_secs_f64(secs);
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let (http, url, e, toks) = (self.http.clone(), url.clone(), e.clone(), toks.clone());
            let (next, slot, stop) = (next.clone(), slot.clone(), stop.clone());
            tasks.push(self.rt.spawn(async move {
                let mut run = Run::new();
                loop {
                    if stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed)) {
                        break;
                    }
                    let scheduled = match rate {
                        Some(r) => {
                            let k = slot.fetch_add(1, Ordering::Relaxed);
                            let at = Duration::from_secs_f64(k as f64 / r);
                            if at >= deadline {
                                break;
                            }
                            tokio::time::sleep_until((start + at).into()).await;
                            start + at
                        }
                        None => {
                            if start.elapsed() >= deadline {
                                break;
                            }
                            Instant::now()
                        }
                    };
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= to {
                        break;
                    }
                    let body = ballot_body(&e);
                    let resp = http
                        .post(&url)
                        .bearer_auth(&toks[i])
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await;
                    let status = match resp {
                        Ok(r) => {
                            let s = r.status().as_u16();
                            // Read the body so the connection is reused.
                            let _ = r.bytes().await;
                            s.to_string()
                        }
                        Err(err) => format!("transport error ({})", short_error(&err)),
                    };
                    run.record(scheduled.elapsed().as_micros() as u64);
                    if status == "201" {
                        run.ok += 1;
                    } else {
                        *run.statuses.entry(status).or_default() += 1;
                    }
                }
                run
            }));
        }
        let mut total = Run::new();
        self.rt.block_on(async {
            for t in tasks {
                match t.await {
                    Ok(r) => total.merge(&r),
                    Err(_) => *total.statuses.entry("client panic".into()).or_default() += 1,
                }
            }
        });
        total.elapsed = start.elapsed();
        total
    }

    fn cast_phase(&self, report: &mut Report) -> Res<(f64, u64)> {
        let e = self.election("Bench casting", true)?;
        let toks = self.tokens()?;
        let (c, n) = (self.args.clients, self.args.voters);
        eprintln!(
            "casting: {c} clients, up to {n} ballots or {} s",
            self.args.secs
        );
        let run = self.cast(&e, &toks, 0, n, c, self.args.secs, None, None);
        report.row(
            &format!("casting through the API, {c} clients"),
            format!(
                "**{:.0} ballots/s** ({} accepted in {:.1} s)",
                run.rate(),
                run.ok,
                run.elapsed.as_secs_f64()
            ),
            "≥ 80 % of the raw rate",
            None,
        );
        report.row(
            "casting latency at the maximum rate",
            run.latencies(),
            "",
            None,
        );
        report.row(
            "casting: statuses other than 201",
            run.failures(),
            "none",
            Some(run.statuses.is_empty()),
        );
        if let Some(mib) = self.rss_mib() {
            report.row(
                "server peak RSS after casting (VmHWM)",
                format!("{mib:.1} MiB"),
                "≤ 64 MiB",
                Some(mib <= 64.0),
            );
        }
        Ok((run.rate(), run.ok))
    }

    fn half_rate_phase(&self, report: &mut Report, max_rate: f64) -> Res<()> {
        if max_rate <= 0.0 {
            return Ok(());
        }
        let e = self.election("Bench half rate", true)?;
        let toks = self.tokens()?;
        let rate = max_rate / 2.0;
        let secs = self.args.paced_secs;
        let n = ((rate * secs) as usize).min(self.args.voters);
        eprintln!("casting at half rate: {rate:.0}/s for {secs} s");
        let run = self.cast(&e, &toks, 0, n, self.args.clients, secs, Some(rate), None);
        let p99 = run.ms(0.99);
        report.row(
            &format!(
                "casting paced at half the maximum ({rate:.0}/s), {} clients",
                self.args.clients
            ),
            format!(
                "{} ({} accepted; other statuses: {})",
                run.latencies(),
                run.ok,
                run.failures()
            ),
            "p99 < 20 ms",
            Some(p99 < 20.0 && run.ok > 0),
        );
        Ok(())
    }

    fn raw_phase(&self, report: &mut Report, api_rate: Option<f64>) -> Res<()> {
        let c = self.args.clients;
        let raw = self.raw(c, self.args.secs)?;
        report.row(
            &format!("raw two-row transaction (`write_tx`, no HTTP), {c} threads"),
            format!(
                "**{:.0} tx/s** ({} in {:.1} s; {}; errors: {})",
                raw.rate(),
                raw.ok,
                raw.elapsed.as_secs_f64(),
                raw.latencies(),
                raw.failures()
            ),
            "",
            None,
        );
        if let Some(api) = api_rate {
            let ratio = api / raw.rate().max(1e-9);
            report.row(
                "API ÷ raw",
                format!("**{:.0} %**", ratio * 100.0),
                "≥ 80 %",
                Some(ratio >= 0.8),
            );
        }
        match &self.url {
            DbUrl::Postgres(url) => match self.pgbench(url, raw.rate()) {
                Ok(line) => report.row(
                    &format!("pgbench, the same transaction as a custom script, -c {c} -j 2"),
                    line,
                    "",
                    None,
                ),
                Err(e) => report.notes.push(format!("pgbench did not run: {e}")),
            },
            DbUrl::Sqlite(_) => {
                // SQLite has one writer: waiting writers sleep in its busy
                // handler, so one thread shows the file's own commit rate.
                let one = self.raw(1, self.args.paced_secs)?;
                report.row(
                    "raw two-row transaction, 1 thread (SQLite's single-writer rate)",
                    format!(
                        "{:.0} tx/s ({}; errors: {})",
                        one.rate(),
                        one.latencies(),
                        one.failures()
                    ),
                    "",
                    None,
                );
            }
        }
        Ok(())
    }

    /// The two-row transaction from `c` threads, each voter once, into a
    /// fresh election, until the voters run out or `secs` pass.
    fn raw(&self, c: usize, secs: f64) -> Res<Run> {
        let e = self.election("Bench raw", true)?;
        let eid = ElectionId(e.id.parse()?);
        let n = self.args.voters;
        eprintln!("raw transaction: {c} threads, up to {n} or {secs} s");
        // A pool of its own, closed at the end: pgbench needs the
        // connections next.
        let pool = db::build_pool(
            &self.url,
            &PoolOptions {
                size: c as u32,
                connect_timeout: Duration::from_secs(30),
                busy_timeout_ms: self.settings.database.sqlite_busy_timeout_ms,
            },
        )?;
        let next = AtomicUsize::new(0);
        let deadline = Duration::from_secs_f64(secs);
        let start = Instant::now();
        let runs: Vec<Run> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..c)
                .map(|_| {
                    s.spawn(|| {
                        let mut run = Run::new();
                        let mut conn = match pool.get() {
                            Ok(conn) => conn,
                            Err(e) => {
                                run.statuses.insert(format!("no connection: {e}"), 1);
                                return run;
                            }
                        };
                        let mut rng = rand::thread_rng();
                        while start.elapsed() < deadline {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if i >= n {
                                break;
                            }
                            let content = random_content(&mut rng);
                            let t = Instant::now();
                            let r = write_tx(&mut conn, |c| -> QueryResult<()> {
                                ballots_repo::insert_participation(
                                    c,
                                    &ParticipationRow {
                                        election_id: eid,
                                        voter_id: self.voters[i].id,
                                        cast_at: Time::now(),
                                        idempotency_key_hash: None,
                                        idempotency_sealed: None,
                                    },
                                )?;
                                ballots_repo::insert_ballot(
                                    c,
                                    &BallotRow {
                                        id: BallotId(uuid::Uuid::new_v4()),
                                        election_id: eid,
                                        tracking_code: rules::tracking_code(),
                                        ballot_hash: sha256_hex(content.as_bytes()),
                                        content,
                                        salt: rules::salt(),
                                    },
                                )
                            });
                            run.record(t.elapsed().as_micros() as u64);
                            match r {
                                Ok(()) => run.ok += 1,
                                Err(e) => *run.statuses.entry(short_db_error(&e)).or_default() += 1,
                            }
                        }
                        run
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Run::new()))
                .collect()
        });
        let mut raw = Run::new();
        for r in &runs {
            raw.merge(r);
        }
        raw.elapsed = start.elapsed();
        Ok(raw)
    }

    /// Runs the two-row transaction through pgbench. Its voters are extra
    /// users with ids `md5(n)::uuid`, n from a sequence, so that every
    /// transaction inserts a new participation as casting does.
    fn pgbench(&self, url: &str, raw_rate: f64) -> Res<String> {
        let secs = self.args.paced_secs.ceil().max(1.0) as u64;
        let users = ((raw_rate.max(500.0) * secs as f64 * 3.0) as u64).max(10_000);
        let e = self.election("Bench pgbench", true)?;
        let pool = self.seeding_pool(1)?;
        let mut c = Self::fast_conn(&pool)?;
        c.batch_execute(&format!(
            "DROP SEQUENCE IF EXISTS bench_seq; CREATE SEQUENCE bench_seq;
             INSERT INTO users (id, email, email_normalized, display_name, password_hash, disabled, created_at)
             SELECT md5('{tag}' || i)::uuid, 'pgb-{tag}-' || i || '@bench.example.org',
                    'pgb-{tag}-' || i || '@bench.example.org', 'pgbench voter', NULL, false, now()
             FROM generate_series(1, {users}) AS i;
             ANALYZE users;",
            tag = self.tag
        ))?;
        drop(c);
        let script = format!(
            "BEGIN;\n\
             INSERT INTO participations (election_id, voter_id, cast_at) VALUES ('{eid}', md5('{tag}' || nextval('bench_seq'))::uuid, now());\n\
             INSERT INTO ballots (id, election_id, tracking_code, ballot_hash, content) VALUES (gen_random_uuid(), '{eid}', substr(md5(random()::text), 1, 16), md5(random()::text) || md5(random()::text), '3,1,4,1');\n\
             COMMIT;\n",
            eid = e.id,
            tag = self.tag
        );
        let dir = self.work_dir()?;
        let path = dir.join("pgbench-cast.sql");
        std::fs::write(&path, &script).map_err(|e| format!("{}: {e}", path.display()))?;
        let c = self.args.clients.to_string();
        let secs_s = secs.to_string();
        let cmd_line = format!("pgbench -n -f {} -c {c} -j 2 -T {secs_s}", path.display());
        eprintln!("{cmd_line}");
        let out = Command::new(&self.args.pgbench)
            .args(["-n", "-f"])
            .arg(&path)
            .args(["-c", &c, "-j", "2", "-T", &secs_s, url])
            .output()
            .map_err(|e| format!("{}: {e}", self.args.pgbench.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(format!("{}: {}", out.status, stderr.trim().replace('\n', " ")).into());
        }
        let find = |prefix: &str| {
            stdout
                .lines()
                .find(|l| l.trim_start().starts_with(prefix))
                .map(|l| l.trim().to_string())
        };
        let tps = find("tps").ok_or("no tps line in pgbench's output")?;
        let tps_value = tps
            .split_whitespace()
            .nth(2)
            .and_then(|v| v.parse::<f64>().ok())
            .map_or_else(|| "?".to_string(), |v| format!("{v:.0}"));
        let lat = find("latency average").unwrap_or_default();
        let failed = find("number of failed transactions").unwrap_or_default();
        Ok(format!("**{tps_value} tx/s** ({lat}; {failed})"))
    }

    fn work_dir(&self) -> Res<PathBuf> {
        let dir = match &self.args.work_dir {
            Some(d) => d.clone(),
            None => std::env::temp_dir().join(format!("ballotbox-load-{}", self.tag)),
        };
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(dir)
    }

    fn login_phase(&self, report: &mut Report, api_rate: Option<f64>) -> Res<()> {
        // argon2id at the configured parameters, in this process.
        let hasher = Hasher::new(&self.settings.auth)?;
        let mut times: Vec<f64> = (0..5)
            .map(|_| {
                let t = Instant::now();
                let _ = hasher.hash(PASSWORD);
                t.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let t_hash = times[2];
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let ceiling = cores as f64 / t_hash;
        let a = &self.settings.auth;
        report.row(
            &format!(
                "one argon2id hash (m={} KiB, t={}, p={}), median of 5",
                a.argon2_m_cost, a.argon2_t_cost, a.argon2_p_cost
            ),
            format!(
                "{:.1} ms → ceiling {cores} cores ÷ t = {ceiling:.1} logins/s",
                t_hash * 1000.0
            ),
            "",
            None,
        );

        // The probe: a small paced group casting, first on a quiet server.
        let e = self.election("Bench probe", true)?;
        let toks = self.tokens()?;
        let pc = self.args.probe_clients.max(1);
        let probe_rate = (api_rate.unwrap_or(200.0) / 4.0).clamp(5.0, 500.0);
        let secs = self.args.paced_secs.min(self.args.login_secs);
        let n = self.voters.len();
        let half = n / 2;
        eprintln!("probe alone: {pc} clients at {probe_rate:.0}/s for {secs} s");
        let quiet = self.cast(&e, &toks, 0, half, pc, secs, Some(probe_rate), None);

        eprintln!(
            "login storm: {} clients for {} s, probe beside it",
            self.args.clients, self.args.login_secs
        );
        let stop = Arc::new(AtomicBool::new(false));
        let login_url = self.api("/auth/login");
        let login_secs = self.args.login_secs;
        let start = Instant::now();
        let mut tasks = Vec::new();
        let counter = Arc::new(AtomicUsize::new(0));
        for _ in 0..self.args.clients {
            let (http, url, voters, stop, counter) = (
                self.http.clone(),
                login_url.clone(),
                self.voters.clone(),
                stop.clone(),
                counter.clone(),
            );
            tasks.push(self.rt.spawn(async move {
                let mut run = Run::new();
                while !stop.load(Ordering::Relaxed) {
                    let i = counter.fetch_add(1, Ordering::Relaxed) % voters.len();
                    let t = Instant::now();
                    let body = json!({"email": voters[i].email, "password": PASSWORD});
                    let status = match http.post(&url).json(&body).send().await {
                        Ok(r) => {
                            let s = r.status().as_u16();
                            let _ = r.bytes().await;
                            s.to_string()
                        }
                        Err(err) => format!("transport error ({})", short_error(&err)),
                    };
                    run.record(t.elapsed().as_micros() as u64);
                    if status == "200" {
                        run.ok += 1;
                    } else {
                        *run.statuses.entry(status).or_default() += 1;
                    }
                }
                run
            }));
        }
        let stopper = {
            let stop = stop.clone();
            self.rt.spawn(async move {
                tokio::time::sleep(Duration::from_secs_f64(login_secs)).await;
                stop.store(true, Ordering::Relaxed);
            })
        };
        // Let the storm build up, then probe during it.
        std::thread::sleep(Duration::from_secs_f64((login_secs - secs).max(0.0) / 2.0));
        let storm = self.cast(
            &e,
            &toks,
            half,
            n,
            pc,
            secs,
            Some(probe_rate),
            Some(stop.clone()),
        );
        let mut logins = Run::new();
        self.rt.block_on(async {
            let _ = stopper.await;
            for t in tasks {
                if let Ok(r) = t.await {
                    logins.merge(&r);
                }
            }
        });
        logins.elapsed = start.elapsed();
        let rate = logins.rate();
        report.row(
            &format!("logins, {} clients", self.args.clients),
            format!(
                "**{rate:.1} logins/s** = {:.0} % of the ceiling ({}; other statuses: {})",
                100.0 * rate / ceiling,
                logins.latencies(),
                logins.failures()
            ),
            "≥ 90 % of cores ÷ argon2id time",
            Some(rate >= 0.9 * ceiling),
        );
        let (q, s) = (quiet.ms(0.99), storm.ms(0.99));
        report.row(
            &format!("casting p99, {pc} clients paced at {probe_rate:.0}/s: quiet → during the login storm"),
            format!(
                "{q:.1} ms → **{s:.1} ms** (×{:.1}; accepted {} and {}; other statuses: {} / {})",
                s / q.max(1e-9),
                quiet.ok,
                storm.ok,
                quiet.failures(),
                storm.failures()
            ),
            "≤ 2 × quiet",
            Some(s <= 2.0 * q && storm.ok > 0),
        );
        if let Some(rss) = self.rss() {
            report.row(
                "server peak RSS after the login storm (VmHWM)",
                rss,
                "",
                None,
            );
        }
        Ok(())
    }

    fn tally_phase(&self, report: &mut Report) -> Res<()> {
        let m = self.args.tally_ballots;
        let e = self.election("Bench tally", true)?;
        let eid = ElectionId(e.id.parse()?);
        eprintln!("tally: seeding {m} ballots");
        let t = Instant::now();
        let mut rng = rand::thread_rng();
        let mut contents: Vec<Vec<u16>> = Vec::with_capacity(m);
        {
            let pool = self.seeding_pool(1)?;
            let mut c = Self::fast_conn(&pool)?;
            let mut done = 0;
            while done < m {
                let tx = (m - done).min(100_000);
                write_tx(&mut c, |c| -> QueryResult<()> {
                    let mut left = tx;
                    while left > 0 {
                        let k = left.min(4000);
                        let rows: Vec<BallotRow> = (0..k)
                            .map(|_| {
                                let ranking = random_ranking(&mut rng);
                                let content = ranking
                                    .iter()
                                    .map(u16::to_string)
                                    .collect::<Vec<_>>()
                                    .join(",");
                                contents.push(ranking);
                                BallotRow {
                                    id: BallotId(uuid::Uuid::new_v4()),
                                    election_id: eid,
                                    tracking_code: rules::tracking_code(),
                                    ballot_hash: sha256_hex(content.as_bytes()),
                                    content,
                                    salt: rules::salt(),
                                }
                            })
                            .collect();
                        // Batch inserts exist per backend, not on the enum.
                        let q = diesel::insert_into(ballots::table).values(&rows);
                        match c {
                            DbConnection::Pg(pg) => q.execute(pg)?,
                            DbConnection::Sqlite(lite) => q.execute(lite)?,
                        };
                        left -= k;
                    }
                    Ok(())
                })?;
                done += tx;
            }
            if db::is_pg(&c) {
                c.batch_execute("ANALYZE ballots")?;
            }
        }
        report.row(
            "tally: write the ballots directly (big transactions, not durable)",
            format!("{m} ballots in {:.1} s", t.elapsed().as_secs_f64()),
            "",
            None,
        );
        let t = Instant::now();
        self.admin_post(&format!("/elections/{}/close", e.id), json!({}))?;
        report.row(
            "tally: `POST .../close` (Merkle root over every ballot)",
            format!("{:.2} s", t.elapsed().as_secs_f64()),
            "",
            None,
        );

        // Merely reading the rows.
        let mut pooled = self.pool.get()?;
        let conn: &mut DbConnection = &mut pooled;
        let t = Instant::now();
        let count: i64 = ballots::table
            .filter(ballots::election_id.eq(eid))
            .count()
            .get_result(conn)?;
        let t_count = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let rows: Vec<String> = ballots::table
            .filter(ballots::election_id.eq(eid))
            .select(ballots::content)
            .load(conn)?;
        let t_scan = t.elapsed().as_secs_f64();
        let read = t_count + t_scan;
        report.row(
            "tally: merely read the rows (`count(*)` + load every content)",
            format!("**{read:.2} s** ({count} rows: count {t_count:.2} s + scan {t_scan:.2} s)"),
            "",
            None,
        );

        // The library's count straight from the database (no HTTP).
        let t = Instant::now();
        let rows2: Vec<String> = ballots::table
            .filter(ballots::election_id.eq(eid))
            .select(ballots::content)
            .load(conn)?;
        let mut agg = Aggregator::new();
        let mut buf = Vec::with_capacity(OPTIONS);
        for r in &rows2 {
            buf.clear();
            buf.extend(r.split(',').filter_map(|p| p.parse::<u16>().ok()));
            agg.add(&buf);
        }
        let pairs = agg.into_sorted_pairs();
        let names: Vec<String> = e.options.clone();
        let outcome = tally::count(tally::Method::Irv, &names, 1, &pairs, b"bench")?;
        let t_lib = t.elapsed().as_secs_f64();
        drop((rows, rows2));
        report.row(
            "tally: read + aggregate + IRV in-process (library, no HTTP)",
            format!(
                "{t_lib:.2} s = {:.1} × read ({} rounds)",
                t_lib / read,
                outcome.rounds.len()
            ),
            "≤ 2 × read",
            Some(t_lib <= 2.0 * read),
        );

        // `ballotbox count` on the same ballots as a BLT file.
        let dir = self.work_dir()?;
        let blt = dir.join("bench.blt");
        write_blt(&blt, &contents)?;
        drop(contents);
        let t = Instant::now();
        let out = Command::new(&self.args.ballotbox_bin)
            .args(["count", "--method", "irv"])
            .arg(&blt)
            .output()
            .map_err(|e| format!("{}: {e}", self.args.ballotbox_bin.display()))?;
        let t_count_cli = t.elapsed().as_secs_f64();
        if out.status.success() {
            report.row(
                "tally: `ballotbox count --method irv FILE.blt` (parse + count, one process)",
                format!("{t_count_cli:.2} s = {:.1} × read", t_count_cli / read),
                "≤ 2 × read",
                Some(t_count_cli <= 2.0 * read),
            );
        } else {
            report.notes.push(format!(
                "ballotbox count failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let _ = std::fs::remove_file(&blt);

        // The end-to-end endpoint, when this build has it.
        let t = Instant::now();
        let (status, body) =
            self.admin_post_status(&format!("/elections/{}/tally", e.id), json!({}))?;
        let t_api = t.elapsed().as_secs_f64();
        match status {
            404 | 405 => {
                report.row(
                    "tally: `POST .../tally` (end to end)",
                    format!("not available on this branch ({status})"),
                    "≤ 2 × read",
                    None,
                );
            }
            200..=299 => report.row(
                "tally: `POST .../tally` (end to end)",
                format!("**{t_api:.2} s** = {:.1} × read", t_api / read),
                "≤ 2 × read",
                Some(t_api <= 2.0 * read),
            ),
            _ => report
                .notes
                .push(format!("POST .../tally answered {status}: {body}")),
        }
        Ok(())
    }
}

fn new_session(c: &mut DbConnection, user: UserId, ttl: chrono::Duration) -> Res<SessionId> {
    let now = Time::now();
    Ok(auth_repo::create_session(c, user, now, Time(now.0 + ttl))?)
}

/// A random partial ranking of the ten options (positions from 0).
fn random_ranking(rng: &mut impl Rng) -> Vec<u16> {
    let mut perm: Vec<u16> = (0..OPTIONS as u16).collect();
    perm.shuffle(rng);
    perm.truncate(rng.gen_range(1..=OPTIONS));
    perm
}

fn random_content(rng: &mut impl Rng) -> String {
    random_ranking(rng)
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The JSON body of a ballot with a random ranking.
fn ballot_body(e: &ElectionInfo) -> String {
    let mut rng = rand::thread_rng();
    let selections: Vec<&str> = random_ranking(&mut rng)
        .iter()
        .map(|&p| e.options[p as usize].as_str())
        .collect();
    json!({"answers": [{"question_id": e.question, "selections": selections}]}).to_string()
}

/// Writes the ballots as a BLT file, one line per ballot.
fn write_blt(path: &Path, ballots: &[Vec<u16>]) -> Res<()> {
    use std::io::Write;
    let f = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut w = std::io::BufWriter::new(f);
    writeln!(w, "{OPTIONS} 1")?;
    let mut line = String::new();
    for b in ballots {
        line.clear();
        line.push('1');
        for p in b {
            let _ = write!(line, " {}", p + 1);
        }
        line.push_str(" 0\n");
        w.write_all(line.as_bytes())?;
    }
    writeln!(w, "0")?;
    for i in 1..=OPTIONS {
        writeln!(w, "\"Option {i}\"")?;
    }
    writeln!(w, "\"ballotbox-load\"")?;
    w.flush()?;
    Ok(())
}

fn short_error(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() || e.is_decode() {
        "body"
    } else {
        "request"
    }
}

fn short_db_error(e: &diesel::result::Error) -> String {
    let s = e.to_string();
    s.chars().take(60).collect()
}
