//! The peer comparison: fastsyslog's background mode against the fastest Rust loggers, each
//! logging the same access record in its own process, in every scenario (back-to-back, bursts of
//! 20, sparse; 1 and 4 caller threads), plus each crate's lossless sustained rate.
//!
//! A row is a [`Peer`]: a function that installs the crate in the row's process and hands back a
//! [`Logging`] (log one record, flush, count what arrived). File-writing peers write to a file on
//! tmpfs and count its lines; syslog peers send to an in-process receiver and count datagrams
//! (or, for fastsyslog's stream transport, octet-counted frames).

use std::any::Any;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use support::Sink;

/// Whether a row's queue may drop records when full or makes the caller wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Policy {
    /// Each crate's default, or its drop policy where it has one: the caller never waits.
    Lossy,
    /// Each crate's blocking mode: every record arrives (the sustained rate).
    Lossless,
}

impl Policy {
    fn arg(self) -> &'static str {
        match self {
            Policy::Lossy => "lossy",
            Policy::Lossless => "lossless",
        }
    }
}

/// How a caller thread spaces its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spacing {
    /// One timed call after the other.
    BackToBack,
    /// [`BURST`] calls timed together and averaged into one sample, then a [`PAUSE`] (quill's
    /// method).
    Burst,
    /// One timed call, then a [`PAUSE`].
    Sparse,
}

/// Calls per burst.
const BURST: u32 = 20;
/// The pause after a burst or a sparse record.
pub(crate) const PAUSE: Duration = Duration::from_micros(100);

/// One scenario: how records are spaced and how many threads log at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scenario {
    pub(crate) spacing: Spacing,
    pub(crate) threads: usize,
}

impl Scenario {
    /// Its name in the tables and in `--scenario`.
    pub(crate) fn name(self) -> String {
        let spacing = match self.spacing {
            Spacing::BackToBack => "back-to-back",
            Spacing::Burst => "burst20",
            Spacing::Sparse => "sparse",
        };
        format!("{spacing}/{}", self.threads)
    }
}

/// Every latency scenario, in table order.
pub(crate) const SCENARIOS: [Scenario; 6] = [
    Scenario {
        spacing: Spacing::BackToBack,
        threads: 1,
    },
    Scenario {
        spacing: Spacing::BackToBack,
        threads: 4,
    },
    Scenario {
        spacing: Spacing::Burst,
        threads: 1,
    },
    Scenario {
        spacing: Spacing::Burst,
        threads: 4,
    },
    Scenario {
        spacing: Spacing::Sparse,
        threads: 1,
    },
    Scenario {
        spacing: Spacing::Sparse,
        threads: 4,
    },
];

/// The name of the lossless sustained-rate measurement (back-to-back, one thread).
pub(crate) const SUSTAINED: &str = "sustained";

/// Warm-up of each scenario (its calls count as attempted, its samples are not kept): long enough
/// back-to-back for the queues to fill and the records' buffers to be recycled, as in the first
/// table's rows, so the samples are the steady state of a flood.
fn warmup_time(spacing: Spacing) -> Duration {
    match spacing {
        Spacing::BackToBack => Duration::from_millis(120),
        Spacing::Burst | Spacing::Sparse => Duration::from_millis(30),
    }
}
/// Measured time of each scenario: longer for the spaced ones, which take fewer samples per second.
fn measure_time(spacing: Spacing) -> Duration {
    match spacing {
        Spacing::BackToBack | Spacing::Burst => Duration::from_millis(150),
        Spacing::Sparse => Duration::from_millis(200),
    }
}
/// Measured time of the sustained rate (the final flush is added to it).
const SUSTAIN: Duration = Duration::from_millis(250);
/// Most samples one thread keeps (back-to-back rows at ~100 ns per call stay under it).
const MAX_SAMPLES: usize = 1 << 21;

/// A crate set up in the row's process.
pub(crate) struct Logging {
    /// Logs the access record once (from any thread).
    record: Box<dyn Fn() + Send + Sync>,
    /// The crate's own flush, where it has one (the delivered count then settles).
    flush: Box<dyn Fn() + Send + Sync>,
    /// What reached the file or the receiver so far.
    delivered: Box<dyn Fn() -> u64 + Send + Sync>,
    /// How long the delivered count must stand still after `flush` before it counts as final:
    /// short when `flush` returns only once the records are written, long when it cannot wait
    /// (a busy machine may not run the crate's thread for tens of milliseconds).
    settle: Duration,
    /// Guards and temp dirs, dropped (guards first) when the row is done.
    keep: Vec<Box<dyn Any>>,
}

