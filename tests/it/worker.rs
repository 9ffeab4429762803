//! The background writer against a real rsyslogd: lossless delivery and per-thread order, drops
//! with a stopped daemon and the dropped-records summary, bounded flush and shutdown with a hung
//! daemon, forked children (own pid, own writer, no duplicates, no deadlock on glibc's syslog
//! lock, in background and sync mode), and no heap allocation per record on the caller.
//!
//! Counting allocations and forking come from `fastsyslog_testkit` (`alloc`, `process`).

use std::path::Path;
use std::time::{Duration, Instant};

use fastsyslog::{Builder, DropReason, Lane, Logger, Mode, Overflow, WorkerGuard};
use fastsyslog_testkit::alloc::{thread_allocations as allocations, CountingAllocator};
use log::kv::Value;
use log::Level;

use crate::support::devlog::{assert_private_devlog, run_child_with_devlog};
use crate::support::{
    child_role, child_token, emit, kill, retry, retry_n, run_child, token, Line, Rsyslogd,
};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// `fork()`: 0 in the child, the child's pid in the parent.
fn fork() -> libc::pid_t {
    let pid = fastsyslog_testkit::process::fork().expect("fork");
    libc::pid_t::try_from(pid).expect("pid fits pid_t")
}

/// Waits for `pid` and returns its exit code (or 128 + signal).
fn wait_exit(pid: libc::pid_t) -> i32 {
    fastsyslog_testkit::process::wait(u32::try_from(pid).expect("positive pid")).expect("waitpid")
}

// === helpers ===

/// A background logger to `socket` with both lanes under `overflow`.
fn logger(socket: &Path, overflow: Overflow, bulk_capacity: usize) -> (Logger, WorkerGuard) {
    Builder::new()
        .socket(socket)
        .ident("it-worker")
        .mode(Mode::Background)
        .filter("info")
        .overflow(Lane::Error, overflow)
        .overflow(Lane::Bulk, overflow)
        .queue_capacity(Lane::Bulk, bulk_capacity)
        .build()
        .expect("build the background logger")
}

/// `seq` of every `t=<thread> seq=<n>` line with token `t`, grouped by thread.
fn sequences(lines: &[Line], threads: usize) -> Vec<Vec<u64>> {
    let mut out = vec![Vec::new(); threads];
    for line in lines {
        // A logfmt message with a `=` arrives quoted, maybe with key-values after it.
        let msg = match line.msg.strip_prefix('"') {
            Some(quoted) => quoted.split('"').next().unwrap_or_default(),
            None => &line.msg,
        };
        let mut fields = msg.split(' ');
        let (Some(t), Some(seq)) = (fields.nth(1), fields.next()) else {
            continue;
        };
        let t: usize = t.trim_start_matches("t=").parse().expect("thread");
        let seq: u64 = seq.trim_start_matches("seq=").parse().expect("seq");
        out[t].push(seq);
    }
    out
}

/// The daemon's `local1` lines with token `t`, once there are `total` of them (exactly that many).
fn all_lines(daemon: &Rsyslogd, t: &str, total: u64) -> Vec<Line> {
    let lines = retry_n(600, Duration::from_millis(100), || {
        let lines = daemon.lines_with(Rsyslogd::LOCAL1, t);
        (lines.len() as u64 >= total).then_some(lines)
    })
    .unwrap_or_else(|| {
        let got = daemon.lines_with(Rsyslogd::LOCAL1, t).len();
        panic!("the daemon wrote {got} of {total} records")
    });
    assert_eq!(lines.len() as u64, total);
    lines
}

// === tests ===

