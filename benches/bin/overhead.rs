//! What logging costs the caller: fastsyslog against file logging, a stdlib-style handler chain,
//! peer crates, the raw libc floor and the floor of its own design (`handoff_floor*`), all writing
//! the same access record (about 100 bytes, three key-values) to the same in-process receiver.
//!
//! ```text
//! cargo run --release -p fastsyslog-benches --bin overhead            # table
//! cargo run --release -p fastsyslog-benches --bin overhead -- --json  # JSON array of rows
//! cargo run --release -p fastsyslog-benches --bin overhead -- --dgram-qlen 512
//! cargo run --release -p fastsyslog-benches --bin overhead -- --list  # what each row measures
//! cargo run --release -p fastsyslog-benches --bin overhead -- --rounds 1 --scenario burst20/1 \
//!     --rows fastsyslog,ftlog,spdlog_async                            # narrow a run
//! ```
//!
//! The peer comparison (`overhead/peers.rs`) runs fastsyslog's background mode next to ftlog,
//! spdlog-rs, fast_log, slog-async, logforth (file and syslog) tracing-appender and env_logger,
//! each in its own process, in every scenario (back-to-back, bursts of 20, sparse; 1 and 4
//! threads) and in each crate's lossless mode; all rows run round-robin, `--rounds` times (3 by
//! default), and the targets are ratios between rows of this one run.
//!
//! The receiver's socket queues as many datagrams as `net.unix.max_dgram_qlen` allows (10 is the
//! kernel's default; systemd sets 512 at boot); once it is full every sender waits for the
//! receiver. `--dgram-qlen N` runs every row in a private network namespace (`unshare -n`) where it
//! is N, without touching the machine's own setting. The table says which length the run had.
//!
//! Every row runs in its own process (a fresh global logger, no writer threads left over from
//! another row). The glibc rows (`raw_libc_syslog`, `libc_sync`, `syslog_tracing`) reach the
//! receiver through `/dev/log` inside a private mount namespace (`unshare`); where that is not
//! possible they are reported as skipped with the reason. When a syslog daemon listens on the real
//! `/dev/log`, the syslog rows run a second time against it (`devlog/…` rows; `--no-devlog` turns
//! that off). Total run time is about two minutes. `--list` says what each row measures; the
//! benches' README has the tables.

use std::ffi::{CString, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fastsyslog::Mode;
use support::measure::{self, Budget};
use support::{devlog, Target};

#[path = "overhead/peers.rs"]
mod peers;

/// One approach to logging the access record, measured in a process of its own.
struct Row {
    /// Its name in the table, in `--only` and in `--json`.
    name: &'static str,
    /// What it measures (`--list`).
    description: &'static str,
    /// Calls per timed sample: disabled records are too fast to time one by one.
    batch: u32,
    /// Needs glibc's `/dev/log`, so it runs in a private mount namespace.
    glibc: bool,
    /// Runs a second time against the system's `/dev/log` when a daemon listens there.
    on_devlog: bool,
    /// A baseline some targets are relative to: in the table, not in `--json`.
    reference: bool,
    /// Sets the approach up in the row's process and measures it.
    run: fn(&Cx) -> Result<Figures, String>,
}

/// Every row, in table order: the compared approaches, then the reference rows.
const ROWS: &[Row] = &[
    Row {
        name: "no_logger",
        description: "a disabled `debug!` before any logger is installed (log's max level is Off)",
        batch: 1024,
        glibc: false,
        on_devlog: false,
        reference: false,
        run: |cx| Ok(cx.measure(None, disabled_record, || {})),
    },
    Row {
        name: "disabled_log",
        description: "the same `debug!` with fastsyslog installed at `info`",
        batch: 1024,
        glibc: false,
        on_devlog: false,
        reference: false,
        run: disabled_log,
    },
    Row {
        name: "disabled_tracing",
        description: "a disabled `tracing::debug!` with fastsyslog's subscriber at `info`",
        batch: 1024,
        glibc: false,
        on_devlog: false,
        reference: false,
        run: disabled_tracing,
    },
    Row {
        name: "raw_libc_syslog",
        description: "glibc's `syslog(pri, \"%s\", body)`: the floor of any libc-based logger",
        batch: 1,
        glibc: true,
        on_devlog: true,
        reference: false,
        run: raw_libc_syslog,
    },
    Row {
        name: "raw_send",
        description: "one `send(2)` of the whole datagram, rendered beforehand: the socket floor",
        batch: 1,
        glibc: false,
        on_devlog: true,
        reference: false,
        run: raw_send,
    },
    Row {
        name: "libc_sync",
        description: "fastsyslog's libc transport (glibc's `syslog(3)`), sync mode",
        batch: 1,
        glibc: true,
        on_devlog: true,
        reference: false,
        run: libc_sync,
    },
    Row {
        name: "unix_sync",
        description: "fastsyslog's unix datagram transport, sync mode",
        batch: 1,
        glibc: false,
        on_devlog: true,
        reference: false,
        run: |cx| fastsyslog_log(cx, Mode::Sync, None, false),
    },
    Row {
        name: "background",
        description: "fastsyslog in background mode, records back-to-back (drops when flooded)",
        batch: 1,
        glibc: false,
        on_devlog: true,
        reference: false,
        run: |cx| fastsyslog_log(cx, Mode::Background, None, false),
    },
    Row {
        name: "background_sparse",
        description: "background mode, one record every 100 µs",
        batch: 1,
        glibc: false,
        on_devlog: true,
        reference: false,
        run: |cx| fastsyslog_log(cx, Mode::Background, Some(SPARSE), false),
    },
    Row {
        name: "tracing_background",
        description: "fastsyslog's `tracing` subscriber in background mode",
        batch: 1,
        glibc: false,
        on_devlog: true,
        reference: false,
        run: tracing_background,
    },
    Row {
        name: "file_line_flushed",
        description: "a plain file logger, one `write(2)` per line (the table's `vs file` base)",
        batch: 1,
        glibc: false,
        on_devlog: false,
        reference: false,
        run: |cx| file_logger(cx, support::file_logger::FileLogger::line_flushed),
    },
    Row {
        name: "file_buffered",
        description: "the same file logger with a 64 KiB buffer",
        batch: 1,
        glibc: false,
        on_devlog: false,
        reference: false,
        run: |cx| file_logger(cx, support::file_logger::FileLogger::buffered),
    },
    Row {
        name: "stdlib_chain_disabled",
        description:
            "the stdlib-style handler chain (a model of Python's logging), record disabled",
        batch: 64,
        glibc: false,
        on_devlog: false,
        reference: false,
        run: stdlib_chain_disabled,
    },
    Row {
        name: "stdlib_chain_syslog_udp",
        description: "the chain's `SysLogHandler` to UDP on 127.0.0.1 (its default address)",
        batch: 1,
        glibc: false,
        on_devlog: false,
        reference: false,
        run: stdlib_chain_syslog_udp,
    },
    Row {
        name: "stdlib_chain_syslog_unix",
        description: "the chain's `SysLogHandler` to the unix socket",
        batch: 1,
        glibc: false,
        on_devlog: true,
        reference: false,
        run: stdlib_chain_syslog_unix,
    },
    Row {
        name: "stdlib_chain_file",
        description: "the chain's `FileHandler`",
        batch: 1,
        glibc: false,
        on_devlog: false,
        reference: false,
        run: stdlib_chain_file,
    },
    Row {
        name: "syslog_crate",
        description: "the `syslog` crate's unix-socket `BasicLogger`",
        batch: 1,
        glibc: false,
        on_devlog: true,
        reference: false,
        run: syslog_crate,
    },
    Row {
        name: "syslog_tracing",
        description: "syslog-tracing (glibc's `syslog(3)`) as tracing-subscriber's `fmt` writer",
        batch: 1,
        glibc: true,
        on_devlog: true,
        reference: false,
        run: syslog_tracing,
    },
    Row {
        name: "tracing_appender",
        description:
            "tracing-appender's `non_blocking` file writer under tracing-subscriber's `fmt`",
        batch: 1,
        glibc: false,
        on_devlog: false,
        reference: false,
        run: tracing_appender,
    },
    Row {
        name: "env_logger_file",
        description: "env_logger writing to a file",
        batch: 1,
        glibc: false,
        on_devlog: false,
        reference: false,
        run: env_logger_file,
    },
    Row {
        name: "tracing_no_subscriber",
        description: "a disabled `tracing::debug!` with no subscriber",
        batch: 1024,
        glibc: false,
        on_devlog: false,
        reference: true,
        run: |cx| Ok(cx.measure(None, disabled_event, || {})),
    },
    Row {
        name: "background_lossless",
        description: "background mode with a blocking bulk lane: the writer's own throughput",
        batch: 1,
        glibc: false,
        on_devlog: false,
        reference: true,
        run: |cx| fastsyslog_log(cx, Mode::Background, None, true),
    },
    Row {
        name: "format_only_sparse",
        description: "the datagram written with `write!` into a reused buffer, never sent, sparse",
        batch: 1,
        glibc: false,
        on_devlog: false,
        reference: true,
        run: format_only_sparse,
    },
    Row {
        name: "handoff_floor",
        description: "the background design's floor: one `write!`, then a hand-off to a sender",
        batch: 1,
        glibc: false,
        on_devlog: false,
        reference: true,
        run: |cx| handoff_floor(cx, None),
    },
    Row {
        name: "handoff_floor_sparse",
        description: "`handoff_floor`, one record every 100 µs",
        batch: 1,
        glibc: false,
        on_devlog: false,
        reference: true,
        run: |cx| handoff_floor(cx, Some(SPARSE)),
    },
    Row {
        name: "handoff_floor_log",
        description:
            "`handoff_floor` as a `log::Log`, fed by the same `log::info!` as `background`",
        batch: 1,
        glibc: false,
        on_devlog: false,
        reference: true,
        run: handoff_floor_log,
    },
];

/// The row called `name`.
fn row(name: &str) -> Option<&'static Row> {
    ROWS.iter().find(|r| r.name == name)
}

