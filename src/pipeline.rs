//! The path every record takes after an adapter (`log` or `tracing`) has accepted it: level gate,
//! routing, severity, rendering, and the hand-off to a transport or the background writer.
//!
//! Both adapters share this one piece of code, so a record renders and routes the same whichever
//! API produced it.

use std::cell::RefCell;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;

use crate::error::Error;
use crate::filter::Gate;

#[cfg(feature = "background")]
use crate::format::captured::{self, Form};
pub(crate) use crate::format::Event;
use crate::format::{Fields, Framing, Header, Message, Record, Renderer, Value};
use crate::route::{truthy, Router};
use crate::severity::Priority;
use crate::stats::{Counters, DropReason, Lane, Stats};
use crate::sys;
use crate::transport::Transport;
use crate::SeverityMapping;

/// Where rendered messages go.
pub(crate) enum Sink {
    /// Sent on the caller's thread.
    Direct(Box<dyn Transport>),
    /// Queued to the background writer.
    #[cfg(feature = "background")]
    Background(crate::worker::Handle),
}

impl fmt::Debug for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sink::Direct(t) => f.debug_tuple("Direct").field(t).finish(),
            #[cfg(feature = "background")]
            Sink::Background(h) => f.debug_tuple("Background").field(h).finish(),
        }
    }
}

/// Everything a built logger needs, shared by the adapter, its guard and its handles.
#[derive(Debug)]
pub(crate) struct Pipeline {
    pub(crate) filter: Gate,
    pub(crate) router: Router,
    pub(crate) mapping: SeverityMapping,
    pub(crate) renderer: Renderer,
    pub(crate) sink: Sink,
    pub(crate) counters: Arc<Counters>,
    /// How long [`Pipeline::flush`] and the guard's drop wait at most.
    #[cfg_attr(not(feature = "background"), allow(dead_code))]
    // Only the background writer uses it.
    pub(crate) flush_timeout: Duration,
    /// The human-readable copy of each record on stderr ([`Builder::stderr`](crate::Builder::stderr)).
    pub(crate) console: Option<crate::console::Console>,
    /// Set once this pipeline is the global `log` logger: a reload then moves `log::max_level`.
    pub(crate) is_global_log: AtomicBool,
    /// Set when the guard shut the pipeline down: the exit hook leaves it alone.
    pub(crate) closed: AtomicBool,
    /// Whether each record's fields start with `target=<target>` ([`Builder::target_field`]).
    ///
    /// [`Builder::target_field`]: crate::Builder::target_field
    pub(crate) target_field: bool,
    /// Rate limits, sampling and the backtrace ring ([`crate::volume`]).
    pub(crate) volume: crate::volume::Volume,
}

/// A record's fields with `target=<its target>` first: the renderer sees one more field, so every
/// format writes it the way it writes any other (logfmt pair, JSON member, SD parameter).
struct WithTarget<'a> {
    target: &'a str,
    fields: &'a dyn Fields,
}

impl Fields for WithTarget<'_> {
    fn visit(&self, visitor: &mut dyn FnMut(&str, Value<'_>)) {
        visitor("target", Value::Str(self.target));
        self.fields.visit(visitor);
    }
}

thread_local! {
    /// The caller's reused render buffer in sync mode.
    static BUF: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(1024));
}

// === impl Pipeline ===

impl Pipeline {
    /// The most verbose level any directive enables: what `log::set_max_level` gets.
    pub(crate) fn max_level(&self) -> log::LevelFilter {
        self.filter.max_level()
    }

