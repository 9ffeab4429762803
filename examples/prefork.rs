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
//! Unix only. `fork()` has no safe wrapper in std, so this example calls `libc::fork` directly.
#![allow(unsafe_code)] // fork(2) and waitpid(2) only; each block says why it is sound.

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
        // SAFETY: fork(2) has no preconditions. In the child only this thread exists; it uses the
        // logger (whose fork handling is what this example shows), prints, and exits without
        // returning into the parent's stack frames' destructors that assume other threads.
        let pid = unsafe { libc::fork() };
        match pid {
            -1 => {
                eprintln!("prefork: fork failed: {}", std::io::Error::last_os_error());
                break;
            }
            0 => {
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
            pid => {
                println!("worker {i} {pid}");
                children.push(pid);
            }
        }
    }
    let _ = std::io::stdout().flush();

    let mut failed = 0;
    for pid in children {
        let mut status = 0;
        // SAFETY: `pid` is a child of this process that nobody else waits for, and `status` is a
        // live local the call writes an int into.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
            eprintln!("prefork: worker {pid} failed (status {status})");
            failed += 1;
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

#[cfg(not(unix))]
fn main() {
    eprintln!("prefork needs fork(2): Unix only");
}
