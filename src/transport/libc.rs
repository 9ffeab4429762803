//! libc `syslog(3)` transport and the other libc calls the crate needs (pid cache, local time, host
//! name). This is the crate's only FFI boundary and the only file with `unsafe`.
#![allow(unsafe_code)] // Allowed here only; the crate root denies `unsafe_code`.

use std::ffi::CStr;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Once, OnceLock};

use super::unix::DevLogTransport;
use crate::format::Timestamp;
use crate::severity::Priority;
use crate::stats::Counters;
use crate::Facility;

/// `"%s"`, so a message is never read as a printf format.
const FMT: &CStr = match CStr::from_bytes_with_nul(b"%s\0") {
    Ok(f) => f,
    Err(_) => panic!("\"%s\\0\" is a valid C string"),
};

/// Opens the process's syslog connection now (`LOG_NDELAY`: connect eagerly) with `LOG_PID`.
///
/// `ident` is `'static` because glibc keeps the pointer after `openlog` returns. Callers mark the
/// call with [`InSyslog`] (openlog takes glibc's syslog lock).
fn open(ident: &'static CStr, facility: Facility) {
    // SAFETY: `ident` is NUL-terminated and `'static`, so the pointer that openlog keeps stays valid
    // for every later syslog(3) call ("You must not free the memory that ident points to", glibc
    // manual). The option and facility values come from libc constants.
    unsafe {
        libc::openlog(
            ident.as_ptr(),
            libc::LOG_PID | libc::LOG_NDELAY,
            facility.as_raw(),
        )
    }
}

/// Sends `msg` with `syslog(priority, "%s", msg)`. Callers mark the call with [`InSyslog`].
fn send(priority: Priority, msg: &CStr) {
    // SAFETY: FMT and `msg` are valid NUL-terminated strings, borrowed for the whole call; under FMT,
    // `msg` is read only as data, so `%` in it is never interpreted. `priority` is at most 191.
    unsafe {
        libc::syslog(
            libc::c_int::from(priority.value()),
            FMT.as_ptr(),
            msg.as_ptr(),
        )
    }
}

// The crate never calls `closelog(3)`: the connection is process-wide, so closing it would also
// close it under any other library in the process that uses syslog(3), and glibc would reopen it on
// the next call anyway. The descriptor lives until the process exits.

// === glibc's syslog lock across fork ===
//
// glibc (verified with 2.36) does not reset its syslog lock in a forked child: a child forked while
// any thread was inside `openlog(3)`/`syslog(3)` inherits the lock held by a thread that does not
// exist there, and its own next call deadlocks. So every such call the crate makes is counted in
// IN_SYSLOG, and the atfork child handler turns a non-zero count into SYSLOG_POISONED: from then on
// this process (and its own children, which inherit the flag) sends through a `DevLogTransport`
// and never calls into glibc's syslog code again. Calls made by other libraries in the process are
// not seen (README, "Reliability and security").

/// How many of the crate's `openlog`/`syslog` calls are running now, in every thread. A forked child
/// sees the count at the moment of `fork()`; the child handler resets it.
static IN_SYSLOG: AtomicU32 = AtomicU32::new(0);
/// Set in a forked child whose parent had a thread inside `openlog`/`syslog` at the fork: glibc's
/// syslog lock may be held forever in this process. Never cleared.
static SYSLOG_POISONED: AtomicBool = AtomicBool::new(false);

/// Whether glibc's syslog lock may be held forever in this process, so `openlog`/`syslog` must not
/// be called (see the section comment above).
pub(crate) fn syslog_poisoned() -> bool {
    SYSLOG_POISONED.load(Ordering::SeqCst)
}

/// Marks one `openlog`/`syslog` call for the fork check, from before the call until after it
/// returns. SeqCst, so a `fork()` that happens while the call can hold glibc's lock always sees a
/// non-zero count; a fork just after the call returns may see it too, which only costs that child
/// the fallback.
struct InSyslog(());

impl InSyslog {
    fn enter() -> Self {
        IN_SYSLOG.fetch_add(1, Ordering::SeqCst);
        InSyslog(())
    }
}

