//! An embedded syslog receiver for tests and examples: [`Receiver`] and the [`Message`] parser.
//!
//! [`Receiver::bind`] creates a private temporary directory with a datagram socket in it and
//! receives on a background thread, so a logger pointed at [`Receiver::path`] works with no syslog
//! daemon on the machine. Each datagram becomes one [`Message`], parsed from RFC 3164 (the format
//! glibc's `syslog(3)` and this crate's default unix transport write) or RFC 5424.
//!
//! # Examples
//!
//! Point a logger at the receiver and check what arrived:
//!
//! ```
//! use std::time::Duration;
//! use fastsyslog::testing::Receiver;
//! use fastsyslog::{Builder, Facility, Mode, Severity};
//! use log::Log;
//!
//! let receiver = Receiver::bind()?;
//! let (logger, _guard) = Builder::new()
//!     .socket(receiver.path())
//!     .ident("myapp")
//!     .filter("info")
//!     .mode(Mode::Sync)
//!     .build()?;
//! logger.log(
//!     &log::Record::builder()
//!         .target("access")
//!         .level(log::Level::Info)
//!         .args(format_args!("GET /index.html"))
//!         .build(),
//! );
//!
//! let msg = receiver.recv_timeout(Duration::from_secs(5)).expect("the record arrives");
//! assert_eq!(msg.facility, Some(Facility::Local0));
//! assert_eq!(msg.severity, Some(Severity::Informational));
//! assert_eq!(msg.ident.as_deref(), Some("myapp"));
//! assert_eq!(msg.pid, Some(std::process::id()));
//! assert_eq!(msg.body, "GET /index.html");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg(all(feature = "testing", unix))]

use std::borrow::Cow;
use std::fmt;
use std::fs;
use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::format::MONTHS;
use crate::{Facility, Severity};

pub use crate::format::decode;

/// How often the receiving thread checks whether its [`Receiver`] was dropped, when no datagram
/// wakes it first. Drop also sends an empty datagram, so this is only the fallback.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// The receive buffer: larger than any datagram the kernel accepts with default limits
/// (`net.core.wmem_max`), so a message is never cut by the receiver.
const RECV_BUFFER: usize = 1024 * 1024;

/// Distinguishes the directories of receivers bound by one process.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// An in-process syslog receiver on a datagram socket in its own temporary directory.
///
/// A background thread receives every datagram, parses it into a [`Message`] and queues it (the
/// queue is unbounded, so the sender is never slowed by the test). Dropping the receiver stops the
/// thread and removes the directory.
///
/// # Examples
///
/// ```
/// use std::os::unix::net::UnixDatagram;
/// use std::time::Duration;
/// use fastsyslog::testing::Receiver;
///
/// let receiver = Receiver::bind()?;
/// let sender = UnixDatagram::unbound()?;
/// sender.send_to(b"<134>Nov  2 09:05:01 myapp[42]: hello", receiver.path())?;
///
/// let msg = receiver.recv_timeout(Duration::from_secs(5)).expect("arrives");
/// assert_eq!(msg.ident.as_deref(), Some("myapp"));
/// assert_eq!(msg.pid, Some(42));
/// assert_eq!(msg.body, "hello");
/// # Ok::<(), std::io::Error>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub struct Receiver {
    dir: PathBuf,
    path: PathBuf,
    /// A `Mutex` so that `Receiver` is `Sync` (`mpsc::Receiver` is not) and can be shared.
    messages: Mutex<mpsc::Receiver<Message>>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// State shared with the receiving thread.
#[derive(Debug, Default)]
struct Shared {
    stop: AtomicBool,
    count: AtomicU64,
}

// === impl Receiver ===