/// One compared row.
pub(crate) struct Peer {
    /// Its name in the tables and in `--rows`.
    pub(crate) name: &'static str,
    /// What it runs (`--list`).
    pub(crate) description: &'static str,
    /// fastsyslog's own row: the one the targets compare against the peers.
    pub(crate) ours: bool,
    /// A floor of the design, shown but never counted as the best peer.
    pub(crate) reference: bool,
    /// Installs the crate with `policy` (an `Err` is the reason the row is skipped).
    setup: fn(Policy) -> Result<Logging, String>,
}

/// Every compared row, in table order.
pub(crate) const PEERS: &[Peer] = &[
    Peer {
        name: "fastsyslog",
        description: "fastsyslog background mode, unix datagrams to an in-process receiver (lossless: `Overflow::Block` on the bulk lane)",
        ours: true,
        reference: false,
        setup: fastsyslog_background,
    },
    Peer {
        name: "fastsyslog_stream",
        description: "fastsyslog background mode, RFC 6587 octet-counted frames on a unix stream socket to an in-process receiver",
        ours: true,
        reference: false,
        setup: fastsyslog_stream,
    },
    Peer {
        name: "ftlog",
        description: "ftlog 0.2 to a tmpfs file (lossy: its default bounded queue that discards; lossless: `bounded(100_000, true)`)",
        ours: false,
        reference: false,
        setup: ftlog,
    },
    Peer {
        name: "spdlog_async",
        description: "spdlog-rs 0.5 `AsyncPoolSink` over a `FileSink` on tmpfs, key-values with `kv:` (lossy: `DropIncoming`; lossless: `Block`)",
        ours: false,
        reference: false,
        setup: spdlog,
    },
    Peer {
        name: "fast_log",
        description: "fast_log 1.7 to a tmpfs file (its unbounded channel: never drops, both policies)",
        ours: false,
        reference: false,
        setup: fast_log,
    },
    Peer {
        name: "slog_async",
        description: "slog 2.8 + slog-async 2.8 with a line-writing file drain on tmpfs (lossy: default `DropAndReport`; lossless: `Block`)",
        ours: false,
        reference: false,
        setup: slog_async,
    },
    Peer {
        name: "logforth_async",
        description: "logforth 0.30 `Async` appender over its `File` appender on tmpfs, via its `log` bridge (lossy: `overflow_drop_incoming`; lossless: `overflow_block`; 65536 lines)",
        ours: false,
        reference: false,
        setup: |policy| logforth(policy, false),
    },
    Peer {
        name: "logforth_syslog",
        description: "logforth 0.30 `Async` appender over its `Syslog` appender (fasyslog 1.0, RFC 3164) to the in-process receiver",
        ours: false,
        reference: false,
        setup: |policy| logforth(policy, true),
    },
    Peer {
        name: "tracing_appender",
        description: "tracing-subscriber `fmt` through tracing-appender's `non_blocking` to a tmpfs file (lossless: `lossy(false)`)",
        ours: false,
        reference: false,
        setup: tracing_appender,
    },
    Peer {
        name: "env_logger",
        description: "env_logger 0.11 writing to a tmpfs file on the caller (no queue: both policies)",
        ours: false,
        reference: false,
        setup: env_logger,
    },
    Peer {
        name: "handoff_floor_log",
        description: "a minimal `log::Log` that formats with `write!` and hands off (the caller-rendering design's floor; lossy only)",
        ours: false,
        reference: true,
        setup: handoff_floor_log,
    },
];

/// The row called `name`.
pub(crate) fn peer(name: &str) -> Option<&'static Peer> {
    PEERS.iter().find(|p| p.name == name)
}

/// What one scenario of one row measured in one process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stat {
    pub(crate) p50: f64,
    pub(crate) p99: f64,
    pub(crate) p999: f64,
    pub(crate) mean: f64,
    pub(crate) attempted: u64,
    pub(crate) delivered: u64,
    /// Records delivered per second (the sustained rate; 0 for the latency scenarios).
    pub(crate) rate: f64,
}

