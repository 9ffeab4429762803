//! Drop-in without surprises: each way a newcomer lost records (issue 14), against rsyslogd.
//!
//! - a `Handle` temporary never shuts the logger down;
//! - the crate docs' layer snippet, with the process ending without dropping the guard, delivers
//!   every record (the exit hook), and so does a forked worker that ends with `exit`;
//! - the layer leaves filtering to `with_filter` and `reload`;
//! - an `EnvFilter`-only directive never fails start-up;
//! - `Handle::set_filter` raises and lowers the level at runtime, for `log` and `tracing`;
//! - an unreachable daemon is said on stderr, `FASTSYSLOG_STRICT=1` makes it an error;
//! - `FASTSYSLOG_STDERR=1` copies each record to stderr;
//! - two captures in one binary each see exactly their own records, in parallel threads too.

use std::time::Duration;

use fastsyslog::{Builder, DropReason, Lane, Mode};
use log::Log;

use crate::support::{child_role, child_token, emit, run_child, token, Rsyslogd};

fn info(logger: &dyn Log, msg: &str) {
    emit(logger, log::Level::Info, "app", &[], format_args!("{msg}"));
}

// === one guard, cloneable handles ===

#[test]
fn handle_temporaries_never_shut_the_logger_down() {
    let daemon = Rsyslogd::start();
    let t = token("handle");
    let (logger, _guard) = Builder::new()
        .socket(daemon.socket())
        .ident("it-handle")
        .mode(Mode::Background)
        .build()
        .unwrap();
    for i in 0..3 {
        // The health-endpoint one-liner, which used to mint and drop an owning guard.
        let before = logger.handle().stats();
        assert_eq!(before.dropped_total(), 0, "{before:?}");
        info(&logger, &format!("{t} {i}"));
        let global = fastsyslog::stats().expect("a logger was built");
        let _ = global.written;
    }
    assert!(logger.handle().flush());
    let got = daemon.wait_for_token(Rsyslogd::LOCAL1, &t, 3);
    assert_eq!(got.len(), 3);
    let s = logger.handle().stats();
    assert_eq!(s.dropped_for(Lane::Bulk, DropReason::Shutdown), 0, "{s:?}");
    assert_eq!(s.written, 3, "{s:?}");
}

// === flush at exit ===

const LAYER_SNIPPET_CHILD: &str = "dropin::layer_snippet_child";

/// The crate docs' composing snippet, in background mode, ending without dropping the guard (as
/// the old snippet, which never mentioned it, did): the exit hook must deliver all 12 records.
#[test]
fn layer_snippet_child() {
    use tracing_subscriber::prelude::*;
    if child_role(LAYER_SNIPPET_CHILD).is_none() {
        return;
    }
    let t = child_token();
    let (layer, guard) = fastsyslog::Builder::from_env()
        .build_layer()
        .expect("syslog layer");
    tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::from_default_env())
        .with(layer)
        .init();
    for i in 0..12 {
        tracing::info!(target: "access", status = 200, "{t} GET /{i}");
    }
    // The process exits with the records still queued: no drop, no flush.
    std::mem::forget(guard);
}

#[test]
fn layer_snippet_delivers_every_record_at_exit() {
    let daemon = Rsyslogd::start();
    let t = token("snippet");
    let socket = daemon.socket();
    run_child(
        LAYER_SNIPPET_CHILD,
        &socket,
        &t,
        &[
            ("FASTSYSLOG_SOCKET", socket.to_str().unwrap()),
            ("FASTSYSLOG_MODE", "background"),
            ("RUST_LOG", "info"),
        ],
    );
    let got = daemon.wait_for_token(Rsyslogd::LOCAL0, &t, 12);
    assert_eq!(got.len(), 12, "{got:?}");
}

const FORKED_WORKER_CHILD: &str = "dropin::forked_worker_child";

/// A pre-fork server: the global logger installed, then a worker forked that logs and ends with
/// `std::process::exit`, as the newcomer's workers did.
#[test]
fn forked_worker_child() {
    let Some(socket) = child_role(FORKED_WORKER_CHILD) else {
        return;
    };
    let t = child_token();
    let _guard = Builder::new()
        .socket(socket)
        .ident("it-worker-exit")
        .mode(Mode::Background)
        .init();
    log::info!("{t} parent before fork");
    let pid = fastsyslog_testkit::process::fork().expect("fork");
    if pid == 0 {
        for i in 0..3 {
            log::info!("{t} worker last {i}");
        }
        std::process::exit(0);
    }
    assert_eq!(fastsyslog_testkit::process::wait(pid).expect("wait"), 0);
}