impl Receiver {
    /// Creates a new temporary directory, binds a datagram socket `log.sock` in it and starts the
    /// receiving thread.
    ///
    /// The directory is created under [`std::env::temp_dir`] with a name unique to this process
    /// and receiver, so receivers in parallel tests never share a socket.
    ///
    /// # Examples
    ///
    /// ```
    /// let receiver = fastsyslog::testing::Receiver::bind()?;
    /// assert!(receiver.path().exists());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When the directory cannot be created, the socket cannot be bound (for example when the
    /// temporary directory's path is too long for a socket address), or the thread cannot be
    /// spawned.
    pub fn bind() -> io::Result<Receiver> {
        let dir = unique_dir()?;
        let path = dir.join("log.sock");
        match Self::start(dir.clone(), path) {
            Ok(receiver) => Ok(receiver),
            Err(e) => {
                // The directory is ours and empty or holds only our socket; a failed removal
                // leaves a stray temp dir, which is not worth hiding the real error for.
                let _ = fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    fn start(dir: PathBuf, path: PathBuf) -> io::Result<Receiver> {
        let socket = UnixDatagram::bind(&path)?;
        socket.set_read_timeout(Some(POLL_INTERVAL))?;
        let shared = Arc::new(Shared::default());
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("fastsyslog-receiver".into())
            .spawn({
                let shared = Arc::clone(&shared);
                move || receive(&socket, &tx, &shared)
            })?;
        Ok(Receiver {
            dir,
            path,
            messages: Mutex::new(rx),
            shared,
            thread: Some(thread),
        })
    }

    /// The socket's path: give it to [`Builder::socket`](crate::Builder::socket) or set
    /// `FASTSYSLOG_SOCKET` to it.
    ///
    /// # Examples
    ///
    /// ```
    /// let receiver = fastsyslog::testing::Receiver::bind()?;
    /// assert!(receiver.path().ends_with("log.sock"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits up to `timeout` for the next message; `None` when none arrived in time.
    ///
    /// Messages come in the order their datagrams were received.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let receiver = fastsyslog::testing::Receiver::bind()?;
    /// assert!(receiver.recv_timeout(Duration::from_millis(10)).is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Message> {
        self.messages().recv_timeout(timeout).ok()
    }

    /// The next message if one is already queued, without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// let receiver = fastsyslog::testing::Receiver::bind()?;
    /// assert!(receiver.try_recv().is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_recv(&self) -> Option<Message> {
        self.messages().try_recv().ok()
    }

    /// Waits until `n` messages have arrived or `timeout` has passed, and returns the messages
    /// that arrived (fewer than `n` when the time ran out).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::net::UnixDatagram;
    /// use std::time::Duration;
    /// let receiver = fastsyslog::testing::Receiver::bind()?;
    /// let sender = UnixDatagram::unbound()?;
    /// for i in 0..3 {
    ///     sender.send_to(format!("<14>message {i}").as_bytes(), receiver.path())?;
    /// }
    /// let messages = receiver.collect(3, Duration::from_secs(5));
    /// let bodies: Vec<_> = messages.iter().map(|m| m.body.as_str()).collect();
    /// assert_eq!(bodies, ["message 0", "message 1", "message 2"]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn collect(&self, n: usize, timeout: Duration) -> Vec<Message> {
        let deadline = Instant::now() + timeout;
        let messages = self.messages();
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match messages.recv_timeout(left) {
                Ok(msg) => out.push(msg),
                Err(_) => break,
            }
        }
        out
    }

    /// How many datagrams have been received so far, including those already taken out with
    /// [`recv_timeout`](Receiver::recv_timeout) and friends. Cheap (one atomic load), for
    /// benchmarks that wait until everything arrived.
    ///
    /// A datagram is counted as soon as it is read from the socket, just before its [`Message`]
    /// is queued, so the count never lags behind what can be received.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::net::UnixDatagram;
    /// use std::time::Duration;
    /// let receiver = fastsyslog::testing::Receiver::bind()?;
    /// UnixDatagram::unbound()?.send_to(b"<14>one", receiver.path())?;
    /// receiver.recv_timeout(Duration::from_secs(5)).expect("arrives");
    /// assert_eq!(receiver.count(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn count(&self) -> u64 {
        self.shared.count.load(Ordering::Acquire)
    }

    fn messages(&self) -> MutexGuard<'_, mpsc::Receiver<Message>> {
        // The lock guards no invariant (a panic while holding it leaves the channel intact), so a
        // poisoned lock is used as is.
        self.messages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("path", &self.path)
            .field("count", &self.count())
            .finish_non_exhaustive()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        // Wake the thread now instead of at its next read timeout. Non-blocking, so a full queue
        // cannot hang the drop; if the wake-up is lost the read timeout still ends the thread.
        if let Ok(waker) = UnixDatagram::unbound() {
            let _ = waker.set_nonblocking(true);
            // Ignored: see above, the read timeout is the fallback.
            let _ = waker.send_to(&[], &self.path);
        }
        if let Some(thread) = self.thread.take() {
            // The thread only parses and queues; it cannot panic short of a bug, and a drop must
            // not panic in turn.
            let _ = thread.join();
        }
        // Best effort: a leftover temp directory must not turn a passing test into a panic.
        let _ = fs::remove_dir_all(&self.dir);
    }
}

// === Capture ===