impl Drop for InSyslog {
    fn drop(&mut self) {
        IN_SYSLOG.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The cached pid; 0 means "not read since start-up or the last fork".
static PID: AtomicU32 = AtomicU32::new(0);
/// Bumped in every forked child, so per-process state (writer thread, sockets) can notice a fork.
static FORK_GENERATION: AtomicU32 = AtomicU32::new(0);
static ATFORK: Once = Once::new();

extern "C" fn after_fork_in_child() {
    // Only atomics here: this runs in the child right after fork(), where just async-signal-safe
    // work is allowed.
    PID.store(0, Ordering::Relaxed);
    FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
    // The threads counted in IN_SYSLOG do not exist in the child; their calls can never finish.
    let in_syslog = IN_SYSLOG.load(Ordering::SeqCst) != 0;
    if in_syslog {
        SYSLOG_POISONED.store(true, Ordering::SeqCst);
    }
    IN_SYSLOG.store(0, Ordering::SeqCst);
    // syslog(3) breaks down the time under glibc's time-zone lock too.
    if in_syslog || IN_LOCALTIME.load(Ordering::SeqCst) != 0 {
        TZ_POISONED.store(true, Ordering::SeqCst);
    }
    IN_LOCALTIME.store(0, Ordering::SeqCst);
}

fn install_atfork() {
    ATFORK.call_once(|| {
        // SAFETY: the child handler is an `extern "C" fn()` that lives for the whole program and
        // only touches atomics (async-signal-safe); the prepare and parent handlers are null, which
        // pthread_atfork allows. A failure (ENOMEM) only means the pid is re-read on every call.
        let rc = unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
        if rc != 0 {
            FORK_GENERATION.store(u32::MAX, Ordering::Relaxed);
        }
    });
}

/// The current process id, cached until the next fork.
pub(crate) fn pid() -> u32 {
    let cached = PID.load(Ordering::Relaxed);
    if cached != 0 && FORK_GENERATION.load(Ordering::Relaxed) != u32::MAX {
        return cached;
    }
    install_atfork();
    let pid = std::process::id();
    PID.store(pid, Ordering::Relaxed);
    pid
}

/// How many forks this process is removed from the one that first called [`pid`] (changes in a
/// forked child).
#[cfg_attr(not(feature = "background"), allow(dead_code))] // Only the background writer uses it.
pub(crate) fn fork_generation() -> u32 {
    install_atfork();
    FORK_GENERATION.load(Ordering::Relaxed)
}

/// How many of the crate's `localtime_r` calls are running now. `localtime_r` takes glibc's
/// time-zone lock, and so does `syslog(3)` (for its header), so a child forked while either ran
/// may find that lock held forever.
static IN_LOCALTIME: AtomicU32 = AtomicU32::new(0);
/// Set in a forked child whose parent was inside `localtime_r` or `syslog(3)` at the fork: from then
/// on [`local_time`] answers `None` and the clock computes local time without the C library.
static TZ_POISONED: AtomicBool = AtomicBool::new(false);

/// The local time for `secs` since the Unix epoch, or `None` if the C library cannot represent it,
/// or must not be asked because its time-zone lock may be held forever (see [`TZ_POISONED`]).
pub(crate) fn local_time(secs: i64, micros: u32) -> Option<Timestamp> {
    if TZ_POISONED.load(Ordering::SeqCst) {
        return None;
    }
    // `time_t` is `i64` on most targets (a no-op conversion there) but `i32` on some 32-bit ones.
    #[allow(clippy::useless_conversion)]
    let t: libc::time_t = secs.try_into().ok()?;
    install_atfork();
    IN_LOCALTIME.fetch_add(1, Ordering::SeqCst);
    let tm = local_tm(t);
    IN_LOCALTIME.fetch_sub(1, Ordering::SeqCst);
    let tm = tm?;
    Some(Timestamp {
        year: tm.tm_year + 1900,
        month: u8::try_from(tm.tm_mon + 1).ok()?,
        day: u8::try_from(tm.tm_mday).ok()?,
        hour: u8::try_from(tm.tm_hour).ok()?,
        minute: u8::try_from(tm.tm_min).ok()?,
        second: u8::try_from(tm.tm_sec.min(59)).ok()?,
        micros,
        utc_offset: i32::try_from(tm.tm_gmtoff).ok()?,
    })
}

/// The coarse real-time clock (`CLOCK_REALTIME_COARSE`: the time at the last timer tick, a few
/// nanoseconds to read instead of tens): whole seconds since the Unix epoch, or `None` when the clock
/// cannot be read. For headers that carry whole seconds only.
pub(crate) fn realtime_coarse_secs() -> Option<i64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a live, properly aligned local for the whole call; clock_gettime only writes
    // into it.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) };
    // `time_t` is `i64` on most targets (a no-op conversion there) but `i32` on some 32-bit ones.
    #[allow(clippy::useless_conversion)]
    (rc == 0).then(|| i64::from(ts.tv_sec))
}

/// `localtime_r(t)`, or `None` when it fails.
fn local_tm(t: libc::time_t) -> Option<libc::tm> {
    // SAFETY: `libc::tm` is a plain C struct of integers and one pointer, for which all-zero bytes
    // are a valid value; localtime_r overwrites it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers point to live, properly aligned locals for the whole call; localtime_r
    // is the reentrant variant and keeps neither pointer.
    let res = unsafe { libc::localtime_r(&t, &mut tm) };
    (!res.is_null()).then_some(tm)
}

/// This host's name (`gethostname(2)`), or `None` when it cannot be read or is not UTF-8.
pub(crate) fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the pointer and length describe `buf`, which lives for the whole call; gethostname
    // writes at most `len` bytes into it.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0)?;
    String::from_utf8(buf[..end].to_vec())
        .ok()
        .filter(|h| !h.is_empty())
}