// === one row (child process) ===

/// Runs `peer` with `policy` in this process: the selected scenarios for [`Policy::Lossy`], the
/// sustained rate for [`Policy::Lossless`]. Prints one `PEER` line per result or one `SKIP` line.
pub(crate) fn run_child(name: &str, policy: &str, scenarios: &[String]) {
    let lines = peer(name)
        .ok_or_else(|| format!("unknown row {name}"))
        .and_then(|p| {
            let policy = match policy {
                "lossless" => Policy::Lossless,
                "lossy" => Policy::Lossy,
                other => return Err(format!("unknown policy {other}")),
            };
            let logging = (p.setup)(policy)?;
            let mut lines = Vec::new();
            if policy == Policy::Lossless {
                lines.push((SUSTAINED.to_owned(), sustained(&logging)));
            } else {
                for s in SCENARIOS {
                    if scenarios.is_empty() || scenarios.contains(&s.name()) {
                        lines.push((s.name(), scenario(&logging, s)));
                    }
                }
            }
            // The guards first (their final flush still reaches the receivers, which the
            // counters own and drop after them).
            let Logging { keep, .. } = logging;
            drop(keep);
            Ok(lines)
        });
    match lines {
        Ok(lines) => {
            for (scenario, s) in lines {
                println!(
                    "PEER\t{scenario}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    s.p50, s.p99, s.p999, s.mean, s.attempted, s.delivered, s.rate
                );
            }
        }
        Err(reason) => println!("SKIP\t{reason}"),
    }
}

/// Short [`Logging::settle`]: the flush waits; only datagrams still in the receiver's socket move.
const SETTLE_FLUSHED: Duration = Duration::from_millis(40);
/// Long [`Logging::settle`]: the crate cannot wait for its own thread.
const SETTLE_UNFLUSHED: Duration = Duration::from_millis(300);

/// Flushes, then waits (bounded) until the delivered count reaches `target` or stops moving.
fn settle(logging: &Logging, target: u64) -> u64 {
    (logging.flush)();
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut last = (logging.delivered)();
    let mut still_since = Instant::now();
    while last < target && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
        let now = (logging.delivered)();
        if now != last {
            last = now;
            still_since = Instant::now();
        } else if still_since.elapsed() > logging.settle {
            break;
        }
    }
    last
}

/// Runs one latency scenario: `threads` callers, each timing its calls, then the delivered count.
fn scenario(logging: &Logging, s: Scenario) -> Stat {
    let overhead = support::measure::timer_overhead_ns();
    let before = (logging.delivered)();
    let barrier = Barrier::new(s.threads);
    // One caller logs from the row's main thread, as the first table's rows do.
    let per_thread: Vec<(Vec<f64>, u64)> = if s.threads == 1 {
        vec![caller(&*logging.record, s.spacing, overhead)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..s.threads)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        caller(&*logging.record, s.spacing, overhead)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        })
    };
    let attempted: u64 = per_thread.iter().map(|(_, n)| n).sum();
    let mut samples: Vec<f64> = per_thread.into_iter().flat_map(|(v, _)| v).collect();
    samples.sort_by(f64::total_cmp);
    let delivered = settle(logging, before + attempted).saturating_sub(before);
    let pct = |q| support::measure::percentile(&samples, q);
    Stat {
        p50: pct(0.5),
        p99: pct(0.99),
        p999: pct(0.999),
        mean: samples.iter().sum::<f64>() / samples.len().max(1) as f64,
        attempted,
        delivered,
        rate: 0.0,
    }
}

