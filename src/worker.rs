//! The background writer: bounded lanes, overflow policies, batching, flush, shutdown and fork.
//!
//! # Shape
//!
//! A caller renders its record into a buffer taken from a free list, then hands the buffer and
//! the priority to one of two bounded crossbeam queues ("lanes"): the error lane (WARN and ERROR)
//! and the bulk lane (everything else). One named thread, `fastsyslog-writer`, owns the transport;
//! it drains the error lane first, sends what it drained as one batch (`sendmmsg` for the unix
//! transport), and returns the buffers to the free list, so a steady stream of records allocates
//! nothing on the caller.
//!
//! # No wake-up on the caller's path
//!
//! The writer is not parked in a blocking `recv()`: waking a parked thread costs the sender a
//! futex syscall (microseconds) per record when logging is sparse. Instead, once both lanes are
//! empty the writer spins for about a microsecond, then sleeps with a backoff that starts at
//! [`MIN_IDLE_SLEEP`] and doubles up to [`MAX_IDLE_SLEEP`]. The backoff starts again from the
//! bottom only after a full batch (a backlog): records that trickle in do not shorten it, so what
//! arrives within one sleep goes out in one batch (one `sendmmsg`, one wake-up of the receiver)
//! rather than in a batch of one or two every 50 µs. It is unparked only by `flush`,
//! `shutdown`, and a caller that finds its lane more than half full. Delivery-latency bound: a
//! record is handed to the transport at most `MAX_IDLE_SLEEP` (1 ms) plus the kernel's timer slack
//! (50 µs by default) after it was queued, unless the writer is busy sending earlier records.
//!
//! Polling every millisecond forever would cost an idle server about 1000 wake-ups a second (a few
//! percent of a core on a busy VM). So after [`DEEP_SLEEP_AFTER`] (1 s) without a record the
//! writer sets a flag and parks for up to [`DEEP_SLEEP_POLL`]; the first caller that sees the
//! flag clears it and unparks the writer. Only that one record, the first after a second of
//! silence, pays for a wake-up (a few µs); every other caller reads the flag (one load of a
//! cache line that changes only at these transitions). The poll bound covers a wake-up lost to
//! the race between the flag and the queue check: at worst that record waits 100 ms.
//!
//! # Fork
//!
//! Each process owns its lanes and writer through a [`ForkLocal`]: in a forked child the first
//! record (one relaxed atomic load detects the fork) builds fresh lanes and a new writer, and the
//! inherited queues are leaked untouched, since their internal locks may have been held by parent
//! threads that do not exist in the child. Records queued in the parent are therefore never sent
//! twice. The child's writer makes its transport anew; glibc's `syslog(3)` lock, which glibc does
//! not reset at fork, is the libc transport's own concern (it falls back to a socket of its own in
//! a child forked while a thread was inside `syslog(3)`, in sync mode too).
#![cfg(feature = "background")]

use std::fmt;
use std::io::{self, Write as _};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, SendTimeoutError, Sender, TryRecvError, TrySendError};

use crate::format::{Message, NoFields, Record, Renderer, Timestamp};
use crate::route::Router;
use crate::severity::Priority;
use crate::stats::{monotonic_ns, Counters, DropReason, Lane};
use crate::transport::Transport;
use crate::SeverityMapping;

use crate::sys::fork::ForkLocal;

/// The default capacity of the error lane (WARN and ERROR records).
///
/// Errors are rare and matter most: 4096 absorbs a burst of a few milliseconds of errors from
/// every thread while the writer is busy, at about 4096 × 48 bytes of slots plus the records.
pub const DEFAULT_ERROR_QUEUE_CAPACITY: usize = 4096;
/// The default capacity of the bulk lane (access, INFO, DEBUG and TRACE records).
///
/// 65536 records ride out a daemon pause of tens of milliseconds at high request rates; the slots
/// cost about 3 MiB, allocated once.
pub const DEFAULT_BULK_QUEUE_CAPACITY: usize = 65536;
/// The default overflow policy of the error lane: wait up to 10 ms for room, then drop (counted).
///
/// Error records are worth a short, bounded wait; an unbounded one would let a hung daemon stall
/// the request threads that report errors.
pub const DEFAULT_ERROR_OVERFLOW: Overflow = Overflow::BlockFor(Duration::from_millis(10));
/// The default overflow policy of the bulk lane: drop the new record at once (counted).
///
/// Access and debug records must never stall a request: a full bulk lane means the daemon cannot
/// keep up, and waiting would only move the backlog into the application.
pub const DEFAULT_BULK_OVERFLOW: Overflow = Overflow::Drop;
/// The writer's first sleep once a backlog is gone and its short spin found nothing.
pub const MIN_IDLE_SLEEP: Duration = Duration::from_micros(50);
/// The writer's longest sleep while idle: the delivery-latency bound (plus timer slack).
///
/// The writer is not woken per record (that would cost every caller a futex syscall when
/// logging is sparse); it polls its queues with a backoff from [`MIN_IDLE_SLEEP`] (50 µs) up to
/// this. So a record reaches the transport at most 1 ms (plus the kernel's timer slack, 50 µs by
/// default) after it was queued, unless the writer is busy sending earlier records. After
/// [`DEEP_SLEEP_AFTER`] of silence the writer parks and the next record wakes it at once.
pub const MAX_IDLE_SLEEP: Duration = Duration::from_millis(1);

/// After this long without a record the writer stops polling and parks until a caller wakes it.
///
/// This keeps an idle logger at about 10 wake-ups a second instead of 1000. Only the first
/// record after such a silence pays for waking the writer (a few µs on that caller).
pub const DEEP_SLEEP_AFTER: Duration = Duration::from_secs(1);
/// A parked idle writer still looks at its lanes this often: the delivery bound for a record
/// whose wake-up was lost to a race with the writer going to sleep.
pub const DEEP_SLEEP_POLL: Duration = Duration::from_millis(100);

/// The most records sent in one batch (Linux's `sendmmsg` takes up to 1024).
const MAX_BATCH: usize = 256;
/// How many empty polls the writer spins through before its first sleep (about a microsecond).
const IDLE_SPINS: u32 = 64;
/// The free list holds at most this many spare buffers.
const FREE_BUFFERS: usize = 1024;
/// A new buffer's capacity: most records fit without growing it.
const INITIAL_BUFFER: usize = 512;
/// Buffers put on the free list when the lanes are created (128 KiB), so callers do not allocate
/// while the writer is behind by fewer records than this; beyond it the pool grows by allocation
/// and keeps what it grew (up to [`FREE_BUFFERS`]).
const PREFILLED_BUFFERS: usize = 256;
/// Buffers that grew beyond this are freed instead of recycled, so a few huge records do not pin
/// memory for the rest of the program.
const MAX_RECYCLED_BUFFER: usize = 16 * 1024;
/// How often a `Block` caller re-checks for shutdown while it waits for room.
const BLOCK_SLICE: Duration = Duration::from_millis(100);
/// How often a flush re-checks whether the writer has exited while it waits.
const FLUSH_SLICE: Duration = Duration::from_millis(10);
/// After a failed dropped-records summary, the next attempt waits this long.
const SUMMARY_RETRY: Duration = Duration::from_secs(1);