/// The most messages one [`sendmmsg`] call sends; callers loop for longer batches. 64 keeps the
/// header arrays on the stack small (about 5 KiB) while one syscall still carries a typical batch.
#[cfg(target_os = "linux")]
#[cfg_attr(not(feature = "background"), allow(dead_code))] // Only the background writer uses it.
pub(crate) const SENDMMSG_MAX: usize = 64;

/// Sends up to [`SENDMMSG_MAX`] of `msgs` as separate datagrams on the connected socket `fd` with
/// one `sendmmsg(2)` call. Returns how many were sent, in order; fewer than asked means the next
/// one failed (calling again reports its error). An error means the first one failed.
#[cfg(target_os = "linux")]
#[cfg_attr(not(feature = "background"), allow(dead_code))] // Only the background writer uses it.
pub(crate) fn sendmmsg(fd: std::os::fd::BorrowedFd<'_>, msgs: &[&[u8]]) -> io::Result<usize> {
    use std::os::fd::AsRawFd;

    let n = msgs.len().min(SENDMMSG_MAX);
    if n == 0 {
        return Ok(0);
    }
    let empty = libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    };
    let mut iovecs = [empty; SENDMMSG_MAX];
    for (iov, msg) in iovecs.iter_mut().zip(&msgs[..n]) {
        // sendmsg only reads through iov_base; the `*mut` is what the C struct declares.
        iov.iov_base = msg.as_ptr().cast_mut().cast();
        iov.iov_len = msg.len();
    }
    let mut hdrs = mmsg_headers(&mut iovecs, n);
    // `n <= SENDMMSG_MAX`, so this never saturates.
    let vlen = libc::c_uint::try_from(n).unwrap_or(libc::c_uint::MAX);
    // SAFETY: `hdrs[..n]` are initialised headers, each pointing at one iovec in `iovecs` that
    // points at a borrowed `&[u8]` of exactly `iov_len` bytes; `hdrs`, `iovecs` and `msgs` all
    // outlive the call and the kernel keeps no pointer after it returns. `vlen` equals `n`, so the
    // kernel reads only initialised headers (it writes only their `msg_len` fields, and `hdrs` is
    // mutably borrowed). `fd` is a live descriptor borrowed for the call.
    let rc = unsafe { libc::sendmmsg(fd.as_raw_fd(), hdrs.as_mut_ptr(), vlen, libc::MSG_NOSIGNAL) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // rc is non-negative and at most `vlen` here.
    Ok(usize::try_from(rc).unwrap_or(0))
}