/// One caller thread: warms up, then times its calls for [`measure_time`]; returns the per-call
/// samples in ns (timer cost subtracted) and how many records it logged.
fn caller(record: &(dyn Fn() + Send + Sync), spacing: Spacing, overhead: f64) -> (Vec<f64>, u64) {
    let per_sample = if spacing == Spacing::Burst { BURST } else { 1 };
    let mut samples = Vec::with_capacity(1 << 16);
    let mut n = 0u64;
    let start = Instant::now();
    let warm_end = start + warmup_time(spacing);
    let end = warm_end + measure_time(spacing);
    loop {
        let t = Instant::now();
        for _ in 0..per_sample {
            record();
        }
        let done = Instant::now();
        n += u64::from(per_sample);
        if done >= end {
            break;
        }
        if done >= warm_end && samples.len() < MAX_SAMPLES {
            let ns = (done - t).as_nanos() as f64;
            samples.push((ns - overhead).max(0.0) / f64::from(per_sample));
        }
        if spacing != Spacing::BackToBack {
            std::thread::sleep(PAUSE);
        }
    }
    (samples, n)
}

/// The lossless sustained rate: one thread back-to-back for [`SUSTAIN`], then the flush; records
/// delivered per second over the whole time. The mean is the caller's mean time per call.
fn sustained(logging: &Logging) -> Stat {
    let before = (logging.delivered)();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < SUSTAIN {
        for _ in 0..64 {
            (logging.record)();
        }
        n += 64;
    }
    let calls = start.elapsed();
    let delivered = settle(logging, before + n).saturating_sub(before);
    let total = start.elapsed();
    Stat {
        p50: f64::NAN,
        p99: f64::NAN,
        p999: f64::NAN,
        mean: calls.as_nanos() as f64 / n as f64,
        attempted: n,
        delivered,
        rate: delivered as f64 / total.as_secs_f64(),
    }
}

// === the rows ===

/// A temp dir on tmpfs (`/dev/shm` when there is one), so file peers do not wait for a disk.
fn tmpfs_dir() -> Result<tempfile::TempDir, String> {
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_owned()
    } else {
        std::env::temp_dir()
    };
    tempfile::Builder::new()
        .prefix("fastsyslog-peer-")
        .tempdir_in(base)
        .map_err(|e| format!("cannot create a temp dir: {e}"))
}

/// Counts the lines of every file in a directory, reading only what was appended since the last
/// call (file peers write hundreds of MB per row).
#[derive(Clone)]
struct Lines {
    dir: PathBuf,
    seen: Arc<Mutex<Vec<(PathBuf, u64, u64)>>>,
}

