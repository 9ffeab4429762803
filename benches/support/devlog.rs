//! A private `/dev/log` for the glibc rows, over `fastsyslog_testkit::devlog`.
//!
//! glibc's `syslog(3)` only ever connects to `/dev/log`. To measure it against the in-process sink
//! without touching the machine's logger, the bench re-runs itself in a private mount namespace
//! whose `/dev/log` is a symlink to `<dir>/log.sock`, where it binds its sink ([`inside`] says
//! where). Outside the namespace nothing changes; the mounts vanish with the process.
//!
//! Also here: re-running in a private network namespace with another `net.unix.max_dgram_qlen`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use fastsyslog_testkit::devlog::{inside, setup_failed};
use fastsyslog_testkit::devlog::{is_root, SETUP_FAILED};

/// A private directory for one namespace: `olddev` (where the real `/dev` is bound inside the
/// namespace) and `log.sock` (the socket `/dev/log` points at). [`cleanup`] removes it without
/// following mounts.
pub fn make_dir() -> std::io::Result<PathBuf> {
    let dir = super::temp_dir();
    // Kept past this function: the namespace child uses it; `cleanup` removes it.
    Ok(dir.keep())
}

/// `unshare` + the setup script, ready to run `program args` inside the namespace of `dir` (from
/// [`make_dir`]); the reason when `unshare` is missing.
pub fn command(dir: &Path, program: &Path, args: &[OsString]) -> Result<Command, String> {
    let mut cmd =
        fastsyslog_testkit::devlog::command(&dir.join("olddev"), &dir.join("log.sock"), program)?;
    cmd.args(args);
    Ok(cmd)
}

/// Removes a namespace directory. Only `rmdir`/`unlink` on known names, never a recursive removal:
/// `olddev` was a bind mount of `/dev` inside the child's namespace, and must never be walked.
pub fn cleanup(dir: &Path) {
    // Each removal may fail because the entry was never created; nothing else to do then.
    let _ = std::fs::remove_file(dir.join("log.sock"));
    let _ = std::fs::remove_dir(dir.join("olddev"));
    let _ = std::fs::remove_dir(dir);
}

/// Re-runs the current program with the same arguments inside the namespace and exits with its
/// status. Returns the reason when the namespace is unavailable (the caller then skips the glibc
/// rows and says why).
pub fn reexec_or_reason() -> String {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return format!("cannot find the current executable: {e}"),
    };
    let dir = match make_dir() {
        Ok(d) => d,
        Err(e) => return format!("cannot create a temp dir: {e}"),
    };
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let status = match command(&dir, &exe, &args) {
        Ok(mut cmd) => cmd.status(),
        Err(reason) => {
            cleanup(&dir);
            return reason;
        }
    };
    cleanup(&dir);
    exit_with(
        status,
        "cannot set up a private mount namespace (unshare -m / mount failed)".to_owned(),
    )
}

/// Exits with the status of a re-run of this program under `unshare`; returns why it did not run:
/// `unshare` itself failed, or `setup_failure` when the namespace could not be prepared.
fn exit_with(status: std::io::Result<std::process::ExitStatus>, setup_failure: String) -> String {
    match status {
        Err(e) => format!("cannot run unshare(1): {e}"),
        Ok(s) if setup_failed(s) => setup_failure,
        Ok(s) => std::process::exit(s.code().unwrap_or(1)),
    }
}

/// Set in a process that [`reexec_with_dgram_qlen`] started, to the queue length it set.
pub const QLEN_ENV: &str = "FASTSYSLOG_BENCH_DGRAM_QLEN";

/// Re-runs the current program with the same arguments in a private network namespace (`unshare
/// -n` as root, `unshare -Urn` otherwise) whose `net.unix.max_dgram_qlen` is `qlen`, and exits with
/// its status. The sysctl belongs to the network namespace, so the machine's own value is never
/// touched; child processes inherit the namespace. Its loopback interface is brought up with
/// `ip(8)` for the UDP row. Returns the reason when that is impossible.
pub fn reexec_with_dgram_qlen(qlen: u32) -> String {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return format!("cannot find the current executable: {e}"),
    };
    let mut cmd = Command::new("unshare");
    cmd.arg(if is_root() { "-n" } else { "-Urn" })
        .args(["--", "sh", "-c"])
        .arg(format!(
            "echo \"$1\" > /proc/sys/net/unix/max_dgram_qlen || exit {SETUP_FAILED}; shift; \
             ip link set lo up || echo 'no loopback: the UDP row delivers nothing' >&2; \
             exec \"$@\""
        ))
        .args(["sh", &qlen.to_string()])
        .arg(exe)
        .args(std::env::args_os().skip(1))
        .env(QLEN_ENV, qlen.to_string());
    exit_with(
        cmd.status(),
        format!("cannot set net.unix.max_dgram_qlen to {qlen} in a private network namespace"),
    )
}

/// `net.unix.max_dgram_qlen` of this process's network namespace: how many datagrams a unix socket
/// queues before senders wait.
pub fn dgram_qlen() -> Option<u32> {
    std::fs::read_to_string("/proc/sys/net/unix/max_dgram_qlen")
        .ok()?
        .trim()
        .parse()
        .ok()
}
