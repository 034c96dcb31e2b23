//! Counting a million ranked ballots over ten options.
//!
//! Ballots are random partial rankings (length 1 to 10, uniformly; the
//! options in random order) from a fixed-seed SplitMix64 generator, so every
//! run counts the same election. With ten options almost every ballot is
//! distinct (about 9.9 million possible rankings), which is the worst case
//! for aggregation and for the counts that walk the distinct ballots.
//!
//! Run: `cargo bench --bench tally`.

use ballotbox::tally::{self, Aggregator};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::time::Duration;

const BALLOTS: usize = 1_000_000;
const OPTIONS: usize = 10;

/// SplitMix64 (Steele, Lea, Flood 2014).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn ballots() -> Vec<Vec<u16>> {
    let mut rng = SplitMix64(20_070_503);
    (0..BALLOTS)
        .map(|_| {
            let mut perm: Vec<u16> = (0..OPTIONS as u16).collect();
            for i in (1..OPTIONS).rev() {
                perm.swap(i, rng.below(i + 1));
            }
            perm.truncate(1 + rng.below(OPTIONS));
            perm
        })
        .collect()
}

fn aggregate(ballots: &[Vec<u16>]) -> Vec<(Vec<u16>, u64)> {
    let mut agg = Aggregator::new();
    for b in ballots {
        agg.add(b);
    }
    agg.into_pairs()
}

fn bench(c: &mut Criterion) {
    let raw = ballots();
    let options: Vec<String> = (0..OPTIONS).map(|i| format!("option-{i}")).collect();
    let pairs = aggregate(&raw);
    let firsts = {
        let mut agg = Aggregator::new();
        for b in &raw {
            agg.add(&b[..1]);
        }
        agg.into_pairs()
    };
    eprintln!(
        "{} ballots, {} distinct rankings, {} distinct first preferences",
        raw.len(),
        pairs.len(),
        firsts.len()
    );
    let seed = b"benchmark";

    let mut g = c.benchmark_group("1M ballots, 10 options");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    g.bench_function("aggregate (add + into_pairs)", |b| {
        b.iter(|| aggregate(black_box(&raw)))
    });
    g.bench_function("aggregate (add + into_sorted_pairs)", |b| {
        b.iter(|| {
            let mut agg = Aggregator::new();
            for x in black_box(&raw) {
                agg.add(x);
            }
            agg.into_sorted_pairs()
        })
    });
    g.bench_function("aggregate (add only)", |b| {
        b.iter(|| {
            let mut agg = Aggregator::new();
            for x in black_box(&raw) {
                agg.add(x);
            }
            agg.distinct()
        })
    });
    g.bench_function("aggregate first preferences (add + into_pairs)", |b| {
        b.iter(|| {
            let mut agg = Aggregator::new();
            for x in black_box(&raw) {
                agg.add(&x[..1]);
            }
            agg.into_pairs()
        })
    });
    g.bench_function("plurality", |b| {
        b.iter(|| tally::plurality::count(&options, 1, black_box(&firsts), seed))
    });
    g.bench_function("approval", |b| {
        b.iter(|| tally::approval::count(&options, 3, black_box(&pairs), seed))
    });
    g.bench_function("borda", |b| {
        b.iter(|| tally::borda::count(&options, 1, black_box(&pairs), seed))
    });
    g.bench_function("irv", |b| {
        b.iter(|| tally::irv::count(&options, 1, black_box(&pairs), seed))
    });
    g.bench_function("stv (3 seats)", |b| {
        b.iter(|| tally::stv::count(&options, 3, black_box(&pairs), seed))
    });
    g.bench_function("schulze", |b| {
        b.iter(|| tally::schulze::count(&options, 1, black_box(&pairs), seed))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