#[test]
fn no_heap_allocation_per_record_on_the_caller() {
    // What the writer does with the records does not concern the caller's count.
    let daemon = Rsyslogd::start();
    let (logger, guard) = logger(&daemon.socket(), Overflow::Block, 4096);
    let record = |i: u64| {
        emit(
            &logger,
            Level::Info,
            "app",
            &[
                ("n", Value::from(i)),
                ("ok", Value::from(true)),
                ("path", Value::from("/index.html")),
            ],
            format_args!("request {i} done"),
        );
    };
    // Warm-up: this thread's caches (clock, stash) fill. Render buffers come from the writer's
    // free list, prefilled with 256 at start-up: rounds of 100 records stay within it however far
    // the writer falls behind, so any allocation counted below is the caller's own.
    for _ in 0..3 {
        (0..200).for_each(record);
        assert!(guard.flush());
    }
    let mut counted = 0;
    for _ in 0..20 {
        let before = allocations();
        (0..100).for_each(record);
        counted += allocations() - before;
        // Flushing allocates (a waiter); it is outside the counted window.
        assert!(guard.flush());
    }
    assert_eq!(counted, 0, "allocations on the caller for 2000 records");
    assert_eq!(guard.stats().enqueued, 2600);
}

#[test]
fn lossless_policy_delivers_every_record_in_order() {
    const THREADS: usize = 4;
    const RECORDS: u64 = 100_000;
    let daemon = Rsyslogd::start();
    let t = token("worker_lossless");
    let (logger, guard) = logger(&daemon.socket(), Overflow::Block, 4096);
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let (logger, t) = (&logger, &t);
            scope.spawn(move || {
                for seq in 0..RECORDS {
                    emit(
                        logger,
                        Level::Info,
                        "app",
                        &[],
                        format_args!("{t} t={thread} seq={seq}"),
                    );
                }
            });
        }
    });
    let total = THREADS as u64 * RECORDS;
    // A lossless lane retries sends that time out, so only the daemon's pace bounds this.
    let flushed = retry_n(600, Duration::from_millis(100), || {
        guard.flush().then_some(())
    });
    assert!(flushed.is_some(), "flush: {:?}", guard.stats());
    let stats = guard.stats();
    assert_eq!(
        (stats.written, stats.dropped_total()),
        (total, 0),
        "{stats:?}"
    );

    let lines = all_lines(&daemon, &t, total);
    for (thread, seqs) in sequences(&lines, THREADS).iter().enumerate() {
        let want: Vec<u64> = (0..RECORDS).collect();
        assert!(
            seqs == &want,
            "thread {thread}: records lost or out of order"
        );
    }
}

#[test]
fn captured_records_from_many_threads_add_up_and_keep_their_order() {
    // Background mode copies each record on the caller and renders it on the writer: a user
    // `Display` that panics drops its record on the caller, and every other record arrives once,
    // in its thread's order across both lanes, with its key-values.
    struct Panics;
    impl std::fmt::Display for Panics {
        fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            panic!("a user Display impl panicked")
        }
    }
    const THREADS: usize = 4;
    const RECORDS: u64 = 5_000;
    let panics = |seq: u64| seq % 13 == 7;
    let daemon = Rsyslogd::start();
    let t = token("worker_captured");
    let (logger, guard) = logger(&daemon.socket(), Overflow::Block, 4096);
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let (logger, t) = (&logger, &t);
            scope.spawn(move || {
                let peer = std::net::Ipv4Addr::new(10, 0, 0, thread as u8);
                for seq in 0..RECORDS {
                    let level = if seq % 5 == 0 {
                        Level::Warn
                    } else {
                        Level::Info
                    };
                    let odd = Value::from_display(&Panics);
                    let shown = Value::from_display(&peer);
                    let last = if panics(seq) { odd } else { shown };
                    emit(
                        logger,
                        level,
                        "app",
                        &[("n", Value::from(seq)), ("peer", last)],
                        format_args!("{t} t={thread} seq={seq}"),
                    );
                }
            });
        }
    });
    std::panic::set_hook(quiet);
    let dropped = THREADS as u64 * (0..RECORDS).filter(|&s| panics(s)).count() as u64;
    let total = THREADS as u64 * RECORDS - dropped;
    let flushed = retry_n(600, Duration::from_millis(100), || {
        guard.flush().then_some(())
    });
    assert!(flushed.is_some(), "flush: {:?}", guard.stats());
    let stats = guard.stats();
    assert_eq!(stats.written, total, "{stats:?}");
    assert_eq!(stats.dropped_total(), dropped, "{stats:?}");
    let panicked = stats.dropped_for(Lane::Bulk, DropReason::Panic)
        + stats.dropped_for(Lane::Error, DropReason::Panic);
    assert_eq!(panicked, dropped, "{stats:?}");

    let lines = all_lines(&daemon, &t, total);
    for (thread, seqs) in sequences(&lines, THREADS).iter().enumerate() {
        let want: Vec<u64> = (0..RECORDS).filter(|&s| !panics(s)).collect();
        assert!(
            seqs == &want,
            "thread {thread}: records lost, doubled or out of order"
        );
    }
    let peer = format!("peer=10.0.0.{}", THREADS - 1);
    assert!(
        lines.iter().any(|l| l.msg.contains(&peer)),
        "the Display value reached the daemon: {:?}",
        lines.first()
    );
}

