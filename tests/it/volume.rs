//! Log volume against a real rsyslogd: a per-call-site rate limit holds a flooding call site to
//! its budget with one true "suppressed N" summary per window while a quiet call site loses
//! nothing, and a backtrace ring sends exactly the last N debug records ahead of an error.
//!
//! Sync mode: a record is on the socket when `log` returns.

use std::time::{Duration, Instant};

use fastsyslog::{Builder, Logger, Mode};
use log::{Level, Log};

use crate::support::{stats, token, Rsyslogd};

/// Logs one record as if from `file:line` (the `log` macros' `max_level` gate is process-global).
fn at(logger: &Logger, level: Level, target: &str, line: u32, args: std::fmt::Arguments<'_>) {
    logger.log(
        &log::Record::builder()
            .level(level)
            .target(target)
            .file(Some(file!()))
            .line(Some(line))
            .args(args)
            .build(),
    );
}

/// The number in `fastsyslog: suppressed N records ...`.
fn suppressed_count(msg: &str) -> u64 {
    let rest = msg.split("suppressed ").nth(1).expect("a summary");
    rest.split(' ').next().unwrap().parse().expect("a count")
}

/// The flood index in `... flood <i>`.
fn flood_index(msg: &str) -> u64 {
    msg.rsplit(' ').next().unwrap().parse().expect("an index")
}

#[test]
fn a_flooding_call_site_is_held_to_its_budget_with_one_true_summary_per_window() {
    const BURST: u64 = 40;
    const WINDOW: Duration = Duration::from_millis(150);
    let daemon = Rsyslogd::start();
    let tok = token("ratelimit");
    let flood_target = format!("flood_{}", tok.replace('-', "_"));
    let quiet_target = format!("quiet_{}", tok.replace('-', "_"));
    let logger = Builder::new()
        .socket(daemon.socket())
        .ident("volume")
        .mode(Mode::Sync)
        .filter("trace")
        .rate_limit("warn", BURST as u32, WINDOW)
        .build()
        .unwrap();
    let (logger, _guard) = logger;
    let flood = |i: u64| {
        at(
            &logger,
            Level::Warn,
            &flood_target,
            100,
            format_args!("{tok} flood {i}"),
        )
    };
    let quiet = |j: u64| {
        at(
            &logger,
            Level::Warn,
            &quiet_target,
            200,
            format_args!("{tok} quiet {j}"),
        )
    };

    // 10k records/s from the flooding site for 0.5 s, one record every 50 ms from the quiet one.
    let start = Instant::now();
    let mut sent = 0u64;
    let mut quiet_sent = 0u64;
    while start.elapsed() < Duration::from_millis(500) {
        let due = start + Duration::from_micros(100 * sent);
        while Instant::now() < due {
            std::hint::spin_loop();
        }
        flood(sent);
        sent += 1;
        if sent % 500 == 0 {
            quiet(quiet_sent);
            quiet_sent += 1;
        }
    }
    // The flooding site's next record, after its window ended, brings the last summary.
    std::thread::sleep(WINDOW + Duration::from_millis(20));
    flood(sent);
    sent += 1;

    let lines = daemon.wait_for(Rsyslogd::ALL, |lines| {
        lines
            .iter()
            .any(|l| l.msg.contains(&format!("{tok} flood {}", sent - 1)))
    });
    let ours: Vec<_> = lines
        .iter()
        .filter(|l| l.msg.contains(&tok) || l.msg.contains(&flood_target))
        .map(|l| l.msg.as_str())
        .collect();
    let quiet_lines = ours.iter().filter(|m| m.contains(" quiet ")).count() as u64;
    assert_eq!(quiet_lines, quiet_sent, "the quiet site loses nothing");

    // Walk the flood's lines in order: each window is BURST records in a row, then its summary,
    // whose count is exactly the indices skipped before the next window's first record.
    let flood_lines: Vec<&str> = ours
        .iter()
        .copied()
        .filter(|m| m.contains(" flood ") || m.contains("fastsyslog: suppressed"))
        .collect();
    let mut windows = 0;
    let mut total_suppressed = 0;
    let mut passed = 0;
    let mut i = 0;
    while i < flood_lines.len() {
        let first = flood_index(flood_lines[i]);
        let mut n = 0;
        while i < flood_lines.len() && !flood_lines[i].contains("fastsyslog: suppressed") {
            assert_eq!(
                flood_index(flood_lines[i]),
                first + n,
                "consecutive within a window"
            );
            n += 1;
            i += 1;
        }
        passed += n;
        if i == flood_lines.len() {
            break; // The last window, still open.
        }
        assert_eq!(
            n, BURST,
            "a window passes exactly its burst: {flood_lines:?}"
        );
        let summary = flood_lines[i];
        assert!(
            summary.contains(&format!("from {flood_target} at "))
                && summary.contains(":100 in the last 150ms"),
            "{summary}"
        );
        let count = suppressed_count(summary);
        i += 1;
        let next_first = flood_index(flood_lines.get(i).expect("a record after each summary"));
        assert_eq!(
            count,
            next_first - first - BURST,
            "the true suppressed count: {summary}"
        );
        total_suppressed += count;
        windows += 1;
    }
    assert!(windows >= 2, "{windows} windows");
    assert_eq!(
        passed + total_suppressed,
        sent,
        "every flood record passed or was counted"
    );

    let stats = stats(&logger);
    assert_eq!(stats.suppressed, total_suppressed, "{stats:?}");
    assert_eq!(stats.written, ours.len() as u64, "{stats:?}");
    assert_eq!(stats.dropped_total(), 0, "{stats:?}");
}

