//! The `tracing` adapters: [`Subscriber`] implements [`tracing_core::Subscriber`] directly, so no
//! `tracing-subscriber` is needed, and [`Layer`] (feature `layer`) plugs into a
//! `tracing_subscriber::registry()` stack.
//!
//! Events go through the same [`Pipeline`] as `log` records: the same directives, routing,
//! severity mapping, body formats, hygiene, transports and background writer. This module only
//! turns tracing's types into the renderer's [`Fields`](crate::format::Fields) and
//! [`Spans`](crate::format::Spans), keeps the spans, and implements the gate.
//!
//! - This file: the gate and the dispatch both adapters share, and the builder's methods.
//! - [`subscriber`]: the [`Subscriber`] and its thread-local stack of entered spans.
//! - [`spans`]: the `Subscriber`'s span store, and the locking notes.
//! - [`fields`]: field values, read in place for events and copied for spans.
//! - `layer`: the [`Layer`], which keeps span fields in the registry's extensions.
#![cfg(feature = "tracing")]

mod fields;
mod layer;
mod spans;
mod subscriber;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use tracing_core::{Level, LevelFilter, Metadata};
use tracing_log::NormalizeEvent;

use crate::error::{Error, ErrorKind};
use crate::format::{Message, Spans};
use crate::pipeline::{Event, Pipeline, WorkerGuard};
use crate::stats::{DropReason, Lane};
use crate::Builder;
use fields::{with_message, EventFields};
#[cfg(feature = "layer")]
pub use layer::Layer;
pub use subscriber::Subscriber;

// === the gate and dispatch, shared by the subscriber and the layer ===

/// The `log` level for a tracing level (the same five levels).
fn log_level(level: &Level) -> log::Level {
    match *level {
        Level::ERROR => log::Level::Error,
        Level::WARN => log::Level::Warn,
        Level::INFO => log::Level::Info,
        Level::DEBUG => log::Level::Debug,
        _ => log::Level::Trace,
    }
}

/// The tracing level filter for a `log` one (the same six values).
fn level_filter(filter: log::LevelFilter) -> LevelFilter {
    match filter {
        log::LevelFilter::Off => LevelFilter::OFF,
        log::LevelFilter::Error => LevelFilter::ERROR,
        log::LevelFilter::Warn => LevelFilter::WARN,
        log::LevelFilter::Info => LevelFilter::INFO,
        log::LevelFilter::Debug => LevelFilter::DEBUG,
        log::LevelFilter::Trace => LevelFilter::TRACE,
    }
}

/// Whether the directives enable `metadata`: the `log` path's check on a `log::Metadata` built on
/// the stack (no allocation, no lock).
#[inline]
fn enabled_by(pipeline: &Pipeline, metadata: &Metadata<'_>) -> bool {
    pipeline.enabled(
        &log::Metadata::builder()
            .level(log_level(metadata.level()))
            .target(metadata.target())
            .build(),
    )
}

/// Sends one tracing event through `pipeline`, with `spans` as its span chain.
///
/// The caller has already applied the directives to the event's own metadata (by callsite
/// interest, or in the layer's `on_event`); `log` records forwarded by tracing-log are filtered and
/// routed here by their original target. Never panics: a panicking `Debug` impl is counted as a
/// dropped record.
fn dispatch_event(pipeline: &Pipeline, event: &tracing_core::Event<'_>, spans: Option<&dyn Spans>) {
    let level = log_level(event.metadata().level());
    let result = catch_unwind(AssertUnwindSafe(|| {
        let normalized = event.normalized_metadata();
        let (target, from_log) = match &normalized {
            Some(meta) => {
                // `LogTracer` already asked `enabled` with this target; a record forwarded another
                // way (`tracing_log::format_trace`) is checked here.
                if !enabled_by(pipeline, meta) {
                    return;
                }
                (meta.target(), true)
            }
            None => (event.metadata().target(), false),
        };
        let fields = EventFields { event, from_log };
        // The message is handed over from inside the field visitor, where tracing lends it: that
        // way it is formatted once, straight into the output buffer.
        with_message(event, &mut |message| {
            pipeline.dispatch(&Event {
                level,
                target,
                message: Message::Display(message),
                fields: &fields,
                spans,
                location: event.metadata().file().zip(event.metadata().line()),
            });
        });
    }));
    if result.is_err() {
        pipeline
            .counters
            .drop_record(Lane::for_level(level), DropReason::Panic);
    }
}

// === impl Builder (tracing and layer) ===

