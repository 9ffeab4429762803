//! The crate's only FFI boundary and the only module with `unsafe`: everything the crate asks of
//! the C library and the kernel, behind a portable face.
//!
//! Modelled on std's `sys`: the `cfg` dispatch happens once, here, so no caller writes
//! `cfg(unix)`. On Unix each concept has its own file; elsewhere [`unsupported`] gives the same
//! names with answers that need no C library (no fork tracking, no local time zone, no host name).
//! Nothing here imports from the rest of the crate: callers convert to and from the crate's types.
//!
//! - `fork`: the pid cache, the fork generation, the atfork child handler and the watches on
//!   glibc's locks that a forked child may inherit held, and [`ForkLocal`](fork::ForkLocal).
//! - `syslog`: `openlog(3)` and `syslog(priority, "%s", msg)`, watched for fork.
//! - `time`: `localtime_r(3)` (watched for fork) and the coarse real-time clock.
//! - `exit`: `atexit(3)`, for the hook that flushes queued records when the process exits.
//! - `shm`: the stats file's shared mapping (`mmap(2)` over a value's own pages), its atfork
//!   child step, read-only mappings for readers, `kill(pid, 0)` and the tmpfs check.
//! - `net`: `sendmmsg(2)`, `gethostname(2)`, and the errno values the crate names.
//! - `signal`: the emergency path's socket and the async-signal-safe calls it makes (`sendto(2)`,
//!   `getpid(2)`), keeping `errno`.
#![allow(unsafe_code)] // The one module allowed it; Cargo.toml denies `unsafe_code` everywhere else.

#[cfg(unix)]
pub(crate) mod exit;
#[cfg(unix)]
pub(crate) mod fork;
#[cfg(unix)]
pub(crate) mod net;
#[cfg(unix)]
pub(crate) mod shm;
#[cfg(unix)]
pub(crate) mod signal;
#[cfg(unix)]
pub(crate) mod syslog;
#[cfg(unix)]
pub(crate) mod time;

#[cfg(not(unix))]
mod unsupported;
#[cfg(not(unix))]
pub(crate) use unsupported::{exit, fork, net, shm, time};

/// `n` in decimal, written at the end of `buf`: the digits are the returned tail. Allocation-free,
/// for code that may run in a signal handler or an atfork child handler.
pub(crate) fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// What `shm::Shared::publish` writes: a file `<dir>/<stem>.<pid>.<ext>` holding `header` (a
/// whole number of pages), then the value; `pid_at`/`start_at` are the offsets of the header's pid
/// and start-time fields (native-endian `u64`), which a forked child rewrites.
#[derive(Debug)]
pub(crate) struct FileSpec<'a> {
    pub(crate) dir: &'a std::path::Path,
    pub(crate) stem: &'a str,
    pub(crate) ext: &'a str,
    pub(crate) header: &'a [u8],
    pub(crate) pid_at: usize,
    pub(crate) start_at: usize,
}

/// A moment broken down in the local time zone, as `struct tm` has it: what `time::local_time`
/// answers on every platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LocalTime {
    pub(crate) year: i32,
    /// 1 to 12.
    pub(crate) month: u8,
    /// 1 to 31.
    pub(crate) day: u8,
    pub(crate) hour: u8,
    pub(crate) minute: u8,
    /// 0 to 59: a leap second is folded into 59.
    pub(crate) second: u8,
    /// Seconds east of UTC.
    pub(crate) utc_offset: i32,
}
