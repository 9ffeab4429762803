//! A private `/dev/log` for the glibc rows.
//!
//! glibc's `syslog(3)` only ever connects to `/dev/log`. To measure it against the in-process sink
//! without touching the machine's logger, the process runs in a private mount namespace
//! (`unshare -m` as root, `unshare -Urm` otherwise) with a tmpfs on `/dev` whose entries are
//! symlinks to the original ones, except `/dev/log`, which points at `<dir>/log.sock` where the bench
//! binds its sink. Outside the namespace nothing changes; the mounts vanish with the process.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Set inside the namespace to the directory whose `log.sock` `/dev/log` points at.
pub const ENV: &str = "FASTSYSLOG_BENCH_DEVLOG_DIR";

/// Exit status of the setup script when the namespace could not be prepared.
const SETUP_FAILED: i32 = 97;

/// Runs `"$@"` after making `/dev/log` a symlink to `$1/log.sock` on a private tmpfs `/dev`.
/// Every step that fails exits with [`SETUP_FAILED`] before anything runs.
const SCRIPT: &str = r#"
d="$1"; shift
mount --make-rprivate / || exit 97
mkdir -p "$d/olddev" || exit 97
mount --rbind /dev "$d/olddev" || exit 97
mount -t tmpfs -o mode=755 fastsyslog-bench-dev /dev || exit 97
for e in "$d"/olddev/*; do ln -s "$e" "/dev/${e##*/}" || exit 97; done
rm -f /dev/log
ln -s "$d/log.sock" /dev/log || exit 97
exec "$@"
"#;

/// The directory of the private `/dev/log` when this process already runs in the namespace.
pub fn inside() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os(ENV)?);
    // Double-check before anything sends to /dev/log: it must be our symlink.
    let target = std::fs::read_link("/dev/log").ok()?;
    (target == dir.join("log.sock")).then_some(dir)
}

/// A private directory for one namespace; [`cleanup`] removes it without following mounts.
pub fn make_dir() -> std::io::Result<PathBuf> {
    let dir = super::temp_dir();
    // Kept past this function: the namespace child uses it; `cleanup` removes it.
    Ok(dir.keep())
}

/// `unshare` + the setup script, ready to run `program args` inside the namespace.
pub fn command(dir: &Path, program: &Path, args: &[OsString]) -> Command {
    let mut cmd = Command::new("unshare");
    if is_root() {
        cmd.arg("-m");
    } else {
        cmd.arg("-Urm");
    }
    cmd.args(["--propagation", "private", "--", "sh", "-c", SCRIPT, "sh"])
        .arg(dir)
        .arg(program)
        .args(args)
        .env(ENV, dir);
    cmd
}

/// Whether a child's exit status means the namespace could not be set up.
pub fn setup_failed(status: std::process::ExitStatus) -> bool {
    status.code() == Some(SETUP_FAILED)
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
    let status = command(&dir, &exe, &args).status();
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

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self is owned by the effective uid.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
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
