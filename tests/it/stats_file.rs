//! The stats file across processes: a forked child gets its own file and never writes into its
//! parent's, a clean exit removes the file, and a killed process's file reads as dead. Children
//! run under a timeout, so a hang fails the test.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fastsyslog::stats::{read_file, DeadReason, Liveness};
use fastsyslog::{Builder, Mode};
use fastsyslog_testkit::process::{exit_now, fork, kill, wait_within};
use log::Log;

/// How long a child may run.
const CHILD_LIMIT: Duration = Duration::from_secs(10);

fn shm_dir() -> tempfile::TempDir {
    tempfile::tempdir_in("/dev/shm").expect("/dev/shm is a tmpfs")
}

fn file_of(dir: &Path, ident: &str, pid: u32) -> PathBuf {
    dir.join(format!("{ident}.{pid}.fsstats"))
}

/// Logs `n` records through `logger` (sync mode, at an absent socket: each one is counted as
/// enqueued and dropped, without any daemon).
fn log_n(logger: &fastsyslog::Logger, n: usize) {
    for i in 0..n {
        logger.log(
            &log::Record::builder()
                .level(log::Level::Info)
                .target("app")
                .args(format_args!("record {i}"))
                .build(),
        );
    }
}

fn logger(dir: &Path, ident: &str) -> (fastsyslog::Logger, fastsyslog::WorkerGuard) {
    Builder::new()
        .ident(ident)
        .mode(Mode::Sync)
        .socket(dir.join("absent.sock"))
        .filter("info")
        .stats_dir(dir)
        .build()
        .expect("a logger with a stats dir")
}

/// A background logger at an absent socket (the writer holds what it takes) with a stats dir.
fn background_logger(dir: &Path, ident: &str) -> (fastsyslog::Logger, fastsyslog::WorkerGuard) {
    Builder::new()
        .ident(ident)
        .mode(Mode::Background)
        .flush_timeout(Duration::from_millis(50))
        .socket(dir.join("absent.sock"))
        .filter("info")
        .stats_dir(dir)
        .build()
        .expect("a background logger with a stats dir")
}

#[test]
fn a_forked_child_counts_in_its_own_file_not_its_parents() {
    let dir = shm_dir();
    let (logger, guard) = logger(dir.path(), "forker");
    log_n(&logger, 3);
    let parent = file_of(dir.path(), "forker", std::process::id());
    assert_eq!(read_file(&parent).unwrap().stats.enqueued, 3);
    let pid = fork().expect("fork");
    if pid == 0 {
        log_n(&logger, 10);
        let own = file_of(dir.path(), "forker", std::process::id());
        // The child's file starts from the parent's values at the fork (3), plus its own 10.
        let ok = matches!(read_file(&own), Ok(p) if p.stats.enqueued == 13 && p.pid == std::process::id());
        exit_now(if ok { 0 } else { 1 });
    }
    let status = wait_within(pid, CHILD_LIMIT).unwrap();
    let after = read_file(&parent).unwrap();
    assert_eq!(
        after.stats.enqueued, 3,
        "the child wrote into the parent's file"
    );
    assert_eq!(status, Some(0), "the child read its own file");
    assert_eq!(logger.handle().stats().enqueued, 3);
    // `_exit` skips the exit hook: the child's file stays, and reads as dead.
    let child = read_file(&file_of(dir.path(), "forker", pid)).unwrap();
    assert_eq!(child.stats.enqueued, 13);
    assert_eq!(child.liveness, Liveness::Dead(DeadReason::PidGone));
    drop(guard);
    assert!(!parent.exists(), "dropping the guard removes the file");
}

#[test]
fn a_clean_exit_removes_the_file() {
    let dir = shm_dir();
    let (logger, _guard) = logger(dir.path(), "exiter");
    let pid = fork().expect("fork");
    if pid == 0 {
        log_n(&logger, 1);
        // `exit(3)` runs the crate's exit hook (and the harness's other atexit handlers).
        std::process::exit(
            if file_of(dir.path(), "exiter", std::process::id()).exists() {
                0
            } else {
                1
            },
        );
    }
    assert_eq!(
        wait_within(pid, CHILD_LIMIT).unwrap(),
        Some(0),
        "the child had its file"
    );
    assert!(
        !file_of(dir.path(), "exiter", pid).exists(),
        "exit(3) left the child's file"
    );
    assert!(file_of(dir.path(), "exiter", std::process::id()).exists());
}

#[test]
fn a_killed_process_reads_as_dead() {
    let dir = shm_dir();
    let (logger, _guard) = logger(dir.path(), "victim");
    let pid = fork().expect("fork");
    if pid == 0 {
        log_n(&logger, 2);
        loop {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let path = file_of(dir.path(), "victim", pid);
    let deadline = std::time::Instant::now() + CHILD_LIMIT;
    while !read_file(&path).is_ok_and(|p| p.stats.enqueued == 2) {
        if std::time::Instant::now() > deadline {
            kill("-KILL", pid);
            let _ = wait_within(pid, CHILD_LIMIT);
            panic!("the child's file never showed its records");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(read_file(&path).unwrap().is_live());
    assert!(kill("-KILL", pid));
    assert_eq!(wait_within(pid, CHILD_LIMIT).unwrap(), Some(128 + 9));
    let dead = read_file(&path).unwrap();
    assert_eq!(dead.liveness, Liveness::Dead(DeadReason::PidGone));
    assert_eq!(
        dead.stats.enqueued, 2,
        "a dead process's counts stay readable"
    );
}

/// Prometheus's own parser and linter (`promtool check metrics`) accepts the exposition of two
/// processes, with drops, errnos, lanes and a heartbeat.
#[test]
fn promtool_accepts_the_prometheus_rendering() {
    let dir = shm_dir();
    let (logger, _guard) = background_logger(dir.path(), "prom");
    log_n(&logger, 5);
    let _ = logger.handle().flush();
    let live = logger.handle().stats();
    let from_file = read_file(&file_of(dir.path(), "prom", std::process::id()))
        .unwrap()
        .stats;
    let text = fastsyslog::stats::prometheus(&[
        (&[("ident", "prom"), ("pid", "1")], &live),
        (&[("ident", "prom \"x\""), ("pid", "2")], &from_file),
    ]);
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    if let Err(e) = fastsyslog_testkit::promtool::check_metrics(cache, &text) {
        panic!("{e}\n{text}");
    }
}

/// Records the background writer holds while the daemon is away are in the file's queue depth,
/// as they are in the process's own `stats()`: that is when an operator needs the number.
#[test]
fn records_held_for_an_absent_daemon_show_in_the_files_queue_depth() {
    let dir = shm_dir();
    let (logger, _guard) = background_logger(dir.path(), "held");
    log_n(&logger, 20);
    let file = file_of(dir.path(), "held", std::process::id());
    // The writer takes the records, finds no daemon and holds them; its next passes publish.
    let depth = fastsyslog_testkit::retry(|| {
        let on_disk = read_file(&file).unwrap().stats;
        let depth: u64 = on_disk.lanes.iter().map(|q| q.depth).sum();
        (depth == 20).then_some(depth)
    });
    assert_eq!(
        depth,
        Some(20),
        "file: {:?}, process: {:?}",
        read_file(&file).unwrap().stats.lanes,
        logger.handle().stats()
    );
    assert_eq!(logger.handle().stats().queue_depth, 20);
}