/// Sparse logging: one record per this interval.
const SPARSE: Duration = Duration::from_micros(100);

/// One measured (or skipped) row, as the coordinator reports it.
#[derive(Debug, Clone)]
struct Measured {
    name: String,
    result: Result<Figures, String>,
}

#[derive(Debug, Clone, Copy)]
struct Figures {
    p50: f64,
    p99: f64,
    records_per_s: f64,
    sent: u64,
    /// What reached the receiver, when it can count.
    delivered: Option<u64>,
}

/// Rows of the first table that the targets read: run in every round, not only the first.
const TARGET_ROWS: &[&str] = &[
    "no_logger",
    "disabled_log",
    "raw_libc_syslog",
    "background_lossless",
];

/// Rounds by default: every row runs this many times, round-robin.
const ROUNDS: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    let value = |f: &str| {
        args.iter()
            .position(|a| a == f)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let list = |f: &str| -> Vec<String> {
        value(f).map_or_else(Vec::new, |s| s.split(',').map(str::to_owned).collect())
    };
    if let Some(qlen) = value("--dgram-qlen") {
        if std::env::var_os(devlog::QLEN_ENV).is_none() {
            let reason = match qlen.parse() {
                Ok(n) => devlog::reexec_with_dgram_qlen(n),
                Err(_) => format!("not a number: {qlen:?}"),
            };
            eprintln!("overhead: --dgram-qlen: {reason}");
            std::process::exit(2);
        }
    }
    if let Some(name) = value("--peer") {
        let policy = value("--policy").unwrap_or_else(|| "lossy".into());
        peers::run_child(&name, &policy, &list("--scenario"));
        return;
    }
    if let Some(row) = value("--row") {
        let devlog = value("--receiver").as_deref() == Some("devlog");
        let line = match run_row(&row, devlog) {
            Ok(f) => format!(
                "ROW\t{}\t{}\t{}\t{}\t{}",
                f.p50,
                f.p99,
                f.records_per_s,
                f.sent,
                f.delivered.map_or("-".to_owned(), |d| d.to_string())
            ),
            Err(reason) => format!("SKIP\t{reason}"),
        };
        println!("{line}");
        return;
    }
    if flag("--help") || flag("-h") {
        println!(
            "usage: overhead [--json] [--no-devlog] [--rows NAME[,NAME...]] [--scenario NAME[,NAME...]] [--rounds N] [--dgram-qlen N] [--list]\n\
             scenarios: {}, {}",
            peers::SCENARIOS.map(peers::Scenario::name).join(", "),
            peers::SUSTAINED
        );
        return;
    }
    if flag("--list") {
        for r in ROWS {
            let reference = if r.reference { " (reference)" } else { "" };
            println!("{:<26} {}{reference}", r.name, r.description);
        }
        for p in peers::PEERS {
            let reference = if p.reference { " (floor)" } else { "" };
            println!("{:<26} {}{reference}", p.name, p.description);
        }
        return;
    }
    // `--only` is the older spelling of `--rows`.
    let only: Vec<String> = [list("--rows"), list("--only")].concat();
    let selected = |name: &str| only.is_empty() || only.iter().any(|n| n == name);
    let scenarios = list("--scenario");
    let known: Vec<String> = peers::SCENARIOS
        .map(peers::Scenario::name)
        .into_iter()
        .chain([peers::SUSTAINED.to_owned()])
        .collect();
    if let Some(bad) = scenarios.iter().find(|s| !known.contains(s)) {
        eprintln!(
            "overhead: --scenario: unknown scenario {bad:?} (known: {})",
            known.join(", ")
        );
        std::process::exit(2);
    }
    let rounds = match value("--rounds").map(|r| r.parse::<usize>()) {
        None => ROUNDS,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("overhead: --rounds: expected a number above 0");
            std::process::exit(2);
        }
    };
    let latency = scenarios.is_empty() || scenarios.iter().any(|s| s != peers::SUSTAINED);
    let lossless = scenarios.is_empty() || scenarios.iter().any(|s| s == peers::SUSTAINED);
    let peer_rows: Vec<&peers::Peer> = peers::PEERS.iter().filter(|p| selected(p.name)).collect();
    let json = flag("--json");
    let started = Instant::now();
    let exe = std::env::current_exe().expect("current exe");
    let progress = |what: &str, round: usize| {
        if !json {
            eprint!("\r{:<48}", format!("round {}/{rounds}: {what}", round + 1));
        }
    };

    // Round-robin: every row once per round, so a burst of load elsewhere hits all rows alike.
    let mut peer_results = peers::Results::default();
    let mut row_rounds: Vec<Vec<Measured>> = Vec::new();
    for round in 0..rounds {
        for p in &peer_rows {
            if latency {
                progress(p.name, round);
                peer_results.run(&exe, p.name, peers::Policy::Lossy, &scenarios);
            }
            if lossless {
                progress(&format!("{} (lossless)", p.name), round);
                peer_results.run(&exe, p.name, peers::Policy::Lossless, &scenarios);
            }
        }
        // The first table runs once; the rows the targets read run in every round.
        let rows: Vec<Measured> = ROWS
            .iter()
            .filter(|r| selected(r.name) && (round == 0 || TARGET_ROWS.contains(&r.name)))
            .map(|r| {
                progress(r.name, round);
                spawn_row(r.name, r.glibc, false)
            })
            .collect();
        row_rounds.push(rows);
    }
    let rows = row_rounds.first().cloned().unwrap_or_default();
    let devlog_rows = if !flag("--no-devlog") && daemon_on_devlog() {
        ROWS.iter()
            .filter(|r| r.on_devlog && selected(r.name))
            .map(|r| {
                if !json {
                    eprint!("\r{:<48}", format!("devlog/{}", r.name));
                }
                let mut measured = spawn_row(r.name, false, true);
                measured.name = format!("devlog/{}", r.name);
                measured
            })
            .collect()
    } else {
        Vec::new()
    };
    if !json {
        eprint!("\r{:<48}\r", "");
    }
    let shown_scenarios: Vec<peers::Scenario> = peers::SCENARIOS
        .into_iter()
        .filter(|s| scenarios.is_empty() || scenarios.contains(&s.name()))
        .collect();
    if json {
        print_json(
            rows.iter()
                .chain(&devlog_rows)
                .filter(|m| !row(&m.name).is_some_and(|r| r.reference)),
            &peer_results,
            &peer_rows,
            &shown_scenarios,
        );
    } else {
        print_table("embedded receiver (in-process datagram sink)", &rows);
        if let Some(qlen) = devlog::dgram_qlen() {
            println!("(its socket queues {qlen} datagrams: net.unix.max_dgram_qlen)");
        }
        if !devlog_rows.is_empty() {
            print_table("/dev/log (the system's syslog daemon)", &devlog_rows);
        }
        if !peer_rows.is_empty() {
            println!("\npeer comparison: every row in its own process, round-robin");
            peers::print(&peer_results, &peer_rows, &shown_scenarios, rounds);
        }
        print_targets(&row_rounds, &peer_results, &shown_scenarios);
        println!(
            "\n{rounds} rounds; total run time {:.1} s; load average at the end: {}",
            started.elapsed().as_secs_f64(),
            load_average()
        );
    }
}

