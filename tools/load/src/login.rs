//! Phase 4: a login storm against the argon2id ceiling, with a paced group
//! casting beside it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ballotbox::auth::password::Hasher;
use serde_json::json;

use crate::bench::{short_error, Bench};
use crate::report::{Report, Run};
use crate::{Res, PASSWORD};

impl Bench {
    pub(crate) fn login_phase(&self, report: &mut Report, api_rate: Option<f64>) -> Res<()> {
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
}
