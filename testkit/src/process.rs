//! Processes: a raw `fork(2)` with its `waitpid(2)` and `_exit(2)` for the fork tests, many forks
//! each under a timeout ([`fork_each`]), signals by the shell's `kill`, and a bounded wait that
//! collects a child's output.

use std::io::{self, Read};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

/// `fork(2)`: `Ok(0)` in the child, `Ok(child_pid)` in the parent.
///
/// In the child only the calling thread exists; locks other threads held at the fork stay locked
/// there. That is exactly what the fork tests exercise: the crate must keep logging in such a child
/// without user code. The child should end with [`exit_now`].
pub fn fork() -> io::Result<u32> {
    // SAFETY: fork takes no arguments and touches no memory of ours. Its hazard in a multithreaded
    // parent (locks held by other threads stay locked in the child) is not a memory-safety
    // precondition of the call; the child runs only the test's own code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    // `pid` is non-negative here, so the conversion cannot fail.
    Ok(u32::try_from(pid).unwrap_or(0))
}

/// Waits for the child `pid` (retrying on `EINTR`) and returns its exit code, or `128 + signal`
/// when a signal ended it.
pub fn wait(pid: u32) -> io::Result<i32> {
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: `status` is a live, aligned local for the whole call; waitpid keeps no pointer
        // to it.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc >= 0 {
            break;
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    }
    Ok(exit_code(status))
}

/// A `waitpid(2)` status as an exit code, or `128 + signal` when a signal ended the process.
fn exit_code(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    }
}

/// `_exit(code)`: ends a forked child at once, without running the parent's atexit handlers,
/// destructors or the test harness (which the child inherited mid-run).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit takes an integer and never returns; it runs no user code, so no lock the
    // parent's threads held at the fork is needed.
    unsafe { libc::_exit(code) }
}

/// Sends `sig` (`-STOP`, `-CONT`, `-KILL`) to `pid` with the shell's builtin `kill` (no dependency
/// on procps' `/bin/kill`). Returns whether it succeeded.
pub fn kill(sig: &str, pid: u32) -> bool {
    Command::new("sh")
        .args(["-c", "kill \"$1\" \"$2\"", "sh", sig, &pid.to_string()])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Whether every thread of process `pid` is stopped by a signal (state `T` in
/// `/proc/PID/task/TID/stat`); false when the process cannot be read.
pub fn all_threads_stopped(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    let mut any = false;
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            return false;
        };
        // The state follows the command name, which is in parentheses and may hold spaces.
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next());
        if state != Some("T") {
            return false;
        }
        any = true;
    }
    any
}

/// What [`wait_with_output_within`] collected.
#[derive(Debug)]
pub struct Bounded {
    /// The child's exit status and everything it wrote to its piped stdout and stderr.
    pub output: Output,
    /// Whether it ran past the limit and was killed.
    pub timed_out: bool,
}

