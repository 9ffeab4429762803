//! Fork and signal safety: a child forked while another thread holds a lock the crate needs still
//! logs; a signal handler gets its record out through the emergency path while threads log.
//!
//! Each fork test forks [`FORKS`] children from a process where other threads hammer one lock (glibc's
//! time-zone lock through another library's `localtime_r`, or the `Subscriber`'s span table).
//! Each child logs one record and `_exit`s; a child still running after [`CHILD_LIMIT`] is killed
//! and counted as hung, so a deadlock fails the test instead of hanging it. Then every child's
//! record must have reached the test's own rsyslogd. The signal test runs in a child process under
//! the usual timeout, since a handler that deadlocks never returns.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fastsyslog_testkit::process::{fork_each, Forked, FORK_EACH_MAX_HUNG};

use crate::support::Rsyslogd;

/// Children per test.
const FORKS: usize = 200;
/// How long one child may run. A healthy one exits within milliseconds; one that waits for its
/// time-zone probe takes 50 ms.
const CHILD_LIMIT: Duration = Duration::from_secs(3);

/// Runs `threads` copies of `busy` until [`fork_each`] has forked and reaped [`FORKS`] children
/// running `child`; asserts that none hung or failed.
fn fork_while_busy(threads: usize, busy: impl Fn() + Sync, child: impl Fn() -> i32) -> Forked {
    let stop = AtomicBool::new(false);
    let forked = std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    busy();
                }
            });
        }
        let forked = fork_each(FORKS, CHILD_LIMIT, child);
        stop.store(true, Ordering::Relaxed);
        forked.expect("fork")
    });
    assert!(
        forked.hung.is_empty() && forked.failed.is_empty(),
        "{} children hung (forking stops at {FORK_EACH_MAX_HUNG}), {} of {} failed ({:?})",
        forked.hung.len(),
        forked.failed.len(),
        forked.pids.len(),
        forked.failed
    );
    forked
}

/// Checks that every child in `forked` logged `{token} child` once, under its own pid.
fn every_child_arrived(daemon: &Rsyslogd, token: &str, forked: &Forked) {
    let lines = daemon.wait_for_token(Rsyslogd::LOCAL1, token, forked.pids.len());
    let mut got: Vec<u32> = lines
        .iter()
        .map(|l| l.procid.parse().expect("a pid"))
        .collect();
    got.sort_unstable();
    let mut want = forked.pids.clone();
    want.sort_unstable();
    assert_eq!(got, want, "one record per child, under its own pid");
}

#[cfg(feature = "log")]
mod log_adapter {
    use fastsyslog::{Builder, Mode};
    use log::Level;

    use super::*;
    use crate::support::devlog::{assert_private_devlog, run_child_with_devlog};
    use crate::support::{child_role, child_token, emit, token};

    const LIBC_CHILD: &str = "fork_safety::log_adapter::libc_fork_while_localtime_child";
    const MODE_ENV: &str = "FASTSYSLOG_IT_FORK_MODE";

    /// Another library's `localtime_r` (chrono's `Local` does this), which the crate cannot see.
    fn foreign_localtime() {
        std::hint::black_box(fastsyslog_testkit::syslog::localtime_hour(1_795_000_000));
        // Outside the lock about as long as inside, so forks catch it held often enough to fail
        // without the fix, but not so often that each child waits for its probe.
        for _ in 0..30 {
            std::hint::spin_loop();
        }
    }

    /// Child (private `/dev/log`): a libc-transport logger in the mode the parent names; two
    /// threads call `localtime_r` all the time while the process forks; each forked child logs one
    /// record (and flushes it, in background mode). glibc's `syslog(3)` takes the time-zone lock
    /// for its header, so a child that calls it after a fork that caught the lock held waits for
    /// ever.
    #[test]
    fn libc_fork_while_localtime_child() {
        if child_role(LIBC_CHILD).is_none() {
            return;
        }
        assert_private_devlog();
        let t = child_token();
        let mode = match std::env::var(MODE_ENV).as_deref() {
            Ok("background") => Mode::Background,
            _ => Mode::Sync,
        };
        let (logger, _guard) = Builder::new()
            .ident("it-forktz")
            .mode(mode)
            .flush_timeout(Duration::from_secs(1))
            .build()
            .expect("build the libc logger");
        let guard = &_guard;
        let forked = fork_while_busy(1, foreign_localtime, || {
            emit(&logger, Level::Warn, "app", &[], format_args!("{t} child"));
            if guard.flush() {
                0
            } else {
                3
            }
        });
        println!("FORKED {:?}", forked.pids);
    }