#[test]
fn drop_policy_keeps_calls_fast_with_a_stopped_daemon_then_summarises() {
    const RECORDS: u64 = 20_000;
    let daemon = Rsyslogd::start();
    let t = token("worker_stopped");
    // A send timeout far above the bounds below: a caller that waited on the stopped daemon
    // would take at least this long, while a loaded machine's scheduling delays stay far under it.
    let (logger, guard) = Builder::new()
        .socket(daemon.socket())
        .ident("it-worker")
        .mode(Mode::Background)
        .filter("info")
        .overflow(Lane::Error, Overflow::Drop)
        .overflow(Lane::Bulk, Overflow::Drop)
        .queue_capacity(Lane::Bulk, 1024)
        .send_timeout(Some(Duration::from_secs(5)))
        .build()
        .expect("build the background logger");
    daemon.stop();
    let mut costs = Vec::with_capacity(RECORDS as usize);
    for seq in 0..RECORDS {
        let start = Instant::now();
        emit(
            &logger,
            Level::Info,
            "app",
            &[],
            format_args!("{t} t=0 seq={seq}"),
        );
        costs.push(start.elapsed());
    }
    costs.sort_unstable();
    let p99 = costs[costs.len() * 99 / 100];
    let max = costs[costs.len() - 1];
    // A caller that waited on the daemon would take the 5 s send timeout at least; these bounds
    // are far below it and far above what a descheduled caller on a loaded machine sees.
    assert!(p99 < Duration::from_millis(100), "p99 {p99:?}");
    assert!(max < Duration::from_millis(2500), "max {max:?}");
    let stats = guard.stats();
    assert!(
        stats.dropped_for(Lane::Bulk, DropReason::QueueFull) > 0,
        "{stats:?}"
    );

    daemon.cont();
    let flushed = retry(|| guard.flush().then_some(()));
    assert!(
        flushed.is_some(),
        "flush after SIGCONT: {:?}",
        guard.stats()
    );
    let stats = guard.stats();
    assert_eq!(
        stats.written + stats.dropped_total(),
        RECORDS,
        "attempted == written + dropped: {stats:?}"
    );

    let summary = daemon.wait_for(Rsyslogd::LOCAL1, |lines| {
        lines
            .iter()
            .any(|l| l.msg.starts_with("fastsyslog: dropped "))
    });
    let summary = summary
        .iter()
        .find(|l| l.msg.starts_with("fastsyslog: dropped "))
        .expect("the dropped-records summary");
    assert_eq!(
        (summary.severity.as_str(), summary.programname.as_str()),
        ("warning", "it-worker")
    );
    assert!(
        summary.msg.contains("bulk, queue_full") && summary.msg.contains(" since "),
        "{}",
        summary.msg
    );
    // The summary may overtake the last records on their way into the file: wait for them.
    let lines = daemon.wait_for(Rsyslogd::LOCAL1, |lines| {
        lines.iter().filter(|l| l.msg.contains(&t)).count() as u64 >= stats.written
    });
    let written = lines.iter().filter(|l| l.msg.contains(&t)).count() as u64;
    assert_eq!(
        written, stats.written,
        "every written record reached the file, once"
    );
}