/// Captures exactly one test's records, through the global `log` logger and through `tracing`,
/// however many tests in the binary do the same, in parallel threads too.
///
/// Each capture has its own [`Receiver`] and loggers (sync mode, directives `trace`, ident
/// `test`, or the [`Builder`](crate::Builder) given to [`with`](Capture::with)). The first capture
/// in the process installs a small global `log` logger that hands each record to the newest live
/// capture of the thread that logged it, and sets `log::max_level` to `Trace`; so `log` records
/// are captured when they are logged on the thread that made the capture (the test's thread). For
/// `tracing`, run the code under [`dispatch`](Capture::dispatch) with
/// `tracing::dispatcher::with_default`, which is per thread too.
///
/// # Examples
///
/// ```
/// use fastsyslog::testing::Capture;
///
/// let cap = Capture::new()?;
/// log::info!(target: "app", user = "ann"; "signed in");
/// # #[cfg(feature = "tracing")]
/// tracing::dispatcher::with_default(&cap.dispatch(), || {
///     tracing::warn!(attempts = 3, "slow");
/// });
/// let got = cap.messages();
/// assert_eq!(got[0].body, "signed in user=ann");
/// assert_eq!(got[0].field("user").as_deref(), Some("ann"));
/// # #[cfg(feature = "tracing")]
/// assert_eq!(got[1].field("attempts").as_deref(), Some("3"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[cfg(feature = "log")]
#[cfg_attr(docsrs, doc(cfg(all(feature = "testing", feature = "log"))))]
pub struct Capture {
    receiver: Receiver,
    logger: Arc<crate::Logger>,
    handles: Vec<crate::Handle>,
    #[cfg(feature = "tracing")]
    dispatch: tracing_core::Dispatch,
    /// How many messages [`messages`](Capture::messages) already returned.
    taken: AtomicU64,
    _guards: Vec<crate::WorkerGuard>,
}

#[cfg(feature = "log")]
thread_local! {
    /// This thread's live captures, newest last.
    static CAPTURES: std::cell::RefCell<Vec<Arc<crate::Logger>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The global `log` logger captures install: it hands each record to the logging thread's newest
/// capture, and drops it when the thread has none.
#[cfg(feature = "log")]
#[derive(Debug)]
struct ToThreadCapture;

#[cfg(feature = "log")]
impl log::Log for ToThreadCapture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        with_capture(|logger| log::Log::enabled(logger, metadata)).unwrap_or(false)
    }

    fn log(&self, record: &log::Record<'_>) {
        with_capture(|logger| log::Log::log(logger, record));
    }

    fn flush(&self) {
        // Captures send in sync mode: nothing is ever pending.
    }
}

/// Runs `f` with this thread's newest capture, if any. A re-entrant call (a `Display` impl that
/// logs while its record is captured) or a thread being torn down finds none.
#[cfg(feature = "log")]
fn with_capture<R>(f: impl FnOnce(&crate::Logger) -> R) -> Option<R> {
    let logger = CAPTURES
        .try_with(|c| c.try_borrow().ok().and_then(|c| c.last().cloned()))
        .ok()
        .flatten()?;
    Some(f(&logger))
}

/// Installs [`ToThreadCapture`] once; whether it is the global `log` logger.
#[cfg(feature = "log")]
fn install_capture_logger() -> bool {
    static ONCE: std::sync::Once = std::sync::Once::new();
    static OURS: AtomicBool = AtomicBool::new(false);
    ONCE.call_once(|| {
        if log::set_logger(&ToThreadCapture).is_ok() {
            log::set_max_level(log::LevelFilter::Trace);
            OURS.store(true, Ordering::Release);
        }
    });
    OURS.load(Ordering::Acquire)
}

// === impl Capture ===

#[cfg(feature = "log")]
impl Capture {
    /// A capture with the default settings (logfmt, directives `trace`, ident `test`).
    ///
    /// # Errors
    ///
    /// When the receiver cannot be bound, or another global `log` logger is already installed.
    ///
    /// # Examples
    ///
    /// ```
    /// let cap = fastsyslog::testing::Capture::new()?;
    /// log::debug!("hello");
    /// assert_eq!(cap.messages()[0].body, "hello");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<Capture> {
        Capture::with(|| crate::Builder::new().filter("trace").ident("test"))
    }

    /// A capture whose loggers are built from `builder()` (format, routes, directives, ident),
    /// called once per logger; their socket and mode are replaced by the capture's receiver and
    /// sync mode.
    ///
    /// # Errors
    ///
    /// As [`new`](Capture::new), and when the builder's settings do not build.
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::{testing::Capture, Builder, Format};
    ///
    /// let cap = Capture::with(|| Builder::new().format(Format::Json).filter("info"))?;
    /// log::info!(status = 200; "GET /");
    /// let msg = &cap.messages()[0];
    /// assert_eq!(msg.body, r#"@cee: {"msg":"GET /","status":200}"#);
    /// assert_eq!(msg.field("status").as_deref(), Some("200"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with(builder: impl Fn() -> crate::Builder) -> io::Result<Capture> {
        if !install_capture_logger() {
            return Err(io::Error::other(
                "another global `log` logger is installed; Capture needs to be the global logger",
            ));
        }
        let receiver = Receiver::bind()?;
        let builder = || builder().socket(receiver.path()).mode(crate::Mode::Sync);
        #[cfg(feature = "tracing")]
        let (subscriber, sub_guard) = builder().build_subscriber().map_err(io::Error::other)?;
        let (logger, guard) = builder().build().map_err(io::Error::other)?;
        let logger = Arc::new(logger);
        CAPTURES.with(|c| c.borrow_mut().push(Arc::clone(&logger)));
        #[allow(unused_mut)] // Only the tracing build adds a second pipeline.
        let mut handles = vec![logger.handle()];
        #[allow(unused_mut)]
        let mut guards = vec![guard];
        #[cfg(feature = "tracing")]
        {
            handles.push(subscriber.handle());
            guards.push(sub_guard);
        }
        Ok(Capture {
            receiver,
            logger,
            handles,
            #[cfg(feature = "tracing")]
            dispatch: tracing_core::Dispatch::new(subscriber),
            taken: AtomicU64::new(0),
            _guards: guards,
        })
    }

    /// The capture as a `tracing` dispatcher, for `tracing::dispatcher::with_default`.
    ///
    /// # Examples
    ///
    /// ```
    /// let cap = fastsyslog::testing::Capture::new()?;
    /// tracing::dispatcher::with_default(&cap.dispatch(), || tracing::info!(n = 1, "hi"));
    /// assert_eq!(cap.messages()[0].body, "hi n=1");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[cfg(feature = "tracing")]
    #[cfg_attr(docsrs, doc(cfg(all(feature = "testing", feature = "tracing"))))]
    pub fn dispatch(&self) -> tracing_core::Dispatch {
        self.dispatch.clone()
    }

    /// Every message captured since the last call, in the order sent. Waits (up to 5 s) until
    /// everything the capture's loggers sent has been received, so no retry is needed.
    ///
    /// # Examples
    ///
    /// ```
    /// let cap = fastsyslog::testing::Capture::new()?;
    /// assert!(cap.messages().is_empty());
    /// log::warn!("careful");
    /// assert_eq!(cap.messages().len(), 1);
    /// assert!(cap.messages().is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn messages(&self) -> Vec<Message> {
        let sent: u64 = self.handles.iter().map(|h| h.stats().written).sum();
        let want = sent.saturating_sub(self.taken.load(Ordering::Acquire));
        let got = self.receiver.collect(
            usize::try_from(want).unwrap_or(usize::MAX),
            Duration::from_secs(5),
        );
        self.taken.fetch_add(got.len() as u64, Ordering::AcqRel);
        got
    }
}

