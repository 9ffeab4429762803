//! A pre-forking server in miniature: the parent starts logging (so its background writer thread
//! is running), then forks N workers that each log a few records and exit. Nothing in the workers
//! re-initialises the logger: each child's first record starts the child's own writer, and every
//! record carries the pid of the process that logged it.
//!
//! ```sh
//! cargo run --example prefork -- --workers 4 --records 10
//! ```
//!
//! Prints `parent <pid>` and then `worker <i> <pid>` for each worker on stdout, so the records can
//! be matched with the pids at the daemon. Transport and format come from the environment
//! (`FASTSYSLOG_SOCKET`, ...) as in every example. Bodies: `prefork role=worker i=<i> seq=<n>`.
//!
//! Each process, once its records are written, prints its own counters as one line
//! `stats <pid> <json>` (`fastsyslog::stats()` rendered by `Stats::to_json`). With
//! `FASTSYSLOG_STATS_DIR` set, each process also keeps them in its stats file there, where
//! `fastsyslog-stats` reads them from outside:
//!
//! ```sh
//! export FASTSYSLOG_STATS_DIR=/dev/shm/fastsyslog; mkdir -p $FASTSYSLOG_STATS_DIR
//! cargo run --example prefork -- --workers 4 --records 100000 --rate 20000 --hold &
//! fastsyslog-stats --watch 1        # or: fastsyslog-stats, --json, --prometheus, --clean
//! ```
//!
//! `--rate N` paces each worker to about N records a second (0, the default: as fast as it can).
//! `--hold` keeps every worker alive after its work until its standard input ends (they all read
//! the same stdin: press Ctrl-D, or close the pipe), and the parent with them until they end, so a
//! reader sees five live processes.
//!
//! Unix only. `fork()` has no safe wrapper in std, so this example calls `libc::fork` (a server
//! would fork however it already does: `libc`, `nix`, ...).

// The two `libc` calls below (fork, waitpid) are the only unsafe code; each has its SAFETY note.
#![allow(unsafe_code)]

#[cfg(unix)]
fn main() -> std::process::ExitCode {
    use std::io::Write as _;
    use std::process::ExitCode;

    let (mut workers, mut records, mut rate, mut hold) = (4usize, 10usize, 0usize, false);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--hold" {
            hold = true;
            continue;
        }
        let value = args.next().and_then(|v| v.parse().ok());
        match (flag.as_str(), value) {
            ("--workers", Some(n)) => workers = n,
            ("--records", Some(n)) => records = n,
            ("--rate", Some(n)) => rate = n,
            _ => {
                eprintln!("usage: prefork [--workers N] [--records N] [--rate N] [--hold]");
                return ExitCode::from(2);
            }
        }
    }

    let guard = match fastsyslog::Builder::from_env().try_init() {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("prefork: could not start the logger: {e}");
            return ExitCode::FAILURE;
        }
    };
    let parent = std::process::id();
    log::info!(target: "prefork", "prefork role=parent pid={parent} workers={workers}");
    println!("parent {parent}");
    // Flush stdout before forking, or each child would print the parent's buffered output again.
    let _ = std::io::stdout().flush();

    let mut children = Vec::new();
    for i in 0..workers {
        match fork() {
            Err(e) => {
                eprintln!("prefork: fork failed: {e}");
                break;
            }
            Ok(0) => {
                let me = std::process::id();
                let start = std::time::Instant::now();
                for seq in 0..records {
                    log::info!(target: "prefork", "prefork role=worker i={i} pid={me} seq={seq}");
                    if rate > 0 && seq % 100 == 99 {
                        pace(start, seq + 1, rate);
                    }
                }
                log::warn!(target: "prefork", "prefork role=worker i={i} pid={me} done");
                let stats = report_stats();
                if hold {
                    wait_for_end_of_input();
                }
                let code = if stats.dropped_total() == 0 {
                    0
                } else {
                    eprintln!("worker {i}: {stats:?}");
                    1
                };
                std::process::exit(code);
            }
            Ok(pid) => {
                println!("worker {i} {pid}");
                children.push(pid);
            }
        }
    }
    let _ = std::io::stdout().flush();
    report_stats();

    // Reap the workers in the order they end, so one killed early is not left a zombie (which
    // would still look alive) behind one that holds on.
    let mut failed = 0;
    for _ in &children {
        match wait_any() {
            Ok((_, 0)) => {}
            Ok((pid, code)) => {
                eprintln!("prefork: worker {pid} failed (exit status {code})");
                failed += 1;
            }
            Err(e) => {
                eprintln!("prefork: waiting for the workers failed: {e}");
                failed += 1;
                break;
            }
        }
    }
    log::info!(target: "prefork", "prefork role=parent pid={parent} done failed={failed}");
    drop(guard);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Flushes the logger, then prints this process's counters as `stats <pid> <json>` in one write,
/// so the lines of several processes sharing stdout never interleave.
#[cfg(unix)]
fn report_stats() -> fastsyslog::Stats {
    use std::io::Write as _;
    log::logger().flush();
    let stats = fastsyslog::stats().unwrap_or_default();
    let line = format!("stats {} {}\n", std::process::id(), stats.to_json());
    let mut out = std::io::stdout().lock();
    // Nothing to do if stdout is gone: the counters are also in the stats file, if one is set.
    let _ = out.write_all(line.as_bytes()).and_then(|()| out.flush());
    stats
}

/// Blocks until standard input ends (`--hold`).
#[cfg(unix)]
fn wait_for_end_of_input() {
    // A read error ends the wait as well as the end of input does: either way, nothing will come.
    let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
}

/// Sleeps until `done` records are due at `rate` a second since `start`.
#[cfg(unix)]
fn pace(start: std::time::Instant, done: usize, rate: usize) {
    let due = std::time::Duration::from_secs_f64(done as f64 / rate as f64);
    std::thread::sleep(due.saturating_sub(start.elapsed()));
}

/// `fork(2)`: `Ok(0)` in the child, `Ok(child_pid)` in the parent.
#[cfg(unix)]
fn fork() -> std::io::Result<libc::pid_t> {
    // SAFETY: fork takes no arguments and touches no memory of ours. In a multithreaded parent
    // only the calling thread exists in the child, and locks other threads held stay locked there;
    // that is not a memory-safety precondition of the call, and the child only logs (which
    // fastsyslog supports after fork) and exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(pid)
    }
}

/// Waits for any child (retrying on `EINTR`) and returns its pid and exit code, or
/// `128 + signal` when a signal ended it.
#[cfg(unix)]
fn wait_any() -> std::io::Result<(libc::pid_t, i32)> {
    let mut status: libc::c_int = 0;
    let pid = loop {
        // SAFETY: `status` is a live, aligned local for the whole call; waitpid keeps no pointer
        // to it.
        let rc = unsafe { libc::waitpid(-1, &mut status, 0) };
        if rc >= 0 {
            break rc;
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    };
    if libc::WIFEXITED(status) {
        Ok((pid, libc::WEXITSTATUS(status)))
    } else {
        Ok((pid, 128 + libc::WTERMSIG(status)))
    }
}

#[cfg(not(unix))]
fn main() {
    eprintln!("prefork needs fork(2): Unix only");
}
