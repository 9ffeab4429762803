//! Runs a child test in a private mount namespace where `/dev/log` is a test daemon's socket, for
//! the libc transport (glibc's `syslog(3)` hard-codes `/dev/log`).
//!
//! The host's `/dev` is never touched. In the child's own mount namespace (`unshare -m` as root,
//! `unshare -Urm` otherwise) a shell script:
//! 1. makes every mount private (`mount --make-rprivate /`), so nothing propagates back;
//! 2. bind-mounts the real `/dev` onto a scratch dir inside the daemon's temp dir;
//! 3. mounts a fresh tmpfs on `/dev` (in the namespace only);
//! 4. binds back `null zero full random urandom tty` and `pts shm` from the saved copy, and adds
//!    the `fd stdin stdout stderr` symlinks;
//! 5. symlinks `/dev/log` to the daemon's socket, then `exec`s the child test (see
//!    [`super::run_child`] for the re-exec pattern), so the child keeps the pid `unshare` was
//!    spawned with.
//!
//! The child should check `/dev/log` with [`assert_private_devlog`] before it logs, so that a
//! broken setup can never send records to a real system logger.

use std::path::Path;
use std::process::Command;

use super::{configure_child, run_checked, ChildOutput};

/// The environment variable telling the child where `/dev/log` must point.
pub(crate) const DEVLOG_TARGET_ENV: &str = "FASTSYSLOG_IT_DEVLOG_TARGET";

/// The setup script; `$1` is the scratch dir, `$2` the daemon's socket, the rest the command.
const SETUP: &str = r#"
set -eu
saved=$1; sock=$2; shift 2
mount --make-rprivate /
mkdir -p "$saved"
mount --rbind /dev "$saved"
mount -t tmpfs -o mode=0755,nosuid tmpfs /dev
for n in null zero full random urandom tty; do
    if [ -e "$saved/$n" ]; then : > "/dev/$n"; mount --bind "$saved/$n" "/dev/$n"; fi
done
for d in pts shm; do
    if [ -d "$saved/$d" ]; then mkdir "/dev/$d"; mount --rbind "$saved/$d" "/dev/$d"; fi
done
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
ln -s "$sock" /dev/log
exec "$@"
"#;

/// Whether the host has a `/dev/log` entry (of any type, including a dangling symlink).
pub(crate) fn host_devlog_exists() -> bool {
    Path::new("/dev/log").symlink_metadata().is_ok()
}

/// Runs child test `test` in a private mount namespace whose `/dev/log` is `socket`; panics with
/// the child's output if it fails. Also asserts that the host's `/dev/log` is as it was before.
pub(crate) fn run_child_with_devlog(
    test: &str,
    socket: &Path,
    scratch: &Path,
    token: &str,
    envs: &[(&str, &str)],
) -> ChildOutput {
    let before = Path::new("/dev/log").symlink_metadata().ok().map(|m| {
        (
            m.file_type(),
            std::os::unix::fs::MetadataExt::ino(&m),
            std::os::unix::fs::MetadataExt::dev(&m),
        )
    });
    let dev_mounts_before = dev_mounts();
    let unshare = which("unshare").unwrap_or_else(|| {
        panic!("unshare not found: apt-get install -y util-linux (needed for the libc tests)")
    });
    let mut cmd = Command::new(unshare);
    // As root a mount namespace is enough; otherwise a user namespace maps us to root in it.
    if !is_root() {
        cmd.arg("-Ur");
    }
    cmd.arg("-m")
        .arg("--")
        .arg("sh")
        .arg("-c")
        .arg(SETUP)
        .arg("sh")
        .arg(scratch)
        .arg(socket)
        .arg(std::env::current_exe().expect("current_exe"));
    configure_child(&mut cmd, test, socket, token, envs);
    cmd.env(DEVLOG_TARGET_ENV, socket);
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || run_checked(cmd)))
        .unwrap_or_else(|panic| {
            let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
            panic!(
                "{msg}\n\nThe libc tests need a private mount namespace: `unshare -m` as root, or \
             `unshare -Urm` with unprivileged user namespaces enabled. In a container, run it \
             with CAP_SYS_ADMIN and without the default seccomp/AppArmor profile (for Docker: \
             --privileged)."
            )
        });
    let after = Path::new("/dev/log").symlink_metadata().ok().map(|m| {
        (
            m.file_type(),
            std::os::unix::fs::MetadataExt::ino(&m),
            std::os::unix::fs::MetadataExt::dev(&m),
        )
    });
    assert_eq!(before, after, "the host's /dev/log changed");
    assert_eq!(
        dev_mounts_before,
        dev_mounts(),
        "the host's mounts under /dev changed"
    );
    out
}

/// This process's mount points at or under `/dev` (field 5 of `/proc/self/mountinfo`), sorted.
fn dev_mounts() -> Vec<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<String> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| *p == "/dev" || p.starts_with("/dev/"))
        .map(str::to_owned)
        .collect();
    points.sort();
    points
}

/// In the child: panics unless `/dev/log` is the symlink to the test daemon's socket that
/// [`run_child_with_devlog`] made, so a broken namespace never reaches a real logger.
pub(crate) fn assert_private_devlog() {
    let want = std::env::var_os(DEVLOG_TARGET_ENV).expect("started by run_child_with_devlog");
    let got = std::fs::read_link("/dev/log").expect("/dev/log is a symlink in the namespace");
    assert_eq!(
        got.as_os_str(),
        want,
        "/dev/log must point at the test daemon"
    );
}

/// Whether the effective uid is 0, from `/proc/self/status` (no FFI `geteuid` call in the tests).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("Uid:"))?.to_owned();
            // Uid: real effective saved filesystem
            line.split_whitespace().nth(2).map(|euid| euid == "0")
        })
        .unwrap_or(false)
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}
