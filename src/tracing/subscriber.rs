//! [`Subscriber`]: the `tracing` adapter that implements [`tracing_core::Subscriber`] itself, so no
//! `tracing-subscriber` is needed. It keeps its spans in a [`SpanTable`] and the thread's entered
//! spans in a thread-local stack.

use std::cell::RefCell;
use std::fmt;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tracing_core::span::{self, Id};
use tracing_core::{Interest, LevelFilter, Metadata};

use super::fields::SpanFields;
use super::spans::{SpanChain, SpanTable};
use super::{dispatch_event, enabled_by, level_filter};
use crate::pipeline::{Handle, Pipeline};

/// A `tracing` subscriber that sends every enabled event to syslog, with the fields of the spans it
/// happened in.
///
/// Build it with [`Builder::build_subscriber`](crate::Builder::build_subscriber) (for
/// `tracing::subscriber::with_default`) or install it with
/// [`Builder::init_tracing`](crate::Builder::init_tracing). For a composed subscriber
/// (`registry().with(EnvFilter).with(…)`), use [`Layer`](crate::Layer) instead.
///
/// # The gate
///
/// The builder's directives ([`Builder::filter`](crate::Builder::filter)) are decided once per
/// callsite: `register_callsite` returns [`Interest::never`] for a callsite they disable, so
/// tracing's macros skip it with one relaxed load, as with no subscriber at all; `max_level_hint`
/// returns the most verbose enabled level. Spans are filtered by the same directives: a disabled
/// span is not created, and events inside it show its enabled ancestors only.
///
/// # Spans
///
/// Span field values are copied when they are recorded (`Debug` and `Display` values are formatted
/// then) into a table of reusable slots, so span ids are reused and a closed span leaves nothing
/// behind. Each event carries the fields of its span chain, outermost first: its explicit parent,
/// or else the thread's current span, and that span's parents. How the chain is written depends on
/// the [`Format`](crate::Format):
///
/// | format | span chain |
/// |---|---|
/// | logfmt | `MESSAGE req.method=GET db.table=users status=200` (span fields before event fields) |
/// | JSON | `"spans":[{"name":"req","method":"GET"},{"name":"db","table":"users"}]` |
/// | RFC 5424 | `[span1@32473 name="req" method="GET"][span2@32473 name="db" table="users"]`, before `[fields@32473 …]` |
///
/// A span field called `name` is written `_name` (JSON and RFC 5424), as an event field called
/// `msg`, `spans` or `truncated` is in JSON. A chain deeper than 64 spans loses its
/// outermost spans. `follows_from` links are accepted and not rendered.
///
/// # Routing
///
/// Routing sees the event's target and fields, so both `info!(target: "access", …)` and
/// `info!(access = true, …)` reach the access facility once a
/// [`Match::Field("access")`](crate::Match::Field) rule is added (the target rule is built in).
/// The `message` field is the record's message, not a key-value.
///
/// # `log` records
///
/// With [`tracing_log::LogTracer`](https://docs.rs/tracing-log) installed, `log` records become
/// tracing events; they are filtered and routed by their original target, and render exactly as they
/// would through [`Logger`](crate::Logger) (tracing-log's `log.target`, `log.module_path`, `log.file`
/// and `log.line` fields are not repeated as key-values).
///
/// # Examples
///
/// ```
/// use fastsyslog::{Builder, Mode};
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("log.sock");
/// # let rx = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
///
/// let (subscriber, guard) = Builder::new()
///     .socket(&path)
///     .mode(Mode::Sync)
///     .build_subscriber()
///     .unwrap();
/// tracing::subscriber::with_default(subscriber, || {
///     let span = tracing::info_span!("req", method = "GET");
///     let _entered = span.enter();
///     tracing::info!(status = 200, "done");
///     tracing::debug!("disabled by the default `info` directive");
/// });
/// assert_eq!(guard.stats().written, 1);
/// # let mut buf = [0; 256];
/// # let n = rx.recv(&mut buf).unwrap();
/// # assert!(std::str::from_utf8(&buf[..n]).unwrap().contains("done"));
/// ```
pub struct Subscriber {
    pub(super) pipeline: Arc<Pipeline>,
    /// Tells this subscriber's entries apart in the thread-local span stack, which every subscriber
    /// in the process shares.
    key: u64,
    pub(super) spans: SpanTable,
}

impl fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber")
            .field("pipeline", &self.pipeline)
            .field("live_spans", &self.spans.live())
            .finish_non_exhaustive()
    }
}

/// Hands out [`Subscriber::key`]s.
static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The spans entered on this thread and not yet exited, innermost last, tagged with the key of
    /// the subscriber that owns them (several subscribers may be in use, e.g. with `with_default`).
    static STACK: RefCell<Vec<(u64, NonZeroU64)>> = const { RefCell::new(Vec::new()) };
}

