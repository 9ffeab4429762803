//! What a rate limit costs a record it does not suppress: the access record sent in sync mode
//! over the unix transport to the in-process sink with no limit, with a limit on another target
//! (the record passes no limit), and under a per-call-site limit that never triggers. The three
//! loggers are timed in alternating rounds in one process, so the ratios compare like with like.
//!
//! ```text
//! cargo bench -p fastsyslog-benches --bench volume
//! ```
//!
//! Prints the median nanoseconds per record of each and the median of its per-round ratio to
//! `no_limit` (target: at most 1.05 for `limit_not_triggered`).

use std::time::{Duration, Instant};

use fastsyslog::{Builder, Logger, Mode};

const ROUNDS: usize = 151;
const PER_ROUND: u32 = 5_000;

fn logger(target: &support::Target, setup: impl FnOnce(Builder) -> Builder) -> Logger {
    setup(
        Builder::new()
            .ident(support::IDENT)
            .socket(target.path())
            .mode(Mode::Sync),
    )
    .build()
    .expect("build")
    .0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument that is not ours skips the run.
    if std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') && !"volume".contains(&a))
    {
        return;
    }
    let target = support::Target::from_env(None);
    let rows: [(&str, Logger); 3] = [
        ("no_limit", logger(&target, |b| b)),
        (
            "limit_other_target",
            logger(&target, |b| b.rate_limit("db", 10, Duration::from_secs(1))),
        ),
        (
            "limit_not_triggered",
            logger(&target, |b| {
                b.rate_limit("access", u32::MAX, Duration::from_secs(1))
            }),
        ),
    ];
    log::set_max_level(log::LevelFilter::Info);
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); rows.len()];
    for round in 0..ROUNDS {
        // Rotate the order each round so no row always runs first (warm caches, a fresh socket).
        for k in 0..rows.len() {
            let i = (round + k) % rows.len();
            let logger = &rows[i].1;
            let start = Instant::now();
            for _ in 0..PER_ROUND {
                support::access_record!(logger);
            }
            if round > 0 {
                times[i].push(start.elapsed().as_nanos() as f64 / f64::from(PER_ROUND));
            }
        }
    }
    // Each round's time over the same round's `no_limit`, so drift between rounds cancels.
    let ratios = |i: usize| -> Vec<f64> {
        times[i]
            .iter()
            .zip(&times[0])
            .map(|(t, base)| t / base)
            .collect()
    };
    println!(
        "volume (sync, unix transport, access record, medians of {} rounds of {PER_ROUND})",
        ROUNDS - 1
    );
    for (i, (name, logger)) in rows.iter().enumerate() {
        let stats = logger.handle().stats();
        println!(
            "  {name:<22} {:8.1} ns/record  ratio {:.3}  written {} suppressed {} dropped {}",
            median(times[i].clone()),
            median(ratios(i)),
            stats.written,
            stats.suppressed,
            stats.dropped_total()
        );
    }
}
