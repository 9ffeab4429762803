//! Runs a child test in a private mount namespace where `/dev/log` is a test daemon's socket, for
//! the libc transport (glibc's `syslog(3)` hard-codes `/dev/log`). The namespace itself is
//! `fastsyslog_testkit::devlog`; this adds the re-exec of one test (see [`super::run_child`]) and
//! checks that the host's `/dev` is as it was.
//!
//! The child should check `/dev/log` with [`assert_private_devlog`] before it logs, so that a
//! broken setup can never send records to a real system logger.

use std::path::Path;

pub(crate) use fastsyslog_testkit::devlog::{assert_private_devlog, host_devlog_exists};

use super::{configure_child, run_checked, ChildOutput};

/// Runs child test `test` in a private mount namespace whose `/dev/log` is `socket`; panics with
/// the child's output if it fails. Also asserts that the host's `/dev/log` is as it was before.
pub(crate) fn run_child_with_devlog(
    test: &str,
    socket: &Path,
    scratch: &Path,
    token: &str,
    envs: &[(&str, &str)],
) -> ChildOutput {
    let before = devlog_identity();
    let dev_mounts_before = dev_mounts();
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = fastsyslog_testkit::devlog::command(scratch, socket, &exe)
        .unwrap_or_else(|hint| panic!("{hint} (needed for the libc tests)"));
    configure_child(&mut cmd, test, socket, token, envs);
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
    assert_eq!(before, devlog_identity(), "the host's /dev/log changed");
    assert_eq!(
        dev_mounts_before,
        dev_mounts(),
        "the host's mounts under /dev changed"
    );
    out
}

/// The host's `/dev/log`: its type, inode and device, or `None` when absent.
fn devlog_identity() -> Option<(std::fs::FileType, u64, u64)> {
    Path::new("/dev/log").symlink_metadata().ok().map(|m| {
        (
            m.file_type(),
            std::os::unix::fs::MetadataExt::ino(&m),
            std::os::unix::fs::MetadataExt::dev(&m),
        )
    })
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