/// What a caller does when its lane's queue is full.
///
/// Set per lane with [`Builder::overflow`](crate::Builder::overflow). Every record that is not
/// queued is counted in [`Stats::dropped`](crate::Stats::dropped) with its lane and reason.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use fastsyslog::Overflow;
/// assert_eq!("drop".parse::<Overflow>(), Ok(Overflow::Drop));
/// assert_eq!("block_for=10ms".parse::<Overflow>(), Ok(Overflow::BlockFor(Duration::from_millis(10))));
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "background")))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Overflow {
    /// Wait for room however long it takes (lossless). A hung daemon then stalls the callers.
    Block,
    /// Wait up to this long for room, then drop the record ([`DropReason::Timeout`]).
    BlockFor(Duration),
    /// Drop the new record at once ([`DropReason::QueueFull`]).
    Drop,
}

impl FromStr for Overflow {
    type Err = String;

    /// Parses `block`, `drop` or `block_for=<N>ms`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "block" => return Ok(Overflow::Block),
            "drop" => return Ok(Overflow::Drop),
            _ => {}
        }
        s.strip_prefix("block_for=")
            .and_then(|rest| rest.strip_suffix("ms"))
            .and_then(|ms| ms.parse().ok())
            .map(|ms| Overflow::BlockFor(Duration::from_millis(ms)))
            .ok_or_else(|| {
                format!("unknown overflow policy {s:?} (expected block, drop or block_for=<N>ms)")
            })
    }
}

/// Background writer settings, set through the builder.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Queue capacity per lane, indexed by `Lane as usize`.
    pub(crate) capacity: [usize; 2],
    /// Overflow policy per lane, indexed by `Lane as usize`.
    pub(crate) overflow: [Overflow; 2],
    /// How often a parked idle writer looks at its lanes ([`DEEP_SLEEP_POLL`]; tests raise it).
    pub(crate) deep_sleep_poll: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            capacity: [DEFAULT_ERROR_QUEUE_CAPACITY, DEFAULT_BULK_QUEUE_CAPACITY],
            overflow: [DEFAULT_ERROR_OVERFLOW, DEFAULT_BULK_OVERFLOW],
            deep_sleep_poll: DEEP_SLEEP_POLL,
        }
    }
}

// === impl Builder (background writer settings) ===

impl crate::Builder {
    /// How many records `lane` holds while the writer catches up. Defaults:
    /// [`DEFAULT_ERROR_QUEUE_CAPACITY`] (4096) and [`DEFAULT_BULK_QUEUE_CAPACITY`] (65536).
    ///
    /// The slots are allocated once at start-up (about 48 bytes each, plus the rendered records
    /// that wait in them). Values below 2 are raised to 2.
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::{Builder, Lane};
    /// let b = Builder::new().queue_capacity(Lane::Bulk, 1 << 20);
    /// # let _ = b;
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "background")))]
    pub fn queue_capacity(mut self, lane: Lane, capacity: usize) -> Self {
        self.worker.capacity[lane as usize] = capacity.max(2);
        self
    }

    /// What a caller does when `lane` is full. Defaults: the error lane waits up to 10 ms
    /// ([`DEFAULT_ERROR_OVERFLOW`]), the bulk lane drops at once ([`DEFAULT_BULK_OVERFLOW`]); see
    /// those constants for the reasons.
    ///
    /// # Examples
    ///
    /// A lossless access log, for a batch job where completeness beats latency:
    ///
    /// ```
    /// use fastsyslog::{Builder, Lane, Overflow};
    /// let b = Builder::new().overflow(Lane::Bulk, Overflow::Block);
    /// # let _ = b;
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "background")))]
    pub fn overflow(mut self, lane: Lane, overflow: Overflow) -> Self {
        self.worker.overflow[lane as usize] = overflow;
        self
    }
}

/// Renders the dropped-records summary (the text is the message) and returns its priority.
pub(crate) type SummaryFn = Box<dyn Fn(&str, &mut Vec<u8>) -> Priority + Send + Sync>;

/// A [`SummaryFn`] that renders like any record with level WARN and target `fastsyslog`.
pub(crate) fn summary_renderer(
    renderer: Renderer,
    router: Router,
    mapping: SeverityMapping,
) -> SummaryFn {
    Box::new(move |text, buf| {
        let level = log::Level::Warn;
        let facility = router.route("fastsyslog", level, &mut |_| false);
        let priority = Priority::new(facility, mapping.for_level(level));
        let record = Record {
            priority,
            message: Message::Display(&text),
            fields: &NoFields,
            spans: None,
        };
        renderer.render(buf, &record, crate::sys::fork::pid(), &crate::clock::now());
        priority
    })
}

/// What travels in a lane.
enum Msg {
    /// A rendered record.
    Record(Priority, Vec<u8>),
    /// A flush marker: the writer arrives at the waiter once everything queued before it in this
    /// lane was handed to the transport.
    Flush(Arc<Waiter>),
}

/// A flush in progress: how many lanes still have to pass its marker.
#[derive(Debug)]
struct Waiter {
    remaining: Mutex<usize>,
    done: Condvar,
}

impl Waiter {
    fn new(lanes: usize) -> Self {
        Waiter {
            remaining: Mutex::new(lanes),
            done: Condvar::new(),
        }
    }

    fn arrive(&self) {
        let mut remaining = self
            .remaining
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *remaining = remaining.saturating_sub(1);
        if *remaining == 0 {
            self.done.notify_all();
        }
    }

    /// Waits until every lane arrived (true) or the deadline passed or `gone()` (false).
    fn wait_until(&self, deadline: Option<Instant>, gone: impl Fn() -> bool) -> bool {
        let mut remaining = self
            .remaining
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while *remaining > 0 {
            let now = Instant::now();
            let slice = match deadline {
                Some(d) if d <= now => return false,
                Some(d) => (d - now).min(FLUSH_SLICE),
                None => FLUSH_SLICE,
            };
            // The slice bounds how late a writer that exited without seeing our marker is noticed.
            remaining = self
                .done
                .wait_timeout(remaining, slice)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            if *remaining > 0 && gone() {
                return false;
            }
        }
        true
    }
}

/// State shared by the callers and the writer of one process.
#[derive(Debug, Default)]
struct Shared {
    /// Shutdown began: records from now on are dropped with [`DropReason::Shutdown`].
    closed: AtomicBool,
    /// The writer should exit once both lanes are empty.
    stop: AtomicBool,
    /// The writer has exited (or never started).
    exited: AtomicBool,
    /// The idle writer is parked until a caller wakes it (see the module docs).
    parked: AtomicBool,
    /// Set with `exit_cv` when the writer thread is about to return.
    exit: Mutex<bool>,
    exit_cv: Condvar,
}