#[test]
fn flush_and_shutdown_return_within_their_bound_with_a_hung_daemon() {
    let daemon = Rsyslogd::start();
    let t = token("worker_hung");
    let bound = Duration::from_millis(300);
    let (logger, guard) = Builder::new()
        .socket(daemon.socket())
        .mode(Mode::Background)
        .flush_timeout(bound)
        .build()
        .expect("build");
    daemon.stop();
    for seq in 0..5_000 {
        emit(
            &logger,
            Level::Info,
            "app",
            &[],
            format_args!("{t} t=0 seq={seq}"),
        );
    }
    let start = Instant::now();
    assert!(!guard.flush(), "nothing can be flushed to a stopped daemon");
    let took = start.elapsed();
    assert!(took >= bound && took < bound * 4, "flush took {took:?}");
    let start = Instant::now();
    drop(guard);
    let took = start.elapsed();
    assert!(took < bound * 4, "shutdown took {took:?}");
    daemon.cont();
}

const PREFORK_CHILD: &str = "worker::prefork_child";

/// Child: installs the global logger, logs, forks three workers that each log 20 records, and
/// prints `FORKED <i> <pid>` for each worker that exited cleanly.
#[test]
fn prefork_child() {
    let Some(socket) = child_role(PREFORK_CHILD) else {
        return;
    };
    let t = child_token();
    let guard = Builder::new()
        .socket(&socket)
        .ident("it-prefork")
        .try_init()
        .expect("install the logger");
    // Records queued in the parent right before each fork must not be sent again by the child.
    let mut workers = Vec::new();
    for i in 0..3 {
        for n in 0..50 {
            log::info!("{t} role=parent i={i} n={n}");
        }
        let pid = fork();
        if pid == 0 {
            for seq in 0..20 {
                log::info!("{t} role=worker i={i} seq={seq}");
            }
            log::logger().flush();
            let stats = fastsyslog::stats().unwrap_or_default();
            let ok = stats.dropped_total() == 0;
            std::process::exit(if ok { 0 } else { 1 });
        }
        workers.push((i, pid));
    }
    for (i, pid) in workers {
        assert_eq!(wait_exit(pid), 0, "worker {i} (pid {pid})");
        println!("FORKED {i} {pid}");
    }
    assert!(guard.flush());
}

#[test]
fn forked_workers_log_with_their_own_pids_and_no_duplicates() {
    let daemon = Rsyslogd::start();
    let t = token("worker_prefork");
    let child = run_child(PREFORK_CHILD, &daemon.socket(), &t, &[]);
    let stdout = String::from_utf8_lossy(&child.output.stdout);
    let workers: Vec<(String, String)> = stdout
        .split("FORKED ")
        .skip(1)
        .map(|rest| {
            let mut it = rest.split_whitespace();
            let i = it.next().expect("index").to_owned();
            let pid = it.next().expect("pid").to_owned();
            (i, pid)
        })
        .collect();
    assert_eq!(workers.len(), 3, "{stdout}");
    let lines = daemon.wait_for_token(Rsyslogd::LOCAL1, &t, 3 * 50 + 3 * 20);
    let parent = child.pid.to_string();
    let parents: Vec<&Line> = lines
        .iter()
        .filter(|l| l.msg.contains("role=parent"))
        .collect();
    assert_eq!(parents.len(), 150, "each parent record exactly once");
    assert!(parents.iter().all(|l| l.procid == parent));
    for (i, pid) in &workers {
        let mine: Vec<&Line> = lines
            .iter()
            .filter(|l| l.msg.contains(&format!("role=worker i={i} ")))
            .collect();
        assert_eq!(mine.len(), 20, "worker {i}");
        assert!(
            mine.iter().all(|l| &l.procid == pid),
            "worker {i} records carry pid {pid}: {mine:?}"
        );
    }
}

const STUCK_CHILD: &str = "worker::fork_while_stuck_in_syslog_child";
const DAEMON_PID_ENV: &str = "FASTSYSLOG_IT_DAEMON_PID";