#[cfg(feature = "log")]
impl fmt::Debug for Capture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Capture")
            .field("receiver", &self.receiver)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "log")]
impl Drop for Capture {
    fn drop(&mut self) {
        // Ignored when the thread is being torn down: its captures go with it.
        let _ = CAPTURES.try_with(|c| {
            if let Ok(mut c) = c.try_borrow_mut() {
                c.retain(|l| !Arc::ptr_eq(l, &self.logger));
            }
        });
    }
}

/// Creates a fresh directory `fastsyslog-<pid>-<n>-<nanos>` under the temporary directory.
fn unique_dir() -> io::Result<PathBuf> {
    let base = std::env::temp_dir();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut last_err = None;
    // A name can only be taken by a stale directory of an earlier process with the same pid, so a
    // few tries with a new counter value always find a free one.
    for _ in 0..16 {
        let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("fastsyslog-{}-{n}-{nanos}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| io::ErrorKind::AlreadyExists.into()))
}

/// The receiving thread: one datagram, one message, until the receiver is dropped.
fn receive(socket: &UnixDatagram, tx: &mpsc::Sender<Message>, shared: &Shared) {
    let mut buf = vec![0; RECV_BUFFER];
    while !shared.stop.load(Ordering::Acquire) {
        match socket.recv(&mut buf) {
            Ok(n) => {
                // The datagram may be the drop's wake-up: check before queueing it.
                if shared.stop.load(Ordering::Acquire) {
                    break;
                }
                // Counted before queueing, so every message taken out of the queue is already
                // in `count()`.
                shared.count.fetch_add(1, Ordering::Release);
                if tx.send(Message::parse(&buf[..n])).is_err() {
                    break;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            // Nothing to report to: the owner sees no more messages arrive.
            Err(_) => break,
        }
    }
}

/// One received syslog message, parsed.
///
/// Fields the message does not carry (or that did not parse) are `None`. Anything that is not a
/// syslog header at all ends up whole in [`body`](Message::body), with every other field `None`.
///
/// # Examples
///
/// ```
/// use fastsyslog::testing::Message;
/// use fastsyslog::{Facility, Severity};
///
/// let msg = Message::parse(b"<134>Nov  2 09:05:01 myapp[42]: GET /a status=200");
/// assert_eq!(msg.priority, Some(134));
/// assert_eq!(msg.facility, Some(Facility::Local0));
/// assert_eq!(msg.severity, Some(Severity::Informational));
/// assert_eq!(msg.timestamp.as_deref(), Some("Nov  2 09:05:01"));
/// assert_eq!(msg.ident.as_deref(), Some("myapp"));
/// assert_eq!(msg.pid, Some(42));
/// assert_eq!(msg.body, "GET /a status=200");
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub struct Message {
    /// The datagram exactly as received.
    pub raw: Vec<u8>,
    /// The `PRI` value, 0 to 191.
    pub priority: Option<u8>,
    /// The facility from `PRI`.
    pub facility: Option<Facility>,
    /// The severity from `PRI`.
    pub severity: Option<Severity>,
    /// The timestamp as written: `Nov  2 09:05:01` (RFC 3164) or `2026-11-22T20:34:36.123456+01:00`
    /// (RFC 5424).
    pub timestamp: Option<String>,
    /// The HOSTNAME field (RFC 5424 only; RFC 3164 messages from `syslog(3)` carry none).
    pub hostname: Option<String>,
    /// The program name: the RFC 3164 tag before `[pid]:` or `:`, or the RFC 5424 APP-NAME.
    pub ident: Option<String>,
    /// The process id: `[pid]` in RFC 3164, a numeric PROCID in RFC 5424.
    pub pid: Option<u32>,
    /// The RFC 5424 STRUCTURED-DATA elements exactly as written, brackets included (`None` for
    /// `-`).
    pub structured_data: Option<String>,
    /// The message text (lossy UTF-8; an RFC 5424 byte-order mark is removed). Nothing else is
    /// removed: a trailing newline or NUL is kept.
    pub body: String,
}

// === impl Message ===

impl fmt::Debug for Message {
    /// One line per message: the parsed header fields that are set, then the body as a string
    /// (the raw bytes are left out: they repeat the rest).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Message");
        if let Some(p) = self.priority {
            d.field("priority", &p);
        }
        if let (Some(fac), Some(sev)) = (self.facility, self.severity) {
            d.field("facility", &format_args!("{fac}"));
            d.field("severity", &format_args!("{sev}"));
        }
        if let Some(ident) = &self.ident {
            d.field("ident", ident);
        }
        if let Some(pid) = self.pid {
            d.field("pid", &pid);
        }
        if let Some(sd) = &self.structured_data {
            d.field("structured_data", sd);
        }
        d.field("body", &self.body);
        d.finish_non_exhaustive()
    }
}

impl Message {
    /// The record's key/value pairs, whichever body format carried them: logfmt
    /// (`msg key=value`), JSON (`@cee: {...}`, every member but `msg`) or RFC 5424
    /// STRUCTURED-DATA (`[fields@32473 ...]`). Span fields come first, as `span.key`. Values are
    /// text, unescaped. Decoded by [`decode::body_fields`].
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::testing::Message;
    ///
    /// let pairs = |m: Message| m.fields();
    /// let want = vec![("req.id".to_owned(), "7".to_owned()), ("status".to_owned(), "200".to_owned())];
    /// assert_eq!(pairs(Message::parse(b"<134>Nov  2 09:05:01 a[1]: GET /a req.id=7 status=200")), want);
    /// assert_eq!(
    ///     pairs(Message::parse(br#"<134>Nov  2 09:05:01 a[1]: @cee: {"msg":"GET /a","spans":[{"name":"req","id":7}],"status":200}"#)),
    ///     want
    /// );
    /// assert_eq!(
    ///     pairs(Message::parse(br#"<134>1 2026-11-22T20:34:36Z h a 1 - [span1@32473 name="req" id="7"][fields@32473 status="200"] GET /a"#)),
    ///     want
    /// );
    /// ```
    pub fn fields(&self) -> Vec<(String, String)> {
        decode::body_fields(&self.body, self.structured_data.as_deref())
    }

    /// The value of field `key` (see [`fields`](Message::fields)); the first when it repeats.
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::testing::Message;
    ///
    /// let msg = Message::parse(br#"<134>Nov  2 09:05:01 a[1]: GET /a path="/a b" status=200"#);
    /// assert_eq!(msg.field("path").as_deref(), Some("/a b"));
    /// assert_eq!(msg.field("nope"), None);
    /// ```
    pub fn field(&self, key: &str) -> Option<String> {
        self.fields()
            .into_iter()
            .find_map(|(k, v)| (k == key).then_some(v))
    }

    /// Parses one syslog datagram in RFC 3164 or RFC 5424 format.
    ///
    /// - `<PRI>1 ...` is RFC 5424: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]`,
    ///   where `-` is a nil field and SD is `-` or `[id k="v"]` elements (in which `\"`, `\\` and
    ///   `\]` are escapes).
    /// - `<PRI>Mmm dd hh:mm:ss ` is RFC 3164 as glibc writes it: then `ident[pid]: body` or
    ///   `ident: body`; text without such a tag is all body.
    /// - With a valid `<PRI>` but neither header, everything after `<PRI>` is the body.
    /// - Without a valid `<PRI>` (0 to 191), the whole datagram is the body.
    ///
    /// Never fails and never panics: malformed input only leaves fields `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::testing::Message;
    ///
    /// let msg = Message::parse(
    ///     br#"<142>1 2026-11-22T20:34:36Z web01 myapp 42 - [fields@32473 path="/a\]b"] done"#,
    /// );
    /// assert_eq!(msg.hostname.as_deref(), Some("web01"));
    /// assert_eq!(msg.ident.as_deref(), Some("myapp"));
    /// assert_eq!(msg.structured_data.as_deref(), Some(r#"[fields@32473 path="/a\]b"]"#));
    /// assert_eq!(msg.body, "done");
    ///
    /// let garbage = Message::parse(b"not syslog");
    /// assert_eq!((garbage.priority, garbage.body.as_str()), (None, "not syslog"));
    /// ```
    pub fn parse(raw: &[u8]) -> Message {
        let mut msg = Message {
            raw: raw.to_vec(),
            priority: None,
            facility: None,
            severity: None,
            timestamp: None,
            hostname: None,
            ident: None,
            pid: None,
            structured_data: None,
            body: String::new(),
        };
        let Some((pri, rest)) = parse_pri(raw) else {
            msg.body = text(raw);
            return msg;
        };
        msg.priority = Some(pri);
        msg.facility = Facility::from_code(pri / 8);
        msg.severity = Severity::from_code(pri % 8);
        if let Some(h) = rest.strip_prefix(b"1 ").and_then(parse_5424) {
            msg.timestamp = nil(h.timestamp);
            msg.hostname = nil(h.hostname);
            msg.ident = nil(h.app);
            msg.pid = nil(h.procid).and_then(|p| p.parse().ok());
            msg.structured_data = h.structured_data.map(text);
            let body = h.msg.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(h.msg);
            msg.body = text(body);
        } else if let Some(h) = parse_3164(rest) {
            msg.timestamp = Some(text(h.timestamp));
            msg.ident = h.ident.map(text);
            msg.pid = h.pid;
            msg.body = text(h.body);
        } else {
            msg.body = text(rest);
        }
        msg
    }
}

/// Lossy UTF-8 as an owned `String`.
fn text(bytes: &[u8]) -> String {
    match String::from_utf8_lossy(bytes) {
        Cow::Borrowed(s) => s.to_owned(),
        Cow::Owned(s) => s,
    }
}

/// A header field, or `None` for the RFC 5424 nil value `-`.
fn nil(field: &[u8]) -> Option<String> {
    (field != b"-").then(|| text(field))
}

/// `<PRI>` with 1 to 3 digits and a value of at most 191; returns it and the rest.
fn parse_pri(raw: &[u8]) -> Option<(u8, &[u8])> {
    let rest = raw.strip_prefix(b"<")?;
    let close = rest.iter().take(4).position(|&b| b == b'>')?;
    let digits = &rest[..close];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits
        .iter()
        .fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
    let pri = u8::try_from(value).ok().filter(|&p| p <= 191)?;
    Some((pri, &rest[close + 1..]))
}

/// The fields of an RFC 5424 header, borrowed from the datagram.
struct Header5424<'a> {
    timestamp: &'a [u8],
    hostname: &'a [u8],
    app: &'a [u8],
    procid: &'a [u8],
    structured_data: Option<&'a [u8]>,
    msg: &'a [u8],
}

/// The part of an RFC 5424 message after `<PRI>1 `.
fn parse_5424(s: &[u8]) -> Option<Header5424<'_>> {
    let (timestamp, s) = token(s)?;
    let (hostname, s) = token(s)?;
    let (app, s) = token(s)?;
    let (procid, s) = token(s)?;
    let (_msgid, s) = token(s)?;
    let (structured_data, s) = match s.strip_prefix(b"-") {
        Some(rest) => (None, rest),
        None => {
            let end = sd_end(s)?;
            (Some(&s[..end]), &s[end..])
        }
    };
    let msg = if s.is_empty() {
        s
    } else {
        s.strip_prefix(b" ")?
    };
    Some(Header5424 {
        timestamp,
        hostname,
        app,
        procid,
        structured_data,
        msg,
    })
}

/// A non-empty field followed by one space; returns the field and what follows the space.
fn token(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = s.iter().position(|&b| b == b' ')?;
    (end > 0).then(|| (&s[..end], &s[end + 1..]))
}

/// The length of the SD-ELEMENTs at the start of `s` (`[...]` repeated), or `None` when `s` does
/// not start with a complete one. A backslash escapes the next byte (`\]`, `\"`, `\\`), and `]`
/// inside a quoted PARAM-VALUE does not end the element.
fn sd_end(s: &[u8]) -> Option<usize> {
    let mut i = 0;
    while s.get(i) == Some(&b'[') {
        i += 1;
        let mut quoted = false;
        loop {
            match *s.get(i)? {
                b'\\' => i += 1,
                b'"' => quoted = !quoted,
                b']' if !quoted => break,
                _ => {}
            }
            i += 1;
        }
        // Past the closing `]`.
        i += 1;
    }
    (i > 0).then_some(i)
}

/// The fields of an RFC 3164 message, borrowed from the datagram.
struct Header3164<'a> {
    timestamp: &'a [u8],
    ident: Option<&'a [u8]>,
    pid: Option<u32>,
    body: &'a [u8],
}