/// The machine's load averages (1, 5, 15 min), as `/proc/loadavg` gives them.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

/// Runs one row in a child process (inside the private namespace for glibc rows).
fn spawn_row(name: &str, glibc: bool, devlog: bool) -> Measured {
    let exe = std::env::current_exe().expect("current exe");
    let mut args: Vec<OsString> = vec!["--row".into(), name.into()];
    if devlog {
        args.push("--receiver".into());
        args.push("devlog".into());
    }
    let ns_dir = if glibc && !devlog {
        match devlog::make_dir() {
            Ok(d) => Some(d),
            Err(e) => return skipped(name, format!("cannot create a temp dir: {e}")),
        }
    } else {
        None
    };
    let cmd = match &ns_dir {
        Some(dir) => devlog::command(dir, &exe, &args),
        None => {
            let mut c = Command::new(&exe);
            c.args(&args);
            Ok(c)
        }
    };
    let result = cmd.and_then(run_child);
    if let Some(dir) = &ns_dir {
        devlog::cleanup(dir);
    }
    match result {
        Err(e) if ns_dir.is_some() => skipped(
            name,
            format!("needs glibc's /dev/log in a private mount namespace: {e}"),
        ),
        Err(e) => skipped(name, e),
        Ok(out) => parse_row(name, &out),
    }
}

fn skipped(name: &str, reason: String) -> Measured {
    Measured {
        name: name.to_owned(),
        result: Err(reason),
    }
}

/// Runs a row's process with a 30 s bound and returns its stdout.
fn run_child(mut cmd: Command) -> Result<String, String> {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start: {e}"))?;
    let bounded =
        fastsyslog_testkit::process::wait_with_output_within(child, Duration::from_secs(30))
            .map_err(|e| format!("wait failed: {e}"))?;
    if bounded.timed_out {
        return Err("timed out after 30 s".into());
    }
    let status = bounded.output.status;
    let out = String::from_utf8_lossy(&bounded.output.stdout).into_owned();
    let err = String::from_utf8_lossy(&bounded.output.stderr);
    if devlog::setup_failed(status) {
        return Err(format!(
            "cannot set up a private mount namespace (unshare -m / mount): {}",
            err.trim()
        ));
    }
    if !status.success() {
        return Err(format!("row failed ({status}): {}", err.trim()));
    }
    Ok(out)
}

fn parse_row(name: &str, out: &str) -> Measured {
    let line = out
        .lines()
        .rev()
        .find(|l| l.starts_with("ROW") || l.starts_with("SKIP"));
    let result = match line {
        Some(l) if l.starts_with("SKIP") => Err(l["SKIP\t".len()..].to_owned()),
        Some(l) => {
            let f: Vec<&str> = l.split('\t').collect();
            let num = |i: usize| {
                f.get(i)
                    .and_then(|s| s.parse::<f64>().ok())
                    .unwrap_or(f64::NAN)
            };
            Ok(Figures {
                p50: num(1),
                p99: num(2),
                records_per_s: num(3),
                sent: num(4) as u64,
                delivered: f.get(5).and_then(|s| s.parse().ok()),
            })
        }
        None => Err(format!("no result from the row process: {out:?}")),
    };
    Measured {
        name: name.to_owned(),
        result,
    }
}