/// The start of stuck-in-syslog child test `name`: `None` in a normal run. In the child, checks
/// the private `/dev/log`, builds a libc-transport logger in `mode`, stops the daemon, and
/// returns the token, the daemon's pid (to continue it) and the logger.
fn stuck_child(name: &str, ident: &str, mode: Mode) -> Option<(String, u32, Logger, WorkerGuard)> {
    child_role(name)?;
    assert_private_devlog();
    let daemon = std::env::var(DAEMON_PID_ENV)
        .expect("daemon pid")
        .parse()
        .expect("a pid");
    let (logger, guard) = Builder::new()
        .ident(ident)
        .mode(mode)
        // Background mode: the forked child's flush waits for the daemon to be continued.
        .flush_timeout(Duration::from_secs(10))
        .build()
        .expect("build the libc logger");
    assert!(kill("-STOP", daemon));
    Some((child_token(), daemon, logger, guard))
}

/// In the forked child of a stuck-in-syslog child: the record [`forked_child_record_arrives`]
/// looks for.
fn log_forked_child(logger: &Logger, t: &str) {
    emit(
        logger,
        Level::Warn,
        "app",
        &[],
        format_args!("{t} forked child"),
    );
}

/// Runs the stuck-in-syslog child test `child` against its own daemon behind a private
/// `/dev/log`, then checks that the record its forked child logged (`{token} forked child`, WARN)
/// arrived with the header glibc would write: `ident`, the forked child's pid, local1.warning.
fn forked_child_record_arrives(child: &str, test: &str, ident: &str) {
    let daemon = Rsyslogd::start();
    let t = token(test);
    let daemon_pid = daemon.pid().expect("running").to_string();
    let out = run_child_with_devlog(
        child,
        &daemon.socket(),
        &daemon.dir().join("dev"),
        &t,
        &[(DAEMON_PID_ENV, &daemon_pid)],
    );
    let stdout = String::from_utf8_lossy(&out.output.stdout);
    let forked = stdout
        .split("FORKED ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no forked pid in {stdout}"))
        .to_owned();
    let want = format!("{t} forked child");
    let lines = daemon.wait_for(Rsyslogd::LOCAL1, |lines| {
        lines.iter().any(|l| l.msg == want)
    });
    let line = lines
        .iter()
        .find(|l| l.msg == want)
        .expect("the forked child's record");
    // The fallback writes glibc's header: same ident, the child's pid, same priority.
    assert_eq!(
        line.render(),
        format!("{}|local1|warning|{ident}|{forked}|{want}", 17 * 8 + 4)
    );
}

/// Child (private `/dev/log`): the libc transport's writer gets stuck inside `syslog(3)` against
/// a stopped daemon; then the process forks, and the forked child logs and flushes. glibc keeps
/// its syslog lock held in the child, so this only passes if the child never calls into it.
#[test]
fn fork_while_stuck_in_syslog_child() {
    let Some((t, daemon, logger, guard)) = stuck_child(STUCK_CHILD, "it-stuck", Mode::Background)
    else {
        return;
    };
    for n in 0..200 {
        emit(
            &logger,
            Level::Info,
            "app",
            &[],
            format_args!("{t} parent n={n}"),
        );
    }
    // The daemon's socket queue fills and syslog(3) blocks, holding glibc's lock.
    let stuck = retry(|| guard.stats().writer_stuck.then_some(()));
    assert!(
        stuck.is_some(),
        "the writer never got stuck: {:?}",
        guard.stats()
    );

    let pid = fork();
    if pid == 0 {
        log_forked_child(&logger, &t);
        let flushed = guard.flush();
        std::process::exit(if flushed { 0 } else { 3 });
    }
    assert!(kill("-CONT", daemon));
    let code = wait_exit(pid);
    assert_eq!(code, 0, "the forked child could not flush (3) or died");
    println!("FORKED {pid}");
}

#[test]
fn a_child_forked_while_the_writer_is_inside_syslog_does_not_deadlock() {
    forked_child_record_arrives(STUCK_CHILD, "worker_stuck", "it-stuck");
}

