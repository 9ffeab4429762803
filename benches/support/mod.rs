//! Shared setup for the criterion benches and `examples/overhead.rs`.
//!
//! Every receiver is in-process: [`Sink`] is a `UnixDatagram` bound on a temp path and drained by a
//! thread that counts what arrives, [`UdpSink`] the same on `127.0.0.1`. Nothing here touches the
//! machine's `/dev/log`: the glibc rows reach a sink through `/dev/log` only inside a private mount
//! namespace ([`devlog`]). With `FASTSYSLOG_BENCH_RSYSLOG=1` the same rows run against a private
//! rsyslogd instead ([`Target::from_env`]).
// Each bench binary and the example use a different part of this module.
#![allow(dead_code)]
// `pub` marks what the benches use; the module is private to each binary that includes it.
#![allow(unreachable_pub)]

pub mod devlog;
pub mod file_logger;
pub mod measure;
pub mod stdlib_chain;

use std::io;
use std::net::UdpSocket;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The request line every row logs (with [`STATUS`], [`BYTES`], [`DURATION_US`] as three fields):
/// about 100 bytes once rendered with its key-values.
pub const METHOD: &str = "GET";
/// See [`METHOD`].
pub const PATH: &str = "/api/v1/items/12345?page=2&sort=desc";
/// See [`METHOD`].
pub const STATUS: u64 = 200;
/// See [`METHOD`].
pub const BYTES: u64 = 5120;
/// See [`METHOD`].
pub const DURATION_US: u64 = 742;
/// The ident every row uses.
pub const IDENT: &str = "fastsyslog-bench";

/// The record every `log` row emits: an access record with three key-values, to the global
/// logger or to `$logger`.
#[macro_export]
macro_rules! access_record {
    ($($logger:expr)?) => {
        log::info!(
            $(logger: $logger,)?
            target: "access",
            status = std::hint::black_box($crate::support::STATUS),
            bytes = std::hint::black_box($crate::support::BYTES),
            duration_us = std::hint::black_box($crate::support::DURATION_US);
            "{} {} HTTP/1.1",
            std::hint::black_box($crate::support::METHOD),
            std::hint::black_box($crate::support::PATH)
        )
    };
}

/// The same record for loggers that ignore `log`'s key-values (env_logger without `kv`, the
/// `syslog` crate): the fields are written into the message, so the bytes match.
#[macro_export]
macro_rules! access_record_text {
    ($($logger:expr)?) => {
        log::info!(
            $(logger: $logger,)?
            target: "access",
            "{} {} HTTP/1.1 status={} bytes={} duration_us={}",
            std::hint::black_box($crate::support::METHOD),
            std::hint::black_box($crate::support::PATH),
            std::hint::black_box($crate::support::STATUS),
            std::hint::black_box($crate::support::BYTES),
            std::hint::black_box($crate::support::DURATION_US)
        )
    };
}

/// The same record through `tracing` (three fields, message last as `tracing` renders it).
#[macro_export]
macro_rules! access_event {
    () => {
        tracing::info!(
            target: "access",
            status = std::hint::black_box($crate::support::STATUS),
            bytes = std::hint::black_box($crate::support::BYTES),
            duration_us = std::hint::black_box($crate::support::DURATION_US),
            "{} {} HTTP/1.1",
            std::hint::black_box($crate::support::METHOD),
            std::hint::black_box($crate::support::PATH)
        )
    };
}

/// The body fastsyslog renders for the access record (logfmt), for the raw floors.
pub fn rendered_body() -> String {
    format!("{METHOD} {PATH} HTTP/1.1 status={STATUS} bytes={BYTES} duration_us={DURATION_US}")
}

/// The whole RFC 3164 datagram glibc would send for [`rendered_body`] (fixed time stamp).
pub fn rendered_datagram() -> Vec<u8> {
    format!(
        "<134>Nov 22 20:34:36 {IDENT}[{}]: {}",
        std::process::id(),
        rendered_body()
    )
    .into_bytes()
}

/// A fresh temp directory that lives as long as the value.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("fastsyslog-bench-")
        .tempdir()
        .expect("create a temp dir")
}

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