#[test]
fn forked_worker_delivers_its_last_records_before_exit() {
    let daemon = Rsyslogd::start();
    let t = token("forkexit");
    run_child(FORKED_WORKER_CHILD, &daemon.socket(), &t, &[]);
    let got = daemon.wait_for_token(Rsyslogd::LOCAL1, &t, 4);
    let last: Vec<_> = got
        .iter()
        .filter(|l| l.msg.contains("worker last"))
        .collect();
    assert_eq!(last.len(), 3, "{got:?}");
}

// === the layer leaves filtering to the stack ===

#[test]
fn with_filter_and_reload_govern_what_the_layer_sends() {
    use tracing_subscriber::{prelude::*, reload, EnvFilter};
    let daemon = Rsyslogd::start();
    let t = token("layerfilter");
    let layer = || {
        Builder::new()
            .socket(daemon.socket())
            .ident("it-layer")
            .mode(Mode::Sync)
            .build_layer()
            .unwrap()
    };

    let (l1, _g1) = layer();
    let per_layer = tracing_subscriber::registry().with(l1.with_filter(EnvFilter::new("debug")));
    tracing::subscriber::with_default(per_layer, || {
        tracing::debug!("{t} per-layer debug");
        tracing::trace!("{t} per-layer trace");
    });

    let (l2, _g2) = layer();
    let (filter, reload) = reload::Layer::new(EnvFilter::new("info"));
    let reloadable = tracing_subscriber::registry().with(filter).with(l2);
    tracing::subscriber::with_default(reloadable, || {
        tracing::debug!("{t} before reload");
        reload.reload(EnvFilter::new("debug")).unwrap();
        tracing::debug!("{t} after reload");
        tracing::info!("{t} end");
    });

    daemon.wait_for(Rsyslogd::LOCAL1, |l| {
        l.iter().any(|l| l.msg.contains(&format!("{t} end")))
    });
    let msgs: Vec<String> = daemon
        .lines_with(Rsyslogd::LOCAL1, &t)
        .into_iter()
        .map(|l| l.msg)
        .collect();
    let want: Vec<String> = ["per-layer debug", "after reload", "end"]
        .iter()
        .map(|m| format!("{t} {m}"))
        .collect();
    assert_eq!(msgs, want);
}

// === directives ===

const ENVFILTER_CHILD: &str = "dropin::envfilter_directive_child";

#[test]
fn envfilter_directive_child() {
    let Some(socket) = child_role(ENVFILTER_CHILD) else {
        return;
    };
    let t = child_token();
    // Both adapters start with the directive; `init()` would panic on an error.
    let _log = Builder::from_env().socket(&socket).init();
    let _tracing = Builder::from_env().socket(&socket).init_tracing();
    log::info!("{t} from log");
    log::debug!(target: "db", "{t} db debug");
    tracing::info!("{t} from tracing");
    log::logger().flush();
}

#[test]
fn an_envfilter_only_directive_does_not_fail_start_up() {
    let daemon = Rsyslogd::start();
    let t = token("envfilter");
    let child = run_child(
        ENVFILTER_CHILD,
        &daemon.socket(),
        &t,
        &[
            ("RUST_LOG", "info,[req{method=GET}]=debug,db=debug"),
            ("FASTSYSLOG_MODE", "sync"),
        ],
    );
    let got = daemon.wait_for_token(Rsyslogd::LOCAL1, &t, 3);
    assert_eq!(got.len(), 3, "{got:?}");
    let stderr = String::from_utf8_lossy(&child.output.stderr);
    let reports = stderr
        .lines()
        .filter(|l| l.contains("[req{method=GET}]=debug"))
        .count();
    // One line per logger built (the log logger and the subscriber), naming the directive.
    assert_eq!(reports, 2, "{stderr}");
}

// === runtime reload ===

const RELOAD_CHILD: &str = "dropin::set_filter_child";