impl Lines {
    fn new(dir: &Path) -> Lines {
        Lines {
            dir: dir.to_owned(),
            seen: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn count(&self) -> u64 {
        use std::io::{Read as _, Seek as _};
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return 0;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let i = match seen.iter().position(|(p, _, _)| *p == path) {
                Some(i) => i,
                None => {
                    seen.push((path.clone(), 0, 0));
                    seen.len() - 1
                }
            };
            let Ok(mut file) = std::fs::File::open(&path) else {
                continue;
            };
            if file.seek(std::io::SeekFrom::Start(seen[i].1)).is_err() {
                continue;
            }
            let mut buf = vec![0u8; 1 << 20];
            while let Ok(got) = file.read(&mut buf) {
                if got == 0 {
                    break;
                }
                seen[i].1 += got as u64;
                seen[i].2 += buf[..got].iter().filter(|&&c| c == b'\n').count() as u64;
            }
        }
        seen.iter().map(|(_, _, lines)| lines).sum()
    }
}

/// A file peer's counter and the dir it keeps alive.
fn file_peer(dir: &tempfile::TempDir) -> Box<dyn Fn() -> u64 + Send + Sync> {
    let lines = Lines::new(dir.path());
    Box::new(move || lines.count())
}

/// A syslog peer's counter: datagrams the in-process receiver took.
fn sink_peer(sink: &Sink) -> Box<dyn Fn() -> u64 + Send + Sync> {
    let counts = sink.counts();
    Box::new(move || counts.datagrams.load(Ordering::Relaxed))
}

/// A crate installed as the global `log` logger: `record` logs through `log`, and `log`'s flush is
/// the crate's.
fn global_log(
    record: fn(),
    delivered: Box<dyn Fn() -> u64 + Send + Sync>,
    keep: Vec<Box<dyn Any>>,
) -> Logging {
    Logging {
        record: Box::new(record),
        flush: Box::new(|| log::logger().flush()),
        delivered,
        settle: SETTLE_FLUSHED,
        keep,
    }
}

fn fastsyslog_background(policy: Policy) -> Result<Logging, String> {
    let sink = Sink::new();
    let builder = fastsyslog::Builder::new().socket(sink.path());
    let mut logging = fastsyslog_logging(builder, policy, sink_peer(&sink))?;
    // After the guard, so the final flush still has its receiver.
    logging.keep.push(Box::new(sink));
    Ok(logging)
}

/// fastsyslog built from `builder` (which names the transport) in background mode with `policy`
/// on the bulk lane, as the global `log` logger, counted by `delivered`.
fn fastsyslog_logging(
    builder: fastsyslog::Builder,
    policy: Policy,
    delivered: Box<dyn Fn() -> u64 + Send + Sync>,
) -> Result<Logging, String> {
    let mut builder = builder
        .ident(support::IDENT)
        .filter("info")
        .mode(fastsyslog::Mode::Background);
    if policy == Policy::Lossless {
        builder = builder.overflow(fastsyslog::Lane::Bulk, fastsyslog::Overflow::Block);
    }
    let guard = builder.try_init().map_err(|e| e.to_string())?;
    let handle = guard.handle();
    Ok(Logging {
        record: Box::new(|| support::access_record!()),
        flush: Box::new(move || {
            // The delivered count shows whether the flush finished.
            let _ = handle.flush();
        }),
        delivered,
        settle: SETTLE_FLUSHED,
        keep: vec![Box::new(guard)],
    })
}

/// fastsyslog over the stream transport (`Builder::stream_socket`, RFC 6587 octet counting) into
/// an in-process stream receiver that counts whole frames.
fn fastsyslog_stream(policy: Policy) -> Result<Logging, String> {
    let sink = support::StreamSink::new();
    let builder = fastsyslog::Builder::new().stream_socket(sink.path());
    // The counter owns the receiver, which outlives the guard (see `run_child`).
    fastsyslog_logging(builder, policy, Box::new(move || sink.received()))
}

fn ftlog(policy: Policy) -> Result<Logging, String> {
    let dir = tmpfs_dir()?;
    let guard = ftlog::builder()
        .root(ftlog::appender::FileAppender::new(
            dir.path().join("app.log"),
        ))
        .max_log_level(log::LevelFilter::Info)
        .root_log_level(log::LevelFilter::Info)
        .utc()
        // 100 000 is ftlog's default bound; `false` discards when full (its default).
        .bounded(100_000, policy == Policy::Lossless)
        .try_init()
        .map_err(|e| e.to_string())?;
    // ftlog's formatter ignores `log`'s key-values: the fields go into the message.
    Ok(global_log(
        || support::access_record_text!(),
        file_peer(&dir),
        vec![Box::new(guard), Box::new(dir)],
    ))
}

fn spdlog(policy: Policy) -> Result<Logging, String> {
    use spdlog::sink::{AsyncPoolSink, FileSink, OverflowPolicy};
    let dir = tmpfs_dir()?;
    let file = FileSink::builder()
        .path(dir.path().join("app.log"))
        .truncate(true)
        .build_arc()
        .map_err(|e| e.to_string())?;
    let overflow = match policy {
        Policy::Lossy => OverflowPolicy::DropIncoming,
        Policy::Lossless => OverflowPolicy::Block,
    };
    let sink = AsyncPoolSink::builder()
        .sink(file)
        .overflow_policy(overflow)
        .build_arc()
        .map_err(|e| e.to_string())?;
    let logger = spdlog::Logger::builder()
        .sink(sink)
        .level_filter(spdlog::LevelFilter::MoreSevereEqual(spdlog::Level::Info))
        .build_arc()
        .map_err(|e| e.to_string())?;
    let flusher = logger.clone();
    Ok(Logging {
        record: Box::new(move || {
            spdlog::info!(
                logger: logger,
                "{} {} HTTP/1.1",
                std::hint::black_box(support::METHOD),
                std::hint::black_box(support::PATH),
                kv: {
                    status = std::hint::black_box(support::STATUS),
                    bytes = std::hint::black_box(support::BYTES),
                    duration_us = std::hint::black_box(support::DURATION_US)
                }
            )
        }),
        // The async pool sink queues the flush and returns.
        flush: Box::new(move || flusher.flush()),
        delivered: file_peer(&dir),
        settle: SETTLE_UNFLUSHED,
        keep: vec![Box::new(dir)],
    })
}

fn fast_log(_: Policy) -> Result<Logging, String> {
    let dir = tmpfs_dir()?;
    let path = dir.path().join("app.log");
    let path = path.to_str().ok_or("temp path is not UTF-8")?;
    fast_log::init(
        fast_log::Config::new()
            .file(path)
            .level(log::LevelFilter::Info),
    )
    .map_err(|e| e.to_string())?;
    log::set_max_level(log::LevelFilter::Info);
    // fast_log formats `record.args()` only: the fields go into the message.
    Ok(global_log(
        || support::access_record_text!(),
        file_peer(&dir),
        vec![Box::new(dir)],
    ))
}

/// A slog drain that writes each record as one line (`LEVEL message key=value ...`) with one
/// `write(2)`, as slog-term's decorators flush each record.
struct LineDrain {
    file: Mutex<std::fs::File>,
    written: AtomicU64,
}

/// Appends ` key=value` for each pair.
struct KvLine<'a>(&'a mut Vec<u8>);

