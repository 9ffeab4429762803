//! The libc `syslog(3)` transport through `/dev/log`, inside a private mount namespace where
//! `/dev/log` is the test daemon's socket (see `support::devlog`). The host's `/dev` is never
//! touched; each test checks that the host's `/dev/log` is as it was.
//!
//! glibc's `openlog`/`syslog` state is process-wide, so each case is one child process (the
//! re-exec pattern in `support`), and each child builds exactly one logger.

use fastsyslog::{Builder, Mode};
use log::kv::Value;
use log::Level;

use crate::support::devlog::{assert_private_devlog, host_devlog_exists, run_child_with_devlog};
use crate::support::{child_role, child_token, emit, expect_line, pid, rendered, token, Rsyslogd};

const BUILDER_CHILD: &str = "libc_devlog::builder_child";
const INIT_CHILD: &str = "libc_devlog::init_child";

/// The largest message the builder child allows (header included, as glibc writes it).
const MAX: usize = 512;

/// Child: `Builder::new()` with no socket is the libc transport; one access record, one error,
/// one hostile message and one over the size limit.
#[test]
fn builder_child() {
    if child_role(BUILDER_CHILD).is_none() {
        return;
    }
    assert_private_devlog();
    let t = child_token();
    let (logger, _guard) = Builder::new()
        .ident("it-libc")
        .mode(Mode::Sync)
        .filter("debug")
        .max_message_size(MAX)
        .build()
        .expect("build the libc logger");
    emit(
        &logger,
        Level::Info,
        "access",
        &[
            ("method", Value::from("GET")),
            ("path", Value::from("/a b")),
            ("status", Value::from(200u64)),
        ],
        format_args!("GET /a {t}"),
    );
    emit(
        &logger,
        Level::Error,
        "app",
        &[],
        format_args!("db down {t}"),
    );
    emit(
        &logger,
        Level::Warn,
        "app",
        &[],
        format_args!("forged\r\nJan  1 00:00:00 root: x %s%n%d a\0b {t}"),
    );
    emit(
        &logger,
        Level::Debug,
        "app",
        &[],
        format_args!("{t} {}", "y".repeat(2000)),
    );
    log::Log::flush(&logger);
    // The parent checks the counters after the lines, so a wrong line is reported first.
    let stats = logger.handle().stats();
    // libtest prints `test name ... ` on the same line first, so the parent searches within lines.
    println!(
        "{STATS_PREFIX}truncated={} dropped={}",
        stats.truncated,
        stats.dropped_total()
    );
}

const STATS_PREFIX: &str = "FASTSYSLOG_IT_STATS ";

#[test]
fn libc_transport_reaches_the_daemon_through_devlog() {
    let daemon = Rsyslogd::builder()
        .file_with_template("raw.log", "%rawmsg%\\n")
        .start();
    let t = token("libc_builder");
    let host_before = host_devlog_exists();
    let child = run_child_with_devlog(
        BUILDER_CHILD,
        &daemon.socket(),
        &daemon.dir().join("dev"),
        &t,
        &[],
    );
    assert_eq!(host_devlog_exists(), host_before, "host /dev/log changed");
    let p = child.pid.to_string();
    assert_ne!(p, pid(), "the records carry the child's pid");

    let local0 = daemon.wait_for_token(Rsyslogd::LOCAL0, &t, 1);
    assert_eq!(
        rendered(&local0),
        [expect_line(
            134,
            "it-libc",
            &p,
            &format!("GET /a {t} method=GET path=\"/a b\" status=200")
        )]
    );
    let local1 = daemon.wait_for_token(Rsyslogd::LOCAL1, &t, 3);
    assert_eq!(
        rendered(&local1[..2]),
        [
            expect_line(139, "it-libc", &p, &format!("db down {t}")),
            expect_line(
                140,
                "it-libc",
                &p,
                &format!("forged\\r\\nJan  1 00:00:00 root: x %s%n%d a\\u0000b {t}")
            ),
        ]
    );
    // The long record: cut so that glibc's header plus the body fit in MAX, and marked.
    let long = &local1[2];
    assert_eq!((long.pri, long.procid.as_str()), (143, p.as_str()));
    assert!(long.msg.starts_with(&format!("{t} yyy")), "{long:?}");
    assert!(long.msg.ends_with("y [truncated]"), "{long:?}");
    let raw = daemon.wait_for_raw("raw.log", &format!("{t} yyy"));
    assert!(
        raw[0].len() <= MAX && raw[0].len() > MAX - 40,
        "raw message is {} bytes, limit {MAX}: {raw:?}",
        raw[0].len()
    );
    let stdout = String::from_utf8_lossy(&child.output.stdout);
    let stats = stdout
        .lines()
        .find_map(|l| l.split_once(STATS_PREFIX).map(|(_, rest)| rest))
        .unwrap_or_else(|| panic!("no stats from the child: {stdout}"));
    assert_eq!(stats, "truncated=1 dropped=0");
}

/// Child: `fastsyslog::init()` with only the environment (no `FASTSYSLOG_SOCKET`: libc) and the
/// default ident, the program's file name.
#[test]
fn init_child() {
    if child_role(INIT_CHILD).is_none() {
        return;
    }
    assert_private_devlog();
    let t = child_token();
    let guard = fastsyslog::try_init().expect("init through /dev/log");
    assert_eq!(log::max_level(), log::LevelFilter::Info);
    log::info!(target: "access", status = 204; "DELETE /x {t}");
    log::warn!("slow {t}");
    log::debug!("filtered {t}");
    assert!(guard.flush(), "flush in time");
    assert_eq!(guard.stats().dropped_total(), 0, "{:?}", guard.stats());
}

#[test]
fn init_uses_libc_and_the_program_name_by_default() {
    let daemon = Rsyslogd::start();
    let t = token("libc_init");
    let host_before = host_devlog_exists();
    // Sync mode through the environment, so this does not depend on the background writer.
    let child = run_child_with_devlog(
        INIT_CHILD,
        &daemon.socket(),
        &daemon.dir().join("dev"),
        &t,
        &[("FASTSYSLOG_MODE", "sync")],
    );
    assert_eq!(host_devlog_exists(), host_before, "host /dev/log changed");
    let p = child.pid.to_string();
    let exe = std::env::current_exe().unwrap();
    let ident = exe.file_name().unwrap().to_str().unwrap();
    assert_eq!(
        rendered(&daemon.wait_for_token(Rsyslogd::LOCAL0, &t, 1)),
        [expect_line(
            134,
            ident,
            &p,
            &format!("DELETE /x {t} status=204")
        )]
    );
    let local1 = daemon.wait_for_token(Rsyslogd::ALL, &format!("slow {t}"), 1);
    assert_eq!(
        rendered(&local1),
        [expect_line(140, ident, &p, &format!("slow {t}"))]
    );
    assert_eq!(
        daemon.lines_with(Rsyslogd::ALL, &t).len(),
        2,
        "debug is off"
    );
}
