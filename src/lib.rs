// The crate docs are the README, so the two cannot drift apart and its examples run as doc tests.
#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

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
/// `unsafe` themselves. Not part of the public API: no semver guarantees.
#[doc(hidden)]
#[cfg(unix)]
pub mod __bench {
    use std::ffi::CStr;

    /// `openlog(ident, LOG_PID | LOG_NDELAY, facility)`, as the libc transport does.
    pub fn openlog(ident: &'static CStr, facility: crate::Facility) {
        crate::transport::libc::open(ident, facility);
    }

    /// `syslog(priority, "%s", msg)`: the floor the libc rows are compared with.
    pub fn raw_syslog(priority: i32, msg: &CStr) {
        crate::transport::libc::raw_syslog(priority, msg);
    }
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

/// The renderer behind a stable, allocation-friendly signature for the fuzz target
/// (`fuzz/fuzz_targets/format.rs`) and the property tests (`tests/it/fault.rs`). Not public API, no
/// semver promise.
#[doc(hidden)]
pub mod __fuzz {
    use crate::format::{Fields, Framing, Record, Renderer, Spans, Timestamp, Value};
    use crate::severity::Priority;
    use crate::{Facility, Format, Header, Severity};

    /// One key-value's value.
    #[derive(Debug, Clone, Copy)]
    pub enum FuzzValue<'a> {
        /// A string (rendered after escaping).
        Str(&'a str),
        /// A signed integer.
        I64(i64),
        /// An unsigned integer.
        U64(u64),
        /// A float, including NaN and infinities.
        F64(f64),
        /// A boolean.
        Bool(bool),
    }

    /// Everything one render takes.
    #[derive(Debug, Clone, Copy)]
    pub struct Input<'a> {
        /// [`Format::Logfmt`], [`Format::Json`] or [`Format::Rfc5424`]: `format % 3`.
        pub format: u8,
        /// RFC 3164 header, RFC 5424 header or libc body: `framing % 3` (`Format::Rfc5424` always
        /// gets the RFC 5424 header, as the builder does).
        pub framing: u8,
        /// `Renderer::max_len`, clamped to the builder's accepted range.
        pub max_len: usize,
        /// The ident, sanitized as the builder does (`fuzz` when the builder would reject it).
        pub ident: &'a str,
        /// The free-text message.
        pub message: &'a str,
        /// The record's key-values.
        pub fields: &'a [(&'a str, FuzzValue<'a>)],
        /// The spans (tracing), outermost first, each with its fields.
        pub spans: &'a [(&'a str, &'a [(&'a str, FuzzValue<'a>)])],
    }

    /// What one render produced.
    #[derive(Debug, Clone)]
    pub struct Output {
        /// The message bytes as the transport would send them.
        pub bytes: Vec<u8>,
        /// What `Renderer::render` returned: whether it cut the message.
        pub truncated: bool,
        /// The format used.
        pub format: Format,
        /// The header written, `None` for the libc body (glibc writes the header).
        pub header: Option<Header>,
        /// The effective `max_len` after clamping.
        pub max_len: usize,
        /// The ident after sanitizing.
        pub ident: String,
    }

    /// The pid every fuzz render uses (4 digits, like a typical server's).
    pub const PID: u32 = 4242;

    fn convert<'a>(v: &FuzzValue<'a>) -> Value<'a> {
        match *v {
            FuzzValue::Str(s) => Value::Str(s),
            FuzzValue::I64(n) => Value::I64(n),
            FuzzValue::U64(n) => Value::U64(n),
            FuzzValue::F64(n) => Value::F64(n),
            FuzzValue::Bool(b) => Value::Bool(b),
        }
    }

    struct FieldList<'a>(&'a [(&'a str, FuzzValue<'a>)]);

    impl Fields for FieldList<'_> {
        fn visit(&self, visitor: &mut dyn FnMut(&str, Value<'_>)) {
            for (k, v) in self.0 {
                visitor(k, convert(v));
            }
        }
    }

    struct SpanList<'a>(&'a [(&'a str, &'a [(&'a str, FuzzValue<'a>)])]);

    impl Spans for SpanList<'_> {
        fn visit(&self, visitor: &mut dyn FnMut(&str, &dyn Fields)) {
            for (name, fields) in self.0 {
                visitor(name, &FieldList(fields));
            }
        }
    }

    /// Renders `input` through `format::Renderer` exactly as a built logger would (fixed pid,
    /// time `2026-11-22 20:34:36.123456 +01:00`, host `fuzzhost`, priority local1.info).
    pub fn render(input: &Input<'_>) -> Output {
        let format = [Format::Logfmt, Format::Json, Format::Rfc5424][usize::from(input.format % 3)];
        let framing = if format == Format::Rfc5424 {
            Framing::Header(Header::Rfc5424)
        } else {
            [
                Framing::Header(Header::Rfc3164),
                Framing::Header(Header::Rfc5424),
                Framing::LibcBody,
            ][usize::from(input.framing % 3)]
        };
        let max_len = input
            .max_len
            .clamp(crate::MIN_MAX_MESSAGE_SIZE, crate::MAX_MAX_MESSAGE_SIZE);
        let ident = crate::builder::sanitize_ident(input.ident).unwrap_or_else(|_| "fuzz".into());
        let renderer = Renderer {
            format,
            framing,
            ident: ident.clone(),
            hostname: "fuzzhost".into(),
            max_len,
        };
        let now = Timestamp {
            year: 2026,
            month: 11,
            day: 22,
            hour: 20,
            minute: 34,
            second: 36,
            micros: 123_456,
            utc_offset: 3600,
        };
        let fields = FieldList(input.fields);
        let spans = SpanList(input.spans);
        let record = Record {
            priority: Priority::new(Facility::Local1, Severity::Informational),
            message: &input.message,
            fields: &fields,
            spans: (!input.spans.is_empty()).then_some(&spans as &dyn Spans),
        };
        let mut bytes = Vec::new();
        let truncated = renderer.render(&mut bytes, &record, PID, &now);
        Output {
            bytes,
            truncated,
            format,
            header: match framing {
                Framing::Header(h) => Some(h),
                Framing::LibcBody => None,
            },
            max_len,
            ident,
        }
    }
}

/// Test hooks that need `unsafe` (another library's `openlog`/`closelog`, `fork`), kept in
/// `transport/libc.rs` with the crate's other FFI. Not public API, no semver promise.
#[cfg(unix)]
#[doc(hidden)]
pub use crate::transport::libc::__testing;
