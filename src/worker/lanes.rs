//! The lanes: the two bounded queues, the buffer pool and each caller's stash, the state the
//! callers share with the writer, flush waiters, and what a caller does when its lane is full.
//!
//! Everything here runs on the caller's thread, except [`Waiter::arrive`] and the flags of
//! [`Shared`], which the writer sets.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::Thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, SendTimeoutError, Sender, TrySendError};

use super::{Config, Overflow};
use crate::format::captured::Form;
use crate::severity::Priority;
use crate::stats::{Counters, DropReason, Lane};

/// The free list holds at most this many spare buffers.
const FREE_BUFFERS: usize = 1024;
/// A new buffer's capacity: most records fit without growing it. Buffers no larger than this
/// are not counted against a lane's byte budget (see [`Msg::bytes`]).
pub(super) const INITIAL_BUFFER: usize = 512;
/// Buffers put on the free list when the lanes are created (128 KiB), so callers do not allocate
/// while the writer is behind by fewer records than this; beyond it the pool grows by allocation
/// and keeps what it grew (up to [`FREE_BUFFERS`]).
const PREFILLED_BUFFERS: usize = 256;
/// Buffers that grew beyond this are freed instead of recycled, so a few huge records do not pin
/// memory for the rest of the program.
pub(super) const MAX_RECYCLED_BUFFER: usize = 16 * 1024;
/// How often a `Block` caller re-checks for shutdown while it waits for room.
const BLOCK_SLICE: Duration = Duration::from_millis(100);
/// How often a flush re-checks whether the writer has exited while it waits.
const FLUSH_SLICE: Duration = Duration::from_millis(10);
/// The first and the longest nap of a caller waiting for its lane's bytes to fit.
const BUDGET_NAP_MIN: Duration = Duration::from_micros(50);
const BUDGET_NAP_MAX: Duration = Duration::from_millis(1);
/// How many recycled buffers a thread takes from the free list at once.
const STASH_REFILL: usize = 8;

/// What travels in a lane. Each message carries its ticket: the writer merges the two lanes by
/// ticket, so a thread's records leave in the order it logged them (see [`Lanes::push`]).
pub(super) enum Msg {
    /// A record: rendered, or captured for the writer to render ([`Form`]).
    Record(Stamp, Priority, Vec<u8>, Form),
    /// A flush marker: the writer arrives at the waiter once everything queued before it in this
    /// lane was handed to the transport.
    Flush(u64, Arc<Waiter>),
}

// === impl Msg ===

impl Msg {
    /// The ticket taken when the message was made.
    pub(super) fn ticket(&self) -> u64 {
        match self {
            Msg::Record(stamp, ..) => stamp.ticket,
            Msg::Flush(t, _) => *t,
        }
    }

    /// The bytes a record holds against its lane's byte budget: its buffer's capacity (what it
    /// keeps allocated) when that is more than [`INITIAL_BUFFER`], else 0, as for a marker.
    ///
    /// Buffers of the initial size are bounded by the lane's capacity alone (at most 512 bytes
    /// per slot), and most records fit one: leaving them out spares the caller an atomic
    /// add on a line the writer writes after every batch.
    pub(super) fn bytes(&self) -> usize {
        match self {
            Msg::Record(_, _, buf, _) if buf.capacity() > INITIAL_BUFFER => buf.capacity(),
            Msg::Record(..) | Msg::Flush(..) => 0,
        }
    }
}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Msg::Record(s, p, b, form) => write!(
                f,
                "Record(#{}, {}, {} bytes, {form:?})",
                s.ticket,
                p.value(),
                b.len()
            ),
            Msg::Flush(t, _) => write!(f, "Flush(#{t})"),
        }
    }
}

/// Where a record stands in its thread's order.
#[derive(Debug, Clone, Copy)]
pub(super) struct Stamp {
    /// From the lanes' counter: the writer's merge order.
    pub(super) ticket: u64,
    /// The thread that logged it (a number of this crate's, never 0).
    pub(super) thread: u64,
    /// For an error-lane record: the ticket of the last bulk record its thread queued in these
    /// lanes before it ([`NO_BULK`] for none, [`UNKNOWN`] when the thread is not tracked here).
    /// The writer may send the record ahead of older bulk records once that one is taken.
    pub(super) after: u64,
}