impl Shared {
    fn wait_exit(&self, deadline: Option<Instant>) -> bool {
        let mut exited = self.exit.lock().unwrap_or_else(PoisonError::into_inner);
        while !*exited {
            exited = match deadline {
                None => self
                    .exit_cv
                    .wait(exited)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(d) => {
                    let now = Instant::now();
                    if d <= now {
                        return false;
                    }
                    self.exit_cv
                        .wait_timeout(exited, d - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
        true
    }
}

/// Everything needed to start a writer, kept so that a forked child can start its own.
struct Spawner {
    make: crate::transport::Factory,
    summary: SummaryFn,
    config: Config,
    counters: Arc<Counters>,
}

/// One process's queues and writer.
#[derive(Debug)]
struct Lanes {
    tx: [Sender<Msg>; 2],
    /// Kept to drain records that arrive after the writer exited (counted as shutdown drops).
    rx: [Receiver<Msg>; 2],
    /// A caller that finds more than this many records in a lane wakes the writer.
    half: [usize; 2],
    overflow: [Overflow; 2],
    /// Spare buffers: callers take them, the writer returns them.
    free: Receiver<Vec<u8>>,
    recycle: Sender<Vec<u8>>,
    shared: Arc<Shared>,
    /// `None` when a forked child could not start its writer (every record then counts as a
    /// shutdown drop).
    writer: Option<Thread>,
}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Msg::Record(p, b) => write!(f, "Record({}, {} bytes)", p.value(), b.len()),
            Msg::Flush(_) => f.write_str("Flush"),
        }
    }
}

impl Lanes {
    /// New queues and a writer thread for this process, sending through `first` when given (the
    /// transport built at start-up), else through a new one from the spawner's factory.
    fn start(spawner: &Arc<Spawner>, first: Option<Box<dyn Transport>>) -> io::Result<Lanes> {
        let (mut lanes, mut writer) = Lanes::channels(spawner);
        writer.first = first;
        let handle = thread::Builder::new()
            .name("fastsyslog-writer".into())
            .spawn(move || writer.run())?;
        lanes.writer = Some(handle.thread().clone());
        // The writer runs detached: shutdown waits for it with a bound instead of `join`.
        drop(handle);
        Ok(lanes)
    }

    /// Lanes whose writer could not be started: closed from the start.
    fn dead(spawner: &Arc<Spawner>) -> Lanes {
        let (lanes, _writer) = Lanes::channels(spawner);
        lanes.shared.closed.store(true, Ordering::SeqCst);
        lanes.shared.exited.store(true, Ordering::SeqCst);
        lanes
    }

    fn channels(spawner: &Arc<Spawner>) -> (Lanes, Writer) {
        let cap = spawner.config.capacity.map(|c| c.max(2));
        let (error_tx, error_rx) = bounded(cap[0]);
        let (bulk_tx, bulk_rx) = bounded(cap[1]);
        let (recycle, free) = bounded(FREE_BUFFERS);
        for _ in 0..PREFILLED_BUFFERS {
            // The free list holds FREE_BUFFERS > PREFILLED_BUFFERS, so this cannot fail.
            let _ = recycle.try_send(Vec::with_capacity(INITIAL_BUFFER));
        }
        let shared = Arc::new(Shared::default());
        let writer = Writer {
            rx: [error_rx.clone(), bulk_rx.clone()],
            recycle: recycle.clone(),
            shared: Arc::clone(&shared),
            spawner: Arc::clone(spawner),
            batch: Vec::with_capacity(MAX_BATCH),
            waiters: Vec::new(),
            reported: dropped_counts(&spawner.counters),
            unreported_since: None,
            summary_retry_at: None,
            summary_buf: Vec::new(),
            first: None,
        };
        let lanes = Lanes {
            tx: [error_tx, bulk_tx],
            rx: [error_rx, bulk_rx],
            half: cap.map(|c| c / 2),
            overflow: spawner.config.overflow,
            free,
            recycle,
            shared,
            writer: None,
        };
        (lanes, writer)
    }

    /// A cleared buffer to render into: a recycled one in steady state.
    ///
    /// Each thread takes recycled buffers from the free list [`STASH_REFILL`] at a time into a
    /// small thread-local stash: the free list's cache lines then cross cores once per refill
    /// rather than once per record, which is most of the cost of a sparse record.
    #[inline]
    fn take_buffer(&self) -> Vec<u8> {
        let from_stash = STASH.try_with(|stash| {
            let mut stash = stash.try_borrow_mut().ok()?;
            if stash.is_empty() {
                // `extend` with `take` would stop at the first empty `try_recv` just the same,
                // but may reserve; the stash keeps its capacity, so this never allocates.
                while stash.len() < STASH_REFILL {
                    match self.free.try_recv() {
                        Ok(buf) => stash.push(buf),
                        Err(_) => break,
                    }
                }
            }
            stash.pop()
        });
        from_stash
            .ok()
            .flatten()
            .unwrap_or_else(|| Vec::with_capacity(INITIAL_BUFFER))
    }

    #[inline]
    fn wake(&self) {
        if let Some(writer) = &self.writer {
            writer.unpark();
        }
    }

    fn depth(&self) -> usize {
        self.tx[0].len() + self.tx[1].len()
    }

    /// Puts the buffer of a record that was not queued back into this thread's stash, or on the
    /// free list when the stash is full. A caller dropping records from a full lane then takes its
    /// next buffer from where it left the last one, without touching the shared free list.
    fn recycle(&self, msg: Msg) {
        if let Msg::Record(_, mut buf) = msg {
            if buf.capacity() <= MAX_RECYCLED_BUFFER {
                buf.clear();
                let mut spare = Some(buf);
                // During thread teardown the stash may be gone; the free list takes it then.
                let _ = STASH.try_with(|stash| {
                    if let Ok(mut stash) = stash.try_borrow_mut() {
                        // The stash was allocated for STASH_REFILL buffers: this never grows it.
                        if stash.len() < STASH_REFILL {
                            stash.extend(spare.take());
                        }
                    }
                });
                if let Some(buf) = spare {
                    // A full free list just frees this buffer.
                    let _ = self.recycle.try_send(buf);
                }
            }
        }
    }

    /// Waits for a full lane under `policy`. Returns the record and the drop reason on failure.
    #[cold]
    fn overflow(&self, lane: Lane, msg: Msg) -> Result<(), (Msg, DropReason)> {
        self.wake();
        let tx = &self.tx[lane as usize];
        match self.overflow[lane as usize] {
            Overflow::Drop => Err((msg, DropReason::QueueFull)),
            Overflow::BlockFor(wait) => match tx.send_timeout(msg, wait) {
                Ok(()) => Ok(()),
                Err(SendTimeoutError::Timeout(msg)) => Err((msg, DropReason::Timeout)),
                Err(SendTimeoutError::Disconnected(msg)) => Err((msg, DropReason::Shutdown)),
            },
            Overflow::Block => {
                let mut msg = msg;
                loop {
                    // Waiting in slices lets a caller give up once shutdown begins, instead of
                    // waiting for a writer that will never drain the lane again.
                    match tx.send_timeout(msg, BLOCK_SLICE) {
                        Ok(()) => return Ok(()),
                        Err(SendTimeoutError::Timeout(m)) => {
                            if self.shared.closed.load(Ordering::Relaxed) {
                                return Err((m, DropReason::Shutdown));
                            }
                            self.wake();
                            msg = m;
                        }
                        Err(SendTimeoutError::Disconnected(m)) => {
                            return Err((m, DropReason::Shutdown))
                        }
                    }
                }
            }
        }
    }

    /// After the writer exited, empties the lanes, counting each record as a shutdown drop.
    #[cold]
    fn drain_after_exit(&self, counters: &Counters) {
        for (rx, lane) in self.rx.iter().zip([Lane::Error, Lane::Bulk]) {
            while let Ok(msg) = rx.try_recv() {
                match msg {
                    Msg::Record(..) => counters.drop_record(lane, DropReason::Shutdown),
                    Msg::Flush(waiter) => waiter.arrive(),
                }
            }
        }
    }

