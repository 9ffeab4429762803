// The crate docs are the README, so the two cannot drift apart and its examples run as doc tests.
#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Without an adapter (`log` or `tracing`) nothing calls the pipeline; the types, the builder and the
// daemon-config generator still build, so this is not an error.
#![cfg_attr(not(any(feature = "log", feature = "tracing")), allow(dead_code))]

mod builder;
mod clock;
mod daemon_config;
mod error;
mod facility;
mod format;
#[cfg(feature = "layer")]
#[cfg_attr(docsrs, doc(cfg(feature = "layer")))]
pub mod layer;
mod logger;
mod pipeline;
mod route;
mod severity;
mod stats;
mod subscriber;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod transport;
mod worker;

use std::sync::{Arc, OnceLock};

pub use crate::builder::{
    Builder, Mode, DEFAULT_FILTER, DEFAULT_FLUSH_TIMEOUT, DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_SEND_TIMEOUT, DEFAULT_SOCKET, MAX_IDENT_LEN, MAX_MAX_MESSAGE_SIZE,
    MIN_MAX_MESSAGE_SIZE,
};
pub use crate::daemon_config::DaemonConfig;
pub use crate::error::{Error, ErrorKind};
pub use crate::facility::{Facility, ParseFacilityError};
pub use crate::format::{Format, Header};
#[cfg(feature = "layer")]
#[cfg_attr(docsrs, doc(cfg(feature = "layer")))]
pub use crate::layer::Layer;
#[cfg(feature = "log")]
#[cfg_attr(docsrs, doc(cfg(feature = "log")))]
pub use crate::logger::{init, try_init, Logger};
pub use crate::pipeline::WorkerGuard;
pub use crate::route::{Match, Rule};
pub use crate::severity::{ParseSeverityError, Severity, SeverityMapping};
pub use crate::stats::{DropReason, Lane, Stats};
#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub use crate::subscriber::{init_tracing, Subscriber};
#[cfg(feature = "background")]
#[cfg_attr(docsrs, doc(cfg(feature = "background")))]
pub use crate::worker::{
    Overflow, DEEP_SLEEP_AFTER, DEEP_SLEEP_POLL, DEFAULT_BULK_OVERFLOW,
    DEFAULT_BULK_QUEUE_CAPACITY, DEFAULT_ERROR_OVERFLOW, DEFAULT_ERROR_QUEUE_CAPACITY,
    MAX_IDLE_SLEEP, MIN_IDLE_SLEEP,
};

/// Hooks for the crate's own benchmarks (`benches/`, `examples/overhead.rs`), which may not use
/// FFI themselves (all of it stays in `transport/libc.rs`). Not part of the public API: no semver guarantees.
#[doc(hidden)]
#[cfg(unix)]
pub mod __bench {
    use std::ffi::CStr;

    /// `openlog(ident, LOG_PID | LOG_NDELAY, facility)`, as the libc transport does.
    pub fn openlog(ident: &'static CStr, facility: crate::Facility) {
        crate::transport::libc::__testing::foreign_openlog(ident, true, facility);
    }

    /// `syslog(priority, "%s", msg)`: the floor the libc rows are compared with.
    pub use crate::transport::libc::__testing::foreign_syslog as raw_syslog;
}

/// The pipeline of the logger installed by `init`, for [`stats()`].
static GLOBAL: OnceLock<Arc<pipeline::Pipeline>> = OnceLock::new();

#[allow(dead_code)] // Only the feature-gated adapters call it.
pub(crate) fn set_global(pipeline: Arc<pipeline::Pipeline>) {
    // Only the first installed logger is global (`log` and `tracing` both allow one); a second
    // `set` fails and that is the right outcome.
    let _ = GLOBAL.set(pipeline);
}

/// A snapshot of the installed global logger's counters, or `None` before `init`. Takes no lock.
///
/// # Examples
///
/// ```no_run
/// let _guard = fastsyslog::init();
/// log::info!("hello");
/// let stats = fastsyslog::stats().expect("installed");
/// println!("written {} dropped {}", stats.written, stats.dropped_total());
/// ```
pub fn stats() -> Option<Stats> {
    GLOBAL.get().map(|p| p.stats())
}

#[doc(hidden)]
pub use crate::format::__fuzz;

/// Test hooks that need FFI (another library's `openlog`/`closelog`, `fork`), kept in
/// `transport/libc.rs` with the crate's other FFI. Not public API, no semver promise.
#[cfg(unix)]
#[doc(hidden)]
pub use crate::transport::libc::__testing;