/// [`Stamp::after`]: the thread queued no bulk record in these lanes before this one.
pub(super) const NO_BULK: u64 = 0;
/// [`Stamp::after`]: not known; the record keeps the plain ticket order.
pub(super) const UNKNOWN: u64 = u64::MAX;

/// What a thread knows of its own order: its number, the lanes it tracks (the first it used),
/// and the ticket of its last bulk record queued there.
#[derive(Clone, Copy)]
struct Order {
    thread: u64,
    lanes: u64,
    last_bulk: u64,
}

thread_local! {
    static ORDER: std::cell::Cell<Order> =
        const { std::cell::Cell::new(Order { thread: 0, lanes: 0, last_bulk: NO_BULK }) };
}

/// Thread numbers and lanes ids, never 0.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Keeps what every caller writes (the ticket counter) off the lines the writer writes.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(super) struct Padded<T>(pub(super) T);

/// A flush in progress: how many lanes still have to pass its marker.
#[derive(Debug)]
pub(super) struct Waiter {
    remaining: Mutex<usize>,
    done: Condvar,
}

// === impl Waiter ===

impl Waiter {
    fn new(lanes: usize) -> Self {
        Waiter {
            remaining: Mutex::new(lanes),
            done: Condvar::new(),
        }
    }

    pub(super) fn arrive(&self) {
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
pub(super) struct Shared {
    /// Shutdown began: records from now on are dropped with [`DropReason::Shutdown`].
    pub(super) closed: AtomicBool,
    /// The writer should exit once both lanes are empty.
    pub(super) stop: AtomicBool,
    /// The writer has exited (or never started).
    pub(super) exited: AtomicBool,
    /// The idle writer is parked until a caller wakes it (see the writer's module docs).
    pub(super) parked: AtomicBool,
    /// Records the writer took and holds because the daemon is away (0 when it holds none).
    pub(super) held: AtomicUsize,
    /// Bytes of the records in each lane: callers add before they queue, the writer subtracts
    /// what it takes, once per batch. Apart from the flags above, which change rarely.
    pub(super) bytes: Padded<[AtomicUsize; 2]>,
    /// Set with `exit_cv` when the writer thread is about to return.
    pub(super) exit: Mutex<bool>,
    pub(super) exit_cv: Condvar,
}

// === impl Shared ===

impl Shared {
    pub(super) fn wait_exit(&self, deadline: Option<Instant>) -> bool {
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

/// One process's queues and writer.
#[derive(Debug)]
pub(super) struct Lanes {
    tx: [Sender<Msg>; 2],
    /// Kept to drain records that arrive after the writer exited (counted as shutdown drops).
    pub(super) rx: [Receiver<Msg>; 2],
    /// A caller that finds more than this many records in a lane wakes the writer.
    half: [usize; 2],
    overflow: [Overflow; 2],
    /// The most bytes of records each lane holds ([`Config::bytes`]).
    budget: [usize; 2],
    /// The next ticket: one relaxed `fetch_add` per record on a line only callers write.
    ticket: Padded<AtomicU64>,
    /// These lanes' id, for the threads' [`Order`].
    id: u64,
    /// Spare buffers: callers take them, the writer returns them.
    free: Receiver<Vec<u8>>,
    pub(super) recycle: Sender<Vec<u8>>,
    pub(super) shared: Arc<Shared>,
    /// `None` when a forked child could not start its writer (every record then counts as a
    /// shutdown drop).
    pub(super) writer: Option<Thread>,
}

// === impl Lanes ===

impl Lanes {
    /// New queues of `config.capacity` records and `config.bytes` bytes each and a prefilled free
    /// list, with no writer yet. The capacities were checked by [`Config::check`].
    pub(super) fn new(config: &Config) -> Lanes {
        let cap = config.capacity.map(|c| c.max(2));
        let (error_tx, error_rx) = bounded(cap[0]);
        let (bulk_tx, bulk_rx) = bounded(cap[1]);
        let (recycle, free) = bounded(FREE_BUFFERS);
        for _ in 0..PREFILLED_BUFFERS {
            // The free list holds FREE_BUFFERS > PREFILLED_BUFFERS, so this cannot fail.
            let _ = recycle.try_send(Vec::with_capacity(INITIAL_BUFFER));
        }
        Lanes {
            tx: [error_tx, bulk_tx],
            rx: [error_rx, bulk_rx],
            half: cap.map(|c| c / 2),
            overflow: config.overflow,
            budget: config.bytes,
            // Tickets start at 1: 0 is NO_BULK.
            ticket: Padded(AtomicU64::new(1)),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            free,
            recycle,
            shared: Arc::new(Shared::default()),
            writer: None,
        }
    }

    /// A cleared buffer to render into: a recycled one in steady state.
    ///
    /// Each thread takes recycled buffers from the free list [`STASH_REFILL`] at a time into a
    /// small thread-local stash: the free list's cache lines then cross cores once per refill
    /// rather than once per record, which is most of the cost of a sparse record.
    #[inline]
    pub(super) fn take_buffer(&self) -> Vec<u8> {
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
    pub(super) fn wake(&self) {
        if let Some(writer) = &self.writer {
            writer.unpark();
        }
    }

    /// Records (and flush markers) waiting in both lanes, plus those the writer holds for an
    /// absent daemon.
    pub(super) fn depth(&self) -> usize {
        self.tx[0].len() + self.tx[1].len() + self.shared.held.load(Ordering::Relaxed)
    }

    /// Queues one rendered record under its lane's overflow policy. Never panics; a record that
    /// is not queued is counted as dropped.
    ///
    /// The record takes a ticket and its thread's [`Stamp`] first. A thread takes its next
    /// ticket only after this record is queued, and the writer sends the lower ticket of the two
    /// lanes' heads unless an error record's own thread has nothing older left, so one thread's
    /// records leave in the order it logged them whichever lanes they travel in (the module docs
    /// of `worker` give the argument).
    #[inline]
    pub(super) fn push(
        &self,
        counters: &Counters,
        lane: Lane,
        priority: Priority,
        buf: Vec<u8>,
        form: Form,
    ) {
        let ticket = self.ticket.0.fetch_add(1, Ordering::Relaxed);
        let stamp = self.stamp(ticket, lane);
        let msg = Msg::Record(stamp, priority, buf, form);
        if self.shared.closed.load(Ordering::Relaxed) {
            counters.drop_record(lane, DropReason::Shutdown);
            self.recycle(msg);
            return;
        }
        let tx = &self.tx[lane as usize];
        let size = msg.bytes();
        let queued = if !self.reserve(lane, size) {
            self.overflow(lane, msg, size)
        } else {
            match tx.try_send(msg) {
                Ok(()) => Ok(()),
                Err(TrySendError::Full(msg)) => {
                    self.release(lane, size);
                    // This lane is full: its capacity is a depth the lanes reached (the writer
                    // adds the other lane's when it drains). Reading both lanes' lengths here
                    // would pull four cache lines the writer keeps moving.
                    counters.raise_high_water(tx.capacity().unwrap_or(0) as u64);
                    self.overflow(lane, msg, size)
                }
                Err(TrySendError::Disconnected(msg)) => {
                    self.release(lane, size);
                    Err((msg, DropReason::Shutdown))
                }
            }
        };
        match queued {
            Ok(()) => {
                counters.enqueue(lane);
                if lane == Lane::Bulk && stamp.after != UNKNOWN {
                    // During thread teardown the slot may be gone: the thread's later error
                    // records then keep the plain ticket order, which is always safe.
                    let _ = ORDER.try_with(|order| {
                        let mut o = order.get();
                        o.last_bulk = ticket;
                        order.set(o);
                    });
                }
                // `len()` reads the lane's head, which the writer moves on every record: a
                // cache-line transfer. Checking on every 32nd record of a thread still wakes the
                // writer long before a lane of thousands fills.
                if check_depth() && tx.len() > self.half[lane as usize] {
                    self.wake();
                }
                // The first record after a second of silence wakes the parked writer; the swap
                // makes sure only one caller pays for it.
                if self.shared.parked.load(Ordering::SeqCst)
                    && self.shared.parked.swap(false, Ordering::SeqCst)
                {
                    self.wake();
                }
                // The writer may have made its last pass before this record arrived.
                if self.shared.exited.load(Ordering::SeqCst) {
                    self.drain_after_exit(counters);
                }
            }
            Err((msg, reason)) => {
                counters.drop_record(lane, reason);
                self.recycle(msg);
            }
        }
    }

    /// This thread's stamp for a record with `ticket` in `lane`. A thread tracks the first lanes
    /// it logs to (one logger in most programs); records to others keep the plain ticket order.
    #[inline]
    fn stamp(&self, ticket: u64, lane: Lane) -> Stamp {
        let untracked = Stamp {
            ticket,
            thread: 0,
            after: UNKNOWN,
        };
        ORDER
            .try_with(|order| {
                let mut o = order.get();
                if o.thread == 0 {
                    o.thread = NEXT_ID.fetch_add(1, Ordering::Relaxed);
                    o.lanes = self.id;
                    order.set(o);
                }
                let after = match (o.lanes == self.id, lane) {
                    (true, Lane::Error) => o.last_bulk,
                    // A bulk record never goes ahead of anything: `after` is not used.
                    (true, Lane::Bulk) => NO_BULK,
                    (false, _) => UNKNOWN,
                };
                Stamp {
                    ticket,
                    thread: o.thread,
                    after,
                }
            })
            .unwrap_or(untracked)
    }

    /// Counts `size` bytes against `lane`'s budget; false (and nothing counted) when they do not
    /// fit. A record larger than the whole budget still fits an empty lane, so it is never
    /// refused for ever.
    ///
    /// Callers add before they queue and the writer subtracts after it took a record, so the
    /// count never goes below zero; racing callers may each pass the check at once, so a lane
    /// may exceed its budget by one record per thread that logs at that moment.
    #[inline]
    fn reserve(&self, lane: Lane, size: usize) -> bool {
        if size == 0 {
            return true;
        }
        let bytes = &self.shared.bytes.0[lane as usize];
        let before = bytes.fetch_add(size, Ordering::Relaxed);
        if before == 0 || before.saturating_add(size) <= self.budget[lane as usize] {
            return true;
        }
        bytes.fetch_sub(size, Ordering::Relaxed);
        false
    }

    /// Gives back `size` bytes of `lane`'s budget.
    #[inline]
    pub(super) fn release(&self, lane: Lane, size: usize) {
        if size == 0 {
            return;
        }
        self.shared.bytes.0[lane as usize].fetch_sub(size, Ordering::Relaxed);
    }

    /// Puts the buffer of a record that was not queued back into this thread's stash, or on the
    /// free list when the stash is full. A caller dropping records from a full lane then takes its
    /// next buffer from where it left the last one, without touching the shared free list.
    fn recycle(&self, msg: Msg) {
        if let Msg::Record(_, _, mut buf, _) = msg {
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

    /// Waits for room (a slot and the bytes) in a full lane under its policy. Returns the record
    /// and the drop reason on failure; on success the record's bytes are counted.
    #[cold]
    fn overflow(&self, lane: Lane, msg: Msg, size: usize) -> Result<(), (Msg, DropReason)> {
        self.wake();
        let tx = &self.tx[lane as usize];
        let deadline = match self.overflow[lane as usize] {
            Overflow::Drop => return Err((msg, DropReason::QueueFull)),
            Overflow::BlockFor(wait) => Instant::now().checked_add(wait),
            Overflow::Block => None,
        };
        let mut msg = msg;
        let mut nap = BUDGET_NAP_MIN;
        loop {
            // Waiting in slices lets a caller give up once shutdown begins, instead of waiting
            // for a writer that will never drain the lane again.
            let slice = Instant::now() + BLOCK_SLICE;
            let until = deadline.map_or(slice, |d| d.min(slice));
            if self.reserve(lane, size) {
                match tx.send_deadline(msg, until) {
                    Ok(()) => return Ok(()),
                    Err(SendTimeoutError::Timeout(m)) => msg = m,
                    Err(SendTimeoutError::Disconnected(m)) => {
                        self.release(lane, size);
                        return Err((m, DropReason::Shutdown));
                    }
                }
                self.release(lane, size);
            } else {
                // The bytes do not fit: nothing signals when the writer frees some, so nap with
                // a backoff (the writer was woken above and takes a batch within a millisecond).
                std::thread::sleep(nap.min(until.saturating_duration_since(Instant::now())));
                nap = (nap * 2).min(BUDGET_NAP_MAX);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err((msg, DropReason::Timeout));
            }
            if self.shared.closed.load(Ordering::Relaxed) {
                return Err((msg, DropReason::Shutdown));
            }
            self.wake();
        }
    }

    /// Queues a flush marker in each lane and waits until the writer passed both.
    pub(super) fn flush_until(&self, deadline: Option<Instant>) -> bool {
        let gone = || self.shared.exited.load(Ordering::SeqCst);
        if gone() {
            return self.depth() == 0;
        }
        let waiter = Arc::new(Waiter::new(self.tx.len()));
        self.wake();
        for tx in &self.tx {
            let ticket = self.ticket.0.fetch_add(1, Ordering::Relaxed);
            let marker = Msg::Flush(ticket, Arc::clone(&waiter));
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

    /// After the writer exited, empties the lanes, counting each record as a shutdown drop.
    #[cold]
    fn drain_after_exit(&self, counters: &Counters) {
        for (rx, lane) in self.rx.iter().zip([Lane::Error, Lane::Bulk]) {
            while let Ok(msg) = rx.try_recv() {
                self.release(lane, msg.bytes());
                match msg {
                    Msg::Record(..) => counters.drop_record(lane, DropReason::Shutdown),
                    Msg::Flush(_, waiter) => waiter.arrive(),
                }
            }
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::tests::{config, fill_while_blocked, hold, pri, push, setup, texts, LONG};
    use crate::worker::Config;
    use std::thread;

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
        hold(&s);
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

    /// Pushes a record whose buffer holds exactly `bytes`.
    fn push_sized(s: &crate::worker::tests::Setup, lane: Lane, bytes: usize) {
        let mut buf = Vec::with_capacity(bytes);
        buf.extend_from_slice(b"sized");
        s.handle
            .push(lane, pri(crate::Severity::Informational), buf);
    }

    fn budget(bulk: usize, overflow: Overflow) -> Config {
        Config {
            bytes: [1 << 20, bulk],
            ..config((16, Overflow::Drop), (1000, overflow))
        }
    }

    #[test]
    fn a_lane_over_its_byte_budget_drops_under_drop_policy() {
        let s = setup(budget(4096, Overflow::Drop), true, false);
        hold(&s);
        for _ in 0..6 {
            push_sized(&s, Lane::Bulk, 1024);
        }
        let stats = s.counters.snapshot(0);
        assert_eq!(stats.enqueued_for(Lane::Bulk), 1 + 4, "{stats:?}");
        assert_eq!(stats.dropped_for(Lane::Bulk, DropReason::QueueFull), 2);
        assert_eq!(
            s.handle.lanes().shared.bytes.0[Lane::Bulk as usize].load(Ordering::Relaxed),
            4096
        );
    }

    #[test]
    fn a_lane_over_its_byte_budget_waits_under_block_for() {
        let s = setup(
            budget(4096, Overflow::BlockFor(Duration::from_millis(5))),
            true,
            false,
        );
        let permits = s.permits.as_ref().unwrap();
        hold(&s);
        for _ in 0..5 {
            push_sized(&s, Lane::Bulk, 1024);
        }
        let stats = s.counters.snapshot(0);
        assert_eq!(
            stats.dropped_for(Lane::Bulk, DropReason::Timeout),
            1,
            "{stats:?}"
        );
        // Once the writer takes the queued records, their bytes are free again.
        for _ in 0..10 {
            permits.send(()).unwrap();
        }
        assert!(s.handle.flush(LONG));
        assert_eq!(
            s.handle.lanes().shared.bytes.0[Lane::Bulk as usize].load(Ordering::Relaxed),
            0
        );
        push_sized(&s, Lane::Bulk, 4096);
        push_sized(&s, Lane::Bulk, 64 << 10);
        assert!(s.handle.flush(LONG));
        assert_eq!(s.counters.snapshot(0).written, 1 + 4 + 2);
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
}