/// Waits for `child` and collects its piped stdout and stderr (read on threads as it runs, so a
/// full pipe never stalls it); kills it (through its own handle, so never another process that
/// reused the pid) when it runs longer than `limit`.
pub fn wait_with_output_within(mut child: Child, limit: Duration) -> io::Result<Bounded> {
    let pipe = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                // A read error only shortens the diagnostic output.
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = pipe(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let err = pipe(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > limit {
            // Ours and not yet reaped, so the pid is still this child's; it may exit between the
            // check and the kill, which is fine.
            let _ = child.kill();
            timed_out = true;
            break child.wait()?;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let joined = |h: std::thread::JoinHandle<Vec<u8>>| h.join().unwrap_or_default();
    Ok(Bounded {
        output: Output {
            status,
            stdout: joined(out),
            stderr: joined(err),
        },
        timed_out,
    })
}

/// Waits at most `limit` for the forked child `pid` (polling `waitpid(2)` with `WNOHANG`) and
/// returns its exit code (or `128 + signal`); `None` when it was still running, in which case it
/// was killed with `SIGKILL` and reaped. Until reaped, a child's pid cannot be reused, so the kill
/// never reaches another process.
pub fn wait_within(pid: u32, limit: Duration) -> io::Result<Option<i32>> {
    let raw = libc::pid_t::try_from(pid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
    let start = Instant::now();
    let mut pause = Duration::from_micros(50);
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: `status` is a live, aligned local for the whole call; waitpid keeps no pointer
        // to it.
        let rc = unsafe { libc::waitpid(raw, &mut status, libc::WNOHANG) };
        if rc == raw {
            return Ok(Some(exit_code(status)));
        }
        if rc < 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EINTR) {
                return Err(err);
            }
        }
        if start.elapsed() > limit {
            // SAFETY: kill takes two integers; `raw` is our unreaped child, so the pid is still
            // its own.
            unsafe { libc::kill(raw, libc::SIGKILL) };
            wait(pid)?;
            return Ok(None);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

/// How many hung children [`fork_each`] waits for before it gives up.
pub const FORK_EACH_MAX_HUNG: usize = 3;

/// What [`fork_each`] saw.
#[derive(Debug, Default)]
pub struct Forked {
    /// The pid of every child, in order.
    pub pids: Vec<u32>,
    /// Children still running after the limit (killed): each one a hang.
    pub hung: Vec<u32>,
    /// Children that exited with a code other than 0, with that code.
    pub failed: Vec<(u32, i32)>,
}

/// Forks `n` children one after another; each runs `child` and ends with [`exit_now`] with the
/// code it returns (a panic in it gives 101). Each child must exit within `limit` or it is killed
/// and counted as hung, so a deadlock in a child fails the test instead of hanging it; after
/// [`FORK_EACH_MAX_HUNG`] hangs it stops forking, so a failing test ends quickly.
///
/// Keep `child` short: it runs in a copy of a possibly multithreaded process where only the
/// forking thread exists.
pub fn fork_each(n: usize, limit: Duration, child: impl Fn() -> i32) -> io::Result<Forked> {
    let mut seen = Forked::default();
    for _ in 0..n {
        let pid = fork()?;
        if pid == 0 {
            let code =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(&child)).unwrap_or(101);
            exit_now(code);
        }
        seen.pids.push(pid);
        match wait_within(pid, limit)? {
            None => {
                seen.hung.push(pid);
                if seen.hung.len() >= FORK_EACH_MAX_HUNG {
                    break;
                }
            }
            Some(0) => {}
            Some(code) => seen.failed.push((pid, code)),
        }
    }
    Ok(seen)
}

/// Installs `handler` for `signal` (`sigaction(2)` with `SA_RESTART`, nothing masked).
pub fn on_signal(signal: libc::c_int, handler: extern "C" fn(libc::c_int)) -> io::Result<()> {
    // SAFETY: `sigaction` is a plain C struct for which all-zero bytes are a valid value (no
    // flags, an empty mask once sigemptyset ran, SIG_DFL).
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler as libc::sighandler_t;
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: `sa_mask` is a live field of the local `action`.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    // SAFETY: `action` is initialised and lives for the call; the old action is not asked for.
    // The handler is an `extern "C" fn(c_int)`, the type sa_sigaction has without SA_SIGINFO;
    // what it does in the handler is the caller's to keep async-signal-safe.
    let rc = unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The calling thread's `pthread_t`, for [`signal_thread`].
pub fn current_thread() -> libc::pthread_t {
    // SAFETY: pthread_self takes no arguments and cannot fail.
    unsafe { libc::pthread_self() }
}

/// Sends `signal` to `thread`, a live thread of this process (`pthread_kill(3)`).
pub fn signal_thread(thread: libc::pthread_t, signal: libc::c_int) -> io::Result<()> {
    // SAFETY: the caller passes a thread of this process that has not exited (one that reported
    // its own `current_thread()` and is joined only later).
    let rc = unsafe { libc::pthread_kill(thread, signal) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}