    /// Queues a flush marker in each lane and waits until the writer passed both.
    fn flush_until(&self, deadline: Option<Instant>) -> bool {
        let gone = || self.shared.exited.load(Ordering::SeqCst);
        if gone() {
            return self.depth() == 0;
        }
        let waiter = Arc::new(Waiter::new(self.tx.len()));
        self.wake();
        for tx in &self.tx {
            let marker = Msg::Flush(Arc::clone(&waiter));
            let queued = match deadline {
                Some(d) => tx.send_deadline(marker, d).is_ok(),
                None => tx.send(marker).is_ok(),
            };
            if !queued {
                return false;
            }
        }
        self.wake();
        waiter.wait_until(deadline, gone)
    }
}

/// The caller's side of the background writer.
pub(crate) struct Handle {
    lanes: ForkLocal<Lanes>,
    spawner: Arc<Spawner>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("config", &self.spawner.config)
            .finish_non_exhaustive()
    }
}

// === impl Handle ===

impl Handle {
    /// Starts the writer thread, which takes `first` as its transport. `make` builds the transport
    /// of the writer a forked child starts.
    ///
    /// # Errors
    ///
    /// The thread could not be spawned.
    pub(crate) fn spawn(
        make: crate::transport::Factory,
        first: Box<dyn Transport>,
        summary: SummaryFn,
        config: Config,
        counters: Arc<Counters>,
    ) -> io::Result<Handle> {
        let spawner = Arc::new(Spawner {
            make,
            summary,
            config,
            counters,
        });
        let lanes = Lanes::start(&spawner, Some(first))?;
        Ok(Handle {
            lanes: ForkLocal::new(lanes),
            spawner,
        })
    }

    /// This process's lanes: in a forked child, fresh ones with their own writer.
    #[inline]
    fn lanes(&self) -> &Lanes {
        self.lanes.get_or_replace(|_inherited| {
            // Never touch `_inherited` here: its locks may be held by threads that are gone.
            let counters = &self.spawner.counters;
            counters.writer_send_started_ns.store(0, Ordering::Relaxed);
            Lanes::start(&self.spawner, None).unwrap_or_else(|_| Lanes::dead(&self.spawner))
        })
    }

    /// Renders one record with `render` into a recycled buffer and queues it under its lane's
    /// overflow policy: the caller's whole hand-off, with this process's lanes looked up once.
    /// When `render` returns `None` (a user `Display` panicked) nothing is queued and `None` is
    /// returned; the caller counts that drop.
    #[inline]
    pub(crate) fn submit(
        &self,
        lane: Lane,
        priority: Priority,
        render: impl FnOnce(&mut Vec<u8>) -> Option<()>,
    ) -> Option<()> {
        let lanes = self.lanes();
        let mut buf = lanes.take_buffer();
        render(&mut buf)?;
        self.push_to(lanes, lane, priority, buf);
        Some(())
    }

    /// [`Lanes::take_buffer`] of this process's lanes.
    #[cfg(test)]
    pub(crate) fn take_buffer(&self) -> Vec<u8> {
        self.lanes().take_buffer()
    }

    /// [`Handle::push_to`] this process's lanes.
    #[cfg(test)]
    pub(crate) fn push(&self, lane: Lane, priority: Priority, buf: Vec<u8>) {
        self.push_to(self.lanes(), lane, priority, buf);
    }

    /// Queues one rendered record under its lane's overflow policy. Never panics; a record that
    /// is not queued is counted as dropped.
    #[inline]
    fn push_to(&self, lanes: &Lanes, lane: Lane, priority: Priority, buf: Vec<u8>) {
        let counters = &*self.spawner.counters;
        let msg = Msg::Record(priority, buf);
        if lanes.shared.closed.load(Ordering::Relaxed) {
            counters.drop_record(lane, DropReason::Shutdown);
            lanes.recycle(msg);
            return;
        }
        let tx = &lanes.tx[lane as usize];
        let queued = match tx.try_send(msg) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(msg)) => {
                // This lane is full: its capacity is a depth the lanes reached (the writer adds
                // the other lane's when it drains). Reading both lanes' lengths here would pull
                // four cache lines the writer keeps moving.
                counters.raise_high_water(tx.capacity().unwrap_or(0) as u64);
                lanes.overflow(lane, msg)
            }
            Err(TrySendError::Disconnected(msg)) => Err((msg, DropReason::Shutdown)),
        };
        match queued {
            Ok(()) => {
                counters.enqueue(lane);
                // `len()` reads the lane's head, which the writer moves on every record: a
                // cache-line transfer. Checking on every 32nd record of a thread still wakes the
                // writer long before a lane of thousands fills.
                if check_depth() && tx.len() > lanes.half[lane as usize] {
                    lanes.wake();
                }
                // The first record after a second of silence wakes the parked writer; the swap
                // makes sure only one caller pays for it.
                if lanes.shared.parked.load(Ordering::SeqCst)
                    && lanes.shared.parked.swap(false, Ordering::SeqCst)
                {
                    lanes.wake();
                }
                // The writer may have made its last pass before this record arrived.
                if lanes.shared.exited.load(Ordering::SeqCst) {
                    lanes.drain_after_exit(counters);
                }
            }
            Err((msg, reason)) => {
                counters.drop_record(lane, reason);
                lanes.recycle(msg);
            }
        }
    }

    /// Returns once every record queued before the call was handed to the transport (true), or
    /// `timeout` passed (false).
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        self.lanes()
            .flush_until(Instant::now().checked_add(timeout))
    }

    /// Stops accepting records, flushes, and stops the writer, all within `timeout`. What could
    /// not be delivered in time is reported on standard error.
    pub(crate) fn shutdown(&self, timeout: Duration) {
        let lanes = self.lanes();
        if lanes.shared.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let deadline = Instant::now().checked_add(timeout);
        let flushed = lanes.flush_until(deadline);
        lanes.shared.stop.store(true, Ordering::SeqCst);
        lanes.wake();
        let exited = lanes.writer.is_none() || lanes.shared.wait_exit(deadline);
        if !(flushed && exited) {
            let left = lanes.depth();
            // The logger cannot report its own failure through itself; a failed write to stderr
            // leaves nothing else to try.
            let _ = writeln!(
                io::stderr(),
                "fastsyslog: shutdown gave up after {timeout:?}: {left} queued records were not \
                 delivered (the syslog daemon may be hung)"
            );
        }
    }

    /// Records (and flush markers) waiting in both lanes.
    pub(crate) fn queue_depth(&self) -> u64 {
        self.lanes().depth() as u64
    }
}

/// How many recycled buffers a thread takes from the free list at once.
const STASH_REFILL: usize = 8;

thread_local! {
    /// Recycled buffers taken from a free list and not used yet (buffers of any logger: they are
    /// plain byte vectors). At most [`STASH_REFILL`]; freed when the thread exits.
    static STASH: std::cell::RefCell<Vec<Vec<u8>>> =
        std::cell::RefCell::new(Vec::with_capacity(STASH_REFILL));
}