/// Whether something accepts datagrams on the real `/dev/log` (only connects; sends nothing).
fn daemon_on_devlog() -> bool {
    std::os::unix::net::UnixDatagram::unbound()
        .and_then(|s| s.connect("/dev/log"))
        .is_ok()
}

// === one row (child process) ===

/// Counts calls, for the delivered check.
struct Counted<F> {
    f: F,
    n: u64,
}

impl<F: FnMut()> Counted<F> {
    fn call(&mut self) {
        self.n += 1;
        (self.f)();
    }
}

/// Measures `f`: latency (per-call percentiles), then throughput with `flush` included.
fn measure_row<F: FnMut(), G: FnMut()>(
    batch: u32,
    spacing: Option<Duration>,
    f: F,
    mut flush: G,
) -> Figures {
    let budget = Budget::QUICK;
    let mut c = Counted { f, n: 0 };
    let (p50, p99) = measure::latency(&mut || c.call(), batch, spacing, budget);
    flush();
    let (records_per_s, _) = if spacing.is_some() {
        // Sparse rows: the rate is the offered one; report what the sparse run achieved.
        let start = Instant::now();
        let n0 = c.n;
        while start.elapsed() < Duration::from_millis(200) {
            c.call();
            std::thread::sleep(SPARSE);
        }
        flush();
        ((c.n - n0) as f64 / start.elapsed().as_secs_f64(), 0)
    } else {
        // Disabled rows (batch > 1) deliver nothing by design: their rate is the caller's.
        let counted = || if batch == 1 { delivered_now() } else { None };
        let before = counted();
        let (rate, n) = measure::throughput(&mut || c.call(), &mut flush, budget);
        match (before, counted()) {
            // What reached the receiver, not what the caller handed over: a lossy queue that
            // drops under load must not look faster for it. (Datagrams still in the receiver's
            // socket queue, at most a few dozen, are not counted yet.)
            (Some(a), Some(b)) => (b.saturating_sub(a) as f64 * rate / n as f64, n),
            _ => (rate, n),
        }
    };
    Figures {
        p50,
        p99,
        records_per_s,
        sent: c.n,
        delivered: None,
    }
}

/// Reads how many records reached the row's receiver so far (sink datagrams or file lines).
type DeliveredCounter = Box<dyn Fn() -> u64 + Send>;

static DELIVERED: std::sync::Mutex<Option<DeliveredCounter>> = std::sync::Mutex::new(None);

fn set_delivered_counter(f: DeliveredCounter) {
    *DELIVERED.lock().unwrap_or_else(|p| p.into_inner()) = Some(f);
}

fn delivered_now() -> Option<u64> {
    DELIVERED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .map(|f| f())
}

/// The row's receiver: the in-process sink (at the namespace's `/dev/log` target for glibc rows),
/// or the real `/dev/log`.
struct Receiver {
    target: Option<Target>,
    path: PathBuf,
}

impl Receiver {
    fn new(devlog: bool, glibc: bool) -> Result<Receiver, String> {
        if devlog {
            return Ok(Receiver {
                target: None,
                path: PathBuf::from("/dev/log"),
            });
        }
        let target = if glibc {
            let socket = devlog::inside().ok_or(
                "needs glibc's /dev/log in a private mount namespace, which is not set up",
            )?;
            Target::from_env(Some(&socket))
        } else {
            Target::from_env(None)
        };
        if let Target::Sink(sink) = &target {
            let counts = sink.counts();
            set_delivered_counter(Box::new(move || {
                counts.datagrams.load(std::sync::atomic::Ordering::Relaxed)
            }));
        }
        Ok(Receiver {
            path: target.path(),
            target: Some(target),
        })
    }

    /// Adds the delivered count (waiting up to 2 s for datagrams still in flight).
    fn finish(&self, mut f: Figures) -> Figures {
        f.delivered = self
            .target
            .as_ref()
            .and_then(|t| t.wait_for(f.sent, Duration::from_secs(2)));
        f
    }
}

/// The background design with nothing but the hand-off: a bounded queue of the bulk lane's default
/// capacity, and a thread that takes the records, sends each with `send(2)` and hands the buffers
/// back, backing off from 50 µs to 1 ms when idle, like the writer. Callers take recycled buffers
/// into a thread-local stash, eight at a time, like fastsyslog's callers.
struct HandOff {
    tx: std::sync::mpsc::SyncSender<Vec<u8>>,
    free: std::sync::Mutex<std::sync::mpsc::Receiver<Vec<u8>>>,
    done: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
}

std::thread_local! {
    static STASH: std::cell::RefCell<Vec<Vec<u8>>> =
        std::cell::RefCell::new(Vec::with_capacity(8));
}

impl HandOff {
    fn start(path: &Path) -> Result<Self, String> {
        use std::sync::mpsc::{sync_channel, TryRecvError};
        let sock = std::os::unix::net::UnixDatagram::unbound().map_err(|e| e.to_string())?;
        sock.connect(path).map_err(|e| e.to_string())?;
        let (tx, queue) = sync_channel::<Vec<u8>>(fastsyslog::DEFAULT_BULK_QUEUE_CAPACITY);
        let (free_tx, free) = sync_channel::<Vec<u8>>(1024);
        let (done_tx, done) = sync_channel::<()>(1);
        std::thread::spawn(move || {
            let mut idle = Duration::from_micros(50);
            loop {
                match queue.try_recv() {
                    // An empty buffer is a flush marker.
                    Ok(buf) if buf.is_empty() => {
                        if done_tx.send(()).is_err() {
                            return;
                        }
                    }
                    Ok(mut buf) => {
                        // A failed send is visible in the delivered count.
                        let _ = sock.send(&buf);
                        buf.clear();
                        let _ = free_tx.try_send(buf);
                        idle = Duration::from_micros(50);
                    }
                    Err(TryRecvError::Empty) => {
                        std::thread::sleep(idle);
                        idle = (idle * 2).min(Duration::from_millis(1));
                    }
                    Err(TryRecvError::Disconnected) => return,
                }
            }
        });
        Ok(HandOff {
            tx,
            free: std::sync::Mutex::new(free),
            done: std::sync::Mutex::new(done),
        })
    }

    /// Writes one record with `write` into a recycled buffer and queues it; a full queue leaves the
    /// buffer in the stash for the next record.
    fn record(&self, write: impl FnOnce(&mut Vec<u8>)) {
        use std::sync::mpsc::TrySendError;
        let mut buf = STASH
            .with(|stash| {
                let mut stash = stash.borrow_mut();
                if stash.is_empty() {
                    if let Ok(free) = self.free.try_lock() {
                        stash.extend(free.try_iter().take(8));
                    }
                }
                stash.pop()
            })
            .unwrap_or_else(|| Vec::with_capacity(512));
        write(&mut buf);
        if let Err(TrySendError::Full(mut buf) | TrySendError::Disconnected(mut buf)) =
            self.tx.try_send(buf)
        {
            buf.clear();
            STASH.with(|stash| stash.borrow_mut().push(buf));
        }
    }