    /// Whether a record at `level` for `target` passes the directives. No lock, no allocation.
    #[inline]
    pub(crate) fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        self.filter.enabled(metadata)
    }

    /// Routes, renders and sends one record that already passed [`Pipeline::enabled`].
    ///
    /// Never panics: a panic inside a `Display`/`Debug` impl is caught and counted as a drop.
    pub(crate) fn dispatch(&self, event: &Event<'_>) {
        let call = crate::volume::Call {
            level: event.level,
            target: event.target,
            location: event.location,
        };
        if self.volume.admit(&Admitting(self, event), call) {
            if let Some(console) = &self.console {
                console.write(event);
            }
            self.deliver(event, None);
        }
    }

    /// [`Pipeline::dispatch`] past the volume rules: routes and renders `event`, then sends it,
    /// or with `capture` renders it into that buffer instead. Returns its priority, `None` when
    /// it was dropped (a panicking user value).
    pub(crate) fn deliver(
        &self,
        event: &Event<'_>,
        capture: Option<&mut Vec<u8>>,
    ) -> Option<Priority> {
        let lane = Lane::for_level(event.level);
        let facility = if self.router.uses_fields() {
            // A field rule formats user values (`Display`/`Debug`), which may panic.
            let routed = catch_unwind(AssertUnwindSafe(|| {
                self.router.route(event.target, event.level, &mut |key| {
                    has_truthy_field(event.fields, key)
                })
            }));
            match routed {
                Ok(facility) => facility,
                Err(_) => {
                    self.counters.drop_record(lane, DropReason::Panic);
                    return None;
                }
            }
        } else {
            self.router.route(event.target, event.level, &mut |_| false)
        };
        let priority = Priority::new(facility, self.mapping.for_level(event.level));
        let with_target = WithTarget {
            target: event.target,
            fields: event.fields,
        };
        let record = Record {
            priority,
            message: event.message,
            fields: if self.target_field {
                &with_target
            } else {
                event.fields
            },
            spans: event.spans,
        };
        if let Some(buf) = capture {
            let rendered = self.render(buf, &record);
            if rendered.is_none() {
                self.counters.drop_record(lane, DropReason::Panic);
            }
            return rendered.map(|()| priority);
        }
        match &self.sink {
            Sink::Direct(transport) => {
                self.send_direct(&**transport, lane, priority, |buf| {
                    self.render(buf, &record)
                });
            }
            // The writer renders: the caller only copies what it borrows.
            #[cfg(feature = "background")]
            Sink::Background(handle) => {
                self.queue(handle, lane, priority, |buf| self.capture(buf, &record));
            }
        }
        Some(priority)
    }

    /// Sends a record rendered earlier (a backtrace ring's) as it is.
    pub(crate) fn send_rendered(&self, lane: Lane, priority: Priority, bytes: &[u8]) {
        let copy = |buf: &mut Vec<u8>| {
            buf.clear();
            buf.extend_from_slice(bytes);
        };
        match &self.sink {
            Sink::Direct(transport) => {
                self.send_direct(&**transport, lane, priority, |buf| {
                    copy(buf);
                    Some(())
                });
            }
            #[cfg(feature = "background")]
            Sink::Background(handle) => self.queue(handle, lane, priority, |buf| {
                copy(buf);
                Some(Form::Rendered)
            }),
        }
    }

    /// Fills a recycled buffer with `fill` and queues it to the writer; `None` from `fill` (a
    /// user value panicked) is counted as a drop.
    #[cfg(feature = "background")]
    fn queue(
        &self,
        handle: &crate::worker::Handle,
        lane: Lane,
        priority: Priority,
        fill: impl FnOnce(&mut Vec<u8>) -> Option<Form>,
    ) {
        if handle.submit(lane, priority, fill).is_none() {
            self.counters.drop_record(lane, DropReason::Panic);
        }
    }

    /// Captures `record` into `buf` for the writer to render ([`captured`]); `None` when a user
    /// `Display`/`Debug` impl panicked.
    #[cfg(feature = "background")]
    fn capture(&self, buf: &mut Vec<u8>, record: &Record<'_>) -> Option<Form> {
        let time = logged_at(self.renderer.framing);
        let max_len = self.renderer.max_len;
        catch_unwind(AssertUnwindSafe(|| {
            captured::capture(buf, record, time, max_len)
        }))
        .ok()
    }

    fn send_direct(
        &self,
        transport: &dyn Transport,
        lane: Lane,
        priority: Priority,
        render: impl FnOnce(&mut Vec<u8>) -> Option<()>,
    ) {
        // `with_thread_buffer` calls `send` exactly once.
        let mut render = Some(render);
        let send = |buf: &mut Vec<u8>| {
            self.counters
                .enqueued
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if render.take().and_then(|render| render(buf)).is_none() {
                self.counters.drop_record(lane, DropReason::Panic);
                return;
            }
            match transport.send(priority, buf) {
                Ok(()) => {
                    self.counters
                        .written
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Err(e) => {
                    self.counters.send_error(&e);
                    self.counters.drop_record(lane, DropReason::SendError);
                }
            }
        };
        // A `Display` impl that logs re-enters here while BUF is borrowed: that inner record gets
        // a fresh buffer instead (one allocation, only in that rare case).
        crate::format::with_thread_buffer(&BUF, send);
    }

    /// Renders `record` into `buf`; `None` when a user `Display`/`Debug` impl panicked.
    pub(crate) fn render(&self, buf: &mut Vec<u8>, record: &Record<'_>) -> Option<()> {
        let pid = sys::fork::pid();
        let now = match self.renderer.framing {
            Framing::Header(Header::Rfc3164) => crate::clock::now_seconds(),
            Framing::Header(Header::Rfc5424) => crate::clock::now(),
            // glibc writes the header and its time itself.
            Framing::LibcBody => crate::clock::EPOCH,
        };
        let truncated = catch_unwind(AssertUnwindSafe(|| {
            self.renderer.render(buf, record, pid, &now)
        }))
        .ok()?;
        if truncated {
            self.counters
                .truncated
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Some(())
    }

    /// Waits until every record accepted so far was handed to the transport, or the flush timeout
    /// passed. Returns whether it finished in time.
    pub(crate) fn flush(&self) -> bool {
        match &self.sink {
            // Sync sends complete before `log` returns: nothing is pending.
            Sink::Direct(_) => true,
            #[cfg(feature = "background")]
            Sink::Background(handle) => handle.flush(self.flush_timeout),
        }
    }

    /// Flushes and stops the background writer (bounded by the flush timeout). Later records are
    /// counted as dropped with reason `shutdown`.
    pub(crate) fn shutdown(&self) {
        self.closed.store(true, Ordering::SeqCst);
        // The logger is done: its stats file goes (the counters stay readable in the process).
        self.counters.unpublish();
        match &self.sink {
            Sink::Direct(_) => {}
            #[cfg(feature = "background")]
            Sink::Background(handle) => handle.shutdown(self.flush_timeout),
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        let depth = match &self.sink {
            Sink::Direct(_) => 0,
            #[cfg(feature = "background")]
            Sink::Background(handle) => handle.queue_depth(),
        };
        self.counters.snapshot(depth)
    }
}

/// When a record is logged, as its header will need it: whole seconds of the coarse clock for RFC
/// 3164 (what [`crate::clock::now_seconds`] reads), microseconds for RFC 5424, nothing for a libc
/// body (glibc writes the time). The writer breaks it down into local time.
#[cfg(feature = "background")]
fn logged_at(framing: Framing) -> Option<Duration> {
    let precise = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
    };
    match framing {
        Framing::Header(Header::Rfc3164) => Some(match sys::time::realtime_coarse_secs() {
            Some(secs) => Duration::from_secs(u64::try_from(secs).unwrap_or(0)),
            None => Duration::from_secs(precise().as_secs()),
        }),
        Framing::Header(Header::Rfc5424) => Some(precise()),
        Framing::LibcBody => None,
    }
}

/// The record [`Pipeline::dispatch`] asks the volume rules about, and what they may send.
struct Admitting<'a>(&'a Pipeline, &'a Event<'a>);

