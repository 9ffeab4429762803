//! The emergency path: one record out of a crash or signal handler, with no allocation and no
//! lock ([`Emergency`]).

use std::fmt::{self, Write as _};
use std::io;
use std::path::Path;

use crate::error::{Error, ErrorKind};
use crate::format::Stamp3164;
use crate::ident::Ident;
use crate::severity::Priority;
use crate::transport::DEFAULT_SOCKET;
use crate::{Builder, Facility, Severity};

/// The most bytes one emergency record takes on the wire, header included; a longer message is
/// cut on a character boundary and ends with ` [truncated]`. The record is built on the stack.
pub const MAX_EMERGENCY_LEN: usize = 1024;

/// What a cut message ends with.
const MARKER: &[u8] = b" [truncated]";

/// A last-resort sender for crash and signal handlers: a socket opened at start-up, a record built
/// in a stack buffer, one `sendto(2)`. No allocation, no lock, never blocks.
///
/// The normal API ([`Logger`](crate::Logger), the `log` and `tracing` macros) is **not
/// async-signal-safe**: it allocates, formats through user code and may take locks, so calling it
/// from a signal handler that interrupted a thread holding the allocator's lock (or the crate's)
/// deadlocks. An `Emergency` is what such a handler may call: [`send`](Emergency::send) is
/// async-signal-safe, thread-safe, and keeps the caller's `errno`.
///
/// Each record is `<PRI>Mmm dd hh:mm:ss ident[pid]: message`, the header `syslog(3)` writes; the
/// time is the wall clock at the UTC offset read when the `Emergency` was made (a later DST change
/// is not seen, and most daemons stamp local records with their own reception time anyway). The
/// pid is read at each send, so it is right in a forked child. Control characters in the message
/// are escaped (`\n`, `\r`, `\t`, `\u001b` …), so one record stays one line. A record longer than
/// [`MAX_EMERGENCY_LEN`] is cut and marked.
///
/// Records go straight to the socket, past the filters, the routing rules, the background queue
/// and the statistics: [`send`](Emergency::send) reports the result instead. A full daemon queue
/// is `EAGAIN` (the record is not sent; a handler must not wait); an absent daemon is
/// `ECONNREFUSED` or `ENOENT`. The socket path is looked up at each send, so a restarted daemon is
/// found again.
///
/// # Examples
///
/// A panic hook that gets a last record out, even when the normal logger is stuck or its
/// background queue will never be drained:
///
/// ```no_run
/// # #[cfg(feature = "log")] {
/// use fastsyslog::{emergency::Emergency, Builder, Facility, Severity};
///
/// let builder = Builder::new().ident("web").default_facility(Facility::Local1);
/// let emergency = Emergency::from_builder(&builder)?;
/// let _guard = builder.try_init()?;
/// std::panic::set_hook(Box::new(move |info| {
///     // A panic hook is not a signal handler: `info` may be formatted freely.
///     let _ = emergency.send_fmt(Severity::Critical, format_args!("panic: {info}"));
/// }));
/// # }
/// # Ok::<(), fastsyslog::Error>(())
/// ```
///
/// A fatal-signal handler, which may only make async-signal-safe calls, is the repository's
/// `examples/fatal_signal.rs`: the `Emergency` lives in a `static OnceLock`, the handler sends one
/// record with [`send`](Emergency::send) and then lets the signal's default action end the process.
#[derive(Debug)]
pub struct Emergency {
    socket: crate::sys::signal::SignalSocket,
    facility: Facility,
    ident: Ident,
    /// Seconds east of UTC when this was made.
    utc_offset: i32,
}

// === impl Emergency ===

