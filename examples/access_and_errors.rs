//! A web server's logging: access records to the access facility (`local0`), warnings and errors
//! to the error facility (`local1`), every record with structured key-values.
//!
//! ```text
//! cargo run --example access_and_errors                       # no daemon: embedded receiver
//! cargo run --example access_and_errors -- --count 100
//! FASTSYSLOG_SOCKET=/run/rsyslog/app.sock cargo run --example access_and_errors   # a real daemon
//! ```
//!
//! Where the records go:
//!
//! - `FASTSYSLOG_SOCKET` set: unix datagrams to that socket (an rsyslog `imuxsock` or syslog-ng
//!   `unix-dgram` source; see `examples/rsyslog.conf` and `examples/syslog-ng.conf`).
//! - unset, and a daemon listens on `/dev/log`: glibc `syslog(3)`, as a deployed server would.
//! - unset, and nothing listens on `/dev/log` (a fresh machine, a container): the embedded
//!   receiver `fastsyslog::testing::Receiver` binds a private socket, the logger is pointed at it,
//!   and the example prints what arrived per facility. Nothing is written to `/dev/log`.
//!
//! The rest of the configuration comes from the environment as usual (`FASTSYSLOG_FORMAT=json`,
//! `FASTSYSLOG_IDENT=web`, `FASTSYSLOG_LOG=warn,access=info`; see `Builder::from_env`).
//!
//! Per `--count N` (default 10) access records, one request in ten is a 404 (a warning) and one in
//! ten a 503 (an error), so `--count 100` writes 100 access records, 10 warnings and 10 errors.

use std::collections::BTreeMap;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::Duration;

use fastsyslog::testing::{Message, Receiver};

/// How long to wait for the records after the flush before deciding the rest were lost.
const IDLE: Duration = Duration::from_secs(2);

fn main() {
    let count = match parse_count(std::env::args().skip(1)) {
        Ok(count) => count,
        Err(usage) => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };

    // Pick the destination before building the logger: the embedded receiver only when nothing
    // else would take the records.
    let socket_set = std::env::var_os("FASTSYSLOG_SOCKET").is_some_and(|s| !s.is_empty());
    let receiver = if socket_set || daemon_listens(Path::new("/dev/log")) {
        None
    } else {
        match Receiver::bind() {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("no syslog daemon on /dev/log, and the embedded receiver failed: {e}");
                std::process::exit(1);
            }
        }
    };
    let mut builder = fastsyslog::Builder::from_env();
    match &receiver {
        Some(r) => {
            println!(
                "no syslog daemon on /dev/log and FASTSYSLOG_SOCKET unset: \
                 logging to the embedded receiver at {}",
                r.path().display()
            );
            builder = builder.socket(r.path());
        }
        None if socket_set => println!(
            "logging to FASTSYSLOG_SOCKET={}",
            std::env::var("FASTSYSLOG_SOCKET").unwrap_or_default()
        ),
        None => println!("logging through syslog(3) to the daemon on /dev/log"),
    }
    let guard = match builder.try_init() {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("could not start the logger: {e}");
            std::process::exit(1);
        }
    };

    let sent = Sent::for_count(count);
    serve(count);
    // Flush and stop the background writer now, so everything is on the socket before we count.
    let flushed = guard.flush();
    let stats = guard.stats();
    drop(guard);

    println!(
        "sent {} access records (access facility) and {} warnings + {} errors (error facility); \
         handed to the socket {}, dropped {}, truncated {}{}",
        sent.access,
        sent.warnings,
        sent.errors,
        stats.written,
        stats.dropped_total(),
        stats.truncated,
        if flushed { "" } else { " (flush timed out)" },
    );

    // The receiver queues on its own thread as datagrams arrive, so a large --count never fills
    // its socket buffer; here we only take what it queued.
    if let Some(receiver) = receiver {
        let got = receiver.collect(sent.total(), IDLE);
        report(&got, sent.total());
    }
}

/// What `serve(count)` logs.
#[derive(Clone, Copy)]
struct Sent {
    access: usize,
    warnings: usize,
    errors: usize,
}

impl Sent {
    fn for_count(count: usize) -> Sent {
        let (mut warnings, mut errors) = (0, 0);
        for i in 0..count {
            match status(i) {
                404 => warnings += 1,
                503 => errors += 1,
                _ => {}
            }
        }
        Sent {
            access: count,
            warnings,
            errors,
        }
    }

    fn total(self) -> usize {
        self.access + self.warnings + self.errors
    }
}

const PATHS: [&str; 5] = ["/", "/index.html", "/api/users", "/static/app.js", "/login"];

fn status(i: usize) -> u16 {
    match i % 10 {
        7 => 404,
        9 => 503,
        _ => 200,
    }
}

/// Pretends to serve `count` requests and logs each one, plus a warning or an error for the
/// failing ones.
fn serve(count: usize) {
    for i in 0..count {
        let method = if i % 3 == 2 { "POST" } else { "GET" };
        let path = PATHS[i % PATHS.len()];
        let status = status(i);
        let bytes = if status == 200 {
            512 + 97 * i as u64
        } else {
            0
        };
        let duration_ms = 0.25 + (i % 40) as f64 * 1.5;
        log::info!(
            target: "access",
            method = method, path = path, status = status, bytes = bytes,
            duration_ms = duration_ms, request = i;
            "{method} {path}"
        );
        match status {
            404 => log::warn!(path = path, request = i; "no route for {path}"),
            503 => log::error!(
                upstream = "10.0.0.7:5432", timeout_ms = 250, request = i;
                "upstream timed out for {method} {path}"
            ),
            _ => {}
        }
    }
}

/// Prints what the embedded receiver got, per facility: a count and the first few records.
fn report(got: &[Message], expected: usize) {
    let mut by_facility: BTreeMap<String, Vec<&Message>> = BTreeMap::new();
    for m in got {
        let facility = m
            .facility
            .map_or_else(|| "(no PRI)".to_owned(), |f| f.to_string());
        by_facility.entry(facility).or_default().push(m);
    }
    println!(
        "the embedded receiver got {} of {expected} records:",
        got.len()
    );
    for (facility, records) in &by_facility {
        println!("  {facility}: {} records", records.len());
        for m in records.iter().take(3) {
            println!(
                "    {facility}.{} {}[{}]: {}",
                m.severity.map_or_else(|| "-".to_owned(), |s| s.to_string()),
                m.ident.as_deref().unwrap_or("-"),
                m.pid.map_or_else(|| "-".to_owned(), |p| p.to_string()),
                m.body
            );
        }
        if records.len() > 3 {
            println!("    ...");
        }
    }
    if got.len() < expected {
        eprintln!("{} records did not arrive", expected - got.len());
        std::process::exit(1);
    }
}

/// Whether a syslog daemon accepts datagrams on `path`: a connect, no data sent.
fn daemon_listens(path: &Path) -> bool {
    UnixDatagram::unbound()
        .and_then(|s| s.connect(path))
        .is_ok()
}

/// `--count N` / `--count=N`; default 10.
fn parse_count(mut args: impl Iterator<Item = String>) -> Result<usize, String> {
    const USAGE: &str = "usage: access_and_errors [--count N]";
    let mut count = 10;
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "--count" | "-n" => args.next(),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => match other.strip_prefix("--count=") {
                Some(v) => Some(v.to_owned()),
                None => return Err(format!("unknown argument {other:?}\n{USAGE}")),
            },
        };
        count = value
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("--count needs a number\n{USAGE}"))?;
    }
    Ok(count)
}
