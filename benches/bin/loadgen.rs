//! Load generator: many threads log as fast as they can (or at a set rate) and the caller-side cost
//! of every call is measured. Run it against your own syslog daemon to see what it sustains.
//!
//! ```sh
//! cargo run --release -p fastsyslog-benches --bin loadgen -- --threads 4 --records 100000 --size 200 --json
//! FASTSYSLOG_SOCKET=/run/my-rsyslog.sock cargo run --release -p fastsyslog-benches --bin loadgen -- --mode sync
//! ```
//!
//! Flags: `--threads N` (default 4), `--records N` per thread (default 100000), `--size BYTES` of
//! each message body (default 100), `--mode sync|background`, `--overflow block|drop` (both
//! lanes), `--rate PER_SEC_PER_THREAD` (default: as fast as possible), `--json`. The transport,
//! format, ident and filter come from the environment (`FASTSYSLOG_*`, `RUST_LOG`) as in every
//! example; records are logged at INFO with target `loadgen`.
//!
//! Each body contains `t=<thread> seq=<n>`, so loss and per-thread order can be checked at the
//! daemon. `--json` prints exactly one JSON object on stdout with `attempted`, `enqueued`,
//! `dropped`, `written` (records handed to the transport, after a final flush), `truncated`,
//! `elapsed_s` (first record to the end of the final flush) and `caller_ns_p50`/`p99`/`p999`/`max`
//! (time spent inside each `log` call).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use fastsyslog::{Builder, Lane, Mode, Overflow};

const USAGE: &str = "usage: loadgen [--threads N] [--records N] [--size BYTES] \
[--mode sync|background] [--overflow block|drop] [--rate PER_SEC_PER_THREAD] [--json]";

struct Args {
    threads: usize,
    records: usize,
    size: usize,
    mode: Option<Mode>,
    overflow: Option<Overflow>,
    rate: Option<f64>,
    json: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        threads: 4,
        records: 100_000,
        size: 100,
        mode: None,
        overflow: None,
        rate: None,
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        let bad = |v: &str| format!("invalid value {v:?} for {flag}\n{USAGE}");
        match flag.as_str() {
            "--threads" => {
                let v = value()?;
                args.threads = v.parse().map_err(|_| bad(&v))?;
            }
            "--records" => {
                let v = value()?;
                args.records = v.parse().map_err(|_| bad(&v))?;
            }
            "--size" => {
                let v = value()?;
                args.size = v.parse().map_err(|_| bad(&v))?;
            }
            "--mode" => {
                let v = value()?;
                args.mode = Some(v.parse().map_err(|_| bad(&v))?);
            }
            "--overflow" => {
                let v = value()?;
                args.overflow = Some(match v.as_str() {
                    "block" => Overflow::Block,
                    "drop" => Overflow::Drop,
                    _ => return Err(bad(&v)),
                });
            }
            "--rate" => {
                let v = value()?;
                let rate: f64 = v.parse().map_err(|_| bad(&v))?;
                if !(rate > 0.0 && rate.is_finite()) {
                    return Err(bad(&v));
                }
                args.rate = Some(rate);
            }
            "--json" => args.json = true,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            _ => return Err(format!("unknown flag {flag:?}\n{USAGE}")),
        }
    }
    if args.threads == 0 {
        return Err(format!("--threads must be at least 1\n{USAGE}"));
    }
    Ok(args)
}

/// Logs `records` records from thread `t` and returns the caller-side cost of each call in ns.
fn run_thread(t: usize, args: &Args, padding: &str) -> Vec<u64> {
    let mut costs = Vec::with_capacity(args.records);
    let interval = args.rate.map(|r| Duration::from_secs_f64(1.0 / r));
    let start = Instant::now();
    for seq in 0..args.records {
        if let Some(interval) = interval {
            // Pace by schedule, not by sleeping a fixed gap, so the rate holds on average.
            let due = start + interval.mul_f64(seq as f64);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let before = Instant::now();
        log::info!(target: "loadgen", "t={t} seq={seq} {padding}");
        costs.push(u64::try_from(before.elapsed().as_nanos()).unwrap_or(u64::MAX));
    }
    costs
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut builder = Builder::from_env();
    if let Some(mode) = args.mode {
        builder = builder.mode(mode);
    }
    if let Some(overflow) = args.overflow {
        builder = builder
            .overflow(Lane::Error, overflow)
            .overflow(Lane::Bulk, overflow);
    }
    let guard = match builder.try_init() {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("loadgen: could not start the logger: {e}");
            return ExitCode::FAILURE;
        }
    };

    // "t=<thread> seq=<n> " takes about 20 bytes of the body; the padding fills the rest.
    let padding = "x".repeat(args.size.saturating_sub(20));
    let start = Instant::now();
    let mut costs: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..args.threads)
            .map(|t| {
                let (args, padding) = (&args, padding.as_str());
                std::thread::Builder::new()
                    .name(format!("loadgen-{t}"))
                    .spawn_scoped(scope, move || run_thread(t, args, padding))
                    .expect("spawn a load thread")
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a load thread panicked"))
            .collect()
    });
    let flushed = guard.flush();
    let elapsed = start.elapsed();
    costs.sort_unstable();
    let stats = guard.stats();
    let attempted = args.threads * args.records;

    if args.json {
        println!(
            "{{\"attempted\":{attempted},\"enqueued\":{},\"dropped\":{},\"written\":{},\
             \"truncated\":{},\"elapsed_s\":{:.6},\"caller_ns_p50\":{},\"caller_ns_p99\":{},\
             \"caller_ns_p999\":{},\"caller_ns_max\":{}}}",
            stats.enqueued,
            stats.dropped_total(),
            stats.written,
            stats.truncated,
            elapsed.as_secs_f64(),
            percentile(&costs, 0.50),
            percentile(&costs, 0.99),
            percentile(&costs, 0.999),
            costs.last().copied().unwrap_or(0),
        );
    } else {
        println!(
            "{attempted} records from {} threads in {:.3} s ({:.0} records/s)",
            args.threads,
            elapsed.as_secs_f64(),
            attempted as f64 / elapsed.as_secs_f64().max(1e-9)
        );
        println!(
            "enqueued {}  written {}  dropped {}  truncated {}  flushed in time: {flushed}",
            stats.enqueued,
            stats.written,
            stats.dropped_total(),
            stats.truncated
        );
        for (lane, reason, n) in &stats.dropped {
            println!("  dropped {n} ({}, {})", lane.name(), reason.name());
        }
        for (errno, n) in &stats.send_errors {
            println!("  send error errno {errno}: {n}");
        }
        println!(
            "caller ns: p50 {}  p99 {}  p99.9 {}  max {}",
            percentile(&costs, 0.50),
            percentile(&costs, 0.99),
            percentile(&costs, 0.999),
            costs.last().copied().unwrap_or(0)
        );
    }
    ExitCode::SUCCESS
}
