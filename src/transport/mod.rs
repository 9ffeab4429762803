//! Transports: how a rendered message reaches the syslog daemon, and which one a logger uses.
//!
//! - `unix`: datagrams to a socket path (the default when a socket is set);
//! - `stream`: a unix stream socket with octet-counted framing, many records per write
//!   ([`Builder::stream_socket`](crate::Builder::stream_socket));
//! - `libc`: glibc's `syslog(3)` to `/dev/log` (the default otherwise), with its own fallback for a
//!   forked child that must not call into glibc's syslog code.

use std::fmt;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::error::Error;
use crate::severity::Priority;
use crate::stats::Counters;
use crate::Facility;

#[cfg(unix)]
mod libc;
#[cfg(unix)]
mod stream;
#[cfg(unix)]
mod unix;

/// The socket the unix transport uses when no path is given, and the one `syslog(3)` writes to.
pub const DEFAULT_SOCKET: &str = "/dev/log";

/// How the stream transport ([`Builder::stream_socket`](crate::Builder::stream_socket)) marks
/// where one record ends and the next begins (RFC 6587).
///
/// # Examples
///
/// ```
/// use fastsyslog::{Builder, StreamFraming};
///
/// // syslog-ng's unix-stream() source reads one record per line.
/// let conf = Builder::new()
///     .stream_socket("/run/app/log.sock")
///     .stream_framing(StreamFraming::NonTransparent)
///     .syslog_ng_config("/var/log/app")?;
/// assert!(conf.contains(r#"unix-stream("/run/app/log.sock""#));
/// # Ok::<(), fastsyslog::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StreamFraming {
    /// Octet counting (RFC 6587 3.4.1): `LEN SP MSG`, the length in decimal. Any byte may be in a
    /// record. rsyslog's `imptcp` reads it; `FASTSYSLOG_SOCKET=stream:PATH`.
    #[default]
    OctetCounting,
    /// Non-transparent framing (RFC 6587 3.4.2): `MSG LF`. Safe for this crate's records, which
    /// never hold a raw line feed (every format escapes it as `\n`). syslog-ng's `unix-stream()`
    /// source reads it; `FASTSYSLOG_SOCKET=stream-lf:PATH`.
    NonTransparent,
}

/// Sends rendered messages. Implementations are shared between threads (sync mode) or owned by the
/// background writer.
pub(crate) trait Transport: Send + Sync + fmt::Debug {
    /// Sends one message rendered with this transport's [`Framing`](crate::format::Framing).
    fn send(&self, priority: Priority, msg: &[u8]) -> io::Result<()>;

    /// Sends several messages. Returns how many were sent, and the error that stopped the batch, if
    /// any (the message at index `sent` failed; the caller decides whether to retry or count it).
    #[cfg_attr(not(feature = "background"), allow(dead_code))] // Only the background writer uses it.
    fn send_batch(&self, batch: &[(Priority, &[u8])]) -> (usize, Option<io::Error>) {
        for (i, (priority, msg)) in batch.iter().enumerate() {
            if let Err(e) = self.send(*priority, msg) {
                return (i, Some(e));
            }
        }
        (batch.len(), None)
    }
}

/// Whether `e` means no daemon is reading at the socket now (absent, restarting, or the socket
/// was replaced): the unix transport reconnects on these, and the background writer keeps the
/// records queued until a send succeeds again.
#[cfg_attr(not(feature = "background"), allow(dead_code))]
pub(crate) fn daemon_away(e: &io::Error) -> bool {
    use crate::sys::net::errno;
    matches!(
        e.raw_os_error(),
        Some(
            errno::ECONNREFUSED
                | errno::ENOTCONN
                | errno::ENOENT
                | errno::ECONNRESET
                | errno::EDESTADDRREQ
                | errno::EPIPE
        )
    )
}

/// A transport that could not be created: every send fails with the original error kind, so each
/// record is counted as a send error instead of vanishing.
#[derive(Debug)]
pub(crate) struct Failed(pub(crate) io::ErrorKind);

impl Transport for Failed {
    fn send(&self, _priority: Priority, _msg: &[u8]) -> io::Result<()> {
        Err(io::Error::from(self.0))
    }
}

/// A factory that makes a transport; the background writer calls it again in a forked child.
pub(crate) type Factory = Box<dyn Fn() -> Box<dyn Transport> + Send + Sync>;

/// What a logger's transport is made from: the builder's resolved settings.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The unix transport's socket; `None` for `syslog(3)`.
    pub(crate) socket: Option<PathBuf>,
    /// How records are framed when `socket` is a stream socket; `None` for datagrams.
    pub(crate) stream: Option<StreamFraming>,
    /// The sanitized ident, for `openlog`.
    pub(crate) ident: String,
    /// The facility `openlog` is given (records carry their own).
    pub(crate) facility: Facility,
    /// The bound on one blocking send of the unix transport (`None`: no bound).
    pub(crate) send_timeout: Option<Duration>,
    /// Whether a daemon that cannot be reached now is an error.
    pub(crate) strict: bool,
}