impl crate::volume::Host for Admitting<'_> {
    fn counts(&self) -> &crate::stats::VolumeCounts {
        &self.0.counters.volume
    }

    fn send_own(&self, text: &dyn fmt::Display) {
        let own = Event {
            message: Message::Display(text),
            fields: &crate::format::NoFields,
            spans: None,
            location: None,
            ..*self.1
        };
        self.0.deliver(&own, None);
    }

    fn capture(&self, buf: &mut Vec<u8>) -> Option<(Lane, Priority)> {
        let marked = crate::volume::Marked(self.1.fields);
        let event = Event {
            fields: &marked,
            ..*self.1
        };
        let priority = self.0.deliver(&event, Some(buf))?;
        Some((Lane::for_level(self.1.level), priority))
    }

    fn replay(&self, lane: Lane, priority: Priority, bytes: &[u8]) {
        self.0.send_rendered(lane, priority, bytes);
    }
}

/// Whether `fields` carries `key` with a truthy value (see [`Match::Field`](crate::Match::Field)).
fn has_truthy_field(fields: &dyn Fields, key: &str) -> bool {
    let mut found = false;
    fields.visit(&mut |k, v| {
        if found || k != key {
            return;
        }
        found = match v {
            Value::Bool(b) => b,
            Value::Str(s) => truthy(s),
            Value::I64(n) => n != 0,
            Value::U64(n) => n != 0,
            Value::I128(n) => n != 0,
            Value::U128(n) => n != 0,
            Value::F64(n) => n != 0.0,
            Value::Display(_) | Value::Debug(_) => truthy(&v.to_string()),
        };
    });
    found
}