/// True on every 32nd call from one thread.
#[inline]
fn check_depth() -> bool {
    thread_local! {
        static PUSHES: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    }
    // During thread teardown the TLS slot may be gone: then check every time.
    PUSHES
        .try_with(|n| {
            let next = n.get().wrapping_add(1);
            n.set(next);
            next % 32 == 0
        })
        .unwrap_or(true)
}

/// Marks "a writer is inside a transport call" for the stuck indicator and the blocked time.
struct InSend<'a> {
    counters: &'a Counters,
    started: Instant,
}

impl<'a> InSend<'a> {
    fn enter(counters: &'a Counters) -> Self {
        counters
            .writer_send_started_ns
            .store(monotonic_ns(), Ordering::Relaxed);
        InSend {
            counters,
            started: Instant::now(),
        }
    }
}

impl Drop for InSend<'_> {
    fn drop(&mut self) {
        self.counters
            .writer_send_started_ns
            .store(0, Ordering::Relaxed);
        let blocked = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.counters
            .writer_blocked_ns
            .fetch_add(blocked, Ordering::Relaxed);
    }
}

/// The writer thread's state.
struct Writer {
    rx: [Receiver<Msg>; 2],
    recycle: Sender<Vec<u8>>,
    shared: Arc<Shared>,
    spawner: Arc<Spawner>,
    batch: Vec<(Lane, Priority, Vec<u8>)>,
    waiters: Vec<Arc<Waiter>>,
    /// Drop counts already covered by a summary (or present when this writer started).
    reported: [[u64; 5]; 2],
    /// When drops not yet summarised were first seen.
    unreported_since: Option<Timestamp>,
    summary_retry_at: Option<Instant>,
    summary_buf: Vec<u8>,
    /// The transport built at start-up, taken by [`Writer::open_transport`]; `None` in a forked
    /// child's writer, which builds its own.
    first: Option<Box<dyn Transport>>,
}

/// Every drop counter except shutdown drops (those happen after the writer's last summary).
fn dropped_counts(counters: &Counters) -> [[u64; 5]; 2] {
    let mut out = [[0; 5]; 2];
    for lane in [Lane::Error, Lane::Bulk] {
        for (i, &reason) in DropReason::all().iter().enumerate() {
            if reason != DropReason::Shutdown {
                out[lane as usize][i] = counters.dropped(lane, reason);
            }
        }
    }
    out
}

impl Writer {
    fn counters(&self) -> &Counters {
        &self.spawner.counters
    }

    fn open_transport(&mut self) -> Box<dyn Transport> {
        if let Some(first) = self.first.take() {
            return first;
        }
        // `openlog` takes glibc's syslog lock too, so it can get stuck like a send.
        let _in_send = InSend::enter(&self.spawner.counters);
        (self.spawner.make)()
    }

    fn run(mut self) {
        let transport = self.open_transport();
        let mut sleep = MIN_IDLE_SLEEP;
        let mut spins = 0;
        let mut idle_since = Instant::now();
        loop {
            let (got, disconnected) = self.drain();
            self.send(&*transport);
            if got >= MAX_BATCH {
                // A backlog: straight on, and spin before sleeping once it is gone.
                sleep = MIN_IDLE_SLEEP;
                spins = 0;
                idle_since = Instant::now();
                continue;
            }
            if got > 0 {
                // Records trickle in, slower than the writer sends them. Polling sooner would
                // only send smaller batches, each waking the receiver: keep backing off towards
                // MAX_IDLE_SLEEP (the latency bound), so that what arrives meanwhile shares one
                // `sendmmsg`, and skip the spin.
                spins = IDLE_SPINS;
                idle_since = Instant::now();
            }
            // Both lanes are empty: the writer has caught up.
            if got == 0 && disconnected {
                // Every sender is gone: the logger was dropped.
                break;
            }
            self.summarize(&*transport);
            if self.shared.stop.load(Ordering::SeqCst) {
                break;
            }
            if spins < IDLE_SPINS {
                spins += 1;
                std::hint::spin_loop();
                continue;
            }
            if idle_since.elapsed() < DEEP_SLEEP_AFTER {
                thread::park_timeout(sleep);
                sleep = (sleep * 2).min(MAX_IDLE_SLEEP);
                continue;
            }
            // Long idle: announce the deep sleep, then look once more so a record queued before
            // the announcement is not left waiting for the poll bound.
            self.shared.parked.store(true, Ordering::SeqCst);
            if self.rx.iter().all(Receiver::is_empty) {
                thread::park_timeout(self.spawner.config.deep_sleep_poll);
            }
            self.shared.parked.store(false, Ordering::SeqCst);
        }
        self.shared.exited.store(true, Ordering::SeqCst);
        // Records queued between the last pass and `exited`: callers that push after this see
        // `exited` and count their records as shutdown drops themselves.
        loop {
            let (got, _) = self.drain();
            self.send(&*transport);
            if got == 0 {
                break;
            }
        }
        let mut exited = self
            .shared
            .exit
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *exited = true;
        self.shared.exit_cv.notify_all();
    }

    /// Moves up to a batch of records into `self.batch`, error lane first. Returns how many
    /// messages (records and markers) it took and whether both lanes are disconnected.
    fn drain(&mut self) -> (usize, bool) {
        let mut got = 0;
        let mut disconnected = 0;
        for (rx, lane) in self.rx.iter().zip([Lane::Error, Lane::Bulk]) {
            while self.batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(Msg::Record(priority, buf)) => self.batch.push((lane, priority, buf)),
                    Ok(Msg::Flush(waiter)) => self.waiters.push(waiter),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        disconnected += 1;
                        break;
                    }
                }
                got += 1;
            }
        }
        if got > 0 {
            let depth = got as u64 + (self.rx[0].len() + self.rx[1].len()) as u64;
            self.counters().raise_high_water(depth);
        }
        (got, disconnected == self.rx.len())
    }

    /// Sends the batch, counts the outcome, recycles the buffers and releases flush waiters.
    fn send(&mut self, transport: &dyn Transport) {
        if !self.batch.is_empty() {
            let counters = &*self.spawner.counters;
            let refs: Vec<(Priority, &[u8])> = self
                .batch
                .iter()
                .map(|(_, priority, buf)| (*priority, buf.as_slice()))
                .collect();
            let mut at = 0;
            while at < refs.len() {
                let (sent, err) = {
                    let _in_send = InSend::enter(counters);
                    transport.send_batch(&refs[at..])
                };
                let sent = sent.min(refs.len() - at);
                counters.written.fetch_add(sent as u64, Ordering::Relaxed);
                at += sent;
                match err {
                    Some(e) => {
                        counters.send_error(&e);
                        if let Some((lane, _, _)) = self.batch.get(at) {
                            // A lossless lane retries a send that timed out (the daemon is alive
                            // but slow); anything else is a counted drop.
                            let lossless =
                                self.spawner.config.overflow[*lane as usize] == Overflow::Block;
                            if lossless && is_timeout(&e) {
                                thread::park_timeout(MIN_IDLE_SLEEP);
                                continue;
                            }
                            counters.drop_record(*lane, DropReason::SendError);
                            at += 1;
                        }
                    }
                    None if at < refs.len() => {
                        // A transport that stops without an error: count the rest rather than
                        // retrying forever.
                        for (lane, _, _) in &self.batch[at..] {
                            counters.drop_record(*lane, DropReason::SendError);
                        }
                        break;
                    }
                    None => {}
                }
            }
            drop(refs);
            for (_, _, mut buf) in self.batch.drain(..) {
                if buf.capacity() <= MAX_RECYCLED_BUFFER {
                    buf.clear();
                    // A full free list just frees this buffer.
                    let _ = self.recycle.try_send(buf);
                }
            }
            if self.unreported_since.is_none()
                && dropped_counts(&self.spawner.counters) != self.reported
            {
                self.unreported_since = Some(crate::clock::now());
            }
        }
        for waiter in self.waiters.drain(..) {
            waiter.arrive();
        }
    }

    /// Once caught up after drops, sends one summary record for them.
    fn summarize(&mut self, transport: &dyn Transport) {
        let now = dropped_counts(self.counters());
        if now == self.reported {
            return;
        }
        if let Some(at) = self.summary_retry_at {
            if Instant::now() < at {
                return;
            }
        }
        let since = *self.unreported_since.get_or_insert_with(crate::clock::now);
        let text = summary_text(&self.reported, &now, &since);
        let mut buf = std::mem::take(&mut self.summary_buf);
        let priority = (self.spawner.summary)(&text, &mut buf);
        let result = {
            let _in_send = InSend::enter(&self.spawner.counters);
            transport.send(priority, &buf)
        };
        self.summary_buf = buf;
        match result {
            Ok(()) => {
                self.reported = now;
                self.unreported_since = None;
                self.summary_retry_at = None;
            }
            Err(e) => {
                self.counters().send_error(&e);
                self.summary_retry_at = Instant::now().checked_add(SUMMARY_RETRY);
            }
        }
    }
}