    /// Returns once the thread passed everything queued before.
    fn flush(&self) {
        if self.tx.send(Vec::new()).is_ok() {
            if let Ok(done) = self.done.lock() {
                let _ = done.recv();
            }
        }
    }
}

/// The floor of the background design: the whole datagram written with one `write!` (no level
/// check, routing, escaping, truncation or accounting; a fixed header) and handed off, back-to-back
/// or spaced like `background_sparse`.
fn handoff_floor(cx: &Cx, spacing: Option<Duration>) -> Result<Figures, String> {
    let handoff = HandOff::start(&cx.rx.path)?;
    let pid = std::process::id();
    let record = || handoff.record(|buf| write_datagram(buf, pid));
    cx.measure_delivered(spacing, record, || handoff.flush())
}

/// Appends the whole access-record datagram with one `write!` (a fixed header, the values behind
/// `black_box`): what the floor rows format per record.
fn write_datagram(buf: &mut Vec<u8>, pid: u32) {
    use std::io::Write as _;
    // Writing into a Vec cannot fail.
    let _ = write!(
        buf,
        "<134>Nov 22 20:34:36 {}[{}]: {} {} HTTP/1.1 status={} bytes={} duration_us={}",
        support::IDENT,
        std::hint::black_box(pid),
        std::hint::black_box(support::METHOD),
        std::hint::black_box(support::PATH),
        std::hint::black_box(support::STATUS),
        std::hint::black_box(support::BYTES),
        std::hint::black_box(support::DURATION_US)
    );
}

/// The same floor as a `log::Log`, fed by the same `log::info!` as `background`: the header, then
/// `record.args()` and each key-value as ` key=value`, all with `write!`, then the hand-off.
struct FloorLogger {
    handoff: HandOff,
    pid: u32,
}

impl log::Log for FloorLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        use std::io::Write as _;
        self.handoff.record(|buf| {
            // Writing into a Vec cannot fail.
            let _ = write!(
                buf,
                "<134>Nov 22 20:34:36 {}[{}]: {}{}",
                support::IDENT,
                self.pid,
                record.args(),
                support::file_logger::KeyValues(record.key_values())
            );
        });
    }

    fn flush(&self) {
        self.handoff.flush();
    }
}

fn handoff_floor_log(cx: &Cx) -> Result<Figures, String> {
    install_floor_logger(&cx.rx.path)?;
    cx.measure_delivered(None, || support::access_record!(), || log::logger().flush())
}

/// Installs [`FloorLogger`], sending to `path`, as the global `log` logger at `info`.
fn install_floor_logger(path: &Path) -> Result<(), String> {
    let logger = FloorLogger {
        handoff: HandOff::start(path)?,
        pid: std::process::id(),
    };
    log::set_boxed_logger(Box::new(logger)).map_err(|e| e.to_string())?;
    log::set_max_level(log::LevelFilter::Info);
    Ok(())
}

fn ident() -> &'static std::ffi::CStr {
    Box::leak(
        CString::new(support::IDENT)
            .expect("no NUL")
            .into_boxed_c_str(),
    )
}

/// A temp file for a file row; its line count becomes the row's delivered counter.
fn temp_file(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = support::temp_dir();
    let path = dir.path().join(name);
    let counted = path.clone();
    set_delivered_counter(Box::new(move || count_lines(&counted).unwrap_or(0)));
    (dir, path)
}

fn count_lines(path: &Path) -> Option<u64> {
    std::fs::read(path)
        .ok()
        .map(|b| b.iter().filter(|&&c| c == b'\n').count() as u64)
}

fn fastsyslog(receiver: &Receiver, mode: Mode, filter: &str) -> fastsyslog::Builder {
    let b = fastsyslog::Builder::new()
        .ident(support::IDENT)
        .filter(filter)
        .mode(mode);
    b.socket(&receiver.path)
}

/// The disabled record of `no_logger` and `disabled_log`: one function, so both rows run the very
/// same machine code and differ only in whether fastsyslog is installed.
fn disabled_record() {
    log::debug!(target: "app", "{} {}", std::hint::black_box(1), 2);
}

/// The same for `disabled_tracing` and `tracing_no_subscriber`.
fn disabled_event() {
    tracing::debug!(target: "app", n = std::hint::black_box(1), "disabled");
}

/// Runs the row called `name` in this process (the `--row` mode).
fn run_row(name: &str, devlog: bool) -> Result<Figures, String> {
    let row = row(name).ok_or_else(|| format!("unknown row {name}"))?;
    let cx = Cx {
        name: row.name,
        batch: row.batch,
        rx: Receiver::new(devlog, row.glibc)?,
    };
    (row.run)(&cx)
}

/// What a row's `run` gets: its name and batch, and the receiver it sends to.
struct Cx {
    name: &'static str,
    batch: u32,
    rx: Receiver,
}

impl Cx {
    /// [`measure_row`] with the row's batch.
    fn measure(&self, spacing: Option<Duration>, f: impl FnMut(), flush: impl FnMut()) -> Figures {
        measure_row(self.batch, spacing, f, flush)
    }

    /// [`Cx::measure`], then what reached the receiver ([`Receiver::finish`]).
    fn measure_delivered(
        &self,
        spacing: Option<Duration>,
        f: impl FnMut(),
        flush: impl FnMut(),
    ) -> Result<Figures, String> {
        Ok(self.rx.finish(self.measure(spacing, f, flush)))
    }
}

fn disabled_log(cx: &Cx) -> Result<Figures, String> {
    let _guard = fastsyslog(&cx.rx, Mode::Sync, "info")
        .try_init()
        .map_err(|e| e.to_string())?;
    Ok(cx.measure(None, disabled_record, || {}))
}

fn format_only_sparse(cx: &Cx) -> Result<Figures, String> {
    // The floor of any design that formats on the caller: the whole datagram written with
    // `write!` into a reused buffer, nothing queued or sent, spaced like `background_sparse`.
    let mut buf: Vec<u8> = Vec::with_capacity(512);
    let record = || {
        buf.clear();
        write_datagram(&mut buf, 4242);
        std::hint::black_box(&buf);
    };
    Ok(cx.measure(Some(SPARSE), record, || {}))
}

fn raw_libc_syslog(cx: &Cx) -> Result<Figures, String> {
    let msg = CString::new(support::rendered_body()).expect("no NUL");
    fastsyslog_testkit::syslog::openlog(ident(), true, libc::LOG_LOCAL0);
    let pri = libc::LOG_LOCAL0 | libc::LOG_INFO;
    cx.measure_delivered(
        None,
        || fastsyslog_testkit::syslog::syslog(pri, &msg),
        || {},
    )
}