/// `sendmmsg`/`recvmmsg` headers, the first `n` pointing at one iovec each (the rest unused).
#[cfg(target_os = "linux")]
#[cfg_attr(not(feature = "background"), allow(dead_code))] // The writer and the bench hook use it.
fn mmsg_headers(
    iovecs: &mut [libc::iovec; SENDMMSG_MAX],
    n: usize,
) -> [libc::mmsghdr; SENDMMSG_MAX] {
    // SAFETY: `mmsghdr` is a plain C struct of integers and pointers (some targets add private
    // padding fields, so it cannot be built with a literal); all-zero bytes are a valid value:
    // null name/control pointers with zero lengths, no flags.
    let zeroed: libc::mmsghdr = unsafe { std::mem::zeroed() };
    let mut hdrs = [zeroed; SENDMMSG_MAX];
    for (hdr, iov) in hdrs.iter_mut().zip(iovecs.iter_mut()).take(n) {
        hdr.msg_hdr.msg_iov = iov;
        hdr.msg_hdr.msg_iovlen = 1;
    }
    hdrs
}

/// The `syslog(3)` transport: glibc writes the header and owns the socket to `/dev/log`.
///
/// In a process where glibc's syslog lock may be held forever ([`syslog_poisoned`]), in sync and
/// background mode alike, it sends through its own [`DevLogTransport`] instead, which writes the
/// same header.
#[derive(Debug)]
pub(crate) struct LibcTransport {
    /// The ident given to `openlog`, for the fallback's header.
    ident: &'static CStr,
    /// For the fallback's reconnect count.
    counters: Arc<Counters>,
    /// Created on the first send in a poisoned process, so a healthy process never opens a second
    /// socket. Its creation (a socket and a connect) is the only moment a fork could inherit this
    /// cell mid-initialisation, and only from a process that is already poisoned.
    fallback: OnceLock<DevLogTransport>,
}

impl LibcTransport {
    /// Calls `openlog` with `LOG_PID | LOG_NDELAY`, so glibc connects now rather than on the first
    /// record; skipped when glibc's syslog lock may be held forever in this process.
    pub(crate) fn open(ident: &'static CStr, facility: Facility, counters: Arc<Counters>) -> Self {
        // Before the first counted call, so a fork during it is seen by the child handler.
        install_atfork();
        if !syslog_poisoned() {
            let _in_syslog = InSyslog::enter();
            open(ident, facility);
        }
        LibcTransport {
            ident,
            counters,
            fallback: OnceLock::new(),
        }
    }

    /// The fallback transport, connected on first use. A failure (no descriptor left) is returned
    /// for this record and retried on the next.
    fn fallback(&self) -> io::Result<&DevLogTransport> {
        if let Some(fallback) = self.fallback.get() {
            return Ok(fallback);
        }
        // The builder made the ident from a `&str`, so this never replaces anything.
        let ident = String::from_utf8_lossy(self.ident.to_bytes());
        let made = DevLogTransport::connect(
            Path::new(crate::DEFAULT_SOCKET),
            &ident,
            Arc::clone(&self.counters),
        )?;
        // When another thread won the race, its transport is kept and `made` is dropped.
        Ok(self.fallback.get_or_init(|| made))
    }
}

impl super::Transport for LibcTransport {
    fn send(&self, priority: Priority, msg: &[u8]) -> io::Result<()> {
        // The renderer NUL-terminates libc bodies and escapes interior NULs, so this only fails on a
        // renderer bug; that is reported as an error rather than a panic.
        let cmsg = CStr::from_bytes_with_nul(msg)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        if syslog_poisoned() {
            return self.fallback()?.send(priority, msg);
        }
        let _in_syslog = InSyslog::enter();
        send(priority, cmsg);
        // syslog(3) reports nothing: glibc drops silently when the daemon is absent.
        Ok(())
    }
}