impl slog::Serializer for KvLine<'_> {
    fn emit_arguments(&mut self, key: slog::Key, val: &std::fmt::Arguments<'_>) -> slog::Result {
        // Writing into a Vec cannot fail.
        let _ = write!(self.0, " {key}={val}");
        Ok(())
    }
}

impl slog::Drain for LineDrain {
    type Ok = ();
    type Err = slog::Never;

    fn log(
        &self,
        record: &slog::Record<'_>,
        values: &slog::OwnedKVList,
    ) -> Result<(), slog::Never> {
        use slog::KV as _;
        let mut line = Vec::with_capacity(256);
        // Writing into a Vec cannot fail.
        let _ = write!(line, "{} {}", record.level().as_short_str(), record.msg());
        let _ = record.kv().serialize(record, &mut KvLine(&mut line));
        let _ = values.serialize(record, &mut KvLine(&mut line));
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        // A failed write shows in the delivered count.
        let _ = file.write_all(&line);
        self.written.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

fn slog_async(policy: Policy) -> Result<Logging, String> {
    use slog::Drain as _;
    let dir = tmpfs_dir()?;
    let file = std::fs::File::create(dir.path().join("app.log")).map_err(|e| e.to_string())?;
    let drain = LineDrain {
        file: Mutex::new(file),
        written: AtomicU64::new(0),
    };
    let mut builder = slog_async::Async::new(drain);
    if policy == Policy::Lossless {
        builder = builder.overflow_strategy(slog_async::OverflowStrategy::Block);
    }
    let (drain, guard) = builder.build_with_guard();
    let log = slog::Logger::root(drain.fuse(), slog::o!());
    Ok(Logging {
        record: Box::new(move || {
            slog::info!(
                log,
                "{} {} HTTP/1.1",
                std::hint::black_box(support::METHOD),
                std::hint::black_box(support::PATH);
                "status" => std::hint::black_box(support::STATUS),
                "bytes" => std::hint::black_box(support::BYTES),
                "duration_us" => std::hint::black_box(support::DURATION_US)
            )
        }),
        // slog-async has no flush but dropping its guard: the count settles instead.
        flush: Box::new(|| {}),
        delivered: file_peer(&dir),
        settle: SETTLE_UNFLUSHED,
        keep: vec![Box::new(guard), Box::new(dir)],
    })
}

fn logforth(policy: Policy, syslog: bool) -> Result<Logging, String> {
    use logforth::append::asynchronous::AsyncBuilder;
    use logforth::record::{Level, LevelFilter};
    let mut builder = AsyncBuilder::new("logforth-async")
        .buffered_lines_limit(Some(fastsyslog::DEFAULT_BULK_QUEUE_CAPACITY));
    builder = match policy {
        Policy::Lossy => builder.overflow_drop_incoming(),
        Policy::Lossless => builder.overflow_block(),
    };
    let mut keep: Vec<Box<dyn Any>> = Vec::new();
    let delivered;
    let record: fn();
    if syslog {
        let sink = Sink::new();
        let appender = logforth::append::syslog::SyslogBuilder::unix_datagram(sink.path())
            .map_err(|e| e.to_string())?
            .build();
        builder = builder.append(appender);
        delivered = sink_peer(&sink);
        keep.push(Box::new(sink));
        // Without a layout the syslog appender sends the message only: the fields go into it.
        record = || support::access_record_text!();
    } else {
        let dir = tmpfs_dir()?;
        let appender = logforth::append::file::FileBuilder::new(dir.path(), "app")
            .build()
            .map_err(|e| e.to_string())?;
        builder = builder.append(appender);
        delivered = file_peer(&dir);
        keep.push(Box::new(dir));
        record = || support::access_record!();
    }
    let appender = builder.build();
    let logger = logforth::core::builder()
        .dispatch(|d| {
            d.filter(LevelFilter::MoreSevereEqual(Level::Info))
                .append(appender)
        })
        .build();
    log::set_boxed_logger(Box::new(logforth::bridge::log::LogBridge::new(logger)))
        .map_err(|e| e.to_string())?;
    log::set_max_level(log::LevelFilter::Info);
    Ok(global_log(record, delivered, keep))
}

fn tracing_appender(policy: Policy) -> Result<Logging, String> {
    let dir = tmpfs_dir()?;
    let file = std::fs::File::create(dir.path().join("app.log")).map_err(|e| e.to_string())?;
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(policy == Policy::Lossy)
        .finish(file);
    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).map_err(|e| e.to_string())?;
    Ok(Logging {
        record: Box::new(|| support::access_event!()),
        // `non_blocking` flushes only when its guard drops: the count settles instead.
        flush: Box::new(|| {}),
        delivered: file_peer(&dir),
        settle: SETTLE_UNFLUSHED,
        keep: vec![Box::new(guard), Box::new(dir)],
    })
}

fn env_logger(_: Policy) -> Result<Logging, String> {
    let dir = tmpfs_dir()?;
    super::install_env_logger(&dir.path().join("app.log"))?;
    // env_logger without its `kv` feature: the fields go into the message.
    Ok(global_log(
        || support::access_record_text!(),
        file_peer(&dir),
        vec![Box::new(dir)],
    ))
}

fn handoff_floor_log(policy: Policy) -> Result<Logging, String> {
    if policy == Policy::Lossless {
        return Err("the floor's hand-off only drops when full; it has no blocking mode".into());
    }
    let sink = Sink::new();
    super::install_floor_logger(sink.path())?;
    Ok(global_log(
        || support::access_record!(),
        sink_peer(&sink),
        vec![Box::new(sink)],
    ))
}

// === the coordinator ===

/// What one row process measured: (scenario, stats) per scenario it ran.
type ScenarioStats = Vec<(String, Stat)>;

/// One row's results over the rounds: per scenario, each round's [`Stat`], or why it was skipped.
#[derive(Debug, Default)]
pub(crate) struct Results {
    /// Each process run: its row, its policy, and what it measured per scenario.
    runs: Vec<(String, Policy, Result<ScenarioStats, String>)>,
}

impl Results {
    /// Runs `name` with `policy` in a child process of `exe` and keeps what it printed.
    pub(crate) fn run(&mut self, exe: &Path, name: &str, policy: Policy, scenarios: &[String]) {
        let mut cmd = std::process::Command::new(exe);
        cmd.args(["--peer", name, "--policy", policy.arg()]);
        if !scenarios.is_empty() {
            cmd.args(["--scenario", &scenarios.join(",")]);
        }
        let result = super::run_child(cmd).and_then(|out| parse(&out));
        self.runs.push((name.to_owned(), policy, result));
    }