    fn libc_case(mode: &str) {
        let daemon = Rsyslogd::start();
        let t = token(&format!("forktz_{mode}"));
        let out = run_child_with_devlog(
            LIBC_CHILD,
            &daemon.socket(),
            &daemon.dir().join("dev"),
            &t,
            &[(MODE_ENV, mode)],
        );
        let stdout = String::from_utf8_lossy(&out.output.stdout);
        let pids = stdout
            .split("FORKED [")
            .nth(1)
            .and_then(|rest| rest.split(']').next())
            .unwrap_or_else(|| panic!("no forked pids in {stdout}"));
        let forked = Forked {
            pids: pids
                .split(", ")
                .map(|p| p.parse().expect("a pid"))
                .collect(),
            ..Forked::default()
        };
        every_child_arrived(&daemon, &t, &forked);
    }

    #[test]
    fn a_libc_child_forked_while_another_library_is_inside_localtime_logs_in_sync_mode() {
        libc_case("sync");
    }

    #[test]
    fn a_libc_child_forked_while_another_library_is_inside_localtime_logs_in_background_mode() {
        libc_case("background");
    }

    /// The unix transport writes its own header: the child's clock must not wait for the lock.
    /// This test's thread never logged in the parent, so each child has no cached second and asks
    /// for the local time.
    #[test]
    fn a_unix_child_forked_while_another_library_is_inside_localtime_logs() {
        let daemon = Rsyslogd::start();
        let t = token("forktz_unix");
        let (logger, _guard) = Builder::new()
            .socket(daemon.socket())
            .ident("it-forktz")
            .mode(Mode::Sync)
            .build()
            .expect("build the logger");
        let forked = fork_while_busy(1, foreign_localtime, || {
            emit(&logger, Level::Warn, "app", &[], format_args!("{t} child"));
            0
        });
        every_child_arrived(&daemon, &t, &forked);
    }
}

#[cfg(feature = "tracing")]
mod tracing_adapter {
    use fastsyslog::{Builder, Mode};
    use tracing::dispatcher::{self, Dispatch};

    use super::*;
    use crate::support::token;

    /// Two threads create and close spans all the time (each takes the span table's write lock)
    /// while this thread, inside a span of its own, forks. Each child opens a span and logs in it:
    /// the parent's span is not there (its id names no span in the child), the child's is.
    #[test]
    fn a_child_forked_while_another_thread_holds_the_span_table_logs_in_a_span() {
        let daemon = Rsyslogd::start();
        let t = token("forkspan");
        let (subscriber, _guard) = Builder::new()
            .socket(daemon.socket())
            .ident("it-forkspan")
            .mode(Mode::Sync)
            .build_subscriber()
            .expect("build the subscriber");
        let dispatch = Dispatch::new(subscriber);
        let busy = || {
            dispatcher::with_default(&dispatch, || {
                for n in 0..100u32 {
                    let span = tracing::info_span!("busy", n);
                    drop(span.enter());
                }
            });
        };
        let forked = dispatcher::with_default(&dispatch, || {
            let parent = tracing::info_span!("parent", p = 1);
            let _entered = parent.enter();
            fork_while_busy(2, busy, || {
                let span = tracing::info_span!("child", c = 2);
                let _entered = span.enter();
                tracing::warn!("{t} child");
                0
            })
        });
        every_child_arrived(&daemon, &t, &forked);
        let lines = daemon.lines_with(Rsyslogd::LOCAL1, &t);
        assert!(
            lines
                .iter()
                .all(|l| l.msg == format!("{t} child child.c=2")),
            "{lines:#?}"
        );
    }
}

/// The emergency path from a signal handler, while other threads log through the normal API.
#[cfg(feature = "log")]
mod signals {
    use std::sync::atomic::AtomicU64;
    use std::sync::{mpsc, OnceLock};
    use std::time::Instant;

    use fastsyslog::emergency::Emergency;
    use fastsyslog::{Builder, Mode, Severity};
    use fastsyslog_testkit::process::{current_thread, on_signal, signal_thread};
    use log::Level;

    use super::*;
    use crate::support::{child_role, child_token, emit, run_child, token};

