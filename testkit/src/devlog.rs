//! A private mount namespace whose `/dev/log` is a socket of ours, for glibc's `syslog(3)`, which
//! only ever connects to `/dev/log`.
//!
//! The host's `/dev` is never touched. In the child's own mount namespace (`unshare -m` as root,
//! `unshare -Urm` otherwise) a shell script:
//! 1. makes every mount private (`mount --make-rprivate /`), so nothing propagates back;
//! 2. bind-mounts the real `/dev` onto a scratch dir of the caller's;
//! 3. mounts a fresh tmpfs on `/dev` (in the namespace only);
//! 4. binds back `null zero full random urandom tty` and `pts shm` from the saved copy, and adds
//!    the `fd stdin stdout stderr` symlinks;
//! 5. symlinks `/dev/log` to the socket, then `exec`s the program, so it keeps the pid `unshare`
//!    was spawned with.
//!
//! Any setup step that fails ends the child with [`setup_failed`]'s status before the program
//! runs. The program checks `/dev/log` with [`inside`] or [`assert_private_devlog`] before it logs,
//! so a broken setup can never send records to a real system logger.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

/// The environment variable telling the program in the namespace where `/dev/log` must point.
pub const TARGET_ENV: &str = "FASTSYSLOG_TESTKIT_DEVLOG_TARGET";

/// Exit status of the setup script when the namespace could not be prepared (a wrapper script
/// of the caller's may use it too; [`setup_failed`] checks for it).
pub const SETUP_FAILED: i32 = 97;

/// The setup script; `$1` is the scratch dir, `$2` the socket, the rest the command.
const SETUP: &str = r#"
set -u
saved=$1; sock=$2; shift 2
fail() { echo "private /dev/log: $1 failed" >&2; exit 97; }
mount --make-rprivate / || fail "mount --make-rprivate /"
mkdir -p "$saved" || fail "mkdir $saved"
mount --rbind /dev "$saved" || fail "mount --rbind /dev"
mount -t tmpfs -o mode=0755,nosuid tmpfs /dev || fail "mount -t tmpfs /dev"
for n in null zero full random urandom tty; do
    if [ -e "$saved/$n" ]; then
        : > "/dev/$n" && mount --bind "$saved/$n" "/dev/$n" || fail "bind /dev/$n"
    fi
done
for d in pts shm; do
    if [ -d "$saved/$d" ]; then
        mkdir "/dev/$d" && mount --rbind "$saved/$d" "/dev/$d" || fail "bind /dev/$d"
    fi
done
ln -s /proc/self/fd /dev/fd || fail "ln /dev/fd"
ln -s /proc/self/fd/0 /dev/stdin || fail "ln /dev/stdin"
ln -s /proc/self/fd/1 /dev/stdout || fail "ln /dev/stdout"
ln -s /proc/self/fd/2 /dev/stderr || fail "ln /dev/stderr"
ln -s "$sock" /dev/log || fail "ln /dev/log"
exec "$@"
"#;

/// What to install when `unshare(1)` is missing.
pub const UNSHARE_HINT: &str = "unshare not found: apt-get install -y util-linux";

/// `unshare` with the setup script, ready to run `program` (add its arguments to the command) in a
/// private mount namespace whose `/dev/log` is a symlink to `socket`. `scratch` is a path of the
/// caller's (created if missing) onto which the real `/dev` is bound inside the namespace only;
/// never remove it recursively. Fails with [`UNSHARE_HINT`] when `unshare` is not installed.
pub fn command(scratch: &Path, socket: &Path, program: &Path) -> Result<Command, String> {
    let unshare = which("unshare").ok_or(UNSHARE_HINT)?;
    let mut cmd = Command::new(unshare);
    // As root a mount namespace is enough; otherwise a user namespace maps us to root in it.
    if !is_root() {
        cmd.arg("-Ur");
    }
    cmd.args([
        "-m",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        SETUP,
        "sh",
    ])
    .arg(scratch)
    .arg(socket)
    .arg(program)
    .env(TARGET_ENV, socket);
    Ok(cmd)
}

/// Whether a child's exit status means the namespace could not be set up.
pub fn setup_failed(status: ExitStatus) -> bool {
    status.code() == Some(SETUP_FAILED)
}

/// In the namespace: the socket `/dev/log` points at, when this process was started by
/// [`command`] and `/dev/log` is that symlink; `None` anywhere else.
pub fn inside() -> Option<PathBuf> {
    let want = PathBuf::from(std::env::var_os(TARGET_ENV)?);
    let got = std::fs::read_link("/dev/log").ok()?;
    (got == want).then_some(want)
}

/// In the namespace: panics unless `/dev/log` is the symlink to the socket that [`command`] made,
/// so a broken namespace never reaches a real logger.
pub fn assert_private_devlog() {
    let want = std::env::var_os(TARGET_ENV).expect("started in a private /dev/log namespace");
    let got = std::fs::read_link("/dev/log").expect("/dev/log is a symlink in the namespace");
    assert_eq!(
        got.as_os_str(),
        want,
        "/dev/log must point at the test daemon"
    );
}

/// Whether the host has a `/dev/log` entry (of any type, including a dangling symlink).
pub fn host_devlog_exists() -> bool {
    Path::new("/dev/log").symlink_metadata().is_ok()
}

/// Whether the effective uid is 0, from `/proc/self/status`.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("Uid:"))?.to_owned();
            // Uid: real effective saved filesystem
            line.split_whitespace().nth(2).map(|euid| euid == "0")
        })
        .unwrap_or(false)
}

/// The first `name` on `$PATH`.
fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}