impl Sink {
    /// Binds a sink on a fresh temp path.
    pub fn new() -> Sink {
        let dir = temp_dir();
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
                .name("bench-sink".into())
                .spawn(move || {
                    // A fast receiver: one `recvmmsg` takes every datagram already queued (up
                    // to 64), so the sender is not woken once per datagram when the socket's
                    // small queue (`net.unix.max_dgram_qlen`, 10 by default) runs full.
                    use std::os::fd::AsFd as _;
                    let mut bufs = vec![vec![0u8; 8192]; 64];
                    let mut lens = [0usize; 64];
                    while !stop.load(Ordering::Relaxed) {
                        let fd = socket.as_fd();
                        if let Ok(got) = fastsyslog::__testing::recv_many(fd, &mut bufs, &mut lens)
                        {
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
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.received();
            if got >= n || Instant::now() >= deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Default for Sink {
    fn default() -> Self {
        Sink::new()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            // A panicked drain thread has nothing left to clean up.
            let _ = t.join();
        }
        // The socket file may already be gone with its temp dir; nothing to report then.
        let _ = std::fs::remove_file(&self.path);
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

/// Where the syslog rows send: the in-process [`Sink`] (default), or a private rsyslogd when
/// `FASTSYSLOG_BENCH_RSYSLOG=1` (the opt-in "real daemon" mode).
#[derive(Debug)]
pub enum Target {
    /// The counting in-process sink.
    Sink(Sink),
    /// A private rsyslogd writing everything to one file in its temp dir.
    Rsyslogd(Rsyslogd),
}

impl Target {
    /// The sink, or rsyslogd when `FASTSYSLOG_BENCH_RSYSLOG=1`, bound at `path` when given.
    pub fn from_env(path: Option<&Path>) -> Target {
        if std::env::var_os("FASTSYSLOG_BENCH_RSYSLOG").is_some_and(|v| v == "1") {
            return Target::Rsyslogd(Rsyslogd::start(path).expect("start rsyslogd"));
        }
        match path {
            Some(p) => Target::Sink(Sink::bind(p).expect("bind the sink")),
            None => Target::Sink(Sink::new()),
        }
    }

    /// The socket path to send to.
    pub fn path(&self) -> &Path {
        match self {
            Target::Sink(s) => s.path(),
            Target::Rsyslogd(r) => &r.socket,
        }
    }

    /// Datagrams received, when the receiver can count them.
    pub fn received(&self) -> Option<u64> {
        match self {
            Target::Sink(s) => Some(s.received()),
            Target::Rsyslogd(_) => None,
        }
    }

    /// Waits for `n` datagrams (sink) and returns the count; `None` for rsyslogd.
    pub fn wait_for(&self, n: u64, timeout: Duration) -> Option<u64> {
        match self {
            Target::Sink(s) => Some(s.wait_for(n, timeout)),
            Target::Rsyslogd(_) => None,
        }
    }
}

/// A private rsyslogd (opt-in mode): imuxsock on its own socket, everything to `all.log`.
#[derive(Debug)]
pub struct Rsyslogd {
    dir: tempfile::TempDir,
    socket: PathBuf,
    child: Child,
}

impl Rsyslogd {
    /// Starts rsyslogd with its socket at `socket` (or in its temp dir) and waits for the socket.
    pub fn start(socket: Option<&Path>) -> io::Result<Rsyslogd> {
        let dir = temp_dir();
        let socket = socket
            .map(Path::to_owned)
            .unwrap_or_else(|| dir.path().join("log.sock"));
        let conf = dir.path().join("rsyslog.conf");
        std::fs::write(
            &conf,
            format!(
                "global(processInternalMessages=\"on\" maxMessageSize=\"64k\" workDirectory=\"{d}\")\n\
                 module(load=\"imuxsock\" SysSock.Use=\"off\")\n\
                 input(type=\"imuxsock\" Socket=\"{s}\" RateLimit.Interval=\"0\" UseSpecialParser=\"off\")\n\
                 *.* action(type=\"omfile\" file=\"{d}/all.log\")\n",
                d = dir.path().display(),
                s = socket.display()
            ),
        )?;
        let child = Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(dir.path().join("pid"))
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("rsyslogd not found: apt-get install -y rsyslog ({e})"),
                )
            })?;
        for _ in 0..100 {
            if socket.exists() {
                return Ok(Rsyslogd { dir, socket, child });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "rsyslogd did not create its socket",
        ))
    }
}

impl Drop for Rsyslogd {
    fn drop(&mut self) {
        // Our own child: it may already have exited, which is fine.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = &self.dir;
    }
}

/// Criterion settings for a shared 2-core machine: short warm-up and measurement, few samples.
/// Command-line options (`--measurement-time`, …) still override them.
pub fn criterion() -> criterion::Criterion {
    criterion::Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(10)
}
