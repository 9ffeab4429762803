//! Caller-side timing: per-record percentiles and end-to-end throughput.
//!
//! Latency: each sample times `batch` back-to-back calls with two `Instant::now()` reads and
//! subtracts the timer's own median cost, then divides by `batch`. Enabled rows use `batch = 1`, so
//! p50/p99 are true per-call figures; rows that cost about a nanosecond (disabled records, the
//! baselines) use `batch = 1024`, because a single call is far below the timer's resolution; their
//! p99 is then the p99 of 1024-call means.
//!
//! Throughput: records/s over a back-to-back run *including* the final flush (a background writer
//! or `non_blocking` appender is only done when its queue is drained), so it is what the pipeline
//! sustains, not what the caller sees.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// How long each phase runs (bounded both by time and by count).
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Warm-up before measuring.
    pub warmup: Duration,
    /// Time for the latency phase.
    pub latency: Duration,
    /// Most latency samples.
    pub samples: usize,
    /// Time for the throughput phase.
    pub throughput: Duration,
}

impl Budget {
    /// The `overhead` example's default: about 1.3 s per row.
    pub const QUICK: Budget = Budget {
        warmup: Duration::from_millis(150),
        latency: Duration::from_millis(500),
        samples: 200_000,
        throughput: Duration::from_millis(500),
    };
}

/// The median cost of one `Instant::now()` pair, in ns.
pub fn timer_overhead_ns() -> f64 {
    let mut v: Vec<f64> = (0..20_000)
        .map(|_| {
            let t = Instant::now();
            black_box(());
            t.elapsed().as_nanos() as f64
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The `q` quantile (0..=1) of sorted values.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}

/// Per-record p50 and p99 in ns. With `spacing`, sleeps that long between samples (sparse
/// logging: caches and the writer go cold between records).
pub fn latency<F: FnMut()>(
    f: &mut F,
    batch: u32,
    spacing: Option<Duration>,
    budget: Budget,
) -> (f64, f64) {
    let overhead = timer_overhead_ns();
    let warm_end = Instant::now() + budget.warmup;
    while Instant::now() < warm_end {
        for _ in 0..batch {
            f();
        }
        if let Some(s) = spacing {
            std::thread::sleep(s);
        }
    }
    let mut samples = Vec::with_capacity(budget.samples.min(1 << 20));
    let end = Instant::now() + budget.latency;
    while samples.len() < budget.samples && (samples.len() < 64 || Instant::now() < end) {
        let t = Instant::now();
        for _ in 0..batch {
            f();
        }
        let ns = t.elapsed().as_nanos() as f64;
        samples.push(((ns - overhead).max(0.0)) / f64::from(batch));
        if let Some(s) = spacing {
            std::thread::sleep(s);
        }
    }
    samples.sort_by(f64::total_cmp);
    (percentile(&samples, 0.5), percentile(&samples, 0.99))
}

/// Records/s over back-to-back calls for `budget.throughput`, `finish` (flush) included. Returns
/// the rate and the number of records emitted.
pub fn throughput<F: FnMut(), G: FnOnce()>(f: &mut F, finish: G, budget: Budget) -> (f64, u64) {
    let start = Instant::now();
    let end = start + budget.throughput;
    let mut n = 0u64;
    while Instant::now() < end {
        for _ in 0..256 {
            f();
        }
        n += 256;
    }
    finish();
    (n as f64 / start.elapsed().as_secs_f64(), n)
}

/// Per-call samples collected inside criterion's `iter_custom`, reported as p50/p99 afterwards.
#[derive(Debug, Default)]
pub struct Samples(Vec<f64>);

impl Samples {
    /// Times one call of `f`, records it, and returns its duration.
    #[inline]
    pub fn time<R>(&mut self, f: impl FnOnce() -> R) -> Duration {
        let t = Instant::now();
        black_box(f());
        let d = t.elapsed();
        self.0.push(d.as_nanos() as f64);
        d
    }

    /// Prints `name: p50 … ns, p99 … ns (n samples)`, timer overhead subtracted.
    pub fn report(&mut self, name: &str) {
        let overhead = timer_overhead_ns();
        let mut v: Vec<f64> = self.0.iter().map(|x| (x - overhead).max(0.0)).collect();
        v.sort_by(f64::total_cmp);
        println!(
            "{name}: caller p50 {:.0} ns, p99 {:.0} ns ({} samples, timer overhead {overhead:.0} ns subtracted)",
            percentile(&v, 0.5),
            percentile(&v, 0.99),
            v.len()
        );
        self.0.clear();
    }
}
