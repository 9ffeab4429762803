//! glibc's `openlog(3)` and `syslog(3)`, each call watched for fork (see [`SYSLOG_LOCK`]).
//!
//! The crate never calls `closelog(3)`: the connection is process-wide, so closing it would also
//! close it under any other library in the process that uses syslog(3), and glibc would reopen it
//! on the next call anyway. The descriptor lives until the process exits.

use std::ffi::{c_int, CStr};

use super::fork::{forked, SYSLOG_LOCK, TZ_LOCK};

/// `"%s"`, so a message is never read as a printf format.
const FMT: &CStr = match CStr::from_bytes_with_nul(b"%s\0") {
    Ok(f) => f,
    Err(_) => panic!("\"%s\\0\" is a valid C string"),
};

/// Whether glibc's syslog lock, or the time-zone lock `syslog(3)` takes for its header, may be
/// held forever in this process, so neither call below may be made: in any forked child (another
/// library's call may have held them at the fork, which the crate cannot see), and wherever a
/// watched call was running at a fork.
pub(crate) fn poisoned() -> bool {
    forked() || SYSLOG_LOCK.poisoned() || TZ_LOCK.poisoned()
}

/// `openlog(ident, LOG_PID | LOG_NDELAY, facility)`: connects now rather than on the first record.
///
/// `ident` is `'static` because glibc keeps the pointer after `openlog` returns. `facility` is a
/// `LOG_*` facility value (the code shifted left by 3). Callers check [`poisoned`] first.
pub(crate) fn openlog(ident: &'static CStr, facility: c_int) {
    let _watched = SYSLOG_LOCK.enter();
    // SAFETY: `ident` is NUL-terminated and `'static`, so the pointer that openlog keeps stays valid
    // for every later syslog(3) call ("You must not free the memory that ident points to", glibc
    // manual). The option values come from libc constants; glibc ignores invalid facility bits.
    unsafe { libc::openlog(ident.as_ptr(), libc::LOG_PID | libc::LOG_NDELAY, facility) }
}

/// `syslog(priority, "%s", msg)`. Callers check [`poisoned`] first.
pub(crate) fn syslog(priority: c_int, msg: &CStr) {
    let _watched = SYSLOG_LOCK.enter();
    // SAFETY: FMT and `msg` are valid NUL-terminated strings, borrowed for the whole call; under FMT,
    // `msg` is read only as data, so `%` in it is never interpreted. glibc masks invalid priority
    // bits itself.
    unsafe { libc::syslog(priority, FMT.as_ptr(), msg.as_ptr()) }
}
