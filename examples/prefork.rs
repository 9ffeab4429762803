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
//! Unix only. `fork()` has no safe wrapper in std, so this example calls `libc::fork` (a server
//! would fork however it already does: `libc`, `nix`, ...).

// The two `libc` calls below (fork, waitpid) are the only unsafe code; each has its SAFETY note.
#![allow(unsafe_code)]

#[cfg(unix)]
fn main() -> std::process::ExitCode {
    use std::io::Write as _;
    use std::process::ExitCode;

    let mut workers = 4usize;
    let mut records = 10usize;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().and_then(|v| v.parse().ok());
        match (flag.as_str(), value) {
            ("--workers", Some(n)) => workers = n,
            ("--records", Some(n)) => records = n,
            _ => {
                eprintln!("usage: prefork [--workers N] [--records N]");
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
                for seq in 0..records {
                    log::info!(target: "prefork", "prefork role=worker i={i} pid={me} seq={seq}");
                }
                log::warn!(target: "prefork", "prefork role=worker i={i} pid={me} done");
                log::logger().flush();
                let stats = fastsyslog::stats().unwrap_or_default();
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

    let mut failed = 0;
    for pid in children {
        match wait(pid) {
            Ok(0) => {}
            Ok(code) => {
                eprintln!("prefork: worker {pid} failed (exit status {code})");
                failed += 1;
            }
            Err(e) => {
                eprintln!("prefork: waiting for worker {pid} failed: {e}");
                failed += 1;
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

/// Waits for the child `pid` (retrying on `EINTR`) and returns its exit code, or `128 + signal`
/// when a signal ended it.
#[cfg(unix)]
fn wait(pid: libc::pid_t) -> std::io::Result<i32> {
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: `status` is a live, aligned local for the whole call; waitpid keeps no pointer
        // to it.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc >= 0 {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    }
    if libc::WIFEXITED(status) {
        Ok(libc::WEXITSTATUS(status))
    } else {
        Ok(128 + libc::WTERMSIG(status))
    }
}

#[cfg(not(unix))]
fn main() {
    eprintln!("prefork needs fork(2): Unix only");
}
