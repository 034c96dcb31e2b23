//! The figures: latency histograms per phase and the markdown report.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;

/// What one phase of requests or transactions measured.
pub(crate) struct Run {
    pub(crate) ok: u64,
    pub(crate) statuses: BTreeMap<String, u64>,
    hist: Histogram<u64>,
    pub(crate) elapsed: Duration,
}

impl Run {
    pub(crate) fn new() -> Self {
        Self {
            ok: 0,
            statuses: BTreeMap::new(),
            hist: new_hist(),
            elapsed: Duration::ZERO,
        }
    }

    pub(crate) fn merge(&mut self, other: &Run) {
        self.ok += other.ok;
        for (k, v) in &other.statuses {
            *self.statuses.entry(k.clone()).or_default() += v;
        }
        // Same bounds on both sides: cannot fail.
        let _ = self.hist.add(&other.hist);
    }

    pub(crate) fn record(&mut self, micros: u64) {
        self.hist.saturating_record(micros.max(1));
    }

    pub(crate) fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub(crate) fn ms(&self, q: f64) -> f64 {
        self.hist.value_at_quantile(q) as f64 / 1000.0
    }

    pub(crate) fn latencies(&self) -> String {
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

    pub(crate) fn failures(&self) -> String {
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
pub(crate) struct Report {
    pub(crate) title: String,
    pub(crate) rows: Vec<[String; 4]>,
    pub(crate) notes: Vec<String>,
}

impl Report {
    pub(crate) fn row(
        &mut self,
        measure: &str,
        measured: String,
        target: &str,
        verdict: Option<bool>,
    ) {
        let verdict = match verdict {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "",
        };
        let line = [measure.into(), measured, target.into(), verdict.into()];
        eprintln!("  {} | {} | {} | {}", line[0], line[1], line[2], line[3]);
        self.rows.push(line);
    }

    pub(crate) fn markdown(&self) -> String {
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