    /// The median over the rounds of `name`'s `scenario` (delivered and attempted are summed),
    /// or why it was skipped.
    pub(crate) fn get(
        &self,
        name: &str,
        policy: Policy,
        scenario: &str,
    ) -> Option<Result<Stat, String>> {
        let mut stats = Vec::new();
        let mut skipped = None;
        for (n, p, r) in &self.runs {
            if n != name || *p != policy {
                continue;
            }
            match r {
                Ok(lines) => stats.extend(
                    lines
                        .iter()
                        .filter(|(s, _)| s == scenario)
                        .map(|(_, st)| *st),
                ),
                Err(reason) => skipped = Some(reason.clone()),
            }
        }
        if stats.is_empty() {
            return skipped.map(Err);
        }
        let median = |f: fn(&Stat) -> f64| {
            let mut v: Vec<f64> = stats.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        Some(Ok(Stat {
            p50: median(|s| s.p50),
            p99: median(|s| s.p99),
            p999: median(|s| s.p999),
            mean: median(|s| s.mean),
            attempted: stats.iter().map(|s| s.attempted).sum(),
            delivered: stats.iter().map(|s| s.delivered).sum(),
            rate: median(|s| s.rate),
        }))
    }

    /// The fastest peer (not ours, not a floor) in `scenario` by `key` (lowest), with its value.
    pub(crate) fn best_peer(
        &self,
        policy: Policy,
        scenario: &str,
        key: fn(&Stat) -> f64,
        lowest: bool,
    ) -> Option<(&'static str, f64)> {
        PEERS
            .iter()
            .filter(|p| !p.ours && !p.reference)
            .filter_map(|p| Some((p.name, key(&self.get(p.name, policy, scenario)?.ok()?))))
            .filter(|(_, v)| v.is_finite())
            .reduce(|a, b| if (b.1 < a.1) == lowest { b } else { a })
    }
}

fn parse(out: &str) -> Result<Vec<(String, Stat)>, String> {
    if let Some(l) = out.lines().find(|l| l.starts_with("SKIP\t")) {
        return Err(l["SKIP\t".len()..].to_owned());
    }
    let lines: Vec<(String, Stat)> = out
        .lines()
        .filter(|l| l.starts_with("PEER\t"))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let num = |i: usize| {
                f.get(i)
                    .and_then(|s| s.parse::<f64>().ok())
                    .unwrap_or(f64::NAN)
            };
            (
                f.get(1).copied().unwrap_or_default().to_owned(),
                Stat {
                    p50: num(2),
                    p99: num(3),
                    p999: num(4),
                    mean: num(5),
                    attempted: num(6) as u64,
                    delivered: num(7) as u64,
                    rate: num(8),
                },
            )
        })
        .collect();
    if lines.is_empty() {
        return Err(format!("no result from the row process: {out:?}"));
    }
    Ok(lines)
}