/// The global `log` logger and a tracing subscriber: `set_filter` raises then lowers the level.
#[test]
fn set_filter_child() {
    let Some(socket) = child_role(RELOAD_CHILD) else {
        return;
    };
    let t = child_token();
    let guard = Builder::new()
        .socket(&socket)
        .ident("it-reload")
        .mode(Mode::Sync)
        .filter("info")
        .init();
    let handle = guard.handle();
    log::debug!("{t} log debug hidden");
    handle.set_filter("debug").unwrap();
    assert_eq!(log::max_level(), log::LevelFilter::Debug, "raised");
    log::debug!("{t} log debug shown");
    handle.set_filter("warn").unwrap();
    assert_eq!(log::max_level(), log::LevelFilter::Warn, "lowered");
    log::info!("{t} log info hidden");
    log::warn!("{t} log warn shown");

    let (subscriber, _sub_guard) = Builder::new()
        .socket(&socket)
        .ident("it-reload")
        .mode(Mode::Sync)
        .filter("info")
        .build_subscriber()
        .unwrap();
    let handle = subscriber.handle();
    tracing::subscriber::with_default(subscriber, || {
        let debug = || {
            tracing::debug!(
                "{t} tracing debug {}",
                tracing::level_filters::LevelFilter::current()
            )
        };
        debug();
        handle.set_filter("debug").unwrap();
        debug();
        handle.set_filter("warn").unwrap();
        tracing::info!("{t} tracing info hidden");
        tracing::warn!("{t} tracing warn shown");
    });
}

#[test]
fn set_filter_raises_and_lowers_the_level_at_runtime() {
    let daemon = Rsyslogd::start();
    let t = token("reload");
    run_child(RELOAD_CHILD, &daemon.socket(), &t, &[]);
    let got = daemon.wait_for_token(Rsyslogd::LOCAL1, &t, 4);
    let msgs: Vec<&str> = got.iter().map(|l| l.msg.as_str()).collect();
    assert_eq!(
        msgs,
        [
            format!("{t} log debug shown"),
            format!("{t} log warn shown"),
            format!("{t} tracing debug debug"),
            format!("{t} tracing warn shown"),
        ]
    );
}

// === failure is visible ===

const UNREACHABLE_CHILD: &str = "dropin::unreachable_child";

#[test]
fn unreachable_child() {
    let Some(socket) = child_role(UNREACHABLE_CHILD) else {
        return;
    };
    let built = Builder::from_env().socket(&socket).mode(Mode::Sync).build();
    if std::env::var_os("FASTSYSLOG_STRICT").is_some() {
        let err = built.expect_err("strict start-up with no daemon");
        assert_eq!(err.kind(), fastsyslog::ErrorKind::Connect);
        println!("error: {err}");
    } else {
        let (logger, _guard) = built.expect("not strict: starts anyway");
        info(&logger, "lost");
        let s = logger.handle().stats();
        assert_eq!((s.written, s.dropped_total()), (0, 1), "{s:?}");
    }
}

#[test]
fn an_unreachable_daemon_is_said_on_stderr_and_strict_makes_it_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("nobody.sock");
    let t = token("unreachable");
    let child = run_child(UNREACHABLE_CHILD, &socket, &t, &[]);
    let stderr = String::from_utf8_lossy(&child.output.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("fastsyslog:"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains(&socket.display().to_string()), "{stderr}");

    let child = run_child(
        UNREACHABLE_CHILD,
        &socket,
        &t,
        &[("FASTSYSLOG_STRICT", "1")],
    );
    let stdout = String::from_utf8_lossy(&child.output.stdout);
    assert!(stdout.contains(&socket.display().to_string()), "{stdout}");
}

// === the stderr copy ===

const STDERR_CHILD: &str = "dropin::stderr_copy_child";

#[test]
fn stderr_copy_child() {
    let Some(socket) = child_role(STDERR_CHILD) else {
        return;
    };
    let t = child_token();
    let (logger, _guard) = Builder::from_env()
        .socket(&socket)
        .mode(Mode::Sync)
        .build()
        .unwrap();
    emit(
        &logger,
        log::Level::Warn,
        "app::db",
        &[("rows", log::kv::Value::from(3u64))],
        format_args!("{t} slow query"),
    );
}

