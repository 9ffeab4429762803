//! AF_UNIX datagram transport to `/dev/log` or a configured path (std only; batches go out with
//! [`sys::net::send_many`](crate::sys::net::send_many), one `sendmmsg(2)` on Linux).
//!
//! One socket is shared by every thread (sync mode) or owned by the background writer. The send
//! path takes no lock: `send(2)` and `connect(2)` on the same datagram socket are safe to issue
//! concurrently, and the reconnect rate limit is one atomic.
//!
//! Reconnecting: a connected datagram socket keeps pointing at the peer *socket*, not at the path.
//! When the daemon restarts, the old peer is gone (ECONNREFUSED once, then ENOTCONN forever) or the
//! path is missing for a moment (ENOENT). Connecting the same socket to the path again picks up the
//! new daemon, so on those errors the transport reconnects and retries the send once. Attempts are
//! rate-limited (one per [`RECONNECT_INTERVAL`], 5 ms) so a missing daemon costs one failing
//! `send(2)` per record and at most 200 `connect(2)` calls a second, never a storm.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::severity::Priority;
use crate::stats::Counters;
use crate::sys::net::errno;

/// The shortest time between two reconnect attempts of one transport.
///
/// It bounds both the cost of an absent daemon (at most 200 `connect(2)` calls a second, however
/// many records fail) and, in sync mode, the blind window after the daemon appears: a record
/// logged more than 5 ms after the last failed attempt tries again, so at most the records of
/// those 5 ms are lost. In background mode nothing is lost: the writer keeps the records queued
/// and retries.
pub(super) const RECONNECT_INTERVAL: Duration = Duration::from_millis(5);

/// Sends datagrams to a syslog socket.
#[derive(Debug)]
pub(crate) struct UnixTransport {
    path: PathBuf,
    socket: UnixDatagram,
    counters: Arc<Counters>,
    /// The origin of `last_attempt`.
    start: Instant,
    /// When the last reconnect attempt began, in ns since `start` plus one; 0 means never, so the
    /// first attempt is never held back.
    last_attempt: AtomicU64,
    /// Bumped by every successful reconnect, so a thread whose send failed while another thread
    /// was reconnecting retries on the new connection instead of dropping its record.
    generation: AtomicU64,
    /// The errno of the last failed connect, 0 once connected. A send on an unconnected socket only
    /// says ENOTCONN; this keeps the real cause (EACCES, ENOENT, ECONNREFUSED ...) for the stats.
    connect_errno: AtomicI32,
    /// Every `connect(2)` issued by a reconnect, so tests can check the rate limit without timing.
    #[cfg(test)]
    attempts: AtomicU64,
}

// === impl UnixTransport ===

impl UnixTransport {
    /// Creates the socket and connects it to `path` now. When `strict`, a failed connect is an error;
    /// otherwise the transport starts unconnected and connects on a later send (rate-limited).
    ///
    /// A path that can never work (too long for `sun_path`, or containing a NUL byte) is an error
    /// even when not strict, so the builder reports it at construction instead of counting drops.
    pub(crate) fn connect(
        path: &Path,
        send_timeout: Option<Duration>,
        strict: bool,
        counters: Arc<Counters>,
    ) -> io::Result<Self> {
        let socket = UnixDatagram::unbound()?;
        // `set_write_timeout(Some(ZERO))` is an error in std; zero means "no timeout" to the caller.
        socket.set_write_timeout(send_timeout.filter(|t| !t.is_zero()))?;
        let transport = UnixTransport {
            path: path.to_owned(),
            socket,
            counters,
            start: Instant::now(),
            last_attempt: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            connect_errno: AtomicI32::new(0),
            #[cfg(test)]
            attempts: AtomicU64::new(0),
        };
        if let Err(e) = transport.socket.connect(path) {
            if strict || e.kind() == io::ErrorKind::InvalidInput {
                return Err(e);
            }
            transport.remember_connect_error(&e);
            // The failed connect counts as an attempt, so the first sends after a failed start do
            // not each try again.
            transport
                .last_attempt
                .store(transport.now_ns(), Ordering::Relaxed);
        }
        Ok(transport)
    }

