//! AF_UNIX stream transport with RFC 6587 framing: octet counting (`LEN SP MSG`, no trailer) or
//! non-transparent (`MSG LF`), see [`StreamFraming`]. A whole batch goes out in one `sendmsg(2)`
//! of many buffers ([`sys::net::send_vectored`](crate::sys::net::send_vectored)), where datagrams
//! need one message per record.
//!
//! The bytes of each record are those the datagram transport sends, cut to the same
//! `max_message_size`; only the framing is added.
//!
//! **Partial writes and delivery.** A stream may take part of a frame. The transport keeps track
//! of how much of the batch went out and goes on from there, so a record is never half-sent and
//! then forgotten. When the connection breaks (or a send times out) in the middle of a frame,
//! that frame is cut on the dead connection: the transport closes it, counts the cut frame
//! ([`Stats::frames_cut`](crate::Stats::frames_cut)), and reports the record as not sent. On the
//! next connection the record is sent again whole, from its first byte: **at least once**, never
//! at most once. The daemon discards a frame that is cut by the end of its connection, or, at
//! worst, stores the piece it got, marked only by being short; it never receives one record twice
//! whole. What the kernel accepted whole before the daemon died is lost with the daemon's socket,
//! as with datagrams.
//!
//! **Connection.** One connection is shared by every thread (sync mode, one record per write under
//! a lock, so frames never interleave) or owned by the background writer. It is opened at start-up
//! and again, rate-limited to one attempt per [`RECONNECT_INTERVAL`], after any failure; each
//! successful reconnect is counted in [`Stats::reconnects`](crate::Stats::reconnects). The send
//! timeout bounds every wait: a write, and a connect to a daemon whose backlog is full; in sync
//! mode a thread waits for the lock at most the bounded sends of the threads ahead of it. A forked
//! child never writes on its parent's connection (the frames would interleave): it opens its own.

use std::io::{self, IoSlice};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::unix::RECONNECT_INTERVAL;
use super::StreamFraming;
use crate::severity::Priority;
use crate::stats::Counters;
use crate::sys::fork::ForkLocal;
use crate::sys::net::{connect_stream, errno, no_sigpipe, send_vectored, SEND_VECTORED_MAX};

/// The most frames one `sendmsg(2)` carries: up to three buffers each (prefix, record, trailer).
const FRAMES_PER_WRITE: usize = SEND_VECTORED_MAX / 3;

/// The longest length prefix: 20 digits of a `u64` and the space.
const PREFIX_MAX: usize = 21;

/// Sends octet-counted records over a unix stream socket.
#[derive(Debug)]
pub(crate) struct StreamTransport {
    path: PathBuf,
    framing: StreamFraming,
    send_timeout: Option<Duration>,
    counters: Arc<Counters>,
    /// This process's connection; a forked child makes its own instead of touching the parent's
    /// (whose lock another thread of the parent may have held at the fork).
    conn: ForkLocal<Mutex<Conn>>,
}

/// One connection and what its writes need.
#[derive(Debug, Default)]
struct Conn {
    stream: Option<UnixStream>,
    /// When the last connect was attempted; `None`: never, so the next one is not held back.
    last_attempt: Option<Instant>,
    /// The errno of the last failed connect, 0 once connected: what a send reports while there is
    /// no connection (ENOENT, ECONNREFUSED, EACCES ...).
    connect_errno: i32,
    /// The length prefixes of the frames of one write, reused.
    prefixes: Vec<Prefix>,
}

/// One frame's `LEN SP`, on the stack.
#[derive(Debug, Clone, Copy)]
struct Prefix {
    bytes: [u8; PREFIX_MAX],
    start: usize,
}

impl Prefix {
    /// The head of a frame of `len` bytes: `LEN SP` for octet counting, nothing otherwise.
    fn of(framing: StreamFraming, len: usize) -> Prefix {
        match framing {
            StreamFraming::OctetCounting => Prefix::new(len),
            StreamFraming::NonTransparent => Prefix {
                bytes: [0; PREFIX_MAX],
                start: PREFIX_MAX,
            },
        }
    }