impl Emergency {
    /// Opens a socket for records to `path` (a syslog daemon's datagram socket, such as
    /// [`DEFAULT_SOCKET`]) with `ident` (same rules as [`Builder::ident`]) and `facility`. Call it
    /// at start-up, never in the handler: it allocates.
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::{emergency::Emergency, Facility};
    /// assert!(Emergency::new("/run/nowhere.sock", "web", Facility::Local1).is_ok());
    /// assert!(Emergency::new("/run/nowhere.sock", "", Facility::Local1).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidIdent`] for an empty ident or one with a NUL byte;
    /// [`ErrorKind::Connect`] naming the path when it is longer than `sun_path` or contains a NUL
    /// byte, or when no socket can be created. A daemon that is absent now is not an error: each
    /// send reports it.
    pub fn new(
        path: impl AsRef<Path>,
        ident: &str,
        facility: Facility,
    ) -> Result<Emergency, Error> {
        let path = path.as_ref();
        let ident = Ident::new(ident)?;
        let socket = crate::sys::signal::SignalSocket::new(path).map_err(|e| {
            Error::with_source(
                ErrorKind::Connect,
                format!("could not open an emergency socket for {}", path.display()),
                e,
            )
        })?;
        Ok(Emergency {
            socket,
            facility,
            ident,
            utc_offset: crate::clock::now().utc_offset,
        })
    }

    /// An `Emergency` with the socket, ident and default facility `builder` would use: its
    /// [`socket`](Builder::socket), or [`DEFAULT_SOCKET`] for the libc transport; its
    /// [`ident`](Builder::ident), or the program's name.
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::{emergency::Emergency, Builder};
    /// let builder = Builder::new().socket("/run/app.sock").ident("web");
    /// assert!(Emergency::from_builder(&builder).is_ok());
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Emergency::new`].
    pub fn from_builder(builder: &Builder) -> Result<Emergency, Error> {
        let path = builder
            .socket
            .as_deref()
            .unwrap_or(Path::new(DEFAULT_SOCKET));
        let ident = match &builder.ident {
            Some(ident) => Ident::new(ident)?,
            None => Ident::of_program()?,
        };
        Emergency::new(path, ident.as_str(), builder.default_facility)
    }

    /// Sends `message` at `severity`. Async-signal-safe: no allocation, no lock, one
    /// `sendto(2)` that never waits; `errno` is as it was.
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::{emergency::Emergency, Facility, Severity};
    /// let emergency = Emergency::new("/run/nowhere.sock", "web", Facility::Local1).unwrap();
    /// // Nobody listens there: the error says so, and nothing waits.
    /// assert!(emergency.send(Severity::Critical, "out of memory").is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// The OS error of the send: `EAGAIN` when the daemon's queue is full, `ECONNREFUSED` or
    /// `ENOENT` when no daemon listens. Building the error allocates nothing.
    pub fn send(&self, severity: Severity, message: &str) -> io::Result<()> {
        self.send_fmt(severity, format_args!("{message}"))
    }

    /// Sends a formatted message at `severity`, formatted into the stack buffer.
    ///
    /// Async-signal-safe when every value formatted is (integers, `&str`, and types whose
    /// `Display` neither allocates nor locks); in a panic hook anything goes.
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::{emergency::Emergency, Facility, Severity};
    /// let emergency = Emergency::new("/run/nowhere.sock", "web", Facility::Local1).unwrap();
    /// let _ = emergency.send_fmt(Severity::Alert, format_args!("caught signal {}", 11));
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Emergency::send`].
    pub fn send_fmt(&self, severity: Severity, args: fmt::Arguments<'_>) -> io::Result<()> {
        let mut record = StackRecord::new();
        self.header(&mut record, severity);
        // A full buffer stops the formatting with an error; the record is then cut and marked.
        let mut body = Escaped(&mut record);
        let _ = body.write_fmt(args);
        self.socket
            .send(record.finish())
            .map_err(io::Error::from_raw_os_error)
    }

    /// `<PRI>Mmm dd hh:mm:ss ident[pid]: `.
    fn header(&self, out: &mut StackRecord, severity: Severity) {
        let pri = Priority::new(self.facility, severity);
        let secs = crate::sys::time::realtime_coarse_secs().unwrap_or(0);
        let t = crate::clock::civil(secs, 0, self.utc_offset);
        out.raw(Stamp3164::new(pri, &t).as_bytes());
        out.raw(self.ident.as_str().as_bytes());
        out.raw(b"[");
        out.number(u64::from(crate::sys::signal::getpid()));
        out.raw(b"]: ");
        out.body_start = out.len;
    }
}

/// One record in a stack buffer, with room kept for the truncation marker.
struct StackRecord {
    buf: [u8; MAX_EMERGENCY_LEN],
    len: usize,
    /// Where the message starts (a cut never reaches into the header).
    body_start: usize,
    /// Set once something did not fit.
    cut: bool,
}

