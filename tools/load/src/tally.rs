//! Phase 5: the tally of many ballots, against the time to merely read
//! them: in-process, `ballotbox count` on a BLT file, and end to end.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use ballotbox::db::{self, DbConnection};
use ballotbox::tally::{self, Aggregator};
use ballotbox::testkit;
use serde_json::json;

use crate::bench::{random_ranking, Bench};
use crate::report::Report;
use crate::{Res, OPTIONS};

impl Bench {
    pub(crate) fn tally_phase(&self, report: &mut Report) -> Res<()> {
        let m = self.args.tally_ballots;
        let e = self.election("Bench tally", true)?;
        let eid: uuid::Uuid = e.id.parse()?;
        eprintln!("tally: seeding {m} ballots");
        let t = Instant::now();
        let mut rng = rand::thread_rng();
        let mut contents: Vec<Vec<u16>> = Vec::with_capacity(m);
        {
            let pool = self.seeding_pool(1)?;
            let mut c = testkit::fast_conn(&pool)?;
            let mut done = 0;
            while done < m {
                let tx = (m - done).min(100_000);
                let batch: Vec<String> = (0..tx)
                    .map(|_| {
                        let ranking = random_ranking(&mut rng);
                        let content = ranking
                            .iter()
                            .map(u16::to_string)
                            .collect::<Vec<_>>()
                            .join(",");
                        contents.push(ranking);
                        content
                    })
                    .collect();
                testkit::insert_ballots(&mut c, eid, &batch)?;
                done += tx;
            }
            if db::is_pg(&c) {
                testkit::execute_sql(&mut c, "ANALYZE ballots")?;
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
        let count = testkit::count_ballots(conn, eid)?;
        let t_count = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let rows = testkit::ballot_contents(conn, eid)?;
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
        let rows2 = testkit::ballot_contents(conn, eid)?;
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