/// The part of an RFC 3164 message after `<PRI>`: `Mmm dd hh:mm:ss ` then an optional tag.
fn parse_3164(s: &[u8]) -> Option<Header3164<'_>> {
    let timestamp = s.get(..15)?;
    if !is_3164_timestamp(timestamp) || s.get(15) != Some(&b' ') {
        return None;
    }
    let rest = &s[16..];
    let (ident, pid, body) = parse_tag(rest).unwrap_or((None, None, rest));
    Some(Header3164 {
        timestamp,
        ident,
        pid,
        body,
    })
}

/// `Mmm dd hh:mm:ss` with a space-padded or two-digit day.
fn is_3164_timestamp(t: &[u8]) -> bool {
    let digit = |i: usize| t[i].is_ascii_digit();
    MONTHS.iter().any(|m| t[..3] == m[..])
        && t[3] == b' '
        && (t[4] == b' ' || digit(4))
        && digit(5)
        && t[6] == b' '
        && digit(7)
        && digit(8)
        && t[9] == b':'
        && digit(10)
        && digit(11)
        && t[12] == b':'
        && digit(13)
        && digit(14)
}

/// Optional-field parts of a 3164 tag: ident, pid and the body after it.
type Tag<'a> = (Option<&'a [u8]>, Option<u32>, &'a [u8]);

