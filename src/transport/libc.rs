//! The libc `syslog(3)` transport: glibc writes the header and owns the socket to `/dev/log`.
//! Safe code over [`sys::syslog`](crate::sys::syslog); it owns its fork fallback, a
//! [`DevLogTransport`].

use std::ffi::{CStr, CString};
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use super::unix::UnixTransport;
use super::{Transport, DEFAULT_SOCKET};
use crate::error::{Error, ErrorKind};
use crate::format::write_rfc3164_header;
use crate::severity::Priority;
use crate::stats::Counters;
use crate::sys;
use crate::sys::fork::ForkLocal;
use crate::Facility;

/// The `syslog(3)` transport.
///
/// In a process where glibc's syslog lock or time-zone lock may be held forever
/// ([`sys::syslog::poisoned`]: any forked child, since another library's `syslog(3)` or
/// `localtime_r(3)` call may have held one at the fork), in sync and background mode alike, it
/// sends through its own [`DevLogTransport`] instead, which writes the same header.
#[derive(Debug)]
pub(crate) struct LibcTransport {
    /// The ident given to `openlog`, for the fallback's header.
    ident: &'static CStr,
    /// For the fallback's reconnect count.
    counters: Arc<Counters>,
    /// Created on the first send in a poisoned process, so a healthy process never opens a second
    /// socket. One per process: a child forked while a thread was creating it (inside the
    /// `OnceLock`) makes its own instead of waiting for that thread.
    fallback: ForkLocal<OnceLock<DevLogTransport>>,
    /// Whether `/dev/log` accepted a connection at the last look.
    presence: Presence,
}

/// `syslog(3)` reports nothing and drops silently when no daemon listens on `/dev/log`, so the
/// transport looks itself, at most once a second: while the socket cannot be connected, records are
/// counted as send errors instead of `written`. Stats then never claim a delivery nobody received.
#[derive(Debug)]
struct Presence {
    since: std::time::Instant,
    /// Milliseconds after `since` of the last look; `u64::MAX` before the first.
    checked_ms: std::sync::atomic::AtomicU64,
    /// 0 when the last look connected, else its errno (`ENOENT`, `ECONNREFUSED`).
    errno: std::sync::atomic::AtomicI32,
}

impl Presence {
    const RECHECK_MS: u64 = 1000;

    fn new() -> Self {
        Presence {
            since: std::time::Instant::now(),
            checked_ms: std::sync::atomic::AtomicU64::new(u64::MAX),
            errno: std::sync::atomic::AtomicI32::new(0),
        }
    }

    /// Whether `/dev/log` can be reached (else the error of the last look), looked up again when
    /// the last look is a second old.
    fn check(&self) -> io::Result<()> {
        use std::sync::atomic::Ordering::Relaxed;
        let now = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        let checked = self.checked_ms.load(Relaxed);
        // Only the thread that wins the exchange looks (one connect a second at most, as the unix
        // transport's reconnect); the others use the last answer.
        let due = checked == u64::MAX || now.saturating_sub(checked) >= Self::RECHECK_MS;
        if due
            && self
                .checked_ms
                .compare_exchange(checked, now, Relaxed, Relaxed)
                .is_ok()
        {
            let errno = match super::probe(Path::new(DEFAULT_SOCKET)) {
                Ok(()) => 0,
                Err(e) => e.raw_os_error().unwrap_or(sys::net::errno::ENOENT),
            };
            self.errno.store(errno, Relaxed);
        }
        match self.errno.load(Relaxed) {
            0 => Ok(()),
            errno => Err(io::Error::from_raw_os_error(errno)),
        }
    }
}

impl LibcTransport {
    /// Calls `openlog` with `LOG_PID | LOG_NDELAY`, so glibc connects now rather than on the first
    /// record; skipped when glibc's syslog lock may be held forever in this process.
    pub(crate) fn open(ident: &'static CStr, facility: Facility, counters: Arc<Counters>) -> Self {
        if !sys::syslog::poisoned() {
            sys::syslog::openlog(ident, facility.as_raw());
        }
        // glibc writes this process's headers, so the crate's clock may never have asked for the
        // local time; one call here gives a forked child's fallback a recent UTC offset to start
        // from, should its time-zone lock be unusable (see `clock`).
        let _ = crate::clock::now();
        LibcTransport {
            ident,
            counters,
            fallback: ForkLocal::new(OnceLock::new()),
            presence: Presence::new(),
        }
    }

    /// The fallback transport, connected on first use. A failure (no descriptor left) is returned
    /// for this record and retried on the next.
    fn fallback(&self) -> io::Result<&DevLogTransport> {
        let fallback = self.fallback.get_or_replace(|_| OnceLock::new());
        if let Some(fallback) = fallback.get() {
            return Ok(fallback);
        }
        // The builder made the ident from a `&str`, so this never replaces anything.
        let ident = String::from_utf8_lossy(self.ident.to_bytes());
        let made = DevLogTransport::connect(
            Path::new(DEFAULT_SOCKET),
            &ident,
            Arc::clone(&self.counters),
        )?;
        // When another thread won the race, its transport is kept and `made` is dropped.
        Ok(fallback.get_or_init(|| made))
    }
}

