//! The `tracing` adapter: [`Subscriber`] implements [`tracing_core::Subscriber`] directly, so no
//! `tracing-subscriber` is needed.
//!
//! Events go through the same [`Pipeline`] as `log` records: the same directives, routing,
//! severity mapping, body formats, hygiene, transports and background writer. This file only turns
//! tracing's types into the renderer's [`Fields`] and [`Spans`], keeps the spans, and implements the
//! gate. The [`Layer`](crate::layer::Layer) reuses the adapters defined here.
//!
//! # Locking
//!
//! - An event outside any span takes no lock: the current-span stack is thread-local.
//! - An event inside a span takes the span table's read lock while the renderer writes the span
//!   chain. No user code runs under it (span field values were copied when they were recorded), so
//!   it is held for microseconds and cannot deadlock with a `Debug` impl that creates a span.
//! - `new_span`, `record` and the last `try_close` of a span take the write lock; `clone_span` and
//!   the other `try_close` calls take the read lock and one atomic operation.
#![cfg(feature = "tracing")]

use std::cell::RefCell;
use std::error::Error as StdError;
use std::fmt;
use std::num::NonZeroU64;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use tracing_core::field::{Field, Visit};
use tracing_core::span::{self, Id};
use tracing_core::{Interest, Level, LevelFilter, Metadata};
use tracing_log::NormalizeEvent;

use crate::error::{Error, ErrorKind};
use crate::format::{Fields, Message, Spans, Value};
use crate::pipeline::{Event, Pipeline, WorkerGuard};
use crate::stats::{DropReason, Lane};
use crate::Builder;

/// A `tracing` subscriber that sends every enabled event to syslog, with the fields of the spans it
/// happened in.
///
/// Build it with [`Builder::build_subscriber`] (for `tracing::subscriber::with_default`) or install
/// it with [`Builder::init_tracing`]. For a composed subscriber
/// (`registry().with(EnvFilter).with(…)`), use [`layer::Layer`](crate::layer::Layer) instead.
///
/// # The gate
///
/// The builder's directives ([`Builder::filter`]) are decided once per callsite:
/// `register_callsite` returns [`Interest::never`] for a callsite they disable, so tracing's macros
/// skip it with one relaxed load, as with no subscriber at all; `max_level_hint` returns the most
/// verbose enabled level. Spans are filtered by the same directives: a disabled span is not
/// created, and events inside it show its enabled ancestors only.
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
/// let subscriber = Builder::new()
///     .socket(&path)
///     .mode(Mode::Sync)
///     .build_subscriber()
///     .unwrap();
/// let guard = subscriber.guard();
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
    pipeline: Arc<Pipeline>,
    /// The most verbose level the directives enable, computed once.
    max_level: LevelFilter,
    /// Tells this subscriber's entries apart in the thread-local span stack, which every subscriber
    /// in the process shares.
    key: u64,
    spans: SpanTable,
}