// === impl Subscriber ===

impl Subscriber {
    pub(super) fn new(pipeline: Arc<Pipeline>) -> Self {
        Subscriber {
            pipeline,
            key: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
            spans: SpanTable::default(),
        }
    }

    /// A [`Handle`] for this subscriber's stats, flush and directives. Dropping it stops nothing.
    ///
    /// Take it before handing the subscriber to `with_default` or `Dispatch::new`; it keeps
    /// working after that. [`Handle::set_filter`] rebuilds tracing's callsite interest, so a
    /// raised level takes effect at once.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Mode};
    /// let (subscriber, _guard) = Builder::new().mode(Mode::Sync).build_subscriber().unwrap();
    /// assert_eq!(subscriber.handle().stats().written, 0);
    /// ```
    pub fn handle(&self) -> Handle {
        Handle::new(Arc::clone(&self.pipeline))
    }

    /// The thread's current span for this subscriber. Takes no lock.
    pub(super) fn current(&self) -> Option<Id> {
        STACK
            .try_with(|stack| {
                let stack = stack.try_borrow().ok()?;
                stack
                    .iter()
                    .rev()
                    .find(|(key, _)| *key == self.key)
                    .map(|(_, id)| Id::from_non_zero_u64(*id))
            })
            .ok()
            .flatten()
    }
}

impl tracing_core::Subscriber for Subscriber {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if enabled_by(&self.pipeline, metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    #[inline]
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        // Called by `LogTracer` with the `log` record's own target, and for callsites whose
        // interest another live subscriber made `sometimes`.
        enabled_by(&self.pipeline, metadata)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        // Read now, not at build: tracing asks again after a reload rebuilds the interest cache.
        Some(level_filter(self.pipeline.max_level()))
    }

    fn new_span(&self, attrs: &span::Attributes<'_>) -> Id {
        // Field values are formatted before the lock is taken: a `Debug` impl may create spans.
        let fields = SpanFields::capture(self.pipeline.renderer.max_len, |r| attrs.record(r));
        let parent = if attrs.is_contextual() {
            self.current()
        } else {
            attrs.parent().cloned()
        };
        self.spans.insert(attrs.metadata(), parent, fields)
    }

    fn record(&self, span: &Id, values: &span::Record<'_>) {
        // As in `new_span`, user code runs before the lock is taken.
        let update = SpanFields::capture(self.pipeline.renderer.max_len, |r| values.record(r));
        self.spans.update(span, update);
    }

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {
        // `follows_from` links are not part of any body format; nothing to keep.
    }

    fn event(&self, event: &tracing_core::Event<'_>) {
        let parent = if event.is_contextual() {
            self.current()
        } else {
            event.parent().cloned()
        };
        match parent {
            Some(leaf) => {
                let chain = SpanChain {
                    table: &self.spans,
                    leaf,
                };
                dispatch_event(&self.pipeline, event, Some(&chain));
            }
            None => dispatch_event(&self.pipeline, event, None),
        }
    }

    fn enter(&self, span: &Id) {
        // A full `RefCell` borrow (a re-entrant call from inside this very function) or a thread
        // being torn down leaves the stack untouched: the event then only misses its span fields.
        let _ = STACK.try_with(|stack| {
            if let Ok(mut stack) = stack.try_borrow_mut() {
                stack.push((self.key, span.into_non_zero_u64()));
            }
        });
    }

    fn exit(&self, span: &Id) {
        // Ignored for the same reasons as in `enter`.
        let _ = STACK.try_with(|stack| {
            if let Ok(mut stack) = stack.try_borrow_mut() {
                let id = span.into_non_zero_u64();
                if let Some(i) = stack.iter().rposition(|&e| e == (self.key, id)) {
                    stack.remove(i);
                }
            }
        });
    }

    fn clone_span(&self, id: &Id) -> Id {
        self.spans.clone_span(id);
        id.clone()
    }

    fn try_close(&self, id: Id) -> bool {
        self.spans.try_close(id)
    }