// === fork-safe per-process state (background writer) ===

/// One value per process: a forked child replaces the value it inherited with its own, and never
/// touches the inherited one, whose locks another thread of the parent may have held at fork time.
///
/// Readers pay one acquire load plus the relaxed [`fork_generation`] load. The inherited value is
/// leaked in the child (its destructor could block on such a lock); only a value created in the
/// current process is dropped.
#[cfg(feature = "background")]
pub(crate) struct ForkLocal<T: Send + Sync + 'static> {
    /// Always a pointer from `Box::into_raw`, never null, never freed while `self` is alive.
    ptr: std::sync::atomic::AtomicPtr<ForkSlot<T>>,
}

/// A value and the fork generation of the process that created it.
#[cfg(feature = "background")]
struct ForkSlot<T> {
    generation: u32,
    value: T,
}

#[cfg(feature = "background")]
impl<T: Send + Sync + 'static> ForkLocal<T> {
    /// Wraps `value`, created in the current process.
    pub(crate) fn new(value: T) -> Self {
        let slot = Box::new(ForkSlot {
            generation: fork_generation(),
            value,
        });
        ForkLocal {
            ptr: std::sync::atomic::AtomicPtr::new(Box::into_raw(slot)),
        }
    }

    fn slot(&self) -> &ForkSlot<T> {
        let ptr = self.ptr.load(Ordering::Acquire);
        // SAFETY: `ptr` came from `Box::into_raw` (in `new` or `get_or_replace`) and was published
        // with a release store or CAS, which the acquire load above pairs with, so the slot is fully
        // initialised. A slot is freed only in `Drop`, which has `&mut self`, so it outlives this
        // `&self` borrow; replaced slots are leaked, never freed. `T: Sync` makes sharing `&T`
        // between threads sound.
        unsafe { &*ptr }
    }

    /// The value for this process: the current one, or, in a forked child that has not replaced
    /// the inherited value yet, a new one from `make(previous)`. When two threads of the child
    /// race, one value wins and the other is dropped.
    pub(crate) fn get_or_replace(&self, make: impl FnOnce(&T) -> T) -> &T {
        let generation = fork_generation();
        let current = self.slot();
        if current.generation == generation {
            return &current.value;
        }
        let new = Box::into_raw(Box::new(ForkSlot {
            generation,
            value: make(&current.value),
        }));
        let expected = (current as *const ForkSlot<T>).cast_mut();
        match self
            .ptr
            .compare_exchange(expected, new, Ordering::AcqRel, Ordering::Acquire)
        {
            // The inherited slot is leaked on purpose (see the type's docs).
            Ok(_) => &self.slot().value,
            Err(_) => {
                // SAFETY: `new` came from `Box::into_raw` just above and the failed CAS did not
                // publish it, so this thread owns it exclusively and frees it exactly once.
                drop(unsafe { Box::from_raw(new) });
                &self.slot().value
            }
        }
    }
}

#[cfg(feature = "background")]
impl<T: Send + Sync + 'static> Drop for ForkLocal<T> {
    fn drop(&mut self) {
        let ptr = *self.ptr.get_mut();
        // SAFETY: `ptr` is a live slot from `Box::into_raw` (see `slot`) and `&mut self` means no
        // borrow of it remains; it is only read here.
        let generation = unsafe { (*ptr).generation };
        if generation == fork_generation() {
            // SAFETY: as above, and the slot was created in this process, so nothing else frees
            // it: ownership moves back into a Box that is dropped once.
            drop(unsafe { Box::from_raw(ptr) });
        }
        // Otherwise it was inherited through fork(): leaked, see the type's docs.
    }
}