impl Transport for LibcTransport {
    fn send(&self, priority: Priority, msg: &[u8]) -> io::Result<()> {
        // The renderer NUL-terminates libc bodies and escapes interior NULs, so this only fails on a
        // renderer bug; that is reported as an error rather than a panic.
        let cmsg = CStr::from_bytes_with_nul(msg)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        if sys::syslog::poisoned() {
            return self.fallback()?.send(priority, msg);
        }
        self.presence.check()?;
        sys::syslog::syslog(libc_int(priority), cmsg);
        // syslog(3) reports nothing: glibc drops silently when the daemon is absent.
        Ok(())
    }
}

/// The priority as the C `int` syslog(3) takes (at most 191, so it always fits).
fn libc_int(priority: Priority) -> std::ffi::c_int {
    std::ffi::c_int::from(priority.value())
}

/// The ident as a `'static` C string for `openlog`, which keeps the pointer. Each distinct ident is
/// leaked once per process, however many loggers are built with it.
pub(crate) fn leak_ident(ident: &str) -> Result<&'static CStr, Error> {
    static IDENTS: Mutex<Vec<&'static CStr>> = Mutex::new(Vec::new());
    let mut idents = IDENTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(found) = idents.iter().find(|c| c.to_bytes() == ident.as_bytes()) {
        return Ok(found);
    }
    let c = CString::new(ident).map_err(|_| {
        Error::new(
            ErrorKind::InvalidIdent,
            format!("invalid ident {ident:?}: it contains a NUL byte"),
        )
    })?;
    let leaked: &'static CStr = Box::leak(c.into_boxed_c_str());
    idents.push(leaked);
    Ok(leaked)
}

// === impl DevLogTransport ===

/// The libc transport's stand-in in a process whose glibc syslog lock may be held forever (see
/// [`LibcTransport`]): a [`UnixTransport`] to `/dev/log` that writes
/// the header `syslog(3)` would write, `<PRI>Mmm dd hh:mm:ss ident[pid]: body`, with no trailing
/// NUL, so the daemon cannot tell the difference.
///
/// Built on [`UnixTransport`] rather than a socket behind a mutex: its send path takes no lock, so
/// a process forked while another thread is sending here inherits nothing that can stay held.
#[derive(Debug)]
pub(crate) struct DevLogTransport {
    /// The ident given to `openlog`, already sanitized by the builder.
    ident: String,
    socket: UnixTransport,
}

impl DevLogTransport {
    /// Connects to `path` (`/dev/log` outside tests). As glibc does, a daemon that is absent now
    /// is not an error: the send reconnects (rate-limited) and reports the failure.
    ///
    /// Sends wait without bound for room in the daemon's queue, as `syslog(3)` does, so the libc
    /// transport behaves the same whichever path a record takes.
    pub(crate) fn connect(path: &Path, ident: &str, counters: Arc<Counters>) -> io::Result<Self> {
        Ok(DevLogTransport {
            ident: ident.to_owned(),
            socket: UnixTransport::connect(path, None, false, counters)?,
        })
    }
}

impl Transport for DevLogTransport {
    /// Sends a libc body (`msg` ends with the NUL the renderer adds for `syslog(3)`).
    fn send(&self, priority: Priority, msg: &[u8]) -> io::Result<()> {
        let body = msg.strip_suffix(b"\0").unwrap_or(msg);
        // One allocation per record: this path only runs in a child forked at an unlucky moment.
        let mut datagram = Vec::with_capacity(64 + self.ident.len() + body.len());
        write_rfc3164_header(
            &mut datagram,
            priority,
            &self.ident,
            sys::fork::pid(),
            &crate::clock::now(),
        );
        datagram.extend_from_slice(body);
        self.socket.send(priority, &datagram)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::tests::{bind, recv};
    use crate::Severity;

    #[test]
    fn each_ident_is_leaked_once() {
        let a = leak_ident("leak-once").unwrap();
        let b = leak_ident("leak-once").unwrap();
        assert!(std::ptr::eq(a, b));
        assert_eq!(
            leak_ident("a\0b").unwrap_err().kind(),
            ErrorKind::InvalidIdent
        );
    }

    #[test]
    fn devlog_fallback_writes_the_glibc_header_without_the_nul() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let rx = bind(&path);
        let counters = Arc::new(Counters::default());
        let t = DevLogTransport::connect(&path, "web", counters).unwrap();
        let priority = Priority::new(Facility::Local1, Severity::Warning);
        t.send(priority, b"hello 100%\0").unwrap();
        let got = String::from_utf8(recv(&rx)).unwrap();
        // `<140>Nov  2 09:05:01 web[1234]: hello 100%`: the time is the clock's, so only its shape
        // is checked; the rest is exact.
        let (head, rest) = got.split_at(5);
        assert_eq!(head, "<140>");
        let (stamp, rest) = rest.split_at(15);
        assert_eq!(stamp.as_bytes()[3], b' ', "{got}");
        assert_eq!(&stamp[9..10], ":", "{got}");
        assert_eq!(rest, format!(" web[{}]: hello 100%", std::process::id()));
    }
}
