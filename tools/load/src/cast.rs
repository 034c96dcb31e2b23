//! Phases 1 and 3: casting through the API at the maximum rate, then paced
//! at half of it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::bench::{ballot_body, short_error, Bench, ElectionInfo};
use crate::report::{Report, Run};
use crate::Res;

impl Bench {
    /// Casts ballots: `clients` clients take voters `from..to` in turn until
    /// they run out or `secs` pass; paced at `rate` requests/s when given.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn cast(
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

    pub(crate) fn cast_phase(&self, report: &mut Report) -> Res<(f64, u64)> {
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

    pub(crate) fn half_rate_phase(&self, report: &mut Report, max_rate: f64) -> Res<()> {
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
}