impl Builder {
    /// Builds a [`Subscriber`] without installing it (for `tracing::subscriber::with_default`, or
    /// `tracing::Dispatch::new`), and its one [`WorkerGuard`].
    ///
    /// # Errors
    ///
    /// As [`Builder::build`]: an invalid setting or environment value, an invalid ident, strict
    /// start-up with an unreachable socket, or a writer thread that could not be spawned.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Mode};
    /// use tracing_core::Subscriber as _;
    ///
    /// let (subscriber, _guard) = Builder::new().filter("warn,db=debug").mode(Mode::Sync).build_subscriber().unwrap();
    /// assert_eq!(subscriber.max_level_hint(), Some(tracing_core::LevelFilter::DEBUG));
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
    pub fn build_subscriber(self) -> Result<(Subscriber, WorkerGuard), Error> {
        let pipeline = self.build_pipeline(false)?;
        Ok((
            Subscriber::new(Arc::clone(&pipeline)),
            WorkerGuard::new(pipeline),
        ))
    }

    /// Builds a [`Subscriber`] and sets it as tracing's global default.
    ///
    /// Keep the returned guard for as long as the program logs (see [`WorkerGuard`]). To send `log`
    /// records through it too, install `tracing_log::LogTracer`; they keep their original target.
    ///
    /// # Errors
    ///
    /// As [`build_subscriber`](Builder::build_subscriber), and [`ErrorKind::AlreadyInitialized`]
    /// when a global default subscriber is already set.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let _guard = fastsyslog::Builder::from_env().ident("web").try_init_tracing().expect("subscriber");
    /// tracing::info!(target: "access", status = 200, "GET /");
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
    pub fn try_init_tracing(self) -> Result<WorkerGuard, Error> {
        let (subscriber, guard) = self.build_subscriber()?;
        let pipeline = Arc::clone(&subscriber.pipeline);
        tracing_core::dispatcher::set_global_default(tracing_core::Dispatch::new(subscriber))
            .map_err(|_| {
                Error::new(
                    ErrorKind::AlreadyInitialized,
                    "a global `tracing` subscriber is already installed",
                )
            })?;
        crate::pipeline::set_global(&pipeline, true);
        Ok(guard)
    }

    /// As [`try_init_tracing`](Builder::try_init_tracing), panicking on error (as
    /// [`init`](Builder::init) does for `log`).
    ///
    /// # Panics
    ///
    /// When [`try_init_tracing`](Builder::try_init_tracing) returns an error; the message is the
    /// error's.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let _guard = fastsyslog::Builder::from_env().ident("web").init_tracing();
    /// tracing::info!(target: "access", status = 200, "GET /");
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
    pub fn init_tracing(self) -> WorkerGuard {
        match self.try_init_tracing() {
            Ok(guard) => guard,
            Err(e) => panic!("fastsyslog: {e}"),
        }
    }

    /// Builds a [`Layer`] for `tracing_subscriber::registry().with(…)`, and its one
    /// [`WorkerGuard`].
    ///
    /// The layer leaves filtering to the stack (`EnvFilter`, `.with_filter`, `reload::Layer`) and
    /// does not read `RUST_LOG`; it applies directives of its own only when given them with
    /// [`Builder::filter`] or `FASTSYSLOG_LOG`.
    ///
    /// # Errors
    ///
    /// As [`Builder::build`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Mode};
    /// let (layer, guard) = Builder::new().mode(Mode::Sync).build_layer().unwrap();
    /// assert_eq!(guard.stats().written, 0);
    /// # drop(layer);
    /// ```
    #[cfg(feature = "layer")]
    #[cfg_attr(docsrs, doc(cfg(feature = "layer")))]
    pub fn build_layer(self) -> Result<(Layer, WorkerGuard), Error> {
        let filters = self.directives(true).is_some();
        let pipeline = self.build_pipeline(true)?;
        Ok((
            Layer {
                pipeline: Arc::clone(&pipeline),
                filters,
            },
            WorkerGuard::new(pipeline),
        ))
    }
}

/// Installs a [`Subscriber`] configured from the environment (see [`Builder::from_env`]) as
/// tracing's global default.
///
/// # Errors
///
/// As [`Builder::try_init_tracing`].
///
/// # Examples
///
/// ```no_run
/// let _guard = fastsyslog::try_init_tracing().expect("subscriber");
/// let span = tracing::info_span!("req", method = "GET");
/// let _entered = span.enter();
/// tracing::info!(target: "access", status = 200, "GET /index.html");
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub fn try_init_tracing() -> Result<WorkerGuard, Error> {
    Builder::from_env().try_init_tracing()
}