    /// Nanoseconds since `start`, plus one so the value is never the "never attempted" 0.
    fn now_ns(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos())
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }

    /// Connects the socket to the path again, unless another attempt began less than
    /// [`RECONNECT_INTERVAL`] ago or another thread is attempting right now. Returns whether this
    /// call connected.
    fn reconnect(&self) -> bool {
        let last = self.last_attempt.load(Ordering::Relaxed);
        let now = self.now_ns();
        let interval = u64::try_from(RECONNECT_INTERVAL.as_nanos()).unwrap_or(u64::MAX);
        if last != 0 && now.saturating_sub(last) < interval {
            return false;
        }
        // Only the thread that wins the exchange attempts; the others report their send error
        // rather than queueing up more connect calls behind it.
        if self
            .last_attempt
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        #[cfg(test)]
        self.attempts.fetch_add(1, Ordering::Relaxed);
        match self.socket.connect(&self.path) {
            Ok(()) => {
                self.connect_errno.store(0, Ordering::Relaxed);
                self.generation.fetch_add(1, Ordering::Release);
                self.counters.reconnects.fetch_add(1, Ordering::Relaxed);
                true
            }
            // The caller returns its send error (or the cause remembered here), which the pipeline
            // counts.
            Err(e) => {
                self.remember_connect_error(&e);
                false
            }
        }
    }

    fn remember_connect_error(&self, e: &io::Error) {
        self.connect_errno
            .store(e.raw_os_error().unwrap_or(0), Ordering::Relaxed);
    }

    /// The error to report for a failed send: for "not connected", the reason the last connect
    /// failed, when there is one.
    fn cause(&self, e: io::Error) -> io::Error {
        let cause = self.connect_errno.load(Ordering::Relaxed);
        match e.raw_os_error() {
            Some(errno::ENOTCONN | errno::EDESTADDRREQ) if cause != 0 => {
                io::Error::from_raw_os_error(cause)
            }
            _ => e,
        }
    }

    /// `send(2)` once, retrying only on EINTR.
    fn send_once(&self, msg: &[u8]) -> io::Result<()> {
        loop {
            match self.socket.send(msg) {
                // A datagram is sent whole or not at all.
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends `msgs` with `sendmmsg(2)`, up to [`SEND_MANY_MAX`](crate::sys::net::SEND_MANY_MAX) per
    /// call.
    ///
    /// `sendmmsg` reports a failure only for the first message of a call; after a short count the
    /// loop calls again so the failing message's own error is returned. For a send timeout that
    /// means a stalled batch can wait up to twice the timeout before returning.
    #[cfg_attr(not(feature = "background"), allow(dead_code))] // Only the background writer uses it.
    fn send_many(&self, msgs: &[(Priority, &[u8])]) -> (usize, Option<io::Error>) {
        use std::os::fd::AsFd;

        use crate::sys::net::{send_many, SEND_MANY_MAX};

        let mut chunk: [&[u8]; SEND_MANY_MAX] = [&[]; SEND_MANY_MAX];
        let mut sent = 0;
        // One reconnect per stuck message: after a successful reconnect, a second failure of the
        // same message is returned instead of looping.
        let mut retried = false;
        while sent < msgs.len() {
            let n = (msgs.len() - sent).min(SEND_MANY_MAX);
            for (slot, (_, msg)) in chunk.iter_mut().zip(&msgs[sent..sent + n]) {
                *slot = msg;
            }
            match send_many(self.socket.as_fd(), &chunk[..n]) {
                Ok(0) => return (sent, Some(io::ErrorKind::WriteZero.into())),
                // A short count means message `sent + k` failed; the next call reports why.
                Ok(k) => {
                    sent += k;
                    retried = false;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if !retried && super::daemon_away(&e) => {
                    if !self.reconnect() {
                        return (sent, Some(self.cause(e)));
                    }
                    retried = true;
                }
                Err(e) => return (sent, Some(self.cause(e))),
            }
        }
        (sent, None)
    }
}

impl super::Transport for UnixTransport {
    fn send(&self, _priority: Priority, msg: &[u8]) -> io::Result<()> {
        // A transport that started unconnected fails here with ENOTCONN, which is also how a
        // connect is first attempted: no separate "connected" flag to keep consistent.
        let generation = self.generation.load(Ordering::Acquire);
        match self.send_once(msg) {
            Err(e) if super::daemon_away(&e) => {
                if self.reconnect() || self.generation.load(Ordering::Acquire) != generation {
                    self.send_once(msg).map_err(|e| self.cause(e))
                } else {
                    Err(self.cause(e))
                }
            }
            other => other,
        }
    }

    fn send_batch(&self, batch: &[(Priority, &[u8])]) -> (usize, Option<io::Error>) {
        self.send_many(batch)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixDatagram;
    use std::time::Duration;

    use super::*;
    use crate::transport::tests::{bind, recv};
    use crate::transport::Transport;
    use crate::{Facility, Severity};

    fn pri() -> Priority {
        Priority::new(Facility::Local0, Severity::Informational)
    }

    fn transport(path: &Path, strict: bool) -> (UnixTransport, Arc<Counters>) {
        let counters = Arc::new(Counters::default());
        let t = UnixTransport::connect(
            path,
            Some(Duration::from_millis(50)),
            strict,
            counters.clone(),
        )
        .expect("socket");
        (t, counters)
    }

    #[test]
    fn send_arrives() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let rx = bind(&path);
        let (t, counters) = transport(&path, true);
        t.send(pri(), b"<134>hello").unwrap();
        assert_eq!(recv(&rx), b"<134>hello");
        assert_eq!(counters.reconnects.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn strict_connect_fails_on_missing_path() {
        let dir = tempfile::tempdir().unwrap();
        let counters = Arc::new(Counters::default());
        let err =
            UnixTransport::connect(&dir.path().join("absent"), None, true, counters).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(::libc::ENOENT));
    }

    #[test]
    fn too_long_path_fails_even_when_not_strict() {
        let long = Path::new("/tmp").join("x".repeat(200));
        let counters = Arc::new(Counters::default());
        let err = UnixTransport::connect(&long, None, false, counters).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn reconnects_after_daemon_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let rx = bind(&path);
        let (t, counters) = transport(&path, true);
        t.send(pri(), b"before").unwrap();
        assert_eq!(recv(&rx), b"before");

        // Restart: the old peer goes away and a new socket appears at the same path. Without a
        // reconnect every later send would go to the dead peer (ECONNREFUSED, then ENOTCONN).
        drop(rx);
        std::fs::remove_file(&path).unwrap();
        let rx = bind(&path);

        t.send(pri(), b"after-1").unwrap();
        t.send(pri(), b"after-2").unwrap();
        assert_eq!(recv(&rx), b"after-1");
        assert_eq!(recv(&rx), b"after-2");
        assert_eq!(counters.reconnects.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn batch_reconnects_after_daemon_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let rx = bind(&path);
        let (t, counters) = transport(&path, true);
        drop(rx);
        std::fs::remove_file(&path).unwrap();
        let rx = bind(&path);

        let batch = [(pri(), &b"one"[..]), (pri(), &b"two"[..])];
        let (sent, err) = t.send_batch(&batch);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(sent, 2);
        assert_eq!(recv(&rx), b"one");
        assert_eq!(recv(&rx), b"two");
        assert_eq!(counters.reconnects.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn absent_daemon_errors_and_rate_limits_reconnects() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let started = Instant::now();
        let (t, counters) = transport(&path, false);
        let mut errors = 0;
        for _ in 0..1000 {
            if t.send(pri(), b"lost").is_err() {
                errors += 1;
            }
        }
        let (sent, err) = t.send_batch(&[(pri(), &b"lost"[..]); 10]);
        assert_eq!((sent, err.is_some()), (0, true));
        assert_eq!(errors, 1000);
        assert_eq!(counters.reconnects.load(Ordering::Relaxed), 0);
        // The failed start counts as an attempt, so 1000 sends in a tight loop may try at most
        // once per interval.
        let attempts = t.attempts.load(Ordering::Relaxed);
        let intervals = started.elapsed().as_nanos() / RECONNECT_INTERVAL.as_nanos();
        assert!(
            u128::from(attempts) <= intervals + 1,
            "{attempts} connect attempts in {intervals} intervals"
        );
    }

    #[test]
    fn daemon_appearing_later_is_picked_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let (t, counters) = transport(&path, false);
        let rx = bind(&path);
        // The failed start was an attempt less than an interval ago: this send may not connect.
        let err = t.send(pri(), b"early").unwrap_err();
        // Reported as why the start failed (no socket file then), not as the bare ENOTCONN.
        assert_eq!(err.raw_os_error(), Some(::libc::ENOENT));
        assert_eq!(t.attempts.load(Ordering::Relaxed), 0);
        // Move the last attempt an interval into the past instead of sleeping.
        t.last_attempt.store(0, Ordering::Relaxed);
        t.send(pri(), b"late").unwrap();
        assert_eq!(recv(&rx), b"late");
        assert_eq!(counters.reconnects.load(Ordering::Relaxed), 1);
        assert_eq!(t.attempts.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn send_timeout_bounds_a_hung_daemon() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        // Binds and never reads.
        let _rx = UnixDatagram::bind(&path).unwrap();
        let (t, _) = transport(&path, true);
        let started = Instant::now();
        let mut result = Ok(());
        // The receive queue holds a few datagrams (net.unix.max_dgram_qlen), then sends block.
        for _ in 0..10_000 {
            result = t.send(pri(), &[b'x'; 512]);
            if result.is_err() {
                break;
            }
        }
        let err = result.expect_err("a full queue times out");
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err:?}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );

        let (sent, err) = t.send_batch(&[(pri(), &[b'x'; 512][..]); 4]);
        assert_eq!(sent, 0);
        assert_eq!(err.map(|e| e.kind()), Some(io::ErrorKind::WouldBlock));
    }

    #[test]
    fn oversized_datagram_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let _rx = bind(&path);
        let (t, _) = transport(&path, true);
        let huge = vec![b'x'; 16 * 1024 * 1024];
        let err = t.send(pri(), &huge).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(::libc::EMSGSIZE));
    }

    #[test]
    fn batch_of_100_arrives_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let rx = bind(&path);
        let (t, _) = transport(&path, true);
        let msgs: Vec<Vec<u8>> = (0..100)
            .map(|i| format!("<134>msg {i}").into_bytes())
            .collect();
        let batch: Vec<(Priority, &[u8])> = msgs.iter().map(|m| (pri(), &m[..])).collect();
        // The receiver's queue is short, so it drains on another thread while the batch is sent.
        let reader = std::thread::spawn(move || (0..100).map(|_| recv(&rx)).collect::<Vec<_>>());
        let (sent, err) = t.send_batch(&batch);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(sent, 100);
        assert_eq!(reader.join().unwrap(), msgs);
    }

    #[test]
    fn threads_share_one_transport() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let rx = bind(&path);
        let (t, _) = transport(&path, true);
        // No send timeout here: the receiver drains on its own thread, senders just wait for it.
        let t = Arc::new(t);
        t.socket.set_write_timeout(None).unwrap();
        let reader = std::thread::spawn(move || (0..800).map(|_| recv(&rx)).collect::<Vec<_>>());
        let senders: Vec<_> = (0..4)
            .map(|thread| {
                let t = Arc::clone(&t);
                std::thread::spawn(move || {
                    for seq in 0..200 {
                        t.send(pri(), format!("t={thread} seq={seq}").as_bytes())
                            .unwrap();
                    }
                })
            })
            .collect();
        for s in senders {
            s.join().unwrap();
        }
        let got = reader.join().unwrap();
        // Every record arrives whole, and each thread's records keep their order.
        for thread in 0..4 {
            let prefix = format!("t={thread} ");
            let seqs: Vec<String> = got
                .iter()
                .map(|m| String::from_utf8(m.clone()).unwrap())
                .filter_map(|m| m.strip_prefix(&prefix).map(str::to_owned))
                .collect();
            let want: Vec<String> = (0..200).map(|seq| format!("seq={seq}")).collect();
            assert_eq!(seqs, want);
        }
    }

    #[test]
    fn batch_stops_at_the_failing_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let rx = bind(&path);
        let (t, _) = transport(&path, true);
        let huge = vec![b'x'; 16 * 1024 * 1024];
        let batch = [
            (pri(), &b"ok"[..]),
            (pri(), &huge[..]),
            (pri(), &b"later"[..]),
        ];
        let (sent, err) = t.send_batch(&batch);
        assert_eq!(sent, 1);
        assert_eq!(err.and_then(|e| e.raw_os_error()), Some(::libc::EMSGSIZE));
        assert_eq!(recv(&rx), b"ok");
    }
}