fn raw_send(cx: &Cx) -> Result<Figures, String> {
    let sock = std::os::unix::net::UnixDatagram::unbound().map_err(|e| e.to_string())?;
    sock.connect(&cx.rx.path).map_err(|e| e.to_string())?;
    let datagram = support::rendered_datagram();
    cx.measure_delivered(
        None,
        || {
            // A failed send is visible in the delivered count.
            let _ = sock.send(&datagram);
        },
        || {},
    )
}

fn libc_sync(cx: &Cx) -> Result<Figures, String> {
    // No socket: the libc transport, through the namespace's /dev/log.
    let _guard = fastsyslog::Builder::new()
        .ident(support::IDENT)
        .mode(Mode::Sync)
        .try_init()
        .map_err(|e| e.to_string())?;
    cx.measure_delivered(None, || support::access_record!(), || {})
}

/// fastsyslog as the global `log` logger in `mode`, records spaced by `spacing`; with `lossless`
/// the bulk lane blocks instead of dropping.
fn fastsyslog_log(
    cx: &Cx,
    mode: Mode,
    spacing: Option<Duration>,
    lossless: bool,
) -> Result<Figures, String> {
    let mut builder = fastsyslog(&cx.rx, mode, "info");
    if lossless {
        // The writer's own throughput: a full lane makes the caller wait instead of dropping, so
        // it stops competing for the CPU with the writer and the receiver, and every record is
        // delivered.
        builder = builder.overflow(fastsyslog::Lane::Bulk, fastsyslog::Overflow::Block);
    }
    let guard = builder.try_init().map_err(|e| e.to_string())?;
    let f = cx.measure(
        spacing,
        || support::access_record!(),
        || {
            guard.flush();
        },
    );
    report_drops(cx.name, &guard.stats());
    Ok(cx.rx.finish(f))
}

/// A file logger made by `make` as the global `log` logger.
fn file_logger(
    cx: &Cx,
    make: fn(&Path) -> support::file_logger::FileLogger,
) -> Result<Figures, String> {
    let (_dir, path) = temp_file("app.log");
    log::set_boxed_logger(Box::new(make(&path))).map_err(|e| e.to_string())?;
    log::set_max_level(log::LevelFilter::Info);
    let mut f = cx.measure(None, || support::access_record!(), || log::logger().flush());
    f.delivered = count_lines(&path);
    Ok(f)
}

fn stdlib_chain_disabled(cx: &Cx) -> Result<Figures, String> {
    let udp = support::UdpSink::new();
    let (_m, access, _h) = chain(support::stdlib_chain::SysLogAddress::Udp(udp.addr()))?;
    Ok(cx.measure(None, || support::stdlib_chain::log_disabled(&access), || {}))
}

fn stdlib_chain_syslog_udp(cx: &Cx) -> Result<Figures, String> {
    let udp = support::UdpSink::new();
    let counts = udp.counts();
    set_delivered_counter(Box::new(move || {
        counts.datagrams.load(std::sync::atomic::Ordering::Relaxed)
    }));
    let (_m, access, _h) = chain(support::stdlib_chain::SysLogAddress::Udp(udp.addr()))?;
    let mut f = cx.measure(None, || support::stdlib_chain::log_access(&access), || {});
    let deadline = Instant::now() + Duration::from_secs(2);
    while udp.received() < f.sent && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    f.delivered = Some(udp.received());
    Ok(f)
}

fn stdlib_chain_syslog_unix(cx: &Cx) -> Result<Figures, String> {
    let (_m, access, _h) = chain(support::stdlib_chain::SysLogAddress::Unix(
        cx.rx.path.clone(),
    ))?;
    cx.measure_delivered(None, || support::stdlib_chain::log_access(&access), || {})
}

fn stdlib_chain_file(cx: &Cx) -> Result<Figures, String> {
    use support::stdlib_chain::{service, Emitter, FileHandler, FILE_FORMAT};
    let (_dir, path) = temp_file("app.log");
    let handler = FileHandler::new(&path).map_err(|e| e.to_string())?;
    let (_m, access, h) = service(Emitter::File(handler), FILE_FORMAT);
    let mut f = cx.measure(
        None,
        || support::stdlib_chain::log_access(&access),
        || h.flush(),
    );
    f.delivered = count_lines(&path);
    Ok(f)
}

fn syslog_crate(cx: &Cx) -> Result<Figures, String> {
    let formatter = syslog::Formatter3164 {
        facility: syslog::Facility::LOG_LOCAL0,
        hostname: None,
        process: support::IDENT.into(),
        pid: std::process::id(),
    };
    let logger = syslog::unix_custom(formatter, &cx.rx.path).map_err(|e| e.to_string())?;
    log::set_boxed_logger(Box::new(syslog::BasicLogger::new(logger))).map_err(|e| e.to_string())?;
    log::set_max_level(log::LevelFilter::Info);
    cx.measure_delivered(None, || support::access_record_text!(), || {})
}

fn syslog_tracing(cx: &Cx) -> Result<Figures, String> {
    let syslog = syslog_tracing::Syslog::new(
        ident(),
        syslog_tracing::Options::LOG_PID | syslog_tracing::Options::LOG_NDELAY,
        syslog_tracing::Facility::Local0,
    )
    .ok_or("syslog-tracing: a logger already exists")?;
    let subscriber = tracing_subscriber::fmt()
        .with_writer(syslog)
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).map_err(|e| e.to_string())?;
    cx.measure_delivered(None, || support::access_event!(), || {})
}

fn tracing_appender(cx: &Cx) -> Result<Figures, String> {
    let (_dir, path) = temp_file("app.log");
    let file = std::fs::File::create(&path).map_err(|e| e.to_string())?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).map_err(|e| e.to_string())?;
    let mut guard = Some(guard);
    let mut flushes = 0;
    let mut f = cx.measure(
        None,
        || support::access_event!(),
        // The only flush non_blocking offers is dropping its guard (it drains the queue): done at
        // the second flush, the end of the throughput phase.
        || {
            flushes += 1;
            if flushes == 2 {
                drop(guard.take());
            }
        },
    );
    f.delivered = count_lines(&path);
    Ok(f)
}

fn env_logger_file(cx: &Cx) -> Result<Figures, String> {
    let (_dir, path) = temp_file("app.log");
    install_env_logger(&path)?;
    let mut f = cx.measure(
        None,
        || support::access_record_text!(),
        || log::logger().flush(),
    );
    f.delivered = count_lines(&path);
    Ok(f)
}

/// Installs env_logger at `info`, writing plain lines to a new file at `path`.
fn install_env_logger(path: &Path) -> Result<(), String> {
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let logger = env_logger::Builder::new()
        .target(env_logger::Target::Pipe(Box::new(file)))
        .filter_level(log::LevelFilter::Info)
        .write_style(env_logger::WriteStyle::Never)
        .build();
    log::set_boxed_logger(Box::new(logger)).map_err(|e| e.to_string())?;
    log::set_max_level(log::LevelFilter::Info);
    Ok(())
}