const STUCK_SYNC_CHILD: &str = "worker::fork_while_stuck_in_syslog_sync_child";

/// Whether thread `tid` of this process is blocked in `sendto(2)`, which is where glibc's
/// `syslog(3)` waits for room in a stopped daemon's queue while holding its syslog lock.
fn blocked_in_sendto(tid: &str) -> bool {
    let Ok(syscall) = std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall")) else {
        return false;
    };
    // `running` while on a CPU; otherwise the syscall number first.
    syscall.split_whitespace().next() == Some(&libc::SYS_sendto.to_string())
}

/// Waits up to `limit` for the forked child `pid` to exit and returns its exit code, or `None`
/// after killing it when it did not. An exited child stays a zombie until `wait`, so its pid
/// cannot be reused while this polls.
fn wait_exit_within(pid: libc::pid_t, limit: Duration) -> Option<i32> {
    let exited = || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // `pid (comm) state ...`; comm may contain spaces, so split after its closing paren.
        let state = stat.rsplit_once(") ")?.1.chars().next()?;
        (state == 'Z').then_some(())
    };
    let tries = u32::try_from(limit.as_millis() / 100).unwrap_or(u32::MAX);
    if retry_n(tries, Duration::from_millis(100), exited).is_some() {
        return Some(wait_exit(pid));
    }
    let pid_u32 = u32::try_from(pid).expect("positive pid");
    assert!(kill("-KILL", pid_u32), "kill the hung child {pid}");
    wait_exit(pid);
    None
}

/// Child (private `/dev/log`), sync mode: a thread of this process is blocked inside
/// `syslog(3)` (holding glibc's syslog lock) against a stopped daemon when the process forks; the
/// forked child then logs one record itself. glibc keeps the lock held in the child, so the
/// child's record only goes out if the libc transport never calls into glibc there.
#[test]
fn fork_while_stuck_in_syslog_sync_child() {
    let Some((t, daemon, logger, guard)) =
        stuck_child(STUCK_SYNC_CHILD, "it-stuck-sync", Mode::Sync)
    else {
        return;
    };

    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let (logger, stop, t) = (&logger, &stop, &t);
        scope.spawn(move || {
            let me = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
            let tid = me.file_name().expect("pid/task/tid").to_owned();
            tid_tx.send(tid).expect("the main thread waits for the tid");
            // Logs until the daemon's socket queue is full: then syslog(3) blocks in send(2),
            // holding glibc's lock, until the daemon is continued.
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                emit(
                    logger,
                    Level::Info,
                    "app",
                    &[],
                    format_args!("{t} parent n={n}"),
                );
                n += 1;
            }
        });
        let tid = tid_rx.recv().expect("the logging thread's tid");
        let tid = tid.to_str().expect("a numeric tid");
        let stuck = retry(|| {
            let stats = guard.stats();
            (stats.enqueued > stats.written && blocked_in_sendto(tid)).then_some(())
        });
        assert!(
            stuck.is_some(),
            "the logging thread never blocked inside syslog(3): {:?}",
            guard.stats()
        );

        let pid = fork();
        if pid == 0 {
            // The counters are inherited with the blocked thread's record in flight: compare.
            let before = guard.stats();
            // Only this thread exists here; without the fallback this call waits forever for
            // the lock the blocked thread held at the fork.
            log_forked_child(logger, t);
            let after = guard.stats();
            let sent = after.written == before.written + 1
                && after.dropped_total() == before.dropped_total();
            fastsyslog_testkit::process::exit_now(if sent { 0 } else { 3 });
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(kill("-CONT", daemon));
        let code = wait_exit_within(pid, Duration::from_secs(20));
        assert_eq!(
            code,
            Some(0),
            "the forked child hung (None: deadlocked on glibc's syslog lock) or failed to send (3)"
        );
        println!("FORKED {pid}");
    });
}

#[test]
fn a_child_forked_in_sync_mode_while_a_thread_is_inside_syslog_does_not_deadlock() {
    forked_child_record_arrives(STUCK_SYNC_CHILD, "worker_stuck_sync", "it-stuck-sync");
}