    const CHILD: &str = "fork_safety::signals::emergency_sends_from_signal_handlers_child";
    /// Signals delivered, one at a time (each handled before the next is sent).
    const SIGNALS: u64 = 3000;
    const LOGGING_THREADS: usize = 3;

    static EMERGENCY: OnceLock<Emergency> = OnceLock::new();
    static MESSAGE: OnceLock<String> = OnceLock::new();
    static HANDLED: AtomicU64 = AtomicU64::new(0);
    static SENT: AtomicU64 = AtomicU64::new(0);

    extern "C" fn on_usr1(_: libc::c_int) {
        if let (Some(emergency), Some(message)) = (EMERGENCY.get(), MESSAGE.get()) {
            if emergency.send(Severity::Critical, message).is_ok() {
                SENT.fetch_add(1, Ordering::SeqCst);
            }
        }
        HANDLED.fetch_add(1, Ordering::SeqCst);
    }

    /// Child: three threads log through the normal API (allocating and formatting) while the
    /// main thread delivers [`SIGNALS`] SIGUSR1s to them, one at a time; each handler sends one
    /// emergency record. A handler that interrupted the allocator's lock and allocated itself
    /// would deadlock here, and the parent's timeout would fail the test.
    #[test]
    fn emergency_sends_from_signal_handlers_child() {
        let Some(socket) = child_role(CHILD) else {
            return;
        };
        let t = child_token();
        let builder = Builder::new()
            .socket(&socket)
            .ident("it-signal")
            .mode(Mode::Sync);
        EMERGENCY
            .set(Emergency::from_builder(&builder).expect("emergency"))
            .expect("set once");
        MESSAGE.set(format!("{t} emergency")).expect("set once");
        let (logger, _guard) = builder.build().expect("build the logger");
        on_signal(libc::SIGUSR1, on_usr1).expect("sigaction");

        let stop = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel();
            for n in 0..LOGGING_THREADS {
                let (tx, logger, stop, t) = (tx.clone(), &logger, &stop, &t);
                scope.spawn(move || {
                    tx.send(current_thread()).expect("report the thread");
                    let mut i = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        // Mostly inside malloc and free, with blocks past glibc's per-thread
                        // cache (so under its arena lock); one record in 64 keeps the daemon's
                        // queue from filling (a full one makes emergency sends fail with EAGAIN).
                        for size in [4096, 65536, 16384] {
                            std::hint::black_box(Vec::<u8>::with_capacity(size));
                        }
                        if i % 64 == 0 {
                            emit(
                                logger,
                                Level::Info,
                                "app",
                                &[],
                                format_args!("{t} thread={n} i={i}"),
                            );
                        }
                        i += 1;
                    }
                });
            }
            let threads: Vec<_> = rx.iter().take(LOGGING_THREADS).collect();
            let deadline = Instant::now() + Duration::from_secs(10);
            for i in 0..SIGNALS {
                let thread = threads[usize::try_from(i).unwrap() % LOGGING_THREADS];
                signal_thread(thread, libc::SIGUSR1).expect("pthread_kill");
                while HANDLED.load(Ordering::SeqCst) <= i {
                    assert!(Instant::now() < deadline, "signal {i} was never handled");
                    std::thread::yield_now();
                }
            }
            stop.store(true, Ordering::Relaxed);
        });
        println!("SENT {}", SENT.load(Ordering::SeqCst));
    }

    #[test]
    fn emergency_sends_from_signal_handlers_while_threads_log() {
        let daemon = Rsyslogd::start();
        let t = token("signals");
        let out = run_child(CHILD, &daemon.socket(), &t, &[]);
        let stdout = String::from_utf8_lossy(&out.output.stdout);
        let sent: usize = stdout
            .split("SENT ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count in {stdout}"));
        // A full daemon queue makes a send fail with EAGAIN rather than wait; most go out.
        assert!(sent > 0, "{stdout}");
        let want = format!("{t} emergency");
        let lines = daemon.wait_for(Rsyslogd::LOCAL1, |lines| {
            lines.iter().filter(|l| l.msg == want).count() >= sent
        });
        let emergency: Vec<_> = lines.iter().filter(|l| l.msg == want).collect();
        assert_eq!(emergency.len(), sent);
        let pid = out.pid.to_string();
        assert!(
            emergency
                .iter()
                .all(|l| l.severity == "crit" && l.programname == "it-signal" && l.procid == pid),
            "{:#?}",
            emergency.first()
        );
        println!("{sent} of {SIGNALS} emergency records sent and stored");
    }
}
