//! Phase 2: the raw limit, the two rows of a cast written straight into the
//! database from many threads (and, on PostgreSQL, by pgbench).

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ballotbox::db::{self, DbUrl, PoolOptions};
use ballotbox::testkit;

use crate::bench::{random_content, Bench};
use crate::report::{Report, Run};
use crate::Res;

impl Bench {
    pub(crate) fn raw_phase(&self, report: &mut Report, api_rate: Option<f64>) -> Res<()> {
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
        let eid: uuid::Uuid = e.id.parse()?;
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
                            let r = testkit::cast_raw(&mut conn, eid, self.voters[i].id, content);
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
        let mut c = testkit::fast_conn(&pool)?;
        testkit::execute_sql(
            &mut c,
            &format!(
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
}

fn short_db_error(e: &impl std::fmt::Display) -> String {
    let s = e.to_string();
    s.chars().take(60).collect()
}