const FORK_UNDER_LOAD_CHILD: &str = "worker::fork_while_threads_log_child";
const FORK_UNDER_LOAD_THREADS: usize = 4;
const FORK_UNDER_LOAD_RECORDS: u64 = 5_000;

/// Child: four threads log losslessly while the main thread forks three times; each forked
/// child logs 20 records through its fresh queues, flushes and exits (0 when the flush
/// succeeded). Prints `FORKED <i> <pid> <code>` for each.
#[test]
fn fork_while_threads_log_child() {
    let Some(socket) = child_role(FORK_UNDER_LOAD_CHILD) else {
        return;
    };
    let t = child_token();
    let (logger, guard) = logger(&socket, Overflow::Block, 4096);
    std::thread::scope(|scope| {
        for thread in 0..FORK_UNDER_LOAD_THREADS {
            let (logger, t) = (&logger, &t);
            scope.spawn(move || {
                for seq in 0..FORK_UNDER_LOAD_RECORDS {
                    let args = format_args!("{t} t={thread} seq={seq}");
                    emit(logger, Level::Info, "app", &[], args);
                }
            });
        }
        for i in 0..3 {
            std::thread::sleep(Duration::from_millis(5));
            let pid = fork();
            if pid == 0 {
                // Only this thread exists here; the parent's queues are left untouched.
                for n in 0..20 {
                    let args = format_args!("{t} role=child i={i} n={n}");
                    emit(&logger, Level::Warn, "app", &[], args);
                }
                std::process::exit(if guard.flush() { 0 } else { 3 });
            }
            let code = wait_exit_within(pid, Duration::from_secs(20));
            println!("FORKED {i} {pid} {code:?}");
        }
    });
    assert!(guard.flush());
}

#[test]
fn a_fork_while_threads_log_gives_the_child_fresh_queues() {
    let daemon = Rsyslogd::start();
    let t = token("worker_fork_load");
    let child = run_child(FORK_UNDER_LOAD_CHILD, &daemon.socket(), &t, &[]);
    let stdout = String::from_utf8_lossy(&child.output.stdout);
    let forked: Vec<Vec<String>> = stdout
        .split("FORKED ")
        .skip(1)
        .map(|rest| rest.split_whitespace().take(3).map(str::to_owned).collect())
        .collect();
    assert_eq!(forked.len(), 3, "{stdout}");
    for f in &forked {
        assert_eq!(
            f[2], "Some(0)",
            "forked child {f:?} hung or could not flush"
        );
    }
    let total = FORK_UNDER_LOAD_THREADS as u64 * FORK_UNDER_LOAD_RECORDS + 3 * 20;
    let lines = all_lines(&daemon, &t, total);
    let (children, parents): (Vec<Line>, Vec<Line>) = lines
        .into_iter()
        .partition(|l| l.msg.contains("role=child"));
    for (i, pid) in forked.iter().map(|f| (&f[0], &f[1])) {
        let want: Vec<String> = (0..20).map(|n| format!("role=child i={i} n={n}")).collect();
        let got: Vec<String> = children
            .iter()
            .filter(|l| l.msg.contains(&format!("role=child i={i} ")))
            .inspect(|l| assert_eq!(&l.procid, pid, "child {i}'s record carries its pid"))
            // A logfmt message with a `=` arrives quoted.
            .map(|l| {
                l.msg
                    .trim_matches('"')
                    .split_once(' ')
                    .map(|(_, m)| m.to_owned())
            })
            .map(Option::unwrap_or_default)
            .collect();
        assert_eq!(got, want, "child {i}: each record once, in order");
    }
    // The parent's records: each exactly once (no child sent one again), in each thread's order.
    let want: Vec<u64> = (0..FORK_UNDER_LOAD_RECORDS).collect();
    for (thread, seqs) in sequences(&parents, FORK_UNDER_LOAD_THREADS)
        .iter()
        .enumerate()
    {
        assert!(
            seqs == &want,
            "thread {thread}: lost, repeated or out of order"
        );
    }
}