#[cfg(feature = "background")]
impl<T: Send + Sync + std::fmt::Debug + 'static> std::fmt::Debug for ForkLocal<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ForkLocal")
            .field(&self.slot().value)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_matches_std() {
        assert_eq!(pid(), std::process::id());
        assert_eq!(pid(), std::process::id());
    }

    #[test]
    fn local_time_breaks_down_the_epoch() {
        let t = local_time(0, 5).expect("epoch is representable");
        let offset_hours = t.utc_offset / 3600;
        assert!((-14..=14).contains(&offset_hours));
        assert_eq!(t.micros, 5);
        assert!(t.year == 1970 || t.year == 1969);
    }

    #[test]
    fn hostname_is_not_empty() {
        assert!(!hostname().expect("gethostname works").is_empty());
    }
}

/// Hooks for the fault-tolerance integration tests (`tests/it/fault.rs`), which may not contain
/// `unsafe` themselves: another library's `openlog`/`closelog`/`syslog`, and a raw `fork` with its
/// `waitpid` and `_exit`. Re-exported as `fastsyslog::__testing`; not public API, no semver promise.
#[doc(hidden)]
pub mod __testing {
    use std::ffi::CStr;
    use std::io;

    use super::FMT;
    use crate::Facility;

    /// What another library in the process does: `openlog(ident, LOG_NDELAY [| LOG_PID], facility)`.
    ///
    /// glibc keeps one ident, option set and default facility per process, so this changes what
    /// the crate's libc transport sends from then on (see the README, "Reliability and security").
    pub fn foreign_openlog(ident: &'static CStr, with_pid: bool, facility: Facility) {
        let option = if with_pid {
            libc::LOG_PID | libc::LOG_NDELAY
        } else {
            libc::LOG_NDELAY
        };
        // SAFETY: `ident` is NUL-terminated and `'static`, so the pointer glibc keeps stays valid
        // for every later syslog(3) call; `option` and the facility come from libc constants.
        unsafe { libc::openlog(ident.as_ptr(), option, facility.as_raw()) }
    }

    /// What another library does when it is done: `closelog()`, which is process-wide.
    pub fn foreign_closelog() {
        // SAFETY: closelog takes no arguments and only closes glibc's own descriptor under its lock.
        unsafe { libc::closelog() }
    }