// === impl Pipeline (reload) ===

impl Pipeline {
    /// Replaces the directives, then tells `log` and `tracing` (see [`Handle::set_filter`]).
    pub(crate) fn set_filter(&self, directives: &str) -> Result<(), Error> {
        self.filter.set(directives)?;
        if self.is_global_log.load(Ordering::Acquire) {
            log::set_max_level(self.max_level());
        }
        // Callsites cached `never` under the old directives must ask again; a `Layer` that does
        // not filter is unaffected, and a process without tracing callsites pays one short walk.
        #[cfg(feature = "tracing")]
        tracing_core::callsite::rebuild_interest_cache();
        Ok(())
    }
}

/// Keeps a logger's background writer alive; flushes and stops it when dropped.
///
/// Each built logger has exactly one guard, handed out with it by `build*` and `init*` (as
/// `tracing_appender::non_blocking` returns its `WorkerGuard`). Hold it for as long as the program
/// logs, usually in `main`: `let _ = fastsyslog::init()` drops it at once, which stops the
/// background writer immediately, so bind it to a named variable such as `_guard`. In sync mode
/// dropping it only flushes (a no-op). For stats, flush and reload elsewhere, take a [`Handle`]:
/// it is `Clone`, and dropping one never stops anything.
///
/// On drop it waits at most the flush timeout ([`Builder::flush_timeout`](crate::Builder::flush_timeout));
/// if records are still queued then, it prints one line to standard error saying how many, since the
/// logger itself may be what is failing.
///
/// A program that ends without dropping the guard (`std::process::exit`, or `main` returning while
/// the guard lives in a static) still delivers what it queued: an exit hook flushes every live
/// logger, within the flush timeout, in the parent and in forked children. `_exit(2)` and fatal
/// signals (`SIGKILL`, an unhandled `SIGTERM`, `abort`) run no hook: records still queued then are
/// lost.
///
/// # Examples
///
/// ```no_run
/// let _guard = fastsyslog::init();
/// log::info!("hello");
/// // `_guard` drops at the end of main and flushes what is queued.
/// ```
#[must_use = "dropping the guard stops the background writer at once; bind it to `_guard`"]
#[derive(Debug)]
pub struct WorkerGuard {
    pipeline: Arc<Pipeline>,
}

// === impl WorkerGuard ===

impl WorkerGuard {
    pub(crate) fn new(pipeline: Arc<Pipeline>) -> Self {
        WorkerGuard { pipeline }
    }

    /// A [`Handle`] to the same logger.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Mode};
    /// let (_logger, guard) = Builder::new().mode(Mode::Sync).build().unwrap();
    /// assert_eq!(guard.handle().stats().written, 0);
    /// ```
    pub fn handle(&self) -> Handle {
        Handle::new(Arc::clone(&self.pipeline))
    }