/// The chain's manager (kept alive), the access logger, and its handler.
type Chain = (
    std::sync::Arc<support::stdlib_chain::Manager>,
    std::sync::Arc<support::stdlib_chain::Logger>,
    std::sync::Arc<support::stdlib_chain::Handler>,
);

fn chain(address: support::stdlib_chain::SysLogAddress) -> Result<Chain, String> {
    use support::stdlib_chain::{service, Emitter, SysLogHandler, SYSLOG_FORMAT};
    let handler = SysLogHandler::new(address).map_err(|e| e.to_string())?;
    Ok(service(Emitter::SysLog(handler), SYSLOG_FORMAT))
}

fn disabled_tracing(cx: &Cx) -> Result<Figures, String> {
    let _guard = fastsyslog(&cx.rx, Mode::Sync, "info")
        .try_init_tracing()
        .map_err(|e| e.to_string())?;
    Ok(cx.measure(None, disabled_event, || {}))
}

fn tracing_background(cx: &Cx) -> Result<Figures, String> {
    let guard = fastsyslog(&cx.rx, Mode::Background, "info")
        .try_init_tracing()
        .map_err(|e| e.to_string())?;
    let f = cx.measure(
        None,
        || support::access_event!(),
        || {
            guard.flush();
        },
    );
    report_drops(cx.name, &guard.stats());
    Ok(cx.rx.finish(f))
}

/// Says on stderr (which the coordinator shows only on failure) what fastsyslog dropped.
fn report_drops(name: &str, stats: &fastsyslog::Stats) {
    if stats.dropped_total() > 0 {
        eprintln!("{name}: fastsyslog dropped {}", stats.dropped_total());
    }
}

// === output ===