    /// `recvmmsg(2)` with `MSG_WAITFORONE` on `fd`: waits for one datagram (up to the socket's
    /// receive timeout), then takes every other one already queued, up to `bufs.len()` (at most
    /// 64). Returns each datagram's length, in order, in `lens`; the count. For the benchmarks'
    /// fast in-process receiver.
    #[cfg(target_os = "linux")]
    pub fn recv_many(
        fd: std::os::fd::BorrowedFd<'_>,
        bufs: &mut [Vec<u8>],
        lens: &mut [usize],
    ) -> io::Result<usize> {
        use std::os::fd::AsRawFd;

        let n = bufs.len().min(lens.len()).min(super::SENDMMSG_MAX);
        let empty = libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        };
        let mut iovecs = [empty; super::SENDMMSG_MAX];
        for (iov, buf) in iovecs.iter_mut().zip(bufs.iter_mut()).take(n) {
            iov.iov_base = buf.as_mut_ptr().cast();
            iov.iov_len = buf.len();
        }
        let mut hdrs = super::mmsg_headers(&mut iovecs, n);
        let vlen = libc::c_uint::try_from(n).unwrap_or(0);
        // SAFETY: `hdrs[..n]` are initialised headers, each pointing at one iovec that points at
        // the initialised bytes of a distinct, mutably borrowed `Vec<u8>` of exactly `iov_len`
        // bytes; the kernel writes at most that much into each and keeps no pointer after the
        // call. `hdrs`, `iovecs` and `bufs` outlive the call; the timeout pointer is null (the
        // socket's own receive timeout applies); `fd` is a live descriptor borrowed for the call.
        let rc = unsafe {
            libc::recvmmsg(
                fd.as_raw_fd(),
                hdrs.as_mut_ptr(),
                vlen,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        let got = usize::try_from(rc).unwrap_or(0).min(n);
        for (len, hdr) in lens.iter_mut().zip(&hdrs[..got]) {
            *len = hdr.msg_len as usize;
        }
        Ok(got)
    }

    /// Another library's `syslog(priority, "%s", msg)`; `priority` may omit the facility bits, as
    /// plain `LOG_INFO` calls do, in which case glibc uses the `openlog` default facility.
    pub fn foreign_syslog(priority: i32, msg: &CStr) {
        // SAFETY: FMT and `msg` are valid NUL-terminated strings borrowed for the whole call; under
        // FMT, `msg` is read only as data. glibc masks invalid priority bits itself (it logs an
        // error and clears them), so any `i32` is accepted.
        unsafe { libc::syslog(priority, FMT.as_ptr(), msg.as_ptr()) }
    }

    /// `fork(2)`: `Ok(0)` in the child, `Ok(child_pid)` in the parent.
    ///
    /// In the child only the calling thread exists; locks other threads held at the fork stay
    /// locked there. That is exactly what the fork tests exercise: the crate must keep logging in
    /// such a child without user code. The child should end with [`exit_now`].
    pub fn fork() -> io::Result<u32> {
        // SAFETY: fork takes no arguments and touches no memory of ours. Its hazard in a
        // multithreaded parent (locks held by other threads stay locked in the child) is not a
        // memory-safety precondition of the call; the child runs only the test's own code.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        // `pid` is non-negative here, so the conversion cannot fail.
        Ok(u32::try_from(pid).unwrap_or(0))
    }

    /// Waits for the child `pid` (retrying on EINTR) and returns its exit code, or `128 + signal`
    /// when a signal ended it.
    pub fn wait(pid: u32) -> io::Result<i32> {
        let pid = libc::pid_t::try_from(pid)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
        let mut status: libc::c_int = 0;
        loop {
            // SAFETY: `status` is a live, aligned local for the whole call; waitpid keeps no
            // pointer to it.
            let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
            if rc >= 0 {
                break;
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
        if libc::WIFEXITED(status) {
            Ok(libc::WEXITSTATUS(status))
        } else {
            Ok(128 + libc::WTERMSIG(status))
        }
    }

    /// `_exit(code)`: ends a forked child at once, without running the parent's atexit handlers,
    /// destructors or the test harness (which the child inherited mid-run).
    pub fn exit_now(code: i32) -> ! {
        // SAFETY: _exit takes an integer and never returns; it runs no user code, so no lock the
        // parent's threads held at the fork is needed.
        unsafe { libc::_exit(code) }
    }

    thread_local! {
        /// Allocations (and reallocations) made by this thread. `const` and `Cell`: no lazy
        /// initialisation and no destructor, so using it inside the allocator cannot recurse.
        static ALLOCS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    /// A global allocator that counts allocations per thread, so a test can tell the caller's
    /// allocations from the background writer's (`tests/it/worker.rs`). Forwards to `System`.
    #[derive(Debug)]
    pub struct CountingAllocator;

    /// Allocations and reallocations made by the calling thread so far under [`CountingAllocator`].
    pub fn thread_allocations() -> u64 {
        ALLOCS.with(std::cell::Cell::get)
    }

    // SAFETY: every method forwards to `System` with the arguments it was given, so `System`'s
    // guarantees hold unchanged; counting touches only a `const` thread-local `Cell`.
    unsafe impl std::alloc::GlobalAlloc for CountingAllocator {
        unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
            // During thread teardown the slot may be gone; that allocation is then not counted.
            let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
            // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract (non-zero size), which
            // is passed through unchanged.
            unsafe { std::alloc::System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
            // SAFETY: `ptr` was allocated by `System` (every allocation goes through `alloc` or
            // `realloc` here) with this `layout`, as the caller guarantees.
            unsafe { std::alloc::System.dealloc(ptr, layout) }
        }

        unsafe fn realloc(
            &self,
            ptr: *mut u8,
            layout: std::alloc::Layout,
            new_size: usize,
        ) -> *mut u8 {
            // Counted as in `alloc`; see there for `try_with`.
            let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
            // SAFETY: `ptr`/`layout` describe a live `System` allocation and `new_size` is valid,
            // as the caller guarantees.
            unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
        }
    }
}
