//! In-process receivers that count what arrives: [`Sink`] on a unix datagram socket path (what a
//! syslog daemon's `imuxsock` is), [`StreamSink`] on a unix stream socket (`imptcp`), [`UdpSink`]
//! on `127.0.0.1`. Each is drained by threads of its own; nothing here touches the machine's
//! `/dev/log`.

use std::io;
use std::net::UdpSocket;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// At most this many datagrams per [`recv_many`] call.
pub const RECV_MANY_MAX: usize = 64;

/// An in-process syslog receiver: a datagram socket on a temp path, drained by a thread that counts
/// datagrams and bytes. Dropping it stops the thread and removes the socket file.
#[derive(Debug)]
pub struct Sink {
    path: PathBuf,
    _dir: Option<tempfile::TempDir>,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// What a sink received.
#[derive(Debug, Default)]
pub struct Counts {
    /// Datagrams received.
    pub datagrams: AtomicU64,
    /// Bytes received.
    pub bytes: AtomicU64,
}

impl Counts {
    /// Waits until at least `n` datagrams (records) arrived or `timeout` passed; returns the count.
    pub fn wait_for(&self, n: u64, timeout: Duration) -> u64 {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.datagrams.load(Ordering::Relaxed);
            if got >= n || Instant::now() >= deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Stops a receiver's thread and waits for it.
fn stop_and_join(stop: &AtomicBool, thread: Option<JoinHandle<()>>) {
    stop.store(true, Ordering::Relaxed);
    if let Some(t) = thread {
        // A panicked drain thread has nothing left to clean up.
        let _ = t.join();
    }
}

impl Sink {
    /// Binds a sink on a fresh temp path.
    pub fn new() -> Sink {
        let dir = crate::temp_dir("fastsyslog-sink-");
        let path = dir.path().join("log.sock");
        let mut sink = Sink::bind(&path).expect("bind the sink");
        sink._dir = Some(dir);
        sink
    }

    /// Binds a sink at `path` (removing a stale socket file there first).
    pub fn bind(path: &Path) -> io::Result<Sink> {
        // Only a socket file we left behind is removed; anything else at the path is an error.
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            use std::os::unix::fs::FileTypeExt;
            if meta.file_type().is_socket() {
                std::fs::remove_file(path)?;
            }
        }
        let socket = UnixDatagram::bind(path)?;
        socket.set_read_timeout(Some(Duration::from_millis(20)))?;
        let counts = Arc::new(Counts::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (counts, stop) = (Arc::clone(&counts), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("testkit-sink".into())
                .spawn(move || {
                    // A fast receiver: one `recvmmsg` takes every datagram already queued (up
                    // to 64), so the sender is not woken once per datagram when the socket's
                    // small queue (`net.unix.max_dgram_qlen`, 10 by default) runs full.
                    use std::os::fd::AsFd as _;
                    let mut bufs = vec![vec![0u8; 8192]; 64];
                    let mut lens = [0usize; 64];
                    while !stop.load(Ordering::Relaxed) {
                        let fd = socket.as_fd();
                        if let Ok(got) = recv_many(fd, &mut bufs, &mut lens) {
                            let bytes: usize = lens[..got].iter().sum();
                            counts.datagrams.fetch_add(got as u64, Ordering::Relaxed);
                            counts.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
                        }
                    }
                })?
        };
        Ok(Sink {
            path: path.to_owned(),
            _dir: None,
            counts,
            stop,
            thread: Some(thread),
        })
    }

    /// The socket path to send to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Datagrams received so far.
    pub fn received(&self) -> u64 {
        self.counts.datagrams.load(Ordering::Relaxed)
    }

    /// The live counters, for reading from elsewhere.
    pub fn counts(&self) -> Arc<Counts> {
        Arc::clone(&self.counts)
    }

    /// Waits until at least `n` datagrams arrived or `timeout` passed; returns the count.
    pub fn wait_for(&self, n: u64, timeout: Duration) -> u64 {
        self.counts.wait_for(n, timeout)
    }
}

impl Default for Sink {
    fn default() -> Self {
        Sink::new()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        stop_and_join(&self.stop, self.thread.take());
        // The socket file may already be gone with its temp dir; nothing to report then.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// An in-process stream receiver: a unix stream socket on a temp path that takes every
/// connection and counts the octet-counted frames (RFC 6587, `LEN SP MSG`) read from it, in
/// [`Counts::datagrams`] (one per record) and [`Counts::bytes`] (record bytes, prefixes left out).
/// What `imptcp` is to rsyslogd. Dropping it stops its threads and removes the socket file.
#[derive(Debug)]
pub struct StreamSink {
    path: PathBuf,
    _dir: tempfile::TempDir,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StreamSink {
    /// Listens on a fresh temp path.
    pub fn new() -> StreamSink {
        let dir = crate::temp_dir("fastsyslog-stream-sink-");
        let path = dir.path().join("log.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind the stream sink");
        // Polled, so the accepting thread sees `stop`.
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let counts = Arc::new(Counts::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (counts, stop) = (Arc::clone(&counts), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("testkit-stream-sink".into())
                .spawn(move || {
                    let mut readers = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        match listener.accept() {
                            Ok((conn, _)) => {
                                let (counts, stop) = (Arc::clone(&counts), Arc::clone(&stop));
                                readers.push(std::thread::spawn(move || {
                                    read_frames(conn, &counts, &stop)
                                }));
                            }
                            Err(_) => std::thread::sleep(Duration::from_millis(1)),
                        }
                    }
                    for r in readers {
                        // A panicked reader has nothing left to clean up.
                        let _ = r.join();
                    }
                })
                .expect("spawn the stream sink")
        };
        StreamSink {
            path,
            _dir: dir,
            counts,
            stop,
            thread: Some(thread),
        }
    }

    /// The socket path to connect to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records received so far.
    pub fn received(&self) -> u64 {
        self.counts.datagrams.load(Ordering::Relaxed)
    }

    /// Waits until at least `n` records arrived or `timeout` passed; returns the count.
    pub fn wait_for(&self, n: u64, timeout: Duration) -> u64 {
        self.counts.wait_for(n, timeout)
    }
}

impl Default for StreamSink {
    fn default() -> Self {
        StreamSink::new()
    }
}

impl Drop for StreamSink {
    fn drop(&mut self) {
        stop_and_join(&self.stop, self.thread.take());
    }
}

/// Reads one connection to its end (or `stop`), counting octet-counted frames as they complete.
fn read_frames(mut conn: std::os::unix::net::UnixStream, counts: &Counts, stop: &AtomicBool) {
    use std::io::Read as _;
    // Bounded reads, so `stop` is seen on an idle connection.
    if conn
        .set_read_timeout(Some(Duration::from_millis(20)))
        .is_err()
    {
        return;
    }
    let mut buf = vec![0u8; 256 * 1024];
    // The length being read (`Some`) or, once its space is seen, the payload bytes left.
    let mut len: Option<usize> = Some(0);
    let mut left = 0usize;
    let mut frame = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let n = match conn.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        let mut i = 0;
        let (mut records, mut bytes) = (0u64, 0u64);
        while i < n {
            match len {
                Some(digits) => {
                    let b = buf[i];
                    i += 1;
                    if b == b' ' {
                        len = None;
                        left = digits;
                        frame = digits;
                    } else {
                        len = Some(digits * 10 + usize::from(b.wrapping_sub(b'0')));
                    }
                }
                None => {
                    let take = left.min(n - i);
                    i += take;
                    left -= take;
                }
            }
            if len.is_none() && left == 0 {
                records += 1;
                bytes += frame as u64;
                len = Some(0);
            }
        }
        counts.datagrams.fetch_add(records, Ordering::Relaxed);
        counts.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// An in-process UDP receiver on `127.0.0.1`, for the stdlib chain's default `SysLogHandler`.
#[derive(Debug)]
pub struct UdpSink {
    addr: std::net::SocketAddr,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl UdpSink {
    /// Binds on an ephemeral loopback port.
    pub fn new() -> UdpSink {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind udp sink");
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .expect("read timeout");
        let addr = socket.local_addr().expect("local addr");
        let counts = Arc::new(Counts::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (counts, stop) = (Arc::clone(&counts), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 65536];
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(n) = socket.recv(&mut buf) {
                        counts.datagrams.fetch_add(1, Ordering::Relaxed);
                        counts.bytes.fetch_add(n as u64, Ordering::Relaxed);
                    }
                }
            })
        };
        UdpSink {
            addr,
            counts,
            stop,
            thread: Some(thread),
        }
    }

    /// The address to send to.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Datagrams received so far.
    pub fn received(&self) -> u64 {
        self.counts.datagrams.load(Ordering::Relaxed)
    }

    /// The live counters, for reading from elsewhere.
    pub fn counts(&self) -> Arc<Counts> {
        Arc::clone(&self.counts)
    }
}

impl Default for UdpSink {
    fn default() -> Self {
        UdpSink::new()
    }
}

impl Drop for UdpSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            // A panicked drain thread has nothing left to clean up.
            let _ = t.join();
        }
    }
}

/// `recvmmsg(2)` with `MSG_WAITFORONE` on `fd`: waits for one datagram (up to the socket's receive
/// timeout), then takes every other one already queued, up to `bufs.len()` (at most
/// [`RECV_MANY_MAX`]). Returns each datagram's length, in order, in `lens`; the count.
#[cfg(target_os = "linux")]
pub fn recv_many(
    fd: std::os::fd::BorrowedFd<'_>,
    bufs: &mut [Vec<u8>],
    lens: &mut [usize],
) -> io::Result<usize> {
    use std::os::fd::AsRawFd;

    let n = bufs.len().min(lens.len()).min(RECV_MANY_MAX);
    let empty = libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    };
    let mut iovecs = [empty; RECV_MANY_MAX];
    for (iov, buf) in iovecs.iter_mut().zip(bufs.iter_mut()).take(n) {
        iov.iov_base = buf.as_mut_ptr().cast();
        iov.iov_len = buf.len();
    }
    // SAFETY: `mmsghdr` is a plain C struct of integers and pointers (some targets add private
    // padding fields, so it cannot be built with a literal); all-zero bytes are a valid value:
    // null name/control pointers with zero lengths, no flags.
    let zeroed: libc::mmsghdr = unsafe { std::mem::zeroed() };
    let mut hdrs = [zeroed; RECV_MANY_MAX];
    for (hdr, iov) in hdrs.iter_mut().zip(iovecs.iter_mut()).take(n) {
        hdr.msg_hdr.msg_iov = iov;
        hdr.msg_hdr.msg_iovlen = 1;
    }
    let vlen = libc::c_uint::try_from(n).unwrap_or(0);
    // SAFETY: `hdrs[..n]` are initialised headers, each pointing at one iovec that points at the
    // initialised bytes of a distinct, mutably borrowed `Vec<u8>` of exactly `iov_len` bytes; the
    // kernel writes at most that much into each and keeps no pointer after the call. `hdrs`,
    // `iovecs` and `bufs` outlive the call; the timeout pointer is null (the socket's own receive
    // timeout applies); `fd` is a live descriptor borrowed for the call.
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

/// Elsewhere: one `recv(2)` per call (the first buffer and length).
#[cfg(not(target_os = "linux"))]
pub fn recv_many(
    fd: std::os::fd::BorrowedFd<'_>,
    bufs: &mut [Vec<u8>],
    lens: &mut [usize],
) -> io::Result<usize> {
    let (Some(buf), Some(len)) = (bufs.first_mut(), lens.first_mut()) else {
        return Ok(0);
    };
    let socket = UnixDatagram::from(fd.try_clone_to_owned()?);
    *len = socket.recv(buf)?;
    Ok(1)
}