fn fmt_num(x: f64) -> String {
    if x.is_nan() {
        "-".into()
    } else if x >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

fn fmt_rate(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn print_table(title: &str, rows: &[Measured]) {
    let base = rows
        .iter()
        .find(|r| r.name.ends_with("file_line_flushed"))
        .and_then(|r| r.result.as_ref().ok())
        .map(|f| f.p50);
    println!("\n{title}");
    println!(
        "{:<26} {:>10} {:>10} {:>12} {:>10}  delivered",
        "approach", "p50 ns", "p99 ns", "records/s", "vs file"
    );
    for r in rows {
        match &r.result {
            Ok(f) => {
                let rel = base.map_or("-".into(), |b| format!("{:.3}x", f.p50 / b));
                let delivered = match f.delivered {
                    Some(d) if d >= f.sent => "all".to_owned(),
                    Some(d) => format!("{d}/{}", f.sent),
                    None => "-".to_owned(),
                };
                let disabled = row(&r.name).is_some_and(|row| row.batch > 1);
                let delivered = if f.sent == 0 || disabled {
                    "-".to_owned()
                } else {
                    delivered
                };
                println!(
                    "{:<26} {:>10} {:>10} {:>12} {:>10}  {delivered}",
                    r.name,
                    fmt_num(f.p50),
                    fmt_num(f.p99),
                    fmt_rate(f.records_per_s),
                    rel
                );
            }
            Err(reason) => println!("{:<26} skipped: {reason}", r.name),
        }
    }
}

fn print_json<'a>(
    rows: impl Iterator<Item = &'a Measured>,
    peer_results: &peers::Results,
    peer_rows: &[&peers::Peer],
    scenarios: &[peers::Scenario],
) {
    let num = |x: f64| {
        if x.is_finite() {
            format!("{x:.1}")
        } else {
            "null".into()
        }
    };
    let mut items: Vec<String> = rows
        .map(|r| match &r.result {
            Ok(f) => format!(
                "{{\"name\":\"{}\",\"caller_ns_p50\":{},\"caller_ns_p99\":{},\"records_per_s\":{}}}",
                r.name,
                num(f.p50),
                num(f.p99),
                num(f.records_per_s)
            ),
            Err(reason) => format!(
                "{{\"name\":\"{}\",\"caller_ns_p50\":null,\"caller_ns_p99\":null,\"records_per_s\":null,\"skipped\":\"{}\"}}",
                r.name,
                json_escape(reason)
            ),
        })
        .collect();
    let peer_items = peer_rows.iter().flat_map(|p| {
        scenarios
            .iter()
            .map(|s| (peers::Policy::Lossy, s.name()))
            .chain([(peers::Policy::Lossless, peers::SUSTAINED.to_owned())])
            .filter_map(move |(policy, scenario)| {
                let item = match peer_results.get(p.name, policy, &scenario)? {
                    Ok(st) => format!(
                        "{{\"name\":\"peer/{}\",\"scenario\":\"{scenario}\",\"caller_ns_p50\":{},\"caller_ns_p99\":{},\"caller_ns_p999\":{},\"caller_ns_mean\":{},\"attempted\":{},\"delivered\":{},\"records_per_s\":{}}}",
                        p.name,
                        num(st.p50),
                        num(st.p99),
                        num(st.p999),
                        num(st.mean),
                        st.attempted,
                        st.delivered,
                        if policy == peers::Policy::Lossless { num(st.rate) } else { String::from("null") }
                    ),
                    Err(reason) => format!(
                        "{{\"name\":\"peer/{}\",\"scenario\":\"{scenario}\",\"skipped\":\"{}\"}}",
                        p.name,
                        json_escape(&reason)
                    ),
                };
                Some(item)
            })
    });
    items.extend(peer_items);
    println!("[\n  {}\n]", items.join(",\n  "));
}

fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// One target line: met or missed, what was measured, and the floor where there is one.
fn target(what: &str, measured: Option<(bool, String)>) {
    match measured {
        Some((true, detail)) => println!("  [met ] {what}: {detail}"),
        Some((false, detail)) => println!("  [MISS] {what}: {detail}"),
        None => println!("  [ -- ] {what}: not measured in this run"),
    }
}

/// Checks the issue's targets against this run's numbers: ratios only, each from this run.
fn print_targets(
    row_rounds: &[Vec<Measured>],
    peer_results: &peers::Results,
    scenarios: &[peers::Scenario],
) {
    use peers::{Policy, Stat};
    let first: &[Measured] = row_rounds.first().map_or(&[], Vec::as_slice);
    let get = |rows: &[Measured], n: &str| {
        rows.iter()
            .find(|r| r.name == n)
            .and_then(|r| r.result.as_ref().ok())
            .copied()
    };
    let p50 = |f: &Figures| f.p50;
    let rps = |f: &Figures| f.records_per_s;
    // The ratio `a / b` in each round that measured both, and their median.
    let per_round = |a: &str, b: &str, f: fn(&Figures) -> f64| -> Option<(f64, String)> {
        let mut v: Vec<f64> = row_rounds
            .iter()
            .filter_map(|rows| Some(f(&get(rows, a)?) / f(&get(rows, b)?)))
            .filter(|x| x.is_finite())
            .collect();
        if v.is_empty() {
            return None;
        }
        let each = v
            .iter()
            .map(|x| format!("{x:.2}"))
            .collect::<Vec<_>>()
            .join(", ");
        v.sort_by(f64::total_cmp);
        Some((v[v.len() / 2], each))
    };
    println!("\ntargets (ratios measured in this run; fastsyslog = its background mode)");
    // fastsyslog's rows (datagrams, and the stream transport where it ran), every scenario.
    let ours: Vec<&str> = peers::PEERS
        .iter()
        .filter(|p| p.ours)
        .map(|p| p.name)
        .collect();
    for (row, s) in ours
        .iter()
        .flat_map(|r| scenarios.iter().map(move |s| (*r, s)))
    {
        let name = s.name();
        if row != "fastsyslog"
            && !matches!(peer_results.get(row, Policy::Lossy, &name), Some(Ok(_)))
        {
            continue;
        }
        for (label, key) in [
            ("p50", (|st: &Stat| st.p50) as fn(&Stat) -> f64),
            ("p99", |st: &Stat| st.p99),
        ] {
            let measured = (|| {
                let mine = key(&peer_results.get(row, Policy::Lossy, &name)?.ok()?);
                let (best, theirs) = peer_results.best_peer(Policy::Lossy, &name, key, true)?;
                let ratio = mine / theirs;
                let floor = peer_results
                    .get("handoff_floor_log", Policy::Lossy, &name)
                    .and_then(Result::ok)
                    .map_or(String::new(), |f| {
                        format!("; floor handoff_floor_log {:.2}x", key(&f) / theirs)
                    });
                Some((
                    ratio <= 0.5,
                    format!(
                        "{ratio:.2}x ({row} {} ns, best peer {best} {} ns{floor})",
                        fmt_num(mine),
                        fmt_num(theirs)
                    ),
                ))
            })();
            let transport = if row == "fastsyslog" {
                ""
            } else {
                " (stream transport)"
            };
            target(
                &format!("caller {label} {name} <= 0.5x the best peer's{transport}"),
                measured,
            );
        }
    }
    let sustained = |row: &str| {
        let mine = peer_results
            .get(row, Policy::Lossless, peers::SUSTAINED)?
            .ok()?
            .rate;
        let (best, theirs) =
            peer_results.best_peer(Policy::Lossless, peers::SUSTAINED, |st| st.rate, false)?;
        let ratio = mine / theirs;
        Some((
            ratio >= 1.0,
            format!(
                "{ratio:.2}x ({row} {}/s, fastest lossless peer {best} {}/s)",
                fmt_rate(mine),
                fmt_rate(theirs)
            ),
        ))
    };
    target(
        "lossless sustained rate >= the fastest lossless peer's (datagrams)",
        sustained("fastsyslog"),
    );
    target(
        "lossless drain >= 1.3x raw glibc syslog(3) (background_lossless / raw_libc_syslog records/s, datagrams)",
        per_round("background_lossless", "raw_libc_syslog", rps).map(|(m, each)| {
            let qlen = devlog::dgram_qlen().map_or(String::new(), |q| {
                format!("; socket queue {q} datagrams")
            });
            (m >= 1.3, format!("{m:.2}x (per round {each}{qlen})"))
        }),
    );
    match peer_results.get("fastsyslog_stream", Policy::Lossless, peers::SUSTAINED) {
        Some(Ok(stream)) => {
            target(
                "lossless sustained rate >= the fastest lossless peer's (stream transport)",
                sustained("fastsyslog_stream"),
            );
            // The glibc loop's records/s, median over the rounds.
            let mut glibc: Vec<f64> = row_rounds
                .iter()
                .filter_map(|rows| Some(get(rows, "raw_libc_syslog")?.records_per_s))
                .collect();
            glibc.sort_by(f64::total_cmp);
            target(
                "lossless drain >= 3x raw glibc syslog(3) (stream transport)",
                glibc.get(glibc.len() / 2).map(|g| {
                    let r = stream.rate / g;
                    (r >= 3.0, format!("{r:.2}x ({}/s vs {}/s)", fmt_rate(stream.rate), fmt_rate(*g)))
                }),
            );
        }
        Some(Err(reason)) => println!(
            "  [ -- ] lossless sustained rate and drain (>= 3x raw glibc) with the stream transport: not measured: {reason}"
        ),
        None => target("lossless sustained rate and drain with the stream transport", None),
    }
    println!(
        "  [ -- ] request path: background logging's requests/s overhead <= 0.25x line-flushed file logging's, server pinned: measured by benches/http.sh (prints the ratio)"
    );
    target(
        "disabled_log <= 1.05x no_logger",
        per_round("disabled_log", "no_logger", p50).map(|(m, each)| {
            (
                m <= 1.05,
                format!("{m:.2}x (per round {each}; at the timer's noise floor)"),
            )
        }),
    );

    // Ratio targets of earlier issues, from the first round.
    println!("\nearlier targets (ratios from the first round)");
    let ratio =
        |a: &str, b: &str, f: fn(&Figures) -> f64| Some(f(&get(first, a)?) / f(&get(first, b)?));
    let check = |what: &str, v: Option<f64>, ok: fn(f64) -> bool| {
        target(
            what,
            v.filter(|v| v.is_finite())
                .map(|v| (ok(v), format!("{v:.2}x"))),
        );
    };
    check(
        "disabled_tracing <= 1.5x tracing_no_subscriber",
        ratio("disabled_tracing", "tracing_no_subscriber", p50),
        |v| v <= 1.5,
    );
    check(
        "unix_sync >= 1.3x faster than raw_libc_syslog (p50)",
        ratio("raw_libc_syslog", "unix_sync", p50),
        |v| v >= 1.3,
    );
    check(
        "libc_sync <= 1.15x raw_libc_syslog (p50)",
        ratio("libc_sync", "raw_libc_syslog", p50),
        |v| v <= 1.15,
    );
    check(
        "background >= 3x faster than tracing_appender (p50)",
        ratio("tracing_appender", "background", p50),
        |v| v >= 3.0,
    );
    check(
        "background >= 10x faster than file_line_flushed (p50)",
        ratio("file_line_flushed", "background", p50),
        |v| v >= 10.0,
    );
    check(
        "stdlib_chain_disabled >= 20x disabled_log",
        ratio("stdlib_chain_disabled", "disabled_log", p50),
        |v| v >= 20.0,
    );
    check(
        "stdlib_chain_syslog_unix >= 5x background (p50)",
        ratio("stdlib_chain_syslog_unix", "background", p50),
        |v| v >= 5.0,
    );
}