    /// A snapshot of the logger's counters. Takes no lock.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let guard = fastsyslog::init();
    /// log::info!("hello");
    /// assert_eq!(guard.stats().dropped_total(), 0);
    /// ```
    pub fn stats(&self) -> Stats {
        self.pipeline.stats()
    }

    /// Waits until everything logged so far was handed to the transport, or the flush timeout passed.
    /// Returns whether it finished in time.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let guard = fastsyslog::init();
    /// log::info!("hello");
    /// assert!(guard.flush());
    /// ```
    pub fn flush(&self) -> bool {
        self.pipeline.flush()
    }
}

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        self.pipeline.shutdown();
    }
}

/// A cheap, cloneable handle to a built logger: its stats, flush, and the directives at runtime.
///
/// Get one from the adapter ([`Logger::handle`](crate::Logger::handle),
/// [`Subscriber::handle`](crate::Subscriber::handle), [`Layer::handle`](crate::Layer::handle)), from
/// the [`WorkerGuard`], or for the global logger from [`handle()`]. A handle owns nothing: dropping
/// it, or every clone of it, never stops the logger; only the guard does.
///
/// # Examples
///
/// A health endpoint reads the counters, and a reload changes the directives at once:
///
/// ```
/// # use fastsyslog::{Builder, Mode};
/// let (logger, _guard) = Builder::new().filter("info").mode(Mode::Sync).build().unwrap();
/// let handle = logger.handle();
/// assert_eq!(handle.clone().stats().dropped_total(), 0); // a temporary stops nothing
/// handle.set_filter("warn,db=debug").unwrap();
/// assert_eq!(logger.max_level(), log::LevelFilter::Debug);
/// ```
#[derive(Debug, Clone)]
pub struct Handle {
    pipeline: Arc<Pipeline>,
}

// === impl Handle ===

impl Handle {
    pub(crate) fn new(pipeline: Arc<Pipeline>) -> Self {
        Handle { pipeline }
    }

    /// A snapshot of the logger's counters. Takes no lock.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Mode};
    /// let (logger, _guard) = Builder::new().mode(Mode::Sync).build().unwrap();
    /// assert_eq!(logger.handle().stats().written, 0);
    /// ```
    pub fn stats(&self) -> Stats {
        self.pipeline.stats()
    }

    /// Waits until everything logged so far was handed to the transport, or the flush timeout
    /// passed. Returns whether it finished in time.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Mode};
    /// let (logger, _guard) = Builder::new().mode(Mode::Sync).build().unwrap();
    /// assert!(logger.handle().flush());
    /// ```
    pub fn flush(&self) -> bool {
        self.pipeline.flush()
    }

    /// Replaces the logger's directives (`RUST_LOG` syntax) at once.
    ///
    /// For the global `log` logger this also sets `log::max_level` to the most verbose level the
    /// new directives enable, so raising the level works; a [`Subscriber`](crate::Subscriber) has
    /// tracing's callsite interest rebuilt. A [`Layer`](crate::Layer) built without directives of
    /// its own does not filter, so this changes nothing for it: reload the stack's filter
    /// (`tracing_subscriber::reload`) instead. Logging threads never wait for a reload: the
    /// directives are swapped with one atomic store.
    ///
    /// # Errors
    ///
    /// Unlike at start-up, a directive the gate cannot use is an error
    /// ([`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig), naming it), and the
    /// directives in force stay as they were.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Mode};
    /// let (logger, _guard) = Builder::new().filter("warn").mode(Mode::Sync).build().unwrap();
    /// let handle = logger.handle();
    /// handle.set_filter("debug").unwrap();
    /// assert_eq!(logger.max_level(), log::LevelFilter::Debug);
    /// assert!(handle.set_filter("debug,[req{id=1}]=trace").is_err());
    /// assert_eq!(logger.max_level(), log::LevelFilter::Debug);
    /// ```
    pub fn set_filter(&self, directives: &str) -> Result<(), Error> {
        self.pipeline.set_filter(directives)
    }