/// Whether a send failed only because the daemon did not make room within the send timeout.
fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// `fastsyslog: dropped N records (lane, reason) since <time>`; with several lanes or reasons,
/// `(bulk, queue_full: 5; error, timeout: 2)`.
fn summary_text(before: &[[u64; 5]; 2], now: &[[u64; 5]; 2], since: &Timestamp) -> String {
    let mut parts = Vec::new();
    let mut total = 0;
    for lane in [Lane::Error, Lane::Bulk] {
        for (i, reason) in DropReason::all().iter().enumerate() {
            let n = now[lane as usize][i].saturating_sub(before[lane as usize][i]);
            if n > 0 {
                total += n;
                parts.push((lane.name(), reason.name(), n));
            }
        }
    }
    let detail = match parts.as_slice() {
        [(lane, reason, _)] => format!("{lane}, {reason}"),
        _ => parts
            .iter()
            .map(|(lane, reason, n)| format!("{lane}, {reason}: {n}"))
            .collect::<Vec<_>>()
            .join("; "),
    };
    let noun = if total == 1 { "record" } else { "records" };
    format!(
        "fastsyslog: dropped {total} {noun} ({detail}) since {}",
        String::from_utf8_lossy(since.rfc3339(false).as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Facility;
    use std::sync::mpsc;

    /// One `send_batch` call as a [`MockTransport`] saw it: `(PRI, bytes)` per record.
    type Sent = Vec<(u8, Vec<u8>)>;
    type Batches = mpsc::Receiver<Sent>;

    /// Forwards every batch into a channel; optionally waits for a permit before each batch.
    #[derive(Debug)]
    struct MockTransport {
        out: Mutex<mpsc::Sender<Sent>>,
        gate: Option<Mutex<mpsc::Receiver<()>>>,
        fail: bool,
        /// The first this-many batches fail with a send timeout (EAGAIN).
        timeouts: std::sync::atomic::AtomicUsize,
    }

    impl Transport for MockTransport {
        fn send(&self, priority: Priority, msg: &[u8]) -> io::Result<()> {
            let (sent, err) = self.send_batch(&[(priority, msg)]);
            match err {
                Some(e) => Err(e),
                None if sent == 1 => Ok(()),
                None => Err(io::Error::from(io::ErrorKind::Other)),
            }
        }

        fn send_batch(&self, batch: &[(Priority, &[u8])]) -> (usize, Option<io::Error>) {
            if let Some(gate) = &self.gate {
                // A closed gate (sender dropped) means "blocked forever" until the test ends.
                if gate.lock().unwrap().recv().is_err() {
                    loop {
                        thread::park();
                    }
                }
            }
            if self.fail {
                return (0, Some(io::Error::from_raw_os_error(libc::ECONNREFUSED)));
            }
            let timeouts = &self.timeouts;
            if timeouts
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
            {
                return (0, Some(io::Error::from_raw_os_error(libc::EAGAIN)));
            }
            let copy = batch.iter().map(|(p, m)| (p.value(), m.to_vec())).collect();
            // The test may have stopped listening; that is not the writer's concern.
            let _ = self.out.lock().unwrap().send(copy);
            (batch.len(), None)
        }
    }

    struct Setup {
        handle: Handle,
        counters: Arc<Counters>,
        batches: Batches,
        /// Each `()` lets one `send_batch` through (only with `gated`).
        permits: Option<mpsc::Sender<()>>,
    }

    fn setup(config: Config, gated: bool, fail: bool) -> Setup {
        setup_with_timeouts(config, gated, fail, 0)
    }

    fn setup_with_timeouts(config: Config, gated: bool, fail: bool, timeouts: usize) -> Setup {
        let (out, batches) = mpsc::channel();
        let (permits, gate) = mpsc::channel();
        let transport = Arc::new(Mutex::new(Some(MockTransport {
            out: Mutex::new(out),
            gate: gated.then(|| Mutex::new(gate)),
            fail,
            timeouts: std::sync::atomic::AtomicUsize::new(timeouts),
        })));
        let make: crate::transport::Factory = Box::new(move || {
            let t = transport.lock().unwrap().take().expect("made once");
            Box::new(t) as Box<dyn Transport>
        });
        let summary: SummaryFn = Box::new(|text, buf| {
            buf.clear();
            buf.extend_from_slice(text.as_bytes());
            Priority::new(Facility::Local1, crate::Severity::Warning)
        });
        let counters = Arc::new(Counters::default());
        let first = make();
        let handle = Handle::spawn(make, first, summary, config, Arc::clone(&counters)).unwrap();
        Setup {
            handle,
            counters,
            batches,
            permits: gated.then_some(permits),
        }
    }

    fn config(error: (usize, Overflow), bulk: (usize, Overflow)) -> Config {
        Config {
            capacity: [error.0, bulk.0],
            overflow: [error.1, bulk.1],
            ..Config::default()
        }
    }

    fn pri(sev: crate::Severity) -> Priority {
        Priority::new(Facility::Local1, sev)
    }

    fn push(h: &Handle, lane: Lane, text: &str) {
        let mut buf = h.take_buffer();
        buf.extend_from_slice(text.as_bytes());
        let sev = match lane {
            Lane::Error => crate::Severity::Error,
            Lane::Bulk => crate::Severity::Informational,
        };
        h.push(lane, pri(sev), buf);
    }

    fn texts(batches: &Batches) -> Vec<String> {
        batches
            .try_iter()
            .flatten()
            .map(|(_, m)| String::from_utf8(m).unwrap())
            .collect()
    }

    const LONG: Duration = Duration::from_secs(10);

    #[test]
    fn records_arrive_in_order_and_are_counted() {
        let s = setup(Config::default(), false, false);
        for i in 0..1000 {
            push(&s.handle, Lane::Bulk, &format!("r{i}"));
        }
        assert!(s.handle.flush(LONG));
        let got = texts(&s.batches);
        let want: Vec<String> = (0..1000).map(|i| format!("r{i}")).collect();
        assert_eq!(got, want);
        let stats = s.counters.snapshot(0);
        assert_eq!(stats.written, 1000);
        assert_eq!(stats.enqueued, 1000);
        assert_eq!(stats.enqueued_for(Lane::Bulk), 1000);
        assert_eq!(stats.dropped_total(), 0);
    }

    #[test]
    fn writer_sends_batches() {
        let s = setup(Config::default(), true, false);
        let permits = s.permits.as_ref().unwrap();
        // "hold" occupies the writer inside send_batch (waiting for a permit) while the next
        // records pile up; they then go out as one batch.
        push(&s.handle, Lane::Bulk, "hold");
        while s.handle.queue_depth() > 0 {
            thread::yield_now();
        }
        for i in 0..100 {
            push(&s.handle, Lane::Bulk, &format!("r{i}"));
        }
        permits.send(()).unwrap();
        assert_eq!(s.batches.recv().unwrap().len(), 1);
        permits.send(()).unwrap();
        let batch = s.batches.recv().unwrap();
        assert_eq!(batch.len(), 100, "queued records go out in one send_batch");
        assert_eq!(batch[0].0, pri(crate::Severity::Informational).value());
    }

    #[test]
    fn error_lane_is_drained_first() {
        let s = setup(Config::default(), true, false);
        let permits = s.permits.as_ref().unwrap();
        push(&s.handle, Lane::Bulk, "hold");
        // Wait until the writer took "hold" (it is now blocked on the gate), so what follows
        // waits in the queues.
        while s.handle.queue_depth() > 0 {
            thread::yield_now();
        }
        for i in 0..5 {
            push(&s.handle, Lane::Bulk, &format!("bulk{i}"));
        }
        push(&s.handle, Lane::Error, "err0");
        push(&s.handle, Lane::Error, "err1");
        for _ in 0..3 {
            permits.send(()).unwrap();
        }
        let mut got = Vec::new();
        while got.len() < 8 {
            got.extend(
                s.batches
                    .recv()
                    .unwrap()
                    .into_iter()
                    .map(|(_, m)| String::from_utf8(m).unwrap()),
            );
        }
        assert_eq!(
            got,
            ["hold", "err0", "err1", "bulk0", "bulk1", "bulk2", "bulk3", "bulk4"]
        );
    }

    /// Fills the bulk lane (capacity 4) while the writer is blocked, so the next pushes overflow.
    fn fill_while_blocked(s: &Setup, extra: usize) {
        push(&s.handle, Lane::Bulk, "hold");
        while s.handle.queue_depth() > 0 {
            thread::yield_now();
        }
        for i in 0..4 + extra {
            push(&s.handle, Lane::Bulk, &format!("r{i}"));
        }
    }

    #[test]
    fn drop_policy_counts_every_drop() {
        let s = setup(
            config((4, Overflow::Drop), (4, Overflow::Drop)),
            true,
            false,
        );
        fill_while_blocked(&s, 6);
        let stats = s.counters.snapshot(0);
        assert_eq!(stats.dropped_for(Lane::Bulk, DropReason::QueueFull), 6);
        drop(s.permits);
        // The closed gate blocks the writer forever: flush must still return in time.
        let t = Instant::now();
        assert!(!s.handle.flush(Duration::from_millis(50)));
        assert!(t.elapsed() < Duration::from_secs(2));
        assert_eq!(stats.enqueued, 5);
    }

    #[test]
    fn attempted_equals_written_plus_dropped() {
        let s = setup(
            config((4, Overflow::Drop), (4, Overflow::Drop)),
            true,
            false,
        );
        let permits = s.permits.as_ref().unwrap();
        fill_while_blocked(&s, 10);
        let attempted = 1 + 4 + 10;
        for _ in 0..100 {
            // Plenty of permits: every queued record (and the summary) can go out.
            permits.send(()).unwrap();
        }
        assert!(s.handle.flush(LONG));
        let stats = s.counters.snapshot(0);
        assert_eq!(stats.written + stats.dropped_total(), attempted);
        assert_eq!(stats.written, 5);
        assert_eq!(stats.dropped_for(Lane::Bulk, DropReason::QueueFull), 10);
    }

    #[test]
    fn block_for_times_out_and_counts() {
        let s = setup(
            config(
                (4, Overflow::Drop),
                (4, Overflow::BlockFor(Duration::from_millis(5))),
            ),
            true,
            false,
        );
        fill_while_blocked(&s, 2);
        let stats = s.counters.snapshot(0);
        assert_eq!(stats.dropped_for(Lane::Bulk, DropReason::Timeout), 2);
        assert_eq!(stats.dropped_for(Lane::Bulk, DropReason::QueueFull), 0);
    }

    #[test]
    fn block_waits_until_there_is_room() {
        let s = setup(
            config((4, Overflow::Drop), (4, Overflow::Block)),
            true,
            false,
        );
        let permits = s.permits.clone().unwrap();
        push(&s.handle, Lane::Bulk, "hold");
        while s.handle.queue_depth() > 0 {
            thread::yield_now();
        }
        for i in 0..4 {
            push(&s.handle, Lane::Bulk, &format!("r{i}"));
        }
        // The lane is full; the next push blocks until the writer makes room.
        let pusher = thread::scope(|scope| {
            let h = scope.spawn(|| push(&s.handle, Lane::Bulk, "blocked"));
            for _ in 0..10 {
                permits.send(()).unwrap();
            }
            h.join()
        });
        assert!(pusher.is_ok());
        assert!(s.handle.flush(LONG));
        let stats = s.counters.snapshot(0);
        assert_eq!(stats.dropped_total(), 0);
        assert_eq!(stats.written, 6);
        let got = texts(&s.batches);
        assert_eq!(got.last().map(String::as_str), Some("blocked"));
    }

    #[test]
    fn flush_is_bounded_when_the_transport_blocks_forever() {
        let s = setup(Config::default(), true, false);
        push(&s.handle, Lane::Error, "stuck");
        let t = Instant::now();
        assert!(!s.handle.flush(Duration::from_millis(100)));
        let waited = t.elapsed();
        assert!(waited >= Duration::from_millis(100), "{waited:?}");
        assert!(waited < Duration::from_secs(2), "{waited:?}");
    }

    #[test]
    fn shutdown_is_bounded_and_later_records_count_as_shutdown() {
        let s = setup(Config::default(), true, false);
        push(&s.handle, Lane::Bulk, "stuck");
        let t = Instant::now();
        s.handle.shutdown(Duration::from_millis(100));
        assert!(t.elapsed() < Duration::from_secs(2));
        push(&s.handle, Lane::Bulk, "late");
        push(&s.handle, Lane::Error, "late");
        let stats = s.counters.snapshot(0);
        assert_eq!(stats.dropped_for(Lane::Bulk, DropReason::Shutdown), 1);
        assert_eq!(stats.dropped_for(Lane::Error, DropReason::Shutdown), 1);
    }

    #[test]
    fn shutdown_delivers_what_was_queued() {
        let s = setup(Config::default(), false, false);
        for i in 0..100 {
            push(&s.handle, Lane::Bulk, &format!("r{i}"));
        }
        s.handle.shutdown(LONG);
        assert_eq!(texts(&s.batches).len(), 100);
        assert!(s.handle.lanes().shared.exited.load(Ordering::SeqCst));
        assert_eq!(s.counters.snapshot(0).written, 100);
        // A flush after shutdown returns at once: nothing is queued.
        assert!(s.handle.flush(LONG));
    }

    #[test]
    fn summary_follows_drops_once_caught_up() {
        let s = setup(
            config((4, Overflow::Drop), (4, Overflow::Drop)),
            true,
            false,
        );
        let permits = s.permits.as_ref().unwrap();
        fill_while_blocked(&s, 3);
        for _ in 0..100 {
            permits.send(()).unwrap();
        }
        assert!(s.handle.flush(LONG));
        // The summary is sent when the writer finds both lanes empty, right after the flush.
        let summary = loop {
            let batch = s.batches.recv_timeout(LONG).expect("a summary record");
            if let Some((p, m)) = batch
                .into_iter()
                .find(|(_, m)| m.starts_with(b"fastsyslog:"))
            {
                break (p, String::from_utf8(m).unwrap());
            }
        };
        assert_eq!(summary.0, pri(crate::Severity::Warning).value());
        assert!(
            summary
                .1
                .starts_with("fastsyslog: dropped 3 records (bulk, queue_full) since "),
            "{}",
            summary.1
        );
        // The summary is not a user record: the counting identity is untouched.
        let stats = s.counters.snapshot(0);
        assert_eq!(stats.written, 5);
    }

    #[test]
    fn summary_text_lists_each_lane_and_reason() {
        let before = [[0; 5]; 2];
        let mut now = [[0; 5]; 2];
        now[Lane::Bulk as usize][DropReason::QueueFull as usize] = 5;
        now[Lane::Error as usize][DropReason::Timeout as usize] = 2;
        let since = crate::format::tests::now();
        assert_eq!(
            summary_text(&before, &now, &since),
            "fastsyslog: dropped 7 records (error, timeout: 2; bulk, queue_full: 5) since \
             2026-11-02T09:05:01+01:00"
        );
        let mut one = [[0; 5]; 2];
        one[Lane::Error as usize][DropReason::SendError as usize] = 1;
        let since = Timestamp {
            utc_offset: 0,
            ..since
        };
        assert_eq!(
            summary_text(&before, &one, &since),
            "fastsyslog: dropped 1 record (error, send_error) since 2026-11-02T09:05:01Z"
        );
    }

    #[test]
    fn send_errors_are_counted_per_record() {
        let s = setup(Config::default(), false, true);
        for i in 0..10 {
            push(&s.handle, Lane::Bulk, &format!("r{i}"));
        }
        push(&s.handle, Lane::Error, "e");
        assert!(s.handle.flush(LONG));
        let stats = s.counters.snapshot(0);
        assert_eq!(stats.written, 0);
        assert_eq!(stats.dropped_for(Lane::Bulk, DropReason::SendError), 10);
        assert_eq!(stats.dropped_for(Lane::Error, DropReason::SendError), 1);
        // 11 records, plus possibly the failed dropped-records summary.
        let refused = stats.send_errors.iter().find(|e| e.0 == libc::ECONNREFUSED);
        assert!(matches!(refused, Some((_, 11 | 12))), "{stats:?}");
    }

    #[test]
    fn buffers_are_recycled() {
        let s = setup(Config::default(), false, false);
        assert!(
            s.handle.lanes().free.len() >= PREFILLED_BUFFERS - STASH_REFILL,
            "the free list starts prefilled"
        );
        let mut buf = s.handle.take_buffer();
        assert!(buf.is_empty() && buf.capacity() >= INITIAL_BUFFER);
        buf.extend_from_slice(b"one");
        let sent = buf.as_ptr();
        s.handle
            .push(Lane::Bulk, pri(crate::Severity::Informational), buf);
        assert!(s.handle.flush(LONG));
        let free: Vec<Vec<u8>> = s.handle.lanes().free.try_iter().collect();
        assert!(
            free.iter().any(|b| b.as_ptr() == sent && b.is_empty()),
            "the sent buffer came back to the free list, cleared"
        );
    }

    #[test]
    fn stuck_writer_is_reported() {
        let s = setup(Config::default(), true, false);
        push(&s.handle, Lane::Bulk, "stuck");
        while s.counters.writer_send_started_ns.load(Ordering::Relaxed) == 0 {
            thread::yield_now();
        }
        let started = s.counters.writer_send_started_ns.load(Ordering::Relaxed);
        assert!(!s.counters.snapshot(0).writer_stuck, "not yet a second");
        assert!(!crate::stats::is_stuck(started, started + 999_000_000));
        assert!(crate::stats::is_stuck(started, started + 1_001_000_000));
        assert!(
            !crate::stats::is_stuck(0, u64::MAX),
            "0 means not in a send"
        );
    }

    #[test]
    fn lossless_lane_retries_timed_out_sends_and_others_drop() {
        let s = setup_with_timeouts(
            config((16, Overflow::Drop), (16, Overflow::Block)),
            false,
            false,
            3,
        );
        push(&s.handle, Lane::Bulk, "kept");
        assert!(s.handle.flush(LONG));
        assert_eq!(texts(&s.batches), ["kept"]);
        let stats = s.counters.snapshot(0);
        assert_eq!((stats.written, stats.dropped_total()), (1, 0));
        assert_eq!(stats.send_errors, vec![(libc::EAGAIN, 3)]);

        let s = setup_with_timeouts(
            config((16, Overflow::Drop), (16, Overflow::Block)),
            false,
            false,
            1,
        );
        push(&s.handle, Lane::Error, "lost");
        assert!(s.handle.flush(LONG));
        let stats = s.counters.snapshot(0);
        assert_eq!(stats.dropped_for(Lane::Error, DropReason::SendError), 1);
    }

    #[test]
    fn a_long_idle_writer_parks_and_the_next_record_wakes_it() {
        // With a poll interval of a minute, only the caller's wake-up can deliver in time.
        let config = Config {
            deep_sleep_poll: Duration::from_secs(60),
            ..Config::default()
        };
        let s = setup(config, false, false);
        let shared = Arc::clone(&s.handle.lanes().shared);
        // Waits for the writer's own state change (about DEEP_SLEEP_AFTER), not a fixed sleep.
        while !shared.parked.load(Ordering::SeqCst) {
            thread::yield_now();
        }
        push(&s.handle, Lane::Bulk, "wake");
        assert!(
            !shared.parked.load(Ordering::SeqCst),
            "the caller cleared the flag"
        );
        let batch = s.batches.recv_timeout(LONG);
        assert_eq!(batch.map(|b| b.len()), Ok(1));
    }

    #[test]
    fn overflow_parses() {
        let table = [
            ("block", Ok(Overflow::Block)),
            ("Drop", Ok(Overflow::Drop)),
            (
                "block_for=25ms",
                Ok(Overflow::BlockFor(Duration::from_millis(25))),
            ),
        ];
        for (input, want) in table {
            assert_eq!(input.parse::<Overflow>(), want, "{input}");
        }
        assert!("sometimes".parse::<Overflow>().is_err());
    }
}
