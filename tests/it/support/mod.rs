//! Shared helpers for the integration tests: message tokens and running one test again in a child
//! process (optionally in a private mount namespace where `/dev/log` is the test daemon's socket).
//! The daemon, `retry()` and the namespace itself come from `fastsyslog-testkit` (re-exported here).
//!
//! # Re-exec pattern (child processes)
//!
//! Some tests need a process of their own: the libc transport (glibc hard-codes `/dev/log`, so the
//! child runs in a private mount namespace) and anything that installs the global `log` logger or
//! calls `log::set_max_level` (one per process, and the other tests of this binary share it).
//! Instead of a helper binary, the test binary re-runs itself with one test selected:
//!
//! ```text
//! <current_exe> --exact <module::child_test> --nocapture --test-threads=1
//! ```
//!
//! with `FASTSYSLOG_IT_CHILD=<module::child_test>` in its environment. The child test is an ordinary
//! `#[test]` that starts with [`child_role`] and returns at once when that variable does not name
//! it, so in a normal run it passes trivially:
//!
//! ```ignore
//! #[test]
//! fn init_child() {
//!     let Some(socket) = support::child_role("log_adapter::init_child") else { return };
//!     let t = support::child_token();
//!     // ... act, putting `t` in every message; panic on failure (the parent sees exit code 101
//!     // and the child's output). Print anything the parent should check to stdout.
//! }
//!
//! #[test]
//! fn init_sets_max_level() {
//!     let daemon = Rsyslogd::start();
//!     let t = support::token("init");
//!     let child = support::run_child(
//!         "log_adapter::init_child", &daemon.socket(), &t, &[("FASTSYSLOG_MODE", "sync")]);
//!     // child.pid is the pid its records carry; child.output its stdout/stderr.
//!     let lines = daemon.wait_for_token(Rsyslogd::LOCAL1, &t, 1);
//! }
//! ```
//!
//! The child's environment has `FASTSYSLOG_*` and `RUST_LOG` removed, then the given pairs set.
//! A child runs at most [`CHILD_TIMEOUT`]; the parent panics unless it exited 0 with "1 passed"
//! (so a misspelt test name that selects nothing fails too).
//!
//! [`devlog::run_child_with_devlog`] does the same inside `unshare -m` (`-Urm` when not root) with
//! `/dev/log` a symlink to the daemon's socket; the child calls
//! [`devlog::assert_private_devlog`] before it logs.
//!
//! # Reading results
//!
//! [`Rsyslogd::wait_for_token`] waits with [`retry`] (30 × 100 ms) until a file has `n` lines
//! carrying the token and returns exactly those; [`Rsyslogd::wait_for`] takes any predicate. To
//! check that something never arrives, send a later record that does arrive (datagrams from one
//! socket are processed in order) and then look with [`Rsyslogd::lines_with`].
#![allow(dead_code)] // Each test module uses a different subset.

pub(crate) mod devlog;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub(crate) use fastsyslog_testkit::process::kill;
pub(crate) use fastsyslog_testkit::rsyslogd::{self, complete_lines, Line, Rsyslogd};
pub(crate) use fastsyslog_testkit::{retry, retry_n};

/// The environment variable naming the child test that should act (see the module docs).
pub(crate) const CHILD_ENV: &str = "FASTSYSLOG_IT_CHILD";
/// The environment variable carrying the daemon's socket path to a child.
pub(crate) const SOCKET_ENV: &str = "FASTSYSLOG_IT_SOCKET";
/// The environment variable carrying the message token to a child.
pub(crate) const TOKEN_ENV: &str = "FASTSYSLOG_IT_TOKEN";

/// A logger's stats, through a handle (dropping a handle stops nothing).
#[cfg(feature = "log")]
pub(crate) fn stats(logger: &fastsyslog::Logger) -> fastsyslog::Stats {
    logger.handle().stats()
}

/// `flush()` through a handle.
#[cfg(feature = "log")]
pub(crate) fn flush(logger: &fastsyslog::Logger) -> bool {
    logger.handle().flush()
}

/// A token unique to this test, process and call: `{test}-{pid}-{n}`. Put it in every message and
/// select the daemon's lines by it, so lines from other tests or the daemon itself never match.
pub(crate) fn token(test: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("{test}-{}-{n}", std::process::id())
}