#[test]
fn an_error_brings_exactly_the_last_debug_records_in_order_and_otherwise_none() {
    const RING: usize = 8;
    let daemon = Rsyslogd::start();
    let build = || {
        Builder::new()
            .socket(daemon.socket())
            .ident("volume")
            .mode(Mode::Sync)
            .filter("trace")
            .backtrace("db", Level::Debug, RING)
            .build()
            .unwrap()
            .0
    };
    // A fresh logger and token, and the 50 debug records from one call site.
    let fifty_debug = || {
        let tok = token("backtrace");
        let logger = build();
        for i in 0..50 {
            at(
                &logger,
                Level::Debug,
                "db::pool",
                10,
                format_args!("{tok} debug {i}"),
            );
        }
        (tok, logger)
    };

    let (tok, logger) = fifty_debug();
    at(
        &logger,
        Level::Error,
        "app",
        20,
        format_args!("{tok} error"),
    );
    let lines = daemon.wait_for_token(Rsyslogd::ALL, &tok, RING + 1);
    let want: Vec<String> = (50 - RING..50)
        .map(|i| format!("{tok} debug {i} backtrace=1"))
        .chain([format!("{tok} error")])
        .collect();
    let got: Vec<&str> = lines.iter().map(|l| l.msg.as_str()).collect();
    assert_eq!(got, want);
    let s = stats(&logger);
    assert_eq!(
        (s.backtrace_sent, s.backtrace_discarded),
        (RING as u64, 50 - RING as u64)
    );
    assert_eq!(s.written, RING as u64 + 1);

    // The same 50 records without an error: none arrive, all counted as discarded.
    let (tok, logger) = fifty_debug();
    at(&logger, Level::Info, "app", 20, format_args!("{tok} info"));
    daemon.wait_for_token(Rsyslogd::ALL, &tok, 1);
    let s = stats(&logger);
    assert_eq!((s.backtrace_sent, s.backtrace_discarded), (0, 50), "{s:?}");
    assert_eq!(s.written, 1);
}