    /// Replaces the rate limits with `spec`, in the syntax of `FASTSYSLOG_RATELIMIT`
    /// (`warn=100/1s,db::pool=10/1s`; see [`Builder::rate_limit`](crate::Builder::rate_limit)).
    /// An empty `spec` removes them. Sampling and the backtrace rings stay as they are.
    ///
    /// Logging threads never wait for the change: the rules are swapped with one atomic store,
    /// and each thread picks them up at its next record. Call sites start with a full budget;
    /// a window that had suppressed records when the limits changed sends no summary, though
    /// [`Stats::suppressed`] counted them. The counters in [`Stats`] keep counting across changes.
    ///
    /// # Errors
    ///
    /// An invalid entry is an error ([`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig),
    /// naming it and `spec`), and the limits in force stay as they were.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Mode};
    /// let (logger, _guard) = Builder::new().mode(Mode::Sync).build().unwrap();
    /// let handle = logger.handle();
    /// handle.set_rate_limits("warn=100/1s,db::pool=10/1s").unwrap();
    /// assert!(handle.set_rate_limits("warn=100").is_err());
    /// ```
    pub fn set_rate_limits(&self, spec: &str) -> Result<(), Error> {
        let volume = &self.pipeline.volume;
        volume.set("set_rate_limits", "FASTSYSLOG_RATELIMIT", spec)
    }

    /// Replaces the sampling rules with `spec`, in the syntax of `FASTSYSLOG_SAMPLE`
    /// (`access=100,debug=10`; see [`Builder::sample`](crate::Builder::sample)). An empty `spec`
    /// removes them. Rate limits and the backtrace rings stay as they are; the change takes
    /// effect as [`Handle::set_rate_limits`] describes, each rule counting afresh.
    ///
    /// # Errors
    ///
    /// As [`Handle::set_rate_limits`]: an invalid entry is an error, and nothing changes.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Mode};
    /// let (logger, _guard) = Builder::new().mode(Mode::Sync).build().unwrap();
    /// logger.handle().set_sampling("access=100").unwrap();
    /// assert!(logger.handle().set_sampling("access=0").is_err());
    /// ```
    pub fn set_sampling(&self, spec: &str) -> Result<(), Error> {
        let volume = &self.pipeline.volume;
        volume.set("set_sampling", "FASTSYSLOG_SAMPLE", spec)
    }

    /// Replaces the backtrace rings with `spec`, in the syntax of `FASTSYSLOG_BACKTRACE`
    /// (`db=debug:64`; see [`Builder::backtrace`](crate::Builder::backtrace)). An empty `spec`
    /// removes them. Rate limits and sampling stay as they are; the change takes effect as
    /// [`Handle::set_rate_limits`] describes. Records captured under the old rings are not sent
    /// and count as [`Stats::backtrace_discarded`]. The filter must let the captured records
    /// through ([`Handle::set_filter`]).
    ///
    /// # Errors
    ///
    /// As [`Handle::set_rate_limits`]: an invalid entry is an error, and nothing changes.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Mode};
    /// let (logger, _guard) = Builder::new().mode(Mode::Sync).build().unwrap();
    /// logger.handle().set_backtrace("db=debug:64").unwrap();
    /// assert!(logger.handle().set_backtrace("db=debug:0").is_err());
    /// ```
    pub fn set_backtrace(&self, spec: &str) -> Result<(), Error> {
        let volume = &self.pipeline.volume;
        volume.set("set_backtrace", "FASTSYSLOG_BACKTRACE", spec)
    }
}

/// The global logger: the one `init*` installed, else the first one built.
static GLOBAL: ArcSwapOption<Pipeline> = ArcSwapOption::const_empty();

/// Makes `pipeline` the global one: `installed` (by `init*`) always wins; a logger merely built
/// becomes global only while there is none.
pub(crate) fn set_global(pipeline: &Arc<Pipeline>, installed: bool) {
    if installed {
        GLOBAL.store(Some(Arc::clone(pipeline)));
    } else {
        // A lost race means another logger is already global, which is the outcome wanted.
        let _ = GLOBAL.compare_and_swap(&None::<Arc<Pipeline>>, Some(Arc::clone(pipeline)));
    }
}