#[test]
fn fastsyslog_stderr_copies_each_record_to_stderr() {
    let daemon = Rsyslogd::start();
    let t = token("stderr");
    let child = run_child(
        STDERR_CHILD,
        &daemon.socket(),
        &t,
        &[("FASTSYSLOG_STDERR", "1")],
    );
    daemon.wait_for_token(Rsyslogd::LOCAL1, &t, 1);
    let stderr = String::from_utf8_lossy(&child.output.stderr);
    let line = stderr
        .lines()
        .find(|l| l.contains(&t))
        .unwrap_or_else(|| panic!("no copy on stderr: {stderr}"));
    assert!(
        line.ends_with(&format!(" WARN  app::db: {t} slow query rows=3")),
        "{line}"
    );
    let quiet = run_child(STDERR_CHILD, &daemon.socket(), &t, &[]);
    assert!(!String::from_utf8_lossy(&quiet.output.stderr).contains("slow query"));
}

// === capture ===

/// Two tests in this binary, each with its own capture: each sees exactly its records. They run
/// in parallel threads (libtest's default), and `parallel_captures_see_only_their_own` adds more.
#[test]
fn capture_one_sees_only_its_records() {
    let cap = fastsyslog::testing::Capture::new().unwrap();
    for i in 0..20 {
        log::info!(target: "one", n = i; "from one");
        std::thread::yield_now();
    }
    let got = cap.messages();
    assert_eq!(got.len(), 20, "{got:?}");
    assert!(
        got.iter().all(|m| m.body.starts_with("from one")),
        "{got:?}"
    );
    assert_eq!(got[7].field("n").as_deref(), Some("7"));
}

#[test]
fn capture_two_sees_only_its_records() {
    let cap = fastsyslog::testing::Capture::new().unwrap();
    for i in 0..20 {
        log::warn!(target: "two", n = i; "from two");
        tracing::dispatcher::with_default(&cap.dispatch(), || {
            tracing::warn!(n = i, "traced two");
        });
        std::thread::yield_now();
    }
    let got = cap.messages();
    assert_eq!(got.len(), 40, "{got:?}");
    assert!(got.iter().all(|m| m.body.contains("two")), "{got:?}");
}

#[test]
fn parallel_captures_see_only_their_own() {
    let threads: Vec<_> = (0..4)
        .map(|n| {
            std::thread::spawn(move || {
                let cap = fastsyslog::testing::Capture::new().unwrap();
                for i in 0..50 {
                    log::info!("thread {n} record {i}");
                }
                let got = cap.messages();
                assert_eq!(got.len(), 50);
                assert!(got
                    .iter()
                    .all(|m| m.body.starts_with(&format!("thread {n} "))));
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // Nothing was left for later, and a capture dropped stops seeing records.
    let cap = fastsyslog::testing::Capture::new().unwrap();
    drop(cap);
    log::info!("after every capture");
    std::thread::sleep(Duration::from_millis(10));
}

// === the libc transport claims no delivery nobody received ===

const LIBC_ABSENT_CHILD: &str = "dropin::libc_absent_child";

#[test]
fn libc_absent_child() {
    if child_role(LIBC_ABSENT_CHILD).is_none() {
        return;
    }
    crate::support::devlog::assert_private_devlog();
    let (logger, _guard) = Builder::new()
        .ident("it-absent")
        .mode(Mode::Sync)
        .build()
        .unwrap();
    for i in 0..4 {
        info(&logger, &format!("nobody hears {i}"));
    }
    let s = logger.handle().stats();
    assert_eq!((s.written, s.dropped_total()), (0, 4), "{s:?}");
}

#[test]
fn libc_stats_count_no_delivery_without_a_daemon_on_devlog() {
    let mut daemon = Rsyslogd::start();
    daemon.stop_and_remove();
    let t = token("libcabsent");
    let child = crate::support::devlog::run_child_with_devlog(
        LIBC_ABSENT_CHILD,
        &daemon.socket(),
        &daemon.dir().join("dev"),
        &t,
        &[],
    );
    let stderr = String::from_utf8_lossy(&child.output.stderr);
    assert!(
        stderr.contains("fastsyslog: cannot reach the syslog daemon at /dev/log"),
        "{stderr}"
    );
}
