//! What the stats file costs the record path: the access record sent over the unix transport to
//! the in-process sink, in sync and in background mode, each without and with
//! [`stats_dir`](fastsyslog::Builder::stats_dir) (the counters then live in the file's shared
//! mapping). The four loggers are timed in alternating rounds in one process, so the ratios compare
//! like with like.
//!
//! ```text
//! cargo bench -p fastsyslog-benches --bench stats_file
//! ```
//!
//! Prints the median nanoseconds per record of each row and the median of its per-round ratio to
//! the same mode without a stats dir (target: within noise, about 1.00).
//!
//! `--once N [--stats-dir DIR] [--sync]` logs N records with one logger and exits, for counting
//! system calls: `strace -c -f <bench binary> --once 10000 --stats-dir /dev/shm/x`, then the same
//! without `--stats-dir`; the difference is what the stats file adds.

use std::path::{Path, PathBuf};
use std::time::Instant;

use fastsyslog::{Builder, Logger, Mode, WorkerGuard};

const ROUNDS: usize = 101;
const PER_ROUND: u32 = 5_000;

fn logger(target: &Path, mode: Mode, stats_dir: Option<&Path>) -> (Logger, WorkerGuard) {
    let builder = Builder::new()
        .ident(support::IDENT)
        .socket(target)
        .mode(mode);
    match stats_dir {
        Some(dir) => builder.stats_dir(dir),
        None => builder,
    }
    .build()
    .expect("build")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `--once N [--stats-dir DIR] [--sync]`: see the module docs.
fn once(args: &[String]) {
    let n: u32 = args[0].parse().expect("--once N");
    let dir = args
        .iter()
        .position(|a| a == "--stats-dir")
        .map(|i| PathBuf::from(&args[i + 1]));
    let mode = if args.iter().any(|a| a == "--sync") {
        Mode::Sync
    } else {
        Mode::Background
    };
    let target = support::Target::from_env(None);
    let (logger, guard) = logger(&target.path(), mode, dir.as_deref());
    log::set_max_level(log::LevelFilter::Info);
    for _ in 0..n {
        support::access_record!(&logger);
    }
    let _ = logger.handle().flush();
    println!("{}", logger.handle().stats());
    drop(guard);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--once") {
        return once(&args[i + 1..]);
    }
    // `cargo bench` passes `--bench`; a filter argument that is not ours skips the run.
    if args
        .iter()
        .any(|a| !a.starts_with('-') && !"stats_file".contains(a.as_str()))
    {
        return;
    }
    let target = support::Target::from_env(None);
    let dir = tempfile::tempdir_in("/dev/shm").expect("/dev/shm is a tmpfs");
    let path = target.path();
    let rows: [(&str, (Logger, WorkerGuard)); 4] = [
        ("sync", logger(&path, Mode::Sync, None)),
        (
            "sync_stats_dir",
            logger(&path, Mode::Sync, Some(dir.path())),
        ),
        ("background", logger(&path, Mode::Background, None)),
        (
            "background_stats_dir",
            logger(&path, Mode::Background, Some(dir.path())),
        ),
    ];
    log::set_max_level(log::LevelFilter::Info);
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); rows.len()];
    for round in 0..ROUNDS {
        // Rotate the order each round so no row always runs first (warm caches, a fresh socket).
        for k in 0..rows.len() {
            let i = (round + k) % rows.len();
            let logger = &rows[i].1 .0;
            let start = Instant::now();
            for _ in 0..PER_ROUND {
                support::access_record!(logger);
            }
            let elapsed = start.elapsed();
            // The background writer catches up outside the timed part, so no round starts with
            // a full queue (whose records would be dropped, not sent).
            let _ = logger.handle().flush();
            if round > 0 {
                times[i].push(elapsed.as_nanos() as f64 / f64::from(PER_ROUND));
            }
        }
    }
    // Each round's time over the same round's row without a stats dir, so drift cancels.
    let ratio = |i: usize, base: usize| -> f64 {
        median(
            times[i]
                .iter()
                .zip(&times[base])
                .map(|(t, b)| t / b)
                .collect(),
        )
    };
    println!(
        "stats_file (unix transport, access record, medians of {} rounds of {PER_ROUND})",
        ROUNDS - 1
    );
    for (i, (name, (logger, _))) in rows.iter().enumerate() {
        let stats = logger.handle().stats();
        println!(
            "  {name:<22} {:8.1} ns/record  ratio {:.3}  written {} dropped {}",
            median(times[i].clone()),
            ratio(i, i - i % 2),
            stats.written,
            stats.dropped_total()
        );
    }
}