/// A [`Handle`] to the global logger: the one installed by `init()`, `init_tracing()` or their
/// builder forms, or else the first logger built in this process (for example a
/// [`Layer`](crate::Layer)). `None` before any logger was built.
///
/// # Examples
///
/// ```no_run
/// let _guard = fastsyslog::init();
/// let handle = fastsyslog::handle().expect("installed");
/// handle.set_filter("debug").unwrap();
/// ```
pub fn handle() -> Option<Handle> {
    GLOBAL.load_full().map(Handle::new)
}

/// A snapshot of the global logger's counters (see [`handle()`]), or `None` before any logger was
/// built. Takes no lock.
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
    GLOBAL.load().as_ref().map(|p| p.stats())
}

// === flush at exit ===

/// Every background pipeline built in this process (and, after a fork, in the parent), for the
/// exit hook. Weak, so the registry never keeps a logger alive.
static LIVE: Mutex<Vec<Weak<Pipeline>>> = Mutex::new(Vec::new());

/// Registers `pipeline` with the exit hook, installing the hook on first use.
pub(crate) fn flush_at_exit(pipeline: &Arc<Pipeline>) {
    if pipeline.counters.file().is_some() {
        // The hook also removes stats files, in sync mode too.
        sys::exit::at_exit(exit_hook);
    }
    if matches!(pipeline.sink, Sink::Direct(_)) {
        // Sync sends finish before the caller returns: nothing can be pending at exit.
        return;
    }
    // A forked child inherits both the registration (atexit handlers are process memory) and the
    // `Once` that guards it, so the hook is registered once per process tree and runs in each.
    sys::exit::at_exit(exit_hook);
    let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    live.retain(|w| w.strong_count() > 0);
    live.push(Arc::downgrade(pipeline));
}

/// Flushes every live pipeline that was not shut down, each within its flush timeout.
extern "C" fn exit_hook() {
    // A panic must not unwind into libc's `exit`; there is nothing to report it to.
    let _ = catch_unwind(flush_live);
    // Then the stats files of this process: a clean exit leaves none behind.
    sys::shm::unpublish_all();
}