/// Installs a [`Subscriber`] configured from the environment as tracing's global default,
/// panicking on error (as [`init()`](crate::init) does for `log`).
///
/// # Panics
///
/// When [`try_init_tracing()`] returns an error.
///
/// # Examples
///
/// ```no_run
/// let _guard = fastsyslog::init_tracing();
/// tracing::info!(target: "access", status = 200, "GET /index.html");
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub fn init_tracing() -> WorkerGuard {
    Builder::from_env().init_tracing()
}

#[cfg(test)]
mod tests {
    //! The harness the adapters' tests share (a datagram sink, span-chain readers), and the tests
    //! of the shared dispatch.

    use super::*;
    #[cfg(feature = "layer")]
    use crate::format::Fields;
    use crate::format::Value;
    use crate::tracing::spans::SpanChain;
    use crate::{Facility, Match, Mode};
    use std::fmt;
    use std::os::unix::net::UnixDatagram;
    use std::time::Duration;
    use tracing::dispatcher::{self, Dispatch};

    /// A datagram receiver in its own temp dir, standing in for the daemon.
    pub(crate) struct Sink {
        _dir: tempfile::TempDir,
        path: std::path::PathBuf,
        rx: UnixDatagram,
    }

    impl Sink {
        pub(crate) fn new() -> Sink {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("log.sock");
            let rx = UnixDatagram::bind(&path).unwrap();
            // Sync mode sends before the macro returns; the timeout only bounds a failing test.
            rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            Sink {
                _dir: dir,
                path,
                rx,
            }
        }

        pub(crate) fn builder(&self, filter: &str) -> Builder {
            Builder::new()
                .socket(&self.path)
                .mode(Mode::Sync)
                .ident("t")
                .filter(filter)
        }

        pub(crate) fn dispatch(&self, filter: &str) -> Dispatch {
            Dispatch::new(self.builder(filter).build_subscriber().unwrap().0)
        }

        pub(crate) fn recv(&self) -> String {
            let mut buf = vec![0; 65536];
            let n = self.rx.recv(&mut buf).expect("a datagram");
            String::from_utf8(buf[..n].to_vec()).unwrap()
        }

        /// Asserts nothing more was sent (sync mode: everything sent already arrived).
        pub(crate) fn assert_empty(&self) {
            self.rx.set_nonblocking(true).unwrap();
            let mut buf = [0; 1024];
            let got = self.rx.recv(&mut buf);
            self.rx.set_nonblocking(false).unwrap();
            if let Ok(n) = got {
                panic!("unexpected {:?}", String::from_utf8_lossy(&buf[..n]));
            }
        }
    }

    pub(crate) fn text(value: Value<'_>) -> String {
        value.to_string()
    }

    pub(crate) type Chain = Vec<(String, Vec<(String, String)>)>;

    pub(crate) fn collect(spans: &dyn Spans) -> Chain {
        let mut out = Vec::new();
        spans.visit(&mut |name, fields| {
            let mut kv = Vec::new();
            fields.visit(&mut |k, v| kv.push((k.to_owned(), text(v))));
            out.push((name.to_owned(), kv));
        });
        out
    }

    pub(crate) fn with_sub<R>(mut f: impl FnMut(&Subscriber) -> R) -> R {
        dispatcher::get_default(|d| f(d.downcast_ref::<Subscriber>().expect("our subscriber")))
    }

    /// The span chain an event emitted here would carry.
    pub(crate) fn current_chain() -> Chain {
        with_sub(|sub| match sub.current() {
            Some(leaf) => collect(&SpanChain {
                table: &sub.spans,
                leaf,
            }),
            None => Vec::new(),
        })
    }

    pub(crate) fn live() -> usize {
        with_sub(|sub| sub.spans.live())
    }

    /// What [`Spans::visit`] takes.
    #[cfg(feature = "layer")]
    pub(crate) type SpanVisitor<'v> = &'v mut dyn FnMut(&str, &dyn Fields);

    /// A closure as [`Spans`], for the layer's tests.
    #[cfg(feature = "layer")]
    pub(crate) struct FnSpans<'f>(pub(crate) &'f dyn Fn(SpanVisitor<'_>));

    #[cfg(feature = "layer")]
    impl Spans for FnSpans<'_> {
        fn visit(&self, visitor: &mut dyn FnMut(&str, &dyn Fields)) {
            (self.0)(visitor)
        }
    }

