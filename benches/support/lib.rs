//! Shared setup for the criterion benches and the `overhead`, `http_server` and `loadgen`
//! binaries: the access record every row logs, where it is sent, the file loggers, the
//! stdlib-style chain model and the measurement.
//!
//! Every receiver is in-process: [`Sink`] is a `UnixDatagram` bound on a temp path and drained by a
//! thread that counts what arrives, [`UdpSink`] the same on `127.0.0.1` (both from
//! `fastsyslog-testkit`). Nothing here touches the machine's `/dev/log`: the glibc rows reach a
//! sink through `/dev/log` only inside a private mount namespace ([`devlog`]). With
//! `FASTSYSLOG_BENCH_RSYSLOG=1` the same rows run against a private rsyslogd instead
//! ([`Target::from_env`]).

pub mod devlog;
pub mod file_logger;
pub mod measure;
pub mod stdlib_chain;

use std::path::Path;
use std::time::Duration;

pub use fastsyslog_testkit::rsyslogd::Rsyslogd;
pub use fastsyslog_testkit::sink::{Counts, Sink, StreamSink, UdpSink};

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
            status = std::hint::black_box($crate::STATUS),
            bytes = std::hint::black_box($crate::BYTES),
            duration_us = std::hint::black_box($crate::DURATION_US);
            "{} {} HTTP/1.1",
            std::hint::black_box($crate::METHOD),
            std::hint::black_box($crate::PATH)
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
            std::hint::black_box($crate::METHOD),
            std::hint::black_box($crate::PATH),
            std::hint::black_box($crate::STATUS),
            std::hint::black_box($crate::BYTES),
            std::hint::black_box($crate::DURATION_US)
        )
    };
}

/// The same record through `tracing` (three fields, message last as `tracing` renders it).
#[macro_export]
macro_rules! access_event {
    () => {
        tracing::info!(
            target: "access",
            status = std::hint::black_box($crate::STATUS),
            bytes = std::hint::black_box($crate::BYTES),
            duration_us = std::hint::black_box($crate::DURATION_US),
            "{} {} HTTP/1.1",
            std::hint::black_box($crate::METHOD),
            std::hint::black_box($crate::PATH)
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
    fastsyslog_testkit::temp_dir("fastsyslog-bench-")
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
            let mut daemon = Rsyslogd::builder().all_log_only();
            if let Some(path) = path {
                daemon = daemon.socket(path);
            }
            return Target::Rsyslogd(daemon.start());
        }
        match path {
            Some(p) => Target::Sink(Sink::bind(p).expect("bind the sink")),
            None => Target::Sink(Sink::new()),
        }
    }

    /// The socket path to send to.
    pub fn path(&self) -> std::path::PathBuf {
        match self {
            Target::Sink(s) => s.path().to_owned(),
            Target::Rsyslogd(r) => r.socket(),
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

/// Criterion settings for a shared 2-core machine: short warm-up and measurement, few samples.
/// Command-line options (`--measurement-time`, …) still override them.
pub fn criterion() -> criterion::Criterion {
    criterion::Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(10)
}