/// The transport for now and the factory for forked children.
///
/// The unix transport is connected here, so a path that can never work (too long, NUL) and, with
/// `strict`, a socket that cannot be reached now are errors naming the path. With `strict` the
/// libc transport checks that `/dev/log` can be reached, since `openlog` reports nothing.
#[cfg(unix)]
pub(crate) fn open(
    target: Target,
    counters: Arc<Counters>,
) -> Result<(Box<dyn Transport>, Factory), Error> {
    use self::libc::{leak_ident, LibcTransport};
    use self::stream::StreamTransport;
    use self::unix::UnixTransport;

    crate::sys::fork::track_forks();
    let Target {
        socket,
        stream,
        ident,
        facility,
        send_timeout,
        strict,
    } = target;
    if !strict {
        warn_if_unreachable(
            socket.as_deref().unwrap_or(Path::new(DEFAULT_SOCKET)),
            stream.is_some(),
        );
    }
    match (socket, stream) {
        (Some(path), Some(framing)) => {
            let first = StreamTransport::connect(
                &path,
                framing,
                send_timeout,
                strict,
                Arc::clone(&counters),
            )
            .map_err(|e| connect_error(&path, e))?;
            let make: Factory = Box::new(move || {
                let counters = Arc::clone(&counters);
                match StreamTransport::connect(&path, framing, send_timeout, false, counters) {
                    Ok(t) => Box::new(t) as Box<dyn Transport>,
                    // Not strict: only a path that can never work fails, and that failed above.
                    Err(e) => Box::new(Failed(e.kind())),
                }
            });
            Ok((Box::new(first), make))
        }
        (Some(path), None) => {
            let first = UnixTransport::connect(&path, send_timeout, strict, Arc::clone(&counters))
                .map_err(|e| connect_error(&path, e))?;
            let make: Factory = Box::new(move || {
                match UnixTransport::connect(&path, send_timeout, false, Arc::clone(&counters)) {
                    Ok(t) => Box::new(t) as Box<dyn Transport>,
                    // Creating an unbound datagram socket only fails on descriptor exhaustion; the
                    // null transport then counts every record as a send error.
                    Err(e) => Box::new(Failed(e.kind())),
                }
            });
            Ok((Box::new(first), make))
        }
        (None, _) => {
            if strict {
                let path = Path::new(DEFAULT_SOCKET);
                probe(path).map_err(|e| connect_error(path, e))?;
            }
            let ident = leak_ident(&ident)?;
            let make: Factory = Box::new(move || {
                Box::new(LibcTransport::open(ident, facility, Arc::clone(&counters)))
                    as Box<dyn Transport>
            });
            Ok((make(), make))
        }
    }
}

/// No transport off Unix: building a logger is an [`ErrorKind::Unsupported`] error.
///
/// [`ErrorKind::Unsupported`]: crate::ErrorKind::Unsupported
#[cfg(not(unix))]
pub(crate) fn open(
    _target: Target,
    _counters: Arc<Counters>,
) -> Result<(Box<dyn Transport>, Factory), Error> {
    Err(Error::new(
        crate::ErrorKind::Unsupported,
        "syslog is only available on Unix platforms",
    ))
}

/// Whether a datagram socket can be connected to `path` now (a daemon is listening there).
#[cfg(unix)]
pub(super) fn probe(path: &Path) -> io::Result<()> {
    std::os::unix::net::UnixDatagram::unbound().and_then(|s| s.connect(path))
}

/// [`probe`] for a stream socket: connects and closes at once, waiting at most 100 ms for room
/// in a hung daemon's backlog.
#[cfg(unix)]
fn probe_stream(path: &Path) -> io::Result<()> {
    crate::sys::net::connect_stream(path, Some(Duration::from_millis(100))).map(drop)
}

/// Failure visible by default: one stderr line when the daemon cannot be reached at start-up (not
/// strict, so the logger starts anyway and counts what it cannot send).
#[cfg(unix)]
fn warn_if_unreachable(path: &Path, stream: bool) {
    let reached = if stream {
        probe_stream(path)
    } else {
        probe(path)
    };
    if let Err(e) = reached {
        // The logger cannot report about itself through itself; stderr is all there is.
        let _ = writeln!(
            io::stderr(),
            "fastsyslog: cannot reach the syslog daemon at {}: {e}; records are counted as dropped \
             until it appears (FASTSYSLOG_STRICT=1 makes this an error)",
            path.display()
        );
    }
}

/// The error for a socket that cannot be reached at start-up, naming the path.
#[cfg(unix)]
fn connect_error(path: &Path, e: io::Error) -> Error {
    Error::with_source(
        crate::ErrorKind::Connect,
        format!("could not connect to {}", path.display()),
        e,
    )
}

#[cfg(all(test, unix))]
pub(crate) mod tests {
    //! Helpers the transports' unit tests share.

    use std::os::unix::net::UnixDatagram;
    use std::path::Path;
    use std::time::Duration;

    /// A receiver bound at `path`, with a read timeout: a lost datagram fails the test instead of
    /// hanging it.
    pub(crate) fn bind(path: &Path) -> UnixDatagram {
        let rx = UnixDatagram::bind(path).expect("bind receiver");
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        rx
    }

    /// The next datagram `rx` receives.
    pub(crate) fn recv(rx: &UnixDatagram) -> Vec<u8> {
        let mut buf = vec![0; 4096];
        let n = rx.recv(&mut buf).expect("datagram arrives");
        buf.truncate(n);
        buf
    }
}