    pub(crate) fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The body after the RFC 3164 header `<PRI>Mmm dd hh:mm:ss t[pid]: `.
    pub(crate) fn body(msg: &str) -> &str {
        let start = msg.find("]: ").expect("3164 header") + 3;
        &msg[start..]
    }

    /// Emits the same event in two nested spans; the caller checks the rendering.
    pub(crate) fn nested_event() {
        let req = tracing::info_span!("req", method = "GET", path = "/a b");
        let _r = req.enter();
        let db = tracing::info_span!("db", name = "users", rows = tracing::field::Empty);
        let _d = db.enter();
        db.record("rows", 3u64);
        tracing::info!(status = 200u16, ok = true, "done");
    }

    #[test]
    fn routes_by_target_and_by_field() {
        let sink = Sink::new();
        let (sub, _guard) = sink
            .builder("info")
            .route(Match::Field("access".into()), Facility::Local0)
            .build_subscriber()
            .unwrap();
        dispatcher::with_default(&Dispatch::new(sub), || {
            tracing::info!(target: "access", "by target");
            tracing::info!(access = true, "by field");
            tracing::info!(access = false, "not access");
            tracing::warn!("plain");
        });
        let got: Vec<String> = (0..4).map(|_| sink.recv()).collect();
        assert!(
            got[0].starts_with("<134>") && got[0].contains("by target"),
            "{got:?}"
        );
        assert!(
            got[1].starts_with("<134>") && got[1].contains("by field"),
            "{got:?}"
        );
        assert!(got[2].starts_with("<142>"), "{got:?}");
        assert!(got[3].starts_with("<140>"), "local1.warning: {got:?}");
    }

    #[test]
    fn log_records_keep_their_original_target() {
        let sink = Sink::new();
        dispatcher::with_default(&sink.dispatch("warn,access=info"), || {
            let record = |target: &'static str, msg| {
                tracing_log::format_trace(
                    &log::Record::builder()
                        .args(format_args!("{msg}"))
                        .level(log::Level::Info)
                        .target(target)
                        .module_path_static(Some("server::http"))
                        .file_static(Some("src/http.rs"))
                        .line(Some(42))
                        .build(),
                )
                .unwrap();
            };
            record("access", "GET /");
            record("app", "filtered by its own target");
        });
        let got = sink.recv();
        assert!(got.starts_with("<134>"), "routed by target access: {got}");
        assert!(got.contains("GET /"), "{got}");
        assert!(!got.contains("log."), "no tracing-log fields: {got}");
        sink.assert_empty();
    }

    #[test]
    #[cfg(feature = "background")]
    fn background_mode_sends_the_span_fields_and_bytes_sync_mode_sends() {
        struct Peer;
        impl fmt::Debug for Peer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("Peer { addr: \"10.0.0.1\" }")
            }
        }
        let sink = Sink::new();
        for format in [
            crate::Format::Logfmt,
            crate::Format::Json,
            crate::Format::Rfc5424,
        ] {
            let mut bodies = Vec::new();
            for mode in [Mode::Sync, Mode::Background] {
                let (sub, guard) = sink
                    .builder("info")
                    .format(format)
                    .mode(mode)
                    .build_subscriber()
                    .unwrap();
                dispatcher::with_default(&Dispatch::new(sub), || {
                    nested_event();
                    let _s = tracing::info_span!("outer", peer = ?Peer, n = -1i64).entered();
                    tracing::warn!(error = %"disk full", "write {} failed", "/var/x");
                });
                assert!(guard.flush());
                let got = [sink.recv(), sink.recv()];
                // Whatever comes after the header's time and host.
                bodies.push(got.map(|d| d.split_once(" t").unwrap().1.to_owned()));
            }
            assert_eq!(bodies[0], bodies[1], "{format:?}");
            assert!(bodies[1][0].contains("users"), "{:?}", bodies[1]);
        }
        sink.assert_empty();
    }

    #[test]
    fn panicking_field_is_counted_not_propagated() {
        struct Boom;
        impl fmt::Debug for Boom {
            fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
                panic!("boom")
            }
        }
        let sink = Sink::new();
        let (sub, guard) = sink.builder("info").build_subscriber().unwrap();
        dispatcher::with_default(&Dispatch::new(sub), || {
            tracing::info!(bad = ?Boom, "x");
        });
        assert_eq!(guard.stats().dropped_total(), 1);
        assert_eq!(guard.stats().written, 0);
        sink.assert_empty();
    }
}