/// `ident[pid]: body` or `ident: body` (one space after the colon is part of the separator).
fn parse_tag(s: &[u8]) -> Option<Tag<'_>> {
    let end = s
        .iter()
        .position(|&b| matches!(b, b'[' | b':' | b' '))
        .filter(|&end| end > 0)?;
    let ident = &s[..end];
    let (pid, after) = match s[end] {
        b'[' => {
            let inner = &s[end + 1..];
            let close = inner.iter().position(|&b| b == b']')?;
            let digits = std::str::from_utf8(&inner[..close]).ok()?;
            (digits.parse().ok(), inner[close + 1..].strip_prefix(b":")?)
        }
        b':' => (None, &s[end + 1..]),
        _ => return None,
    };
    let body = after.strip_prefix(b" ").unwrap_or(after);
    Some((Some(ident), pid, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields of a parsed message, without `raw`, for table comparisons.
    type Fields<'a> = (
        Option<u8>,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        Option<u32>,
        Option<&'a str>,
        &'a str,
    );

    fn fields(m: &Message) -> Fields<'_> {
        (
            m.priority,
            m.timestamp.as_deref(),
            m.hostname.as_deref(),
            m.ident.as_deref(),
            m.pid,
            m.structured_data.as_deref(),
            m.body.as_str(),
        )
    }

    #[test]
    fn parses_golden_messages() {
        let cases: &[(&[u8], Fields<'_>)] = &[
            // glibc syslog(3) with LOG_PID.
            (
                b"<134>Nov  2 09:05:01 myapp[1234]: GET /a status=200",
                (Some(134), Some("Nov  2 09:05:01"), None, Some("myapp"), Some(1234), None, "GET /a status=200"),
            ),
            // glibc without LOG_PID, two-digit day.
            (
                b"<11>Nov 22 20:34:36 cron: job done",
                (Some(11), Some("Nov 22 20:34:36"), None, Some("cron"), None, None, "job done"),
            ),
            // A colon in the body stays in the body; no space after the tag's colon.
            (
                b"<13>Jan  1 00:00:00 app:a: b",
                (Some(13), Some("Jan  1 00:00:00"), None, Some("app"), None, None, "a: b"),
            ),
            // No tag after the timestamp: everything is body.
            (
                b"<13>Jan  1 00:00:00 hello world: x",
                (Some(13), Some("Jan  1 00:00:00"), None, None, None, None, "hello world: x"),
            ),
            // Empty body.
            (
                b"<14>Dec 31 23:59:59 app[7]: ",
                (Some(14), Some("Dec 31 23:59:59"), None, Some("app"), Some(7), None, ""),
            ),
            // RFC 5424 without SD.
            (
                b"<141>1 2026-11-22T20:34:36.123456+01:00 web01 myapp 42 - - hello world",
                (
                    Some(141),
                    Some("2026-11-22T20:34:36.123456+01:00"),
                    Some("web01"),
                    Some("myapp"),
                    Some(42),
                    None,
                    "hello world",
                ),
            ),
            // RFC 5424 with SD: escaped `]` and `"`, `]` inside quotes, two elements.
            (
                br#"<142>1 2026-11-22T20:34:36Z web01 myapp 42 - [fields@32473 k="v \] x" q="a\"b" r="]"][span1@32473 name="req"] msg [not sd]"#,
                (
                    Some(142),
                    Some("2026-11-22T20:34:36Z"),
                    Some("web01"),
                    Some("myapp"),
                    Some(42),
                    Some(r#"[fields@32473 k="v \] x" q="a\"b" r="]"][span1@32473 name="req"]"#),
                    "msg [not sd]",
                ),
            ),
            // RFC 5424 with SD and no MSG.
            (
                b"<142>1 2026-11-22T20:34:36Z h a 1 - [x@32473 k=\"v\"]",
                (Some(142), Some("2026-11-22T20:34:36Z"), Some("h"), Some("a"), Some(1), Some("[x@32473 k=\"v\"]"), ""),
            ),
            // RFC 5424 with every field nil, no MSG; a non-numeric PROCID is no pid.
            (b"<14>1 - - - - - -", (Some(14), None, None, None, None, None, "")),
            (b"<14>1 - - app worker-3 - - m", (Some(14), None, None, Some("app"), None, None, "m")),
            // BOM before the MSG is removed.
            (b"<14>1 - - - - - - \xEF\xBB\xBFbom", (Some(14), None, None, None, None, None, "bom")),
            // Valid PRI, no header: the rest is the body.
            (b"<13>just text", (Some(13), None, None, None, None, None, "just text")),
            (b"<0>", (Some(0), None, None, None, None, None, "")),
            (b"<191>x", (Some(191), None, None, None, None, None, "x")),
            // Broken 5424 header (unterminated SD): the rest after PRI is the body.
            (b"<14>1 - - - - - [open", (Some(14), None, None, None, None, None, "1 - - - - - [open")),
            // Not syslog at all: the whole text is the body.
            (b"hello world", (None, None, None, None, None, None, "hello world")),
            (b"<192>too big", (None, None, None, None, None, None, "<192>too big")),
            (b"<1234>x", (None, None, None, None, None, None, "<1234>x")),
            (b"<>x", (None, None, None, None, None, None, "<>x")),
            (b"<13", (None, None, None, None, None, None, "<13")),
            (b"", (None, None, None, None, None, None, "")),
        ];
        for (raw, want) in cases {
            let msg = Message::parse(raw);
            assert_eq!(fields(&msg), *want, "{}", String::from_utf8_lossy(raw));
            assert_eq!(msg.raw, *raw);
        }
    }

    #[test]
    fn pri_splits_into_facility_and_severity() {
        let msg = Message::parse(b"<134>Nov  2 09:05:01 a: b");
        assert_eq!(msg.facility, Some(Facility::Local0));
        assert_eq!(msg.severity, Some(Severity::Informational));
        let msg = Message::parse(b"<139>1 - - - - - -");
        assert_eq!(msg.facility, Some(Facility::Local1));
        assert_eq!(msg.severity, Some(Severity::Error));
        let msg = Message::parse(b"garbage");
        assert_eq!((msg.facility, msg.severity), (None, None));
    }

    #[test]
    fn invalid_utf8_is_replaced_and_raw_kept() {
        let raw = b"<14>Nov  2 09:05:01 app[1]: bad \xFF byte\n";
        let msg = Message::parse(raw);
        assert_eq!(msg.body, "bad \u{FFFD} byte\n");
        assert_eq!(msg.raw, raw);
    }

    #[test]
    fn truncated_inputs_never_panic() {
        let full: &[u8] = br#"<142>1 2026-11-22T20:34:36Z web01 myapp 42 - [f@1 k="a\]\"b"] body"#;
        let glibc: &[u8] = b"<134>Nov  2 09:05:01 myapp[1234]: GET /a";
        for raw in [full, glibc] {
            for end in 0..=raw.len() {
                let _ = Message::parse(&raw[..end]);
            }
        }
    }

    #[test]
    fn receiver_delivers_in_order_and_counts() {
        let receiver = Receiver::bind().unwrap();
        let sender = UnixDatagram::unbound().unwrap();
        for i in 0..20 {
            sender
                .send_to(format!("<14>m{i}").as_bytes(), receiver.path())
                .unwrap();
        }
        let got = receiver.collect(20, Duration::from_secs(5));
        let bodies: Vec<String> = got.into_iter().map(|m| m.body).collect();
        let want: Vec<String> = (0..20).map(|i| format!("m{i}")).collect();
        assert_eq!(bodies, want);
        assert_eq!(receiver.count(), 20);
        assert!(receiver.try_recv().is_none());
    }

    #[test]
    fn collect_returns_early_with_what_arrived() {
        let receiver = Receiver::bind().unwrap();
        UnixDatagram::unbound()
            .unwrap()
            .send_to(b"<14>only", receiver.path())
            .unwrap();
        let got = receiver.collect(2, Duration::from_millis(200));
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn receivers_do_not_share_paths_and_drop_cleans_up() {
        let a = Receiver::bind().unwrap();
        let b = Receiver::bind().unwrap();
        assert_ne!(a.path(), b.path());
        let dir = a.path().parent().unwrap().to_owned();
        assert!(dir.starts_with(std::env::temp_dir()));
        drop(a);
        assert!(!dir.exists());
        assert!(b.path().exists());
    }

    #[test]
    fn receiver_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Receiver>();
    }
}