fn flush_live() {
    // A child forked while another thread held the lock inherits it held forever: try for a short,
    // bounded while instead of blocking the exit.
    let deadline = Instant::now() + Duration::from_millis(100);
    let live: Vec<Arc<Pipeline>> = loop {
        match LIVE.try_lock() {
            Ok(live) => break live.iter().filter_map(Weak::upgrade).collect(),
            Err(std::sync::TryLockError::Poisoned(e)) => {
                break e.into_inner().iter().filter_map(Weak::upgrade).collect()
            }
            Err(std::sync::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(std::sync::TryLockError::WouldBlock) => return,
        }
    };
    for pipeline in live {
        if !pipeline.closed.load(Ordering::SeqCst) {
            // What stays queued after the timeout is lost with the process; `flush` bounds the wait.
            let _ = pipeline.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use super::*;
    use crate::{Builder, Facility, Match, Mode};

    struct Panics;

    impl fmt::Display for Panics {
        fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
            panic!("user Display impl panicked")
        }
    }

    /// Every datagram `rx` receives within a short wait, as text.
    fn received(rx: &std::os::unix::net::UnixDatagram, n: usize) -> Vec<String> {
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = vec![0; 65536];
        (0..n)
            .map(|_| {
                let len = rx.recv(&mut buf).expect("a datagram");
                String::from_utf8(buf[..len].to_vec()).unwrap()
            })
            .collect()
    }

    /// `datagram` without its header's time, which differs between two sends.
    fn timeless(datagram: &str) -> String {
        match datagram.split_once(" t[") {
            // RFC 3164: `<PRI>Mmm dd hh:mm:ss t[pid]: ...`.
            Some((pri, rest)) if !datagram.contains(">1 ") => {
                format!("{} t[{rest}", &pri[..pri.find('>').unwrap() + 1])
            }
            _ => {
                // RFC 5424: `<PRI>1 TIMESTAMP host ...`.
                let (head, rest) = datagram.split_once(' ').unwrap();
                let rest = rest.split_once(' ').unwrap().1.split_once(' ').unwrap().1;
                format!("{head} {rest}")
            }
        }
    }

    #[test]
    #[cfg(feature = "background")]
    fn background_mode_sends_the_bytes_sync_mode_sends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let rx = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        let peer = std::net::Ipv4Addr::LOCALHOST;
        let debug = Some("x y");
        let long = "é".repeat(100);
        let fields: [(&str, Value<'_>); 6] = [
            ("status", Value::U64(200)),
            ("peer", Value::Display(&peer)),
            ("agent", Value::Str("curl 8")),
            ("dbg", Value::Debug(&debug)),
            ("ms", Value::F64(1.5)),
            ("long", Value::Str(&long)),
        ];
        for format in [
            crate::Format::Logfmt,
            crate::Format::Json,
            crate::Format::Rfc5424,
        ] {
            let mut sent = Vec::new();
            for mode in [Mode::Sync, Mode::Background] {
                let pipeline = Builder::new()
                    .socket(&path)
                    .ident("t")
                    .format(format)
                    .target_field(true)
                    .max_message_size(200)
                    .mode(mode)
                    .build_pipeline(false)
                    .unwrap();
                let field_list = &fields[..];
                let send = |message: Message<'_>| {
                    pipeline.dispatch(&Event {
                        level: log::Level::Warn,
                        target: "app::db",
                        message,
                        fields: &field_list,
                        spans: None,
                        location: None,
                    });
                };
                send(Message::Args(&format_args!("GET /a")));
                send(Message::Args(&format_args!("GET {}", "/b=\"c\"")));
                send(Message::Display(&"line\nbreak"));
                assert!(pipeline.flush());
                let got = received(&rx, 3);
                assert_eq!(pipeline.stats().truncated, 3, "{got:?}");
                sent.push(got.iter().map(|d| timeless(d)).collect::<Vec<_>>());
                pipeline.shutdown();
            }
            assert_eq!(sent[0], sent[1], "{format:?}");
        }
    }

    #[test]
    fn a_panicking_value_is_counted_on_the_caller_not_raised() {
        // (mode, whether a field rule formats the value first, while routing)
        let cases = [
            (Mode::Sync, true),
            #[cfg(feature = "background")]
            // The caller formats the value into its capture: it panics there, not on the writer.
            (Mode::Background, false),
        ];
        for (mode, field_rule) in cases {
            let dir = tempfile::tempdir().unwrap();
            let mut builder = Builder::new()
                .socket(dir.path().join("absent.sock"))
                .mode(mode);
            if field_rule {
                builder = builder.route(Match::Field("access".into()), Facility::Local0);
            }
            let pipeline = builder.build_pipeline(false).unwrap();
            let fields: [(&str, Value<'_>); 2] =
                [("a", Value::U64(1)), ("access", Value::Display(&Panics))];
            let event = Event {
                level: log::Level::Info,
                target: "app",
                message: crate::format::Message::Display(&"hello"),
                fields: &&fields[..],
                spans: None,
                location: None,
            };
            let quiet = std::panic::take_hook();
            std::panic::set_hook(Box::new(|_| {}));
            let outcome = catch_unwind(AssertUnwindSafe(|| pipeline.dispatch(&event)));
            std::panic::set_hook(quiet);
            assert!(outcome.is_ok(), "{mode:?}: dispatch must not unwind");
            let stats = pipeline.stats();
            assert_eq!(
                stats.dropped_for(Lane::Bulk, DropReason::Panic),
                1,
                "{mode:?}: {stats:?}"
            );
            assert_eq!((stats.written, stats.enqueued), (0, 0), "{mode:?}");
            pipeline.shutdown();
        }
    }
}
