//! The lossless drain (issue 17's target): how many access records per second the background
//! writer delivers with the `Block` policy, over datagrams and over the stream transport, next to
//! a raw glibc `syslog(3)` loop, each into an in-process receiver, in one run.
//!
//! ```text
//! cargo run --release -p fastsyslog-benches --bin drain
//! cargo run --release -p fastsyslog-benches --bin drain -- --records 200000 --rounds 5 --threads 4
//! cargo run --release -p fastsyslog-benches --bin drain -- --rows datagram   # one row, to profile
//! ```
//!
//! - `glibc`: `syslog(LOG_LOCAL0|LOG_INFO, "%s", body)` back to back, through `/dev/log` inside a
//!   private mount namespace (the program re-runs itself under `unshare`) to a datagram receiver.
//! - `datagram`: fastsyslog in background mode, both lanes `Block`, datagrams to a receiver whose
//!   queue is the kernel's `net.unix.max_dgram_qlen` (10 by default; printed).
//! - `stream`: the same logger with [`Builder::stream_socket`](fastsyslog::Builder::stream_socket):
//!   octet-counted frames to a stream receiver.
//!
//! A round logs `--records` records, split evenly over `--threads` threads (1 by default), and
//! stops the clock when the receiver has counted all of them (so every row is lossless by
//! construction: a row that loses records is reported as failed). The rows run round-robin for `--rounds` rounds, so noise on this shared
//! machine hits each of them; the table gives each row's median rate and the ratios of medians.
//! Targets: stream >= 3x glibc, datagram >= 1.3x glibc.

use std::ffi::CString;
use std::time::{Duration, Instant};

use fastsyslog::{Builder, Lane, Logger, Mode, Overflow};
use fastsyslog_testkit::sink::StreamSink;
use support::{devlog, Sink};

/// The rows, in the order of the table.
const ROWS: [&str; 3] = ["glibc", "datagram", "stream"];

/// How long a round may wait for its last records to reach the receiver.
const DELIVERY_BOUND: Duration = Duration::from_secs(60);

fn main() {
    let mut records: u64 = 200_000;
    let mut rounds: usize = 5;
    let mut threads: u64 = 1;
    let mut rows = ROWS.map(|_| true);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or_else(|| usage(&format!("{name} needs a number")))
        };
        match arg.as_str() {
            "--records" => records = value("--records"),
            "--rounds" => rounds = usize::try_from(value("--rounds")).unwrap_or(1).max(1),
            "--threads" => threads = value("--threads").max(1),
            "--rows" => {
                let list = args.next().unwrap_or_default();
                rows = ROWS.map(|row| list.split(',').any(|r| r == row));
                if !rows.contains(&true) {
                    usage(&format!("--rows {list:?} names none of {ROWS:?}"));
                }
            }
            other => usage(&format!("unexpected argument {other:?}")),
        }
    }

    // The glibc row needs its own /dev/log: re-run inside a private mount namespace. This returns
    // only when that is impossible, and then the glibc row is reported as missing.
    let glibc_sink = match devlog::inside() {
        _ if !rows[0] => None,
        Some(path) => Some(Sink::bind(&path).expect("bind the /dev/log receiver")),
        None => {
            let reason = devlog::reexec_or_reason();
            eprintln!("drain: no glibc row: {reason}");
            None
        }
    };
    let qlen = devlog::dgram_qlen().map_or("unknown".to_owned(), |n| n.to_string());
    // Every thread logs the same share, so the total is a multiple of the thread count.
    let records = (records / threads).max(1) * threads;
    println!(
        "lossless drain: {records} access records per round from {threads} thread(s), \
         {rounds} rounds round-robin, net.unix.max_dgram_qlen {qlen}"
    );

    // `log`'s macros check the global level first, even with an explicit logger.
    log::set_max_level(log::LevelFilter::Info);
    let mut rates: [Vec<f64>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for round in 0..rounds {
        if let Some(sink) = &glibc_sink {
            rates[0].push(glibc(sink, records, threads));
        }
        if rows[1] {
            rates[1].push(datagram(records, threads));
        }
        if rows[2] {
            rates[2].push(stream(records, threads));
        }
        eprint!("\rround {}/{rounds}", round + 1);
    }
    eprintln!();

    println!("\n| row | median records/s | rounds (k records/s) |");
    println!("|---|---:|---|");
    let mut medians = [None; 3];
    for (i, name) in ROWS.iter().enumerate() {
        if rates[i].is_empty() {
            println!("| {name} | skipped | |");
            continue;
        }
        let m = median(&mut rates[i].clone());
        medians[i] = Some(m);
        let each: Vec<String> = rates[i].iter().map(|r| format!("{:.0}", r / 1e3)).collect();
        println!("| {name} | {m:.0} | {} |", each.join(" "));
    }

    println!("\n| target | ratio | met |");
    println!("|---|---:|---|");
    for (row, name, goal) in [(2, "stream", 3.0), (1, "datagram", 1.3)] {
        match (medians[row], medians[0]) {
            (Some(r), Some(g)) => {
                let ratio = r / g;
                println!(
                    "| {name} / glibc >= {goal} | {ratio:.2} | {} |",
                    if ratio >= goal { "yes" } else { "MISSED" }
                );
            }
            _ => println!("| {name} / glibc >= {goal} | no glibc row | MISSED |"),
        }
    }
    if let (Some(s), Some(d)) = (medians[2], medians[1]) {
        println!("| stream / datagram (information) | {:.2} | |", s / d);
    }
}