impl fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber")
            .field("pipeline", &self.pipeline)
            .field("max_level", &self.max_level)
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
    fn new(pipeline: Arc<Pipeline>) -> Self {
        Subscriber {
            max_level: level_filter(pipeline.max_level()),
            pipeline,
            key: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
            spans: SpanTable::default(),
        }
    }

    /// A guard for this subscriber's background writer (see [`WorkerGuard`]).
    ///
    /// Take it before handing the subscriber to `with_default` or `Dispatch::new`; the guard keeps
    /// working after that.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Mode};
    /// let subscriber = Builder::new().mode(Mode::Sync).build_subscriber().unwrap();
    /// let guard = subscriber.guard();
    /// assert_eq!(guard.stats().written, 0);
    /// ```
    pub fn guard(&self) -> WorkerGuard {
        WorkerGuard::new(Arc::clone(&self.pipeline))
    }

    /// The thread's current span for this subscriber. Takes no lock.
    fn current(&self) -> Option<Id> {
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

    /// How many span slots exist (live or free). Bounded by the most spans alive at once.
    #[cfg(test)]
    fn slots(&self) -> usize {
        self.spans.read().slots.len()
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
        Some(self.max_level)
    }

    fn new_span(&self, attrs: &span::Attributes<'_>) -> Id {
        // Field values are formatted before the lock is taken: a `Debug` impl may create spans.
        let fields = SpanFields::capture(|r| attrs.record(r));
        let parent = if attrs.is_contextual() {
            self.current()
        } else {
            attrs.parent().cloned()
        };
        self.spans.insert(attrs.metadata(), parent, fields)
    }

    fn record(&self, span: &Id, values: &span::Record<'_>) {
        // As in `new_span`, user code runs before the lock is taken.
        let update = SpanFields::capture(|r| values.record(r));
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

// === span table ===

/// The span storage: a slab of slots plus a free list, so closed spans' slots (and their field
/// vectors' capacity) are reused.
///
/// A span id is `generation << 32 | (slot index + 1)`: a stale id (a bug in the caller, or a
/// thread-local stack entry outliving its span) never reaches a reused slot's new span.
#[derive(Debug, Default)]
struct SpanTable {
    inner: RwLock<Slab>,
}

#[derive(Debug, Default)]
struct Slab {
    slots: Vec<Slot>,
    /// Indices of free slots.
    free: Vec<usize>,
}

#[derive(Debug)]
struct Slot {
    generation: u32,
    /// Handles to the span: `Span` clones, and each child span (which keeps its parent alive).
    refs: AtomicUsize,
    /// `None` while the slot is free.
    span: Option<SpanData>,
}

#[derive(Debug)]
struct SpanData {
    metadata: &'static Metadata<'static>,
    parent: Option<Id>,
    fields: SpanFields,
}

/// The deepest span chain an event renders; deeper (pathological) chains lose their outermost spans.
pub(crate) const MAX_DEPTH: usize = 64;

fn encode(index: usize, generation: u32) -> Id {
    let low = (index as u64) + 1;
    // `low` is at least 1, so the id is never zero.
    let raw = NonZeroU64::new(u64::from(generation) << 32 | low).unwrap_or(NonZeroU64::MIN);
    Id::from_non_zero_u64(raw)
}

fn decode(id: &Id) -> (usize, u32) {
    let raw = id.into_u64();
    // `wrapping_sub`: an id that is not ours (low half 0) maps to a slot that never exists.
    (
        ((raw & 0xFFFF_FFFF) as usize).wrapping_sub(1),
        (raw >> 32) as u32,
    )
}

// === impl SpanTable ===

impl SpanTable {
    // A panic while a lock was held (only possible in the renderer, which is caught) leaves the
    // table consistent: every mutation below is a single assignment or push.
    fn read(&self) -> RwLockReadGuard<'_, Slab> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Slab> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn insert(
        &self,
        metadata: &'static Metadata<'static>,
        parent: Option<Id>,
        fields: SpanFields,
    ) -> Id {
        let mut slab = self.write();
        // The child holds a reference to its parent, so the parent's fields outlive the parent's
        // last `Span` handle for as long as the child exists (the registry does the same).
        let parent = parent.filter(|p| match slab.get(p) {
            Some(slot) => {
                slot.refs.fetch_add(1, Ordering::Relaxed);
                true
            }
            None => false,
        });
        let data = SpanData {
            metadata,
            parent,
            fields,
        };
        // Span ids are limited to 2^32 - 1 live slots by the encoding; past that (never in
        // practice) slot 0 would be shared, so new spans are created without storage instead.
        let index = match slab.free.pop() {
            Some(index) => index,
            None if slab.slots.len() < u32::MAX as usize - 1 => {
                slab.slots.push(Slot {
                    generation: 0,
                    refs: AtomicUsize::new(0),
                    span: None,
                });
                slab.slots.len() - 1
            }
            None => return encode(u32::MAX as usize - 1, u32::MAX),
        };
        let slot = &mut slab.slots[index];
        slot.refs = AtomicUsize::new(1);
        slot.span = Some(data);
        encode(index, slot.generation)
    }

    fn update(&self, id: &Id, update: SpanFields) {
        let mut slab = self.write();
        if let Some(span) = slab.get_mut(id) {
            span.fields.merge(update);
        }
    }

    fn metadata(&self, id: &Id) -> Option<&'static Metadata<'static>> {
        let slab = self.read();
        let slot = slab.get(id)?;
        slot.span.as_ref().map(|s| s.metadata)
    }

    fn clone_span(&self, id: &Id) {
        if let Some(slot) = self.read().get(id) {
            slot.refs.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Drops one reference; frees the span (and releases its parent) when it was the last.
    fn try_close(&self, id: Id) -> bool {
        let mut next = Some(id);
        let mut closed_first = None;
        // A loop rather than recursion: closing a leaf may close a long chain of parents.
        while let Some(id) = next.take() {
            let last = match self.read().get(&id) {
                // AcqRel: the thread that frees the slot must see every other thread's use of it.
                Some(slot) => slot.refs.fetch_sub(1, Ordering::AcqRel) == 1,
                None => false,
            };
            closed_first.get_or_insert(last);
            if !last {
                break;
            }
            let mut slab = self.write();
            let (index, _) = decode(&id);
            // Re-checked under the write lock: a child created in between (from a stale id; never
            // through a live `Span`) may have taken a reference again, and then the span stays.
            match slab.get(&id) {
                Some(slot) if slot.refs.load(Ordering::Acquire) == 0 => {}
                _ => break,
            }
            let slot = &mut slab.slots[index];
            let span = slot.span.take();
            slot.generation = slot.generation.wrapping_add(1);
            slab.free.push(index);
            drop(slab);
            next = span.and_then(|s| s.parent);
        }
        closed_first.unwrap_or(false)
    }

    /// How many spans are open.
    fn live(&self) -> usize {
        let slab = self.read();
        slab.slots.len() - slab.free.len()
    }
}

// === impl Slab ===

impl Slab {
    /// The live slot `id` names, if its generation still matches.
    fn get(&self, id: &Id) -> Option<&Slot> {
        let (index, generation) = decode(id);
        self.slots
            .get(index)
            .filter(|slot| slot.generation == generation && slot.span.is_some())
    }

    fn get_mut(&mut self, id: &Id) -> Option<&mut SpanData> {
        let (index, generation) = decode(id);
        self.slots
            .get_mut(index)
            .filter(|slot| slot.generation == generation)
            .and_then(|slot| slot.span.as_mut())
    }

    /// Calls `visitor` for the chain ending at `id`, outermost first. Recursion instead of a
    /// collected list, so rendering a chain allocates nothing.
    fn visit_chain(&self, id: &Id, depth: usize, visitor: &mut dyn FnMut(&str, &dyn Fields)) {
        let Some(span) = self.get(id).and_then(|slot| slot.span.as_ref()) else {
            return;
        };
        if depth < MAX_DEPTH {
            if let Some(parent) = &span.parent {
                self.visit_chain(parent, depth + 1, visitor);
            }
        }
        visitor(span.metadata.name(), &span.fields);
    }
}

/// An event's span chain, read under the table's read lock while the renderer walks it.
struct SpanChain<'a> {
    table: &'a SpanTable,
    leaf: Id,
}

impl Spans for SpanChain<'_> {
    fn visit(&self, visitor: &mut dyn FnMut(&str, &dyn Fields)) {
        self.table.read().visit_chain(&self.leaf, 0, visitor);
    }
}

// === shared adapters (also used by the layer) ===

/// The `log` level for a tracing level (the same five levels).
pub(crate) fn log_level(level: &Level) -> log::Level {
    match *level {
        Level::ERROR => log::Level::Error,
        Level::WARN => log::Level::Warn,
        Level::INFO => log::Level::Info,
        Level::DEBUG => log::Level::Debug,
        _ => log::Level::Trace,
    }
}

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
pub(crate) fn enabled_by(pipeline: &Pipeline, metadata: &Metadata<'_>) -> bool {
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
pub(crate) fn dispatch_event(
    pipeline: &Pipeline,
    event: &tracing_core::Event<'_>,
    spans: Option<&dyn Spans>,
) {
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
            });
        });
    }));
    if result.is_err() {
        pipeline
            .counters
            .drop_record(Lane::for_level(level), DropReason::Panic);
    }
}