/// In a child test: `Some(socket)` when this process was started by [`run_child`] (or
/// [`devlog::run_child_with_devlog`]) to act as `name`; `None` in a normal run, where the test
/// should return at once.
pub(crate) fn child_role(name: &str) -> Option<PathBuf> {
    match std::env::var_os(CHILD_ENV) {
        Some(v) if v == OsStr::new(name) => Some(
            std::env::var_os(SOCKET_ENV)
                .map(PathBuf::from)
                .expect("the parent passes the socket path"),
        ),
        _ => None,
    }
}

/// The token the parent passed to this child.
pub(crate) fn child_token() -> String {
    std::env::var(TOKEN_ENV).expect("the parent passes a token")
}

/// What a child run produced.
#[derive(Debug)]
pub(crate) struct ChildOutput {
    /// The child's pid (the pid its log records carry).
    pub(crate) pid: u32,
    /// Its stdout and stderr, for assertion messages.
    pub(crate) output: Output,
}

/// The command that re-runs this test binary with only `test` selected.
pub(crate) fn child_command(
    test: &str,
    socket: &Path,
    token: &str,
    envs: &[(&str, &str)],
) -> Command {
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = Command::new(exe);
    configure_child(&mut cmd, test, socket, token, envs);
    cmd
}

/// Adds the libtest arguments and the child environment to `cmd` (whose program is this binary,
/// possibly behind a wrapper such as `unshare`).
pub(crate) fn configure_child(
    cmd: &mut Command,
    test: &str,
    socket: &Path,
    token: &str,
    envs: &[(&str, &str)],
) {
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, test)
        .env(SOCKET_ENV, socket)
        .env(TOKEN_ENV, token)
        // The child must not pick up the developer's logging settings.
        .env_remove("RUST_LOG")
        .env_remove("FASTSYSLOG_LOG")
        .env_remove("FASTSYSLOG_SOCKET")
        .env_remove("FASTSYSLOG_FORMAT")
        .env_remove("FASTSYSLOG_IDENT")
        .env_remove("FASTSYSLOG_MODE")
        .env_remove("FASTSYSLOG_STRICT")
        .env_remove("FASTSYSLOG_STDERR");
    for (k, v) in envs {
        cmd.env(k, v);
    }
}

/// How long a child test may run before it is killed.
pub(crate) const CHILD_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `cmd` to completion (bounded: it is killed after [`CHILD_TIMEOUT`]), and panics with its output unless
/// it succeeded and libtest ran exactly one test.
pub(crate) fn run_checked(mut cmd: Command) -> ChildOutput {
    use std::process::Stdio;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not spawn {cmd:?}: {e}"));
    let pid = child.id();
    let output = fastsyslog_testkit::process::wait_with_output_within(child, CHILD_TIMEOUT)
        .expect("wait for the child")
        .output;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child {cmd:?} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    ChildOutput { pid, output }
}

/// Re-runs this binary with only `test` acting (see the module docs) and the daemon's `socket`
/// and `token` in its environment, plus `envs`; panics with the child's output if it failed.
pub(crate) fn run_child(
    test: &str,
    socket: &Path,
    token: &str,
    envs: &[(&str, &str)],
) -> ChildOutput {
    run_checked(child_command(test, socket, token, envs))
}