fn usage(msg: &str) -> ! {
    eprintln!("drain: {msg}\nusage: drain [--records N] [--rounds N] [--threads N] [--rows glibc,datagram,stream]");
    std::process::exit(2)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    support::measure::percentile(v, 0.5)
}

/// Records per second from the first call until `received` reports all `n`; panics when records
/// are lost (a lossless row that loses is a failed row, not a fast one).
fn rate(n: u64, started: Instant, wait: impl Fn(u64, Duration) -> u64, row: &str) -> f64 {
    let got = wait(n, DELIVERY_BOUND);
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(got, n, "{row}: {got} of {n} records delivered");
    n as f64 / elapsed
}

/// Runs `each(n / threads)` on `threads` threads at once and waits for them all.
fn on_threads(n: u64, threads: u64, each: impl Fn(u64) + Sync) {
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| each(n / threads));
        }
    });
}

fn glibc(sink: &Sink, n: u64, threads: u64) -> f64 {
    let msg = CString::new(support::rendered_body()).expect("no NUL");
    // openlog keeps the pointer: the ident lives for the rest of the program (once per round).
    let ident: &'static std::ffi::CStr = Box::leak(
        CString::new(support::IDENT)
            .expect("no NUL")
            .into_boxed_c_str(),
    );
    fastsyslog_testkit::syslog::openlog(ident, true, libc::LOG_LOCAL0);
    let pri = libc::LOG_LOCAL0 | libc::LOG_INFO;
    let base = sink.received();
    let started = Instant::now();
    on_threads(n, threads, |n| {
        for _ in 0..n {
            fastsyslog_testkit::syslog::syslog(pri, &msg);
        }
    });
    rate(
        n,
        started,
        |n, t| sink.wait_for(base + n, t) - base,
        "glibc",
    )
}

/// A background logger that never drops: both lanes block when full.
fn lossless() -> Builder {
    Builder::new()
        .ident(support::IDENT)
        .filter("info")
        .mode(Mode::Background)
        .overflow(Lane::Bulk, Overflow::Block)
        .overflow(Lane::Error, Overflow::Block)
}

/// Logs `n` access records through `logger` from `threads` threads and flushes (a flush may time
/// out on a long backlog; the receiver's count is what stops the clock).
fn log_all(logger: &Logger, n: u64, threads: u64) {
    on_threads(n, threads, |n| {
        for _ in 0..n {
            support::access_record!(logger);
        }
    });
    // The count at the receiver decides; a flush that times out is only a wait cut short.
    let _ = logger.handle().flush();
}

fn datagram(n: u64, threads: u64) -> f64 {
    let sink = Sink::new();
    let (logger, guard) = lossless().socket(sink.path()).build().expect("logger");
    let started = Instant::now();
    log_all(&logger, n, threads);
    let r = rate(n, started, |n, t| sink.wait_for(n, t), "datagram");
    drop((logger, guard));
    r
}

fn stream(n: u64, threads: u64) -> f64 {
    let sink = StreamSink::new();
    let (logger, guard) = lossless()
        .stream_socket(sink.path())
        .build()
        .expect("logger");
    let started = Instant::now();
    log_all(&logger, n, threads);
    let r = rate(n, started, |n, t| sink.wait_for(n, t), "stream");
    drop((logger, guard));
    r
}