/// Calls `f` once with the event's `message` field (empty when there is none).
fn with_message(event: &tracing_core::Event<'_>, f: &mut dyn FnMut(&dyn fmt::Display)) {
    struct Finder<'f> {
        f: &'f mut dyn FnMut(&dyn fmt::Display),
        done: bool,
    }
    impl Finder<'_> {
        fn found(&mut self, field: &Field, message: &dyn fmt::Display) {
            if !self.done && field.name() == "message" {
                self.done = true;
                (self.f)(message);
            }
        }
    }
    impl Visit for Finder<'_> {
        fn record_str(&mut self, field: &Field, value: &str) {
            self.found(field, &value);
        }
        fn record_error(&mut self, field: &Field, value: &(dyn StdError + 'static)) {
            self.found(field, &ErrorDisplay(value));
        }
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            // `format_args!` (what `info!("…")` records) prints the same with Debug and Display.
            self.found(field, &DebugDisplay(value));
        }
    }
    let mut finder = Finder { f, done: false };
    event.record(&mut finder);
    if !finder.done {
        (finder.f)(&"");
    }
}

/// Shows a `Debug` value where a `Display` is expected.
struct DebugDisplay<'a>(&'a dyn fmt::Debug);

impl fmt::Display for DebugDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An error's `Display` (tracing records `&dyn Error` fields separately from `Debug` ones).
struct ErrorDisplay<'a>(&'a (dyn StdError + 'static));

impl fmt::Display for ErrorDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.0, f)
    }
}