#[test]
fn a_limit_set_through_the_handle_at_runtime_governs_what_reaches_the_file() {
    let daemon = Rsyslogd::start();
    let tok = token("reload");
    let (logger, _guard) = Builder::new()
        .socket(daemon.socket())
        .ident("volume")
        .mode(Mode::Sync)
        .filter("trace")
        .build()
        .unwrap();
    let handle = logger.handle();
    let burst = |phase: &str, n: u32| {
        for i in 0..n {
            let args = format_args!("{tok} {phase} {i}");
            at(&logger, Level::Warn, "app", 30, args);
        }
    };
    burst("unlimited", 10);
    handle.set_rate_limits("warn=3/1h").unwrap();
    burst("three", 10);
    handle.set_rate_limits("warn=6/1h").unwrap();
    burst("six", 10);
    let err = handle.set_rate_limits("warn=x/1h").unwrap_err().to_string();
    assert!(err.contains("warn=x/1h"), "{err}");
    burst("still-six", 5);
    at(&logger, Level::Info, "app", 31, format_args!("{tok} end"));

    let lines = daemon.wait_for_token(Rsyslogd::ALL, &tok, 10 + 3 + 6 + 1);
    let count = |phase: &str| {
        let phase = format!("{tok} {phase} ");
        lines.iter().filter(|l| l.msg.starts_with(&phase)).count()
    };
    let got = [
        count("unlimited"),
        count("three"),
        count("six"),
        count("still-six"),
    ];
    assert_eq!(got, [10, 3, 6, 0]);
    let s = stats(&logger);
    assert_eq!((s.suppressed, s.written), (7 + 4 + 5, 20), "{s:?}");
}

/// The limit check, the summary and the ring allocate nothing on the caller once warm (the
/// counting allocator is the binary's, installed by the worker tests).
#[cfg(feature = "background")]
#[test]
fn limits_and_rings_allocate_nothing_per_record() {
    use fastsyslog_testkit::alloc::thread_allocations;
    use std::os::unix::net::UnixDatagram;

    let dir = fastsyslog_testkit::temp_dir("volume-alloc");
    let path = dir.path().join("sock");
    let rx = UnixDatagram::bind(&path).unwrap();
    rx.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let drain = std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while rx.recv(&mut buf).is_ok() {}
    });
    let logger = Builder::new()
        .socket(&path)
        .mode(Mode::Sync)
        .filter("trace")
        .rate_limit("app", 5, Duration::from_millis(5))
        .backtrace("db", Level::Debug, 4)
        .build()
        .unwrap();
    let (logger, _guard) = logger;
    let round = |n: u64| {
        for i in 0..20 {
            at(&logger, Level::Warn, "app", 300, format_args!("warn {i}"));
            at(&logger, Level::Debug, "db", 301, format_args!("debug {i}"));
        }
        std::thread::sleep(Duration::from_millis(6));
        at(&logger, Level::Error, "app", 302, format_args!("error {n}"));
    };
    round(0);
    round(1);
    let before = thread_allocations();
    for n in 2..6 {
        round(n);
    }
    let allocated = thread_allocations() - before;
    let s = stats(&logger);
    assert!(s.suppressed > 0 && s.backtrace_sent > 0, "{s:?}");
    assert_eq!(allocated, 0, "{s:?}");
    drop(logger);
    drain.join().unwrap();
}

/// Through the `tracing` adapter, a limit keys on each event's call site as well.
#[cfg(feature = "tracing")]
#[test]
fn tracing_events_are_limited_per_call_site() {
    use tracing::dispatcher::{self, Dispatch};

    let daemon = Rsyslogd::start();
    let tok = token("tracing-limit");
    let subscriber = Builder::new()
        .socket(daemon.socket())
        .ident("volume")
        .mode(Mode::Sync)
        .filter("trace")
        .rate_limit("warn", 2, Duration::from_secs(3600))
        .build_subscriber()
        .unwrap();
    let (subscriber, guard) = subscriber;
    dispatcher::with_default(&Dispatch::new(subscriber), || {
        for i in 0..5 {
            tracing::warn!("{tok} hot {i}");
        }
        tracing::warn!("{tok} other");
    });
    let lines = daemon.wait_for_token(Rsyslogd::ALL, &tok, 3);
    let msgs: Vec<&str> = lines.iter().map(|l| l.msg.as_str()).collect();
    assert_eq!(
        msgs,
        [
            format!("{tok} hot 0"),
            format!("{tok} hot 1"),
            format!("{tok} other")
        ]
    );
    let stats = guard.stats();
    assert_eq!((stats.suppressed, stats.written), (3, 3), "{stats:?}");
    std::mem::forget(guard);
}
