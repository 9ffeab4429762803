//! Test and bench infrastructure for `fastsyslog`, one copy of each piece, used by the crate's
//! integration tests (`tests/it`) and by its benchmarks (`benches/`). Not published: the library
//! itself carries no test or bench hooks.
//!
//! - [`process`]: `fork`/`waitpid`/`_exit` for the fork tests, bounded waits for child processes,
//!   and [`process::fork_each`], many forks each under a timeout.
//! - [`syslog`]: what another library in the process does with glibc's `openlog`/`syslog`/`closelog`.
//! - [`alloc`]: a global allocator that counts allocations per thread.
//! - [`rsyslogd`]: a private rsyslogd in its own temp dir, never on the machine's `/dev/log`.
//! - [`syslog_ng`]: syslog-ng, installed or unpacked from Debian's packages into the target dir.
//! - [`devlog`]: a private mount namespace whose `/dev/log` is a socket of ours (for glibc's
//!   `syslog(3)`, which only ever connects to `/dev/log`).
//! - [`sink`]: in-process datagram receivers that count what arrives (unix and UDP).
//! - [`retry`]: bounded waiting for something to happen, never a fixed sleep.
//!
//! It is Unix-only (Linux for [`devlog`] and the `recvmmsg` fast path).

pub mod alloc;
pub mod devlog;
pub mod process;
pub mod promtool;
pub mod retry;
pub mod rsyslogd;
pub mod sink;
pub mod syslog;
pub mod syslog_ng;

pub use retry::{retry, retry_n};

/// A fresh temp directory named `{prefix}…`, removed when the value is dropped.
pub fn temp_dir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("create a temp dir")
}
