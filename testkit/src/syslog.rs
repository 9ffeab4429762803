//! What another library in the process does with glibc's process-wide `syslog(3)` state and its
//! time-zone lock: `openlog`, `syslog(pri, "%s", msg)`, `closelog` and `localtime_r`. The fault
//! and fork tests use it to check that the crate's libc transport survives them; the benches use
//! it for the raw glibc floor.

use std::ffi::CStr;

/// `"%s"`: every message is passed as data, never as a format string.
const FMT: &CStr = c"%s";

/// `openlog(ident, LOG_NDELAY [| LOG_PID], facility)`; `facility` is a libc constant such as
/// `libc::LOG_LOCAL0`.
///
/// glibc keeps one ident, option set and default facility per process, so this changes what the
/// crate's libc transport sends from then on.
pub fn openlog(ident: &'static CStr, with_pid: bool, facility: libc::c_int) {
    let option = if with_pid {
        libc::LOG_PID | libc::LOG_NDELAY
    } else {
        libc::LOG_NDELAY
    };
    // SAFETY: `ident` is NUL-terminated and `'static`, so the pointer glibc keeps stays valid for
    // every later syslog(3) call; `option` comes from libc constants and glibc accepts any
    // facility value (it masks invalid bits).
    unsafe { libc::openlog(ident.as_ptr(), option, facility) }
}

/// `closelog()`, which is process-wide.
pub fn closelog() {
    // SAFETY: closelog takes no arguments and only closes glibc's own descriptor under its lock.
    unsafe { libc::closelog() }
}

/// `syslog(priority, "%s", msg)`; `priority` may omit the facility bits, as plain `LOG_INFO` calls
/// do, in which case glibc uses the `openlog` default facility.
pub fn syslog(priority: libc::c_int, msg: &CStr) {
    // SAFETY: FMT and `msg` are valid NUL-terminated strings borrowed for the whole call; under
    // FMT, `msg` is read only as data. glibc masks invalid priority bits itself (it logs an error
    // and clears them), so any `c_int` is accepted.
    unsafe { libc::syslog(priority, FMT.as_ptr(), msg.as_ptr()) }
}

/// `localtime_r(t)` as another library calls it (chrono's `Local` does): it takes glibc's
/// time-zone lock, which the crate cannot see. Returns the hour, so the call is not optimised away.
pub fn localtime_hour(t: i64) -> i32 {
    // SAFETY: `libc::tm` is a plain C struct of integers and one pointer, for which all-zero bytes
    // are a valid value; localtime_r overwrites it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let t: libc::time_t = t;
    // SAFETY: both pointers point to live, aligned locals for the whole call; localtime_r keeps
    // neither.
    let res = unsafe { libc::localtime_r(&t, &mut tm) };
    if res.is_null() {
        -1
    } else {
        tm.tm_hour
    }
}