/// Sends one record straight to `logger` (bypassing the `log` macros, whose `max_level()` gate is
/// process-global and shared with the other tests of this binary).
pub(crate) fn emit(
    logger: &dyn log::Log,
    level: log::Level,
    target: &str,
    kvs: &[(&str, log::kv::Value<'_>)],
    args: std::fmt::Arguments<'_>,
) {
    logger.log(
        &log::Record::builder()
            .level(level)
            .target(target)
            .key_values(&kvs)
            .args(args)
            .build(),
    );
}

/// The pid records from this process carry.
pub(crate) fn pid() -> String {
    std::process::id().to_string()
}

/// `{pri}|{facility}|{severity}|{ident}|{pid}|{msg}`, the expected form of a [`Line`].
pub(crate) fn expect_line(pri: u8, ident: &str, pid: &str, msg: &str) -> String {
    let facility = match pri / 8 {
        0 => "kern",
        1 => "user",
        16 => "local0",
        17 => "local1",
        18 => "local2",
        19 => "local3",
        20 => "local4",
        21 => "local5",
        22 => "local6",
        23 => "local7",
        f => panic!("facility {f} not in the test table"),
    };
    let severity = [
        "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
    ][usize::from(pri % 8)];
    format!("{pri}|{facility}|{severity}|{ident}|{pid}|{msg}")
}

/// The rendered lines, for comparing whole vectors.
pub(crate) fn rendered(lines: &[Line]) -> Vec<String> {
    lines.iter().map(Line::render).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_parses_and_trims_the_leading_space() {
        let l = Line::parse("134|local0|info|web|42| GET / a|b").unwrap();
        assert_eq!(l.pri, 134);
        assert_eq!(l.facility, "local0");
        assert_eq!(l.severity, "info");
        assert_eq!(l.programname, "web");
        assert_eq!(l.procid, "42");
        assert_eq!(l.msg, "GET / a|b");
        assert_eq!(l.render(), "134|local0|info|web|42|GET / a|b");
        assert!(Line::parse("garbage").is_none());
    }

    #[test]
    fn tokens_are_unique() {
        let (a, b) = (token("t"), token("t"));
        assert_ne!(a, b);
        assert!(a.starts_with(&format!("t-{}-", std::process::id())));
    }

    #[test]
    fn daemon_receives_a_raw_3164_and_5424_datagram() {
        let daemon = Rsyslogd::start();
        let t = token("support_raw");
        let s = std::os::unix::net::UnixDatagram::unbound().unwrap();
        s.send_to(
            format!("<134>Nov  2 09:05:01 rawapp[77]: 3164 {t}").as_bytes(),
            daemon.socket(),
        )
        .unwrap();
        s.send_to(
            format!("<142>1 2026-11-22T20:34:36.123456Z host raw5424 78 - - 5424 {t}").as_bytes(),
            daemon.socket(),
        )
        .unwrap();
        let l0 = daemon.wait_for_token(Rsyslogd::LOCAL0, &t, 1);
        assert_eq!(
            l0[0].render(),
            format!("134|local0|info|rawapp|77|3164 {t}")
        );
        let l1 = daemon.wait_for_token(Rsyslogd::LOCAL1, &t, 1);
        assert_eq!(
            l1[0].render(),
            format!("142|local1|info|raw5424|78|5424 {t}")
        );
        assert_eq!(daemon.wait_for_token(Rsyslogd::ALL, &t, 2).len(), 2);
    }

    #[test]
    fn daemon_restarts_at_the_same_socket() {
        let mut daemon = Rsyslogd::start();
        let socket = daemon.socket();
        let first = daemon.pid();
        daemon.restart();
        assert_ne!(daemon.pid(), first);
        assert_eq!(daemon.socket(), socket);
        let t = token("support_restart");
        let s = std::os::unix::net::UnixDatagram::unbound().unwrap();
        s.send_to(
            format!("<134>Nov  2 09:05:01 r[1]: {t}").as_bytes(),
            &socket,
        )
        .unwrap();
        daemon.wait_for_token(Rsyslogd::LOCAL0, &t, 1);
    }

    #[test]
    #[should_panic(expected = "reported errors at start-up")]
    fn a_broken_variant_fails_the_test() {
        let _daemon = Rsyslogd::builder()
            .config("template(name=\"bad\" type=\"string\" string=\"%nosuchproperty%\")")
            .start();
    }

    #[test]
    fn stopped_daemon_delivers_after_cont() {
        let daemon = Rsyslogd::start();
        let pid = daemon.pid().unwrap();
        let state = || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
            // The state follows the parenthesised command name.
            stat.rsplit(") ").next().unwrap().chars().next().unwrap()
        };
        daemon.stop();
        assert!(
            retry(|| (state() == 'T').then_some(())).is_some(),
            "stopped"
        );
        let t = token("support_stop");
        let s = std::os::unix::net::UnixDatagram::unbound().unwrap();
        s.send_to(
            format!("<134>Nov  2 09:05:01 s[1]: {t}").as_bytes(),
            daemon.socket(),
        )
        .unwrap();
        assert!(daemon.lines_with(Rsyslogd::LOCAL0, &t).is_empty());
        daemon.cont();
        daemon.wait_for_token(Rsyslogd::LOCAL0, &t, 1);
    }

    #[test]
    #[should_panic(expected = "rsyslogd not found: apt-get install -y rsyslog")]
    fn a_missing_daemon_fails_with_the_install_hint() {
        let _daemon = Rsyslogd::builder()
            .binary("/nonexistent/sbin/rsyslogd")
            .start();
    }

    #[test]
    fn drop_removes_the_dir() {
        let daemon = Rsyslogd::start();
        let dir = daemon.dir().to_owned();
        assert!(dir.exists());
        drop(daemon);
        assert!(!dir.exists());
    }
}