/// A tracing event's fields as the renderer's [`Fields`], without `message` (the record's message)
/// and, for records from `log`, without tracing-log's `log.*` fields.
struct EventFields<'a> {
    event: &'a tracing_core::Event<'a>,
    from_log: bool,
}

impl Fields for EventFields<'_> {
    fn visit(&self, visitor: &mut dyn FnMut(&str, Value<'_>)) {
        let mut adapter = FieldVisitor {
            visitor,
            from_log: self.from_log,
        };
        self.event.record(&mut adapter);
    }
}

/// Maps tracing's `Visit` calls onto [`Value`]s.
struct FieldVisitor<'v> {
    visitor: &'v mut dyn FnMut(&str, Value<'_>),
    from_log: bool,
}

impl FieldVisitor<'_> {
    fn emit(&mut self, field: &Field, value: Value<'_>) {
        let name = field.name();
        if name == "message" || (self.from_log && name.starts_with("log.")) {
            return;
        }
        (self.visitor)(name, value);
    }
}

impl Visit for FieldVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.emit(field, Value::F64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.emit(field, Value::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.emit(field, Value::U64(value));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.emit(field, Value::I128(value));
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        self.emit(field, Value::U128(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.emit(field, Value::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.emit(field, Value::Str(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn StdError + 'static)) {
        self.emit(field, Value::Display(&ErrorDisplay(value)));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.emit(field, Value::Debug(value));
    }
}

/// A span field value, owned: spans outlive the call that recorded them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OwnedValue {
    /// Strings, and `Debug`/`Display`/error values formatted when recorded.
    Str(String),
    Bool(bool),
    I64(i64),
    U64(u64),
    I128(i128),
    U128(u128),
    F64(f64),
}

impl OwnedValue {
    fn as_value(&self) -> Value<'_> {
        match self {
            OwnedValue::Str(s) => Value::Str(s),
            OwnedValue::Bool(v) => Value::Bool(*v),
            OwnedValue::I64(v) => Value::I64(*v),
            OwnedValue::U64(v) => Value::U64(*v),
            OwnedValue::I128(v) => Value::I128(*v),
            OwnedValue::U128(v) => Value::U128(*v),
            OwnedValue::F64(v) => Value::F64(*v),
        }
    }
}

/// One span's recorded fields, in the order first recorded; recording a field again replaces its
/// value in place.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct SpanFields(Vec<(&'static str, OwnedValue)>);

impl SpanFields {
    /// The fields `record` passes to its visitor. A `Debug` impl that panics loses its own field
    /// and the ones after it, never the span, and the panic does not reach the caller.
    pub(crate) fn capture(record: impl FnOnce(&mut Recorder<'_>)) -> SpanFields {
        let mut fields = SpanFields::default();
        // The fields recorded before the panic are complete entries: `set` runs only after the
        // value was formatted. Nothing else to report (the subscriber never logs about itself).
        let _ = catch_unwind(AssertUnwindSafe(|| record(&mut Recorder(&mut fields))));
        fields
    }

    fn set(&mut self, name: &'static str, value: OwnedValue) {
        match self.0.iter_mut().find(|(k, _)| *k == name) {
            Some(entry) => entry.1 = value,
            None => self.0.push((name, value)),
        }
    }

    /// Applies the values of a later `record` call.
    pub(crate) fn merge(&mut self, update: SpanFields) {
        for (name, value) in update.0 {
            self.set(name, value);
        }
    }
}

impl Fields for SpanFields {
    fn visit(&self, visitor: &mut dyn FnMut(&str, Value<'_>)) {
        for (name, value) in &self.0 {
            visitor(name, value.as_value());
        }
    }
}

/// Records tracing values into [`SpanFields`].
pub(crate) struct Recorder<'a>(&'a mut SpanFields);

impl Visit for Recorder<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.set(field.name(), OwnedValue::F64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.set(field.name(), OwnedValue::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.set(field.name(), OwnedValue::U64(value));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.0.set(field.name(), OwnedValue::I128(value));
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        self.0.set(field.name(), OwnedValue::U128(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.set(field.name(), OwnedValue::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.set(field.name(), OwnedValue::Str(value.to_owned()));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn StdError + 'static)) {
        self.0.set(field.name(), OwnedValue::Str(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .set(field.name(), OwnedValue::Str(format!("{value:?}")));
    }
}

// === impl Builder (tracing) ===

impl Builder {
    /// Builds a [`Subscriber`] without installing it (for `tracing::subscriber::with_default`, or
    /// `tracing::Dispatch::new`).
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
    /// let subscriber = Builder::new().filter("warn,db=debug").mode(Mode::Sync).build_subscriber().unwrap();
    /// assert_eq!(subscriber.max_level_hint(), Some(tracing_core::LevelFilter::DEBUG));
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
    pub fn build_subscriber(self) -> Result<Subscriber, Error> {
        Ok(Subscriber::new(self.build_pipeline()?))
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
    /// let _guard = fastsyslog::Builder::from_env().ident("web").init_tracing().expect("subscriber");
    /// tracing::info!(target: "access", status = 200, "GET /");
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
    pub fn init_tracing(self) -> Result<WorkerGuard, Error> {
        let subscriber = self.build_subscriber()?;
        let pipeline = Arc::clone(&subscriber.pipeline);
        tracing_core::dispatcher::set_global_default(tracing_core::Dispatch::new(subscriber))
            .map_err(|_| {
                Error::new(
                    ErrorKind::AlreadyInitialized,
                    "a global `tracing` subscriber is already installed",
                )
            })?;
        crate::pipeline::set_global(Arc::clone(&pipeline));
        Ok(WorkerGuard::new(pipeline))
    }
}

/// Installs a [`Subscriber`] configured from the environment (see [`Builder::from_env`]) as
/// tracing's global default.
///
/// # Errors
///
/// As [`Builder::init_tracing`].
///
/// # Examples
///
/// ```no_run
/// let _guard = fastsyslog::init_tracing().expect("subscriber");
/// let span = tracing::info_span!("req", method = "GET");
/// let _entered = span.enter();
/// tracing::info!(target: "access", status = 200, "GET /index.html");
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub fn init_tracing() -> Result<WorkerGuard, Error> {
    Builder::from_env().init_tracing()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{Facility, Match, Mode};
    use std::os::unix::net::UnixDatagram;
    use std::sync::mpsc;
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

        fn dispatch(&self, filter: &str) -> Dispatch {
            Dispatch::new(self.builder(filter).build_subscriber().unwrap())
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
        match value {
            Value::Str(s) => s.to_owned(),
            Value::Bool(v) => v.to_string(),
            Value::I64(v) => v.to_string(),
            Value::U64(v) => v.to_string(),
            Value::I128(v) => v.to_string(),
            Value::U128(v) => v.to_string(),
            Value::F64(v) => v.to_string(),
            Value::Display(v) => v.to_string(),
            Value::Debug(v) => format!("{v:?}"),
        }
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

    fn with_sub<R>(mut f: impl FnMut(&Subscriber) -> R) -> R {
        dispatcher::get_default(|d| f(d.downcast_ref::<Subscriber>().expect("our subscriber")))
    }

    /// The span chain an event emitted here would carry.
    fn current_chain() -> Chain {
        with_sub(|sub| match sub.current() {
            Some(leaf) => collect(&SpanChain {
                table: &sub.spans,
                leaf,
            }),
            None => Vec::new(),
        })
    }

    fn live() -> usize {
        with_sub(|sub| sub.spans.live())
    }

    /// What [`Spans::visit`] takes.
    pub(crate) type SpanVisitor<'v> = &'v mut dyn FnMut(&str, &dyn Fields);

    /// A closure as [`Spans`], for tests.
    pub(crate) struct FnSpans<'f>(pub(crate) &'f dyn Fn(SpanVisitor<'_>));

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

    #[test]
    fn event_carries_message_and_fields() {
        let sink = Sink::new();
        dispatcher::with_default(&sink.dispatch("info"), || {
            tracing::info!(status = 200u16, path = "/a", "GET {}", "/a");
        });
        let got = sink.recv();
        assert!(got.starts_with("<142>"), "local1.info: {got}");
        assert_eq!(body(&got), "GET /a status=200 path=/a");
    }

    #[test]
    fn nested_spans_chain_outermost_first_with_recorded_fields() {
        let sink = Sink::new();
        dispatcher::with_default(&sink.dispatch("info"), || {
            let outer = tracing::info_span!("req", method = "GET", user = tracing::field::Empty);
            let _o = outer.enter();
            outer.record("user", "bob");
            let inner = tracing::info_span!("db", table = "users", rows = 3u64, ok = true);
            let _i = inner.enter();
            assert_eq!(
                current_chain(),
                vec![
                    ("req".to_owned(), kv(&[("method", "GET"), ("user", "bob")])),
                    (
                        "db".to_owned(),
                        kv(&[("table", "users"), ("rows", "3"), ("ok", "true")])
                    ),
                ]
            );
            outer.record("method", "POST");
            assert_eq!(current_chain()[0].1[0], ("method".into(), "POST".into()));
            tracing::info!(n = 1, "inside");
        });
        assert!(sink.recv().contains("inside"));
    }

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
        let sub = sink
            .builder("info,app::db=debug")
            .build_subscriber()
            .unwrap();
        assert!(sub.register_callsite(&DB_DEBUG).is_always());
        assert!(sub.register_callsite(&WEB_DEBUG).is_never());
        assert!(sub.enabled(&DB_DEBUG));
        assert!(!sub.enabled(&WEB_DEBUG));
        assert_eq!(sub.max_level_hint(), Some(LevelFilter::DEBUG));
        let off = sink.builder("off").build_subscriber().unwrap();
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
    fn clone_and_close_count_references() {
        let sink = Sink::new();
        dispatcher::with_default(&sink.dispatch("info"), || {
            let span = tracing::info_span!("a");
            let copy = span.clone();
            assert_eq!(live(), 1);
            drop(span);
            assert_eq!(live(), 1, "the clone keeps it open");
            drop(copy);
            assert_eq!(live(), 0);

            // A child keeps its parent's fields alive after the parent's last handle is gone.
            let parent = tracing::info_span!("parent", p = 1);
            let child = tracing::info_span!(parent: &parent, "child");
            drop(parent);
            assert_eq!(live(), 2);
            let _e = child.enter();
            assert_eq!(current_chain()[0], ("parent".to_owned(), kv(&[("p", "1")])));
            drop(_e);
            drop(child);
            assert_eq!(live(), 0);
        });
    }

    #[test]
    fn closed_span_ids_are_reused_with_a_new_generation() {
        let sink = Sink::new();
        dispatcher::with_default(&sink.dispatch("info"), || {
            let first = tracing::info_span!("a").id().unwrap();
            let second = tracing::info_span!("b").id().unwrap();
            assert_eq!(decode(&first).0, decode(&second).0, "same slot");
            assert_ne!(first, second, "different generation");
            with_sub(|sub| {
                assert!(sub.spans.metadata(&first).is_none(), "stale id");
                assert_eq!(sub.slots(), 1);
            });
        });
    }

    #[test]
    fn million_spans_across_threads_keep_the_table_bounded() {
        let sink = Sink::new();
        let dispatch = sink.dispatch("info");
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let dispatch = dispatch.clone();
                std::thread::spawn(move || {
                    dispatcher::with_default(&dispatch, || {
                        for i in 0..125_000u64 {
                            let outer = tracing::info_span!("outer", t, i);
                            let _e = outer.enter();
                            let inner = tracing::info_span!("inner");
                            drop(inner);
                        }
                    })
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let sub = dispatch.downcast_ref::<Subscriber>().unwrap();
        assert_eq!(sub.spans.live(), 0);
        // At most two spans per thread are ever open at once.
        assert!(sub.slots() <= 8, "{} slots", sub.slots());
    }

    #[test]
    fn events_outside_spans_take_no_lock() {
        let sink = Sink::new();
        let dispatch = sink.dispatch("info");
        let sub = dispatch.downcast_ref::<Subscriber>().unwrap();
        let held = sub.spans.write();
        let (tx, rx) = mpsc::channel();
        let thread = {
            let dispatch = dispatch.clone();
            std::thread::spawn(move || {
                dispatcher::with_default(&dispatch, || tracing::info!("no span"));
                tx.send(()).unwrap();
            })
        };
        let sent = rx.recv_timeout(Duration::from_secs(10));
        drop(held);
        thread.join().unwrap();
        assert!(sent.is_ok(), "the event waited for the span table lock");
        assert!(sink.recv().contains("no span"));
    }

    #[test]
    fn routes_by_target_and_by_field() {
        let sink = Sink::new();
        let sub = sink
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
    fn span_fields_render_in_every_format() {
        use crate::Format;
        let sink = Sink::new();
        let sub = |format| {
            Dispatch::new(
                sink.builder("info")
                    .format(format)
                    .build_subscriber()
                    .unwrap(),
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

    #[test]
    fn panicking_span_field_loses_the_field_not_the_span() {
        struct Boom;
        impl fmt::Debug for Boom {
            fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
                panic!("boom")
            }
        }
        let sink = Sink::new();
        dispatcher::with_default(&sink.dispatch("info"), || {
            let span = tracing::info_span!("s", a = 1, bad = ?Boom, c = 3);
            let _e = span.enter();
            span.record("c", tracing::field::debug(Boom));
            assert_eq!(current_chain(), vec![("s".to_owned(), kv(&[("a", "1")]))]);
        });
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
        let sub = sink.builder("info").build_subscriber().unwrap();
        let guard = sub.guard();
        dispatcher::with_default(&Dispatch::new(sub), || {
            tracing::info!(bad = ?Boom, "x");
        });
        assert_eq!(guard.stats().dropped_total(), 1);
        assert_eq!(guard.stats().written, 0);
        sink.assert_empty();
    }
}