impl StackRecord {
    fn new() -> Self {
        StackRecord {
            buf: [0; MAX_EMERGENCY_LEN],
            len: 0,
            body_start: 0,
            cut: false,
        }
    }

    /// Room left for the message, keeping the marker's.
    fn room(&self) -> usize {
        (MAX_EMERGENCY_LEN - MARKER.len()).saturating_sub(self.len)
    }

    /// Appends `bytes` whole, or nothing (and marks the cut) when they do not fit.
    fn raw(&mut self, bytes: &[u8]) -> bool {
        if self.cut || bytes.len() > self.room() {
            self.cut = true;
            return false;
        }
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
        true
    }

    fn number(&mut self, n: u64) {
        self.raw(crate::sys::decimal(n, &mut [0; 20]));
    }

    /// The record, marked when it was cut.
    fn finish(&mut self) -> &[u8] {
        if self.cut {
            let end = self.len.max(self.body_start);
            self.buf[end..end + MARKER.len()].copy_from_slice(MARKER);
            self.len = end + MARKER.len();
        }
        &self.buf[..self.len]
    }
}

/// Writes the message into a [`StackRecord`], escaping control characters; stops (with an error,
/// which ends the formatting) at the first character that does not fit.
struct Escaped<'a>(&'a mut StackRecord);

impl fmt::Write for Escaped<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            let mut utf8 = [0u8; 4];
            let fits = match c {
                '\n' => self.0.raw(b"\\n"),
                '\r' => self.0.raw(b"\\r"),
                '\t' => self.0.raw(b"\\t"),
                c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                    let code = u32::from(c);
                    let hex = |shift: u32| b"0123456789abcdef"[((code >> shift) & 0xF) as usize];
                    self.0.raw(&[b'\\', b'u', hex(12), hex(8), hex(4), hex(0)])
                }
                c => self.0.raw(c.encode_utf8(&mut utf8).as_bytes()),
            };
            if !fits {
                return Err(fmt::Error);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixDatagram;

    use super::*;

    fn pair(ident: &str) -> (tempfile::TempDir, UnixDatagram, Emergency) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let rx = UnixDatagram::bind(&path).unwrap();
        let tx = Emergency::new(&path, ident, Facility::Local1).unwrap();
        (dir, rx, tx)
    }

    fn recv(rx: &UnixDatagram) -> String {
        let mut buf = [0u8; 2 * MAX_EMERGENCY_LEN];
        let n = rx.recv(&mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    /// The part after `<PRI>Mmm dd hh:mm:ss `.
    fn after_time(got: &str) -> &str {
        let close = got.find('>').unwrap();
        &got[close + 17..]
    }

    #[test]
    fn a_record_carries_the_glibc_header_and_escaped_controls() {
        let (_dir, rx, tx) = pair("web");
        tx.send(Severity::Critical, "boom\nMar  1 00:00:00 x\u{1b}[31m")
            .unwrap();
        let got = recv(&rx);
        assert!(got.starts_with("<138>"), "{got}");
        let stamp = &got[5..20];
        assert_eq!((&stamp[3..4], &stamp[9..10]), (" ", ":"), "{got}");
        assert_eq!(
            after_time(&got),
            format!(
                "web[{}]: boom\\nMar  1 00:00:00 x\\u001b[31m",
                std::process::id()
            )
        );
    }

    #[test]
    fn a_long_message_is_cut_on_a_character_boundary_and_marked() {
        let (_dir, rx, tx) = pair("web");
        let long = "é".repeat(MAX_EMERGENCY_LEN);
        tx.send_fmt(Severity::Error, format_args!("{long}"))
            .unwrap();
        let got = recv(&rx);
        assert!(got.len() <= MAX_EMERGENCY_LEN, "{}", got.len());
        assert!(got.ends_with("é [truncated]"), "{got}");
    }

    #[test]
    fn an_absent_daemon_is_an_error_not_a_wait() {
        let tx = Emergency::new("/nonexistent/log.sock", "web", Facility::User).unwrap();
        let err = tx.send(Severity::Alert, "x").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
        assert_eq!(
            Emergency::new("/tmp/a\0b", "web", Facility::User)
                .unwrap_err()
                .kind(),
            ErrorKind::Connect
        );
    }
}