/// Prints one table per scenario and the sustained rates.
pub(crate) fn print(results: &Results, rows: &[&Peer], scenarios: &[Scenario], rounds: usize) {
    for s in scenarios {
        println!(
            "\n{} (ns per call, medians of {rounds} rounds; delivered summed over the rounds)",
            s.name()
        );
        println!(
            "{:<26} {:>9} {:>9} {:>9} {:>9}  delivered",
            "row", "p50", "p99", "p99.9", "mean"
        );
        for p in rows {
            let name = if p.reference {
                format!("{} (floor)", p.name)
            } else {
                p.name.to_owned()
            };
            match results.get(p.name, Policy::Lossy, &s.name()) {
                Some(Ok(st)) => println!(
                    "{name:<26} {:>9} {:>9} {:>9} {:>9}  {}",
                    super::fmt_num(st.p50),
                    super::fmt_num(st.p99),
                    super::fmt_num(st.p999),
                    super::fmt_num(st.mean),
                    delivered(&st)
                ),
                Some(Err(reason)) => println!("{name:<26} skipped: {reason}"),
                None => {}
            }
        }
    }
    println!("\nlossless sustained rate (back-to-back, 1 thread, blocking mode; records/s delivered, flush included; medians of {rounds} rounds)");
    println!(
        "{:<26} {:>12} {:>14}  delivered",
        "row", "records/s", "caller mean ns"
    );
    for p in rows {
        match results.get(p.name, Policy::Lossless, SUSTAINED) {
            Some(Ok(st)) => println!(
                "{:<26} {:>12} {:>14}  {}",
                p.name,
                super::fmt_rate(st.rate),
                super::fmt_num(st.mean),
                delivered(&st)
            ),
            Some(Err(reason)) => println!("{:<26} skipped: {reason}", p.name),
            None => {}
        }
    }
}

fn delivered(st: &Stat) -> String {
    if st.delivered >= st.attempted {
        format!("all {}", st.attempted)
    } else {
        format!(
            "{:.1}% ({} of {})",
            st.delivered as f64 * 100.0 / st.attempted.max(1) as f64,
            st.delivered,
            st.attempted
        )
    }
}