    /// `len` in decimal, then a space.
    fn new(len: usize) -> Prefix {
        let mut bytes = [b' '; PREFIX_MAX];
        let mut start = PREFIX_MAX - 1;
        let mut n = len;
        loop {
            start -= 1;
            // `n % 10` is a digit, so the cast cannot truncate.
            bytes[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Prefix { bytes, start }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

// === impl StreamTransport ===

impl StreamTransport {
    /// Connects to `path` now. When `strict`, a failed connect is an error; otherwise the
    /// transport starts unconnected and connects on a later send (rate-limited). A path that can
    /// never work (too long for `sun_path`, or with a NUL byte) is an error either way.
    pub(crate) fn connect(
        path: &Path,
        framing: StreamFraming,
        send_timeout: Option<Duration>,
        strict: bool,
        counters: Arc<Counters>,
    ) -> io::Result<Self> {
        let transport = StreamTransport {
            path: path.to_owned(),
            framing,
            send_timeout,
            counters,
            conn: ForkLocal::new(Mutex::new(Conn::default())),
        };
        {
            let mut conn = transport.lock();
            if let Err(e) = transport.open(&mut conn) {
                if strict || e.kind() == io::ErrorKind::InvalidInput {
                    return Err(e);
                }
            }
        }
        Ok(transport)
    }

    /// This process's connection, locked. A poisoned lock is taken over: a panic cannot happen
    /// while it is held, and the state is consistent between calls anyway.
    fn lock(&self) -> MutexGuard<'_, Conn> {
        let conn = self.conn.get_or_replace(|_| {
            // A forked child: its own connection, opened now (not counted as a reconnect).
            let mut conn = Conn::default();
            // A failure is remembered in `conn` and reported by the first send.
            let _ = self.open(&mut conn);
            Mutex::new(conn)
        });
        conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Connects `conn` to the path, remembering when and, on failure, why.
    fn open(&self, conn: &mut Conn) -> io::Result<()> {
        conn.last_attempt = Some(Instant::now());
        // The send timeout also bounds the wait for a full backlog (a hung daemon).
        let connected = connect_stream(&self.path, self.send_timeout).and_then(|stream| {
            no_sigpipe(stream.as_fd())?;
            Ok(stream)
        });
        match connected {
            Ok(stream) => {
                conn.stream = Some(stream);
                conn.connect_errno = 0;
                Ok(())
            }
            Err(e) => {
                conn.connect_errno = e.raw_os_error().unwrap_or(0);
                Err(e)
            }
        }
    }

    /// Opens a new connection unless the last attempt was less than [`RECONNECT_INTERVAL`] ago;
    /// counts a success. The error is why there is no connection.
    fn reconnect(&self, conn: &mut Conn) -> io::Result<()> {
        if conn
            .last_attempt
            .is_some_and(|at| at.elapsed() < RECONNECT_INTERVAL)
        {
            return Err(not_connected(conn));
        }
        self.open(conn)?;
        self.counters.reconnects.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Drops the connection after a failure: the next send reconnects. A frame cut in the middle
    /// is counted; its record is reported as not sent and goes out again whole.
    fn close(&self, conn: &mut Conn, cut: bool) {
        conn.stream = None;
        if cut {
            self.counters.frames_cut.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Writes the frames of `batch` from record `at`, whose first `off` bytes are written
    /// already, with one `sendmsg(2)`. Returns how many bytes went out.
    fn write_some(
        &self,
        conn: &mut Conn,
        batch: &[(Priority, &[u8])],
        at: usize,
        off: usize,
    ) -> io::Result<usize> {
        let Conn {
            stream, prefixes, ..
        } = conn;
        let Some(stream) = stream.as_ref() else {
            return Err(io::Error::from_raw_os_error(errno::ENOTCONN));
        };
        let frames = &batch[at..batch.len().min(at + FRAMES_PER_WRITE)];
        prefixes.clear();
        prefixes.extend(
            frames
                .iter()
                .map(|(_, msg)| Prefix::of(self.framing, msg.len())),
        );
        let trailer = self.trailer();
        let mut bufs: Vec<IoSlice<'_>> = Vec::with_capacity(frames.len() * 3);
        for (i, ((_, msg), prefix)) in frames.iter().zip(prefixes.iter()).enumerate() {
            // The first frame may be partly written: skip what went out.
            let mut skip = if i == 0 { off } else { 0 };
            for part in [prefix.as_bytes(), msg, trailer] {
                if skip >= part.len() {
                    skip -= part.len();
                } else {
                    bufs.push(IoSlice::new(&part[skip..]));
                    skip = 0;
                }
            }
        }
        send_vectored(stream.as_fd(), &bufs)
    }

    /// What follows each record: a line feed for non-transparent framing, nothing otherwise.
    fn trailer(&self) -> &'static [u8] {
        match self.framing {
            StreamFraming::OctetCounting => b"",
            StreamFraming::NonTransparent => b"\n",
        }
    }

    /// The length of `msg`'s frame.
    fn frame_len(&self, msg: &[u8]) -> usize {
        Prefix::of(self.framing, msg.len()).as_bytes().len() + msg.len() + self.trailer().len()
    }
}

/// Why there is no connection: the last connect's error, or ENOTCONN.
fn not_connected(conn: &Conn) -> io::Error {
    io::Error::from_raw_os_error(match conn.connect_errno {
        0 => errno::ENOTCONN,
        cause => cause,
    })
}

/// Whether `e` means the daemon stopped reading within the send timeout (alive but slow).
fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl super::Transport for StreamTransport {
    fn send(&self, priority: Priority, msg: &[u8]) -> io::Result<()> {
        match self.send_batch(&[(priority, msg)]) {
            (_, Some(e)) => Err(e),
            (_, None) => Ok(()),
        }
    }

    fn send_batch(&self, batch: &[(Priority, &[u8])]) -> (usize, Option<io::Error>) {
        let mut conn = self.lock();
        // The first record not written whole, and how many of its frame's bytes went out.
        let mut at = 0;
        let mut off = 0;
        // One reconnect per stuck record: a second failure on a fresh connection is returned.
        let mut retried = false;
        while at < batch.len() {
            if conn.stream.is_none() {
                if let Err(e) = self.reconnect(&mut conn) {
                    return (at, Some(e));
                }
            }
            match self.write_some(&mut conn, batch, at, off) {
                Ok(0) => {
                    self.close(&mut conn, off > 0);
                    return (at, Some(io::ErrorKind::WriteZero.into()));
                }
                Ok(mut n) => {
                    retried = false;
                    while n > 0 {
                        let left = self.frame_len(batch[at].1) - off;
                        if n >= left {
                            n -= left;
                            at += 1;
                            off = 0;
                        } else {
                            off += n;
                            n = 0;
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Alive but not reading: the connection stays unless a frame is cut.
                Err(e) if is_timeout(&e) => {
                    if off > 0 {
                        self.close(&mut conn, true);
                        // The daemon is there: the next send connects at once.
                        conn.last_attempt = None;
                    }
                    return (at, Some(e));
                }
                // Anything else leaves the stream in an unknown state: a new connection.
                Err(e) => {
                    self.close(&mut conn, off > 0);
                    off = 0;
                    if retried || !super::daemon_away(&e) {
                        return (at, Some(e));
                    }
                    retried = true;
                    // Straight away: the daemon may be back already (a restart).
                    conn.last_attempt = None;
                }
            }
        }
        (at, None)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;
    use std::os::unix::net::UnixListener;

    use super::*;
    use crate::transport::Transport;
    use crate::{Facility, Severity};

    const OC: StreamFraming = StreamFraming::OctetCounting;

    fn pri() -> Priority {
        Priority::new(Facility::Local0, Severity::Informational)
    }

    fn transport(path: &Path, strict: bool) -> (StreamTransport, Arc<Counters>) {
        let counters = Arc::new(Counters::default());
        let t = StreamTransport::connect(
            path,
            StreamFraming::OctetCounting,
            Some(Duration::from_millis(50)),
            strict,
            Arc::clone(&counters),
        )
        .expect("socket");
        (t, counters)
    }

    /// Parses octet-counted frames; panics on a malformed stream.
    pub(crate) fn frames(mut bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let sp = bytes.iter().position(|&b| b == b' ').expect("a length");
            let len: usize = std::str::from_utf8(&bytes[..sp])
                .unwrap()
                .parse()
                .expect("digits");
            out.push(bytes[sp + 1..sp + 1 + len].to_vec());
            bytes = &bytes[sp + 1 + len..];
        }
        out
    }

    /// Accepts one connection on `listener` and reads it to the end on another thread.
    fn read_one(listener: UnixListener) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = Vec::new();
            s.read_to_end(&mut buf).unwrap();
            buf
        })
    }

    #[test]
    fn prefix_is_the_decimal_length_and_a_space() {
        for (len, want) in [
            (0, "0 "),
            (7, "7 "),
            (10, "10 "),
            (8096, "8096 "),
            (131_072, "131072 "),
        ] {
            assert_eq!(Prefix::new(len).as_bytes(), want.as_bytes());
        }
        let max = format!("{} ", usize::MAX);
        assert_eq!(Prefix::new(usize::MAX).as_bytes(), max.as_bytes());
    }

    #[test]
    fn batch_goes_out_octet_counted_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let reader = read_one(UnixListener::bind(&path).unwrap());
        let (t, counters) = transport(&path, true);
        let msgs: Vec<Vec<u8>> = (0..1500)
            .map(|i| format!("<134>msg {i} {}", "x".repeat(i % 300)).into_bytes())
            .collect();
        let batch: Vec<(Priority, &[u8])> = msgs.iter().map(|m| (pri(), &m[..])).collect();
        assert_eq!(t.send_batch(&batch).0, 1500);
        t.send(pri(), b"<134>one more").unwrap();
        drop(t);
        let mut want = msgs.clone();
        want.push(b"<134>one more".to_vec());
        assert_eq!(frames(&reader.join().unwrap()), want);
        assert_eq!(counters.reconnects.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn short_writes_resume_mid_frame() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let (t, _) = transport(&path, true);
        // Far more than the socket buffer: the kernel takes it in pieces that end mid-frame, and
        // the reader drains slowly enough for some sends to be short.
        let msgs: Vec<Vec<u8>> = (0..400)
            .map(|i| format!("<134>{i} {}", "y".repeat(4000 + i)).into_bytes())
            .collect();
        let reader = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1000];
            loop {
                let n = s.read(&mut chunk).unwrap();
                if n == 0 {
                    break buf;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
        });
        let batch: Vec<(Priority, &[u8])> = msgs.iter().map(|m| (pri(), &m[..])).collect();
        t.lock()
            .stream
            .as_ref()
            .unwrap()
            .set_write_timeout(None)
            .unwrap();
        let (sent, err) = t.send_batch(&batch);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(sent, 400);
        drop(t);
        assert_eq!(frames(&reader.join().unwrap()), msgs);
    }

    #[test]
    fn reconnects_after_daemon_restart_and_resends_from_the_first_unsent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let (t, counters) = transport(&path, true);
        let (first, _) = listener.accept().unwrap();
        t.send(pri(), b"before").unwrap();
        // The daemon goes away (its connection and its socket), and a new one appears.
        drop(first);
        drop(listener);
        std::fs::remove_file(&path).unwrap();
        let reader = read_one(UnixListener::bind(&path).unwrap());

        let batch = [(pri(), &b"one"[..]), (pri(), &b"two"[..])];
        let (sent, err) = t.send_batch(&batch);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(sent, 2);
        drop(t);
        assert_eq!(frames(&reader.join().unwrap()), [&b"one"[..], b"two"]);
        assert_eq!(counters.reconnects.load(Ordering::Relaxed), 1);
        assert_eq!(counters.frames_cut.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn absent_daemon_is_reported_as_away_and_reconnects_are_rate_limited() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let (t, counters) = transport(&path, false);
        let started = Instant::now();
        for _ in 0..1000 {
            let err = t.send(pri(), b"lost").unwrap_err();
            assert_eq!(
                err.raw_os_error(),
                Some(::libc::ENOENT),
                "the connect's cause"
            );
            assert!(crate::transport::daemon_away(&err));
        }
        assert_eq!(counters.reconnects.load(Ordering::Relaxed), 0);
        assert!(started.elapsed() < Duration::from_secs(2));

        // The daemon appears: once the interval has passed, the next send connects.
        let reader = read_one(UnixListener::bind(&path).unwrap());
        t.lock().last_attempt = None;
        t.send(pri(), b"late").unwrap();
        drop(t);
        assert_eq!(frames(&reader.join().unwrap()), [&b"late"[..]]);
        assert_eq!(counters.reconnects.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn strict_connect_fails_on_missing_path_and_long_paths_always_fail() {
        let dir = tempfile::tempdir().unwrap();
        let counters = Arc::new(Counters::default());
        let err =
            StreamTransport::connect(&dir.path().join("absent"), OC, None, true, counters.clone())
                .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(::libc::ENOENT));
        let long = Path::new("/tmp").join("x".repeat(200));
        let err = StreamTransport::connect(&long, OC, None, false, counters).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_hung_daemon_with_a_full_backlog_costs_one_send_timeout_per_connect() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        // A daemon that never accepts: fill its backlog.
        let _listener = UnixListener::bind(&path).unwrap();
        let mut queued = Vec::new();
        while let Ok(s) = connect_stream(&path, Some(Duration::from_millis(10))) {
            queued.push(s);
            assert!(queued.len() < 10_000, "the backlog never filled");
        }
        // On another thread, so a connect that does not return fails the test instead of
        // hanging it.
        let (tx, rx) = std::sync::mpsc::channel();
        let p = path.clone();
        std::thread::spawn(move || {
            let counters = Arc::new(Counters::default());
            let t =
                StreamTransport::connect(&p, OC, Some(Duration::from_millis(50)), true, counters);
            // The receiver is gone only when the test already failed.
            let _ = tx.send(t.map(drop).map_err(|e| e.kind()));
        });
        let got = rx
            .recv_timeout(Duration::from_secs(3))
            .expect("connect returns within its send timeout");
        assert_eq!(got, Err(io::ErrorKind::WouldBlock));
    }

    #[test]
    fn a_datagram_socket_at_the_path_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let _rx = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        let counters = Arc::new(Counters::default());
        let err = StreamTransport::connect(&path, OC, None, true, counters).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(::libc::EPROTOTYPE));
    }

    #[test]
    fn a_timeout_mid_frame_cuts_the_connection_and_the_record_is_resent_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let (t, counters) = transport(&path, true);
        let (mut first, _) = listener.accept().unwrap();
        // Nobody reads: a batch larger than the socket buffer stops inside some frame.
        let big = vec![b'z'; 64 * 1024];
        let batch = vec![(pri(), &big[..]); 64];
        let (sent, err) = t.send_batch(&batch);
        assert!(sent < 64);
        assert_eq!(err.map(|e| e.kind()), Some(io::ErrorKind::WouldBlock));
        assert_eq!(counters.frames_cut.load(Ordering::Relaxed), 1);
        // The first connection holds the whole frames, then the cut piece, then ends.
        first
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut got = Vec::new();
        first.read_to_end(&mut got).unwrap();
        let whole = sent * t.frame_len(&big);
        assert!(got.len() > whole, "a piece of frame {sent} went out");
        assert_eq!(frames(&got[..whole]).len(), sent);

        // Sending again opens a new connection and starts with the cut record, whole.
        let reader = read_one(listener);
        let (again, err) = t.send_batch(&batch[sent..sent + 1]);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(again, 1);
        drop(t);
        assert_eq!(frames(&reader.join().unwrap()), [big]);
        assert_eq!(counters.reconnects.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn threads_share_one_connection_without_interleaving() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let reader = read_one(UnixListener::bind(&path).unwrap());
        let (t, _) = transport(&path, true);
        let t = Arc::new(t);
        let senders: Vec<_> = (0..4)
            .map(|thread| {
                let t = Arc::clone(&t);
                std::thread::spawn(move || {
                    for seq in 0..200 {
                        let msg = format!("t={thread} seq={seq} {}", "p".repeat(seq * 10));
                        t.send(pri(), msg.as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for s in senders {
            s.join().unwrap();
        }
        drop(t);
        let got: Vec<String> = frames(&reader.join().unwrap())
            .into_iter()
            .map(|m| String::from_utf8(m).unwrap())
            .collect();
        assert_eq!(got.len(), 800);
        for thread in 0..4 {
            let prefix = format!("t={thread} ");
            let seqs: Vec<usize> = got
                .iter()
                .filter_map(|m| m.strip_prefix(&prefix))
                .map(|m| m.split(' ').next().unwrap()[4..].parse().unwrap())
                .collect();
            assert_eq!(seqs, (0..200).collect::<Vec<_>>());
        }
    }

    #[test]
    fn non_transparent_frames_end_with_a_line_feed_and_resume_mid_frame() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let counters = Arc::new(Counters::default());
        let t =
            StreamTransport::connect(&path, StreamFraming::NonTransparent, None, true, counters)
                .unwrap();
        let reader = read_one(listener);
        let msgs: Vec<Vec<u8>> = (0..300)
            .map(|i| format!("<134>{i} {}", "w".repeat(3000 + i)).into_bytes())
            .collect();
        let batch: Vec<(Priority, &[u8])> = msgs.iter().map(|m| (pri(), &m[..])).collect();
        let (sent, err) = t.send_batch(&batch);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(sent, 300);
        drop(t);
        let got = reader.join().unwrap();
        let lines: Vec<&[u8]> = got.split(|&b| b == b'\n').collect();
        assert_eq!(lines.len(), 301, "one line per record, then the empty end");
        assert_eq!(
            &lines[..300],
            msgs.iter().map(Vec::as_slice).collect::<Vec<_>>()
        );
    }
}