    fn current_span(&self) -> span::Current {
        match self.current() {
            Some(id) => match self.spans.metadata(&id) {
                Some(meta) => span::Current::new(id, meta),
                None => span::Current::none(),
            },
            None => span::Current::none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracing::tests::{
        body, collect, current_chain, kv, live, nested_event, with_sub, Sink,
    };
    use tracing::dispatcher::{self, Dispatch};
    use tracing_core::Level;

    #[test]
    fn explicit_parent_and_root_events() {
        let sink = Sink::new();
        dispatcher::with_default(&sink.dispatch("info"), || {
            let detached = tracing::info_span!("job", id = 7);
            let entered = tracing::info_span!("req");
            let _e = entered.enter();
            with_sub(|sub| {
                // The current span is `req`; an explicit parent overrides it.
                let cur = sub.current().unwrap();
                assert_eq!(sub.spans.metadata(&cur).unwrap().name(), "req");
                let job = collect(&SpanChain {
                    table: &sub.spans,
                    leaf: detached.id().unwrap(),
                });
                assert_eq!(job, vec![("job".to_owned(), kv(&[("id", "7")]))]);
            });
            let child = tracing::info_span!(parent: &detached, "step");
            let _c = child.enter();
            assert_eq!(
                current_chain()
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>(),
                ["job", "step"]
            );
            assert_eq!(tracing::Span::current().metadata().unwrap().name(), "step");
        });
    }

    /// A callsite of our own, so the test can call `register_callsite` directly.
    struct TestCallsite(&'static Metadata<'static>);

    impl tracing_core::Callsite for TestCallsite {
        fn set_interest(&self, _interest: Interest) {
            // The test asks the subscriber directly; there is no cache to update.
        }
        fn metadata(&self) -> &Metadata<'_> {
            self.0
        }
    }

    static DB_DEBUG_CS: TestCallsite = TestCallsite(&DB_DEBUG);
    static DB_DEBUG: Metadata<'static> = tracing_core::metadata! {
        name: "db debug",
        target: "app::db",
        level: Level::DEBUG,
        fields: &[],
        callsite: &DB_DEBUG_CS,
        kind: tracing_core::metadata::Kind::EVENT,
    };
    static WEB_DEBUG_CS: TestCallsite = TestCallsite(&WEB_DEBUG);
    static WEB_DEBUG: Metadata<'static> = tracing_core::metadata! {
        name: "web debug",
        target: "app::web",
        level: Level::DEBUG,
        fields: &[],
        callsite: &WEB_DEBUG_CS,
        kind: tracing_core::metadata::Kind::EVENT,
    };

    #[test]
    fn disabled_callsites_get_interest_never() {
        use tracing_core::Subscriber as _;
        let sink = Sink::new();
        let (sub, _guard) = sink
            .builder("info,app::db=debug")
            .build_subscriber()
            .unwrap();
        assert!(sub.register_callsite(&DB_DEBUG).is_always());
        assert!(sub.register_callsite(&WEB_DEBUG).is_never());
        assert!(sub.enabled(&DB_DEBUG));
        assert!(!sub.enabled(&WEB_DEBUG));
        assert_eq!(sub.max_level_hint(), Some(LevelFilter::DEBUG));
        let (off, _off_guard) = sink.builder("off").build_subscriber().unwrap();
        assert_eq!(off.max_level_hint(), Some(LevelFilter::OFF));
        assert!(off.register_callsite(&DB_DEBUG).is_never());
    }

    #[test]
    fn disabled_events_and_spans_send_nothing() {
        let sink = Sink::new();
        dispatcher::with_default(&sink.dispatch("warn,app::db=debug"), || {
            tracing::info!(target: "app::web", "dropped");
            tracing::debug!(target: "app::db", "kept");
            let span = tracing::info_span!(target: "app::web", "web");
            assert!(span.is_disabled());
            assert_eq!(live(), 0);
        });
        assert!(sink.recv().contains("kept"));
        sink.assert_empty();
    }

    #[test]
    fn span_fields_render_in_every_format() {
        use crate::Format;
        let sink = Sink::new();
        let sub = |format| {
            Dispatch::new(
                sink.builder("info")
                    .format(format)
                    .build_subscriber()
                    .unwrap()
                    .0,
            )
        };
        dispatcher::with_default(&sub(Format::Logfmt), nested_event);
        assert_eq!(
            body(&sink.recv()),
            r#"done req.method=GET req.path="/a b" db.name=users db.rows=3 status=200 ok=true"#
        );
        dispatcher::with_default(&sub(Format::Json), nested_event);
        assert_eq!(
            body(&sink.recv()),
            r#"@cee: {"msg":"done","spans":[{"name":"req","method":"GET","path":"/a b"},{"name":"db","_name":"users","rows":3}],"status":200,"ok":true}"#
        );
        dispatcher::with_default(&sub(Format::Rfc5424), nested_event);
        let got = sink.recv();
        let sd = got.find(" - [").expect("MSGID then SD") + 3;
        assert_eq!(
            &got[sd..],
            r#"[span1@32473 name="req" method="GET" path="/a b"][span2@32473 name="db" _name="users" rows="3"][fields@32473 status="200" ok="true"] done"#
        );
    }
}
