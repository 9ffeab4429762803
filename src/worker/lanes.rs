//! The lanes: each producing thread's rings (see [`super::ring`]), the lane credits that bound
//! them, the buffer pool and each caller's stash, the state the callers share with the writer,
//! flush, and what a caller does when its lane is full.
//!
//! Everything here runs on the caller's thread, except the flags of [`Shared`] and the counts
//! the writer gives back.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::thread::Thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender};

use super::ring::{Msg, Padded, Producer, Ring, INITIAL_BUFFER};
use super::{Config, Overflow};
use crate::format::captured::Form;
use crate::severity::Priority;
use crate::stats::{Counters, DropReason, Lane};

/// The free list holds at most this many spare buffers.
const FREE_BUFFERS: usize = 1024;
/// Buffers put on the free list when the lanes are created (128 KiB), so callers do not allocate
/// while the writer is behind by fewer records than this; beyond it the pool grows by allocation
/// and keeps what it grew (up to [`FREE_BUFFERS`]).
const PREFILLED_BUFFERS: usize = 256;
/// Buffers that grew beyond this are freed instead of recycled, so a few huge records do not pin
/// memory for the rest of the program.
pub(super) const MAX_RECYCLED_BUFFER: usize = 16 * 1024;
/// How often a flush re-checks whether the writer has exited while it waits.
const FLUSH_SLICE: Duration = Duration::from_millis(10);
/// How often a `Block` caller waiting for room re-checks for shutdown and its deadline.
const ROOM_SLICE: Duration = Duration::from_millis(100);
/// The writer wakes the callers waiting for room in a lane once this share of its slots is free
/// (or once it has taken everything queued): woken callers then refill the lane in one go while
/// the writer sends the rest, instead of each being woken for every slot.
const ROOM_WAKE_SHARE: usize = 4;
/// How many recycled buffers a thread takes from the free list at once.
const STASH_REFILL: usize = 8;
/// The most lane credits a thread takes at once.
const MAX_CREDIT_CHUNK: usize = 64;
/// A lane's credits are taken in chunks of at most its free slots divided by this (see
/// [`Lanes::take_credit`]).
const CREDIT_SHARES: usize = 256;

/// Lanes ids, never 0.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// One thread's producer for one logger's lanes, in the thread's [`PRODUCERS`].
struct Entry {
    id: u64,
    shared: Weak<Shared>,
    producer: Producer,
}

impl Drop for Entry {
    /// The thread exits (or the logger is gone): give back the unused credits and let the
    /// writer forget the ring once it has sent what is in it.
    fn drop(&mut self) {
        if let Some(shared) = self.shared.upgrade() {
            for (free, credits) in shared.free.0.iter().zip(self.producer.credits) {
                free.fetch_add(credits, Ordering::Relaxed);
            }
        }
        self.producer.ring.closed.store(true, Ordering::Release);
    }
}

thread_local! {
    /// This thread's producers, one per logger it logged to (most programs have one).
    static PRODUCERS: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
}

/// The callers waiting for room in one lane: written only by callers that found it full, read by
/// the writer once per batch.
#[derive(Debug, Default)]
struct Room {
    waiting: AtomicUsize,
    /// Free slots at which the writer wakes them (see [`Shared::offer_room`]).
    wake_at: usize,
    lock: Mutex<()>,
    cv: Condvar,
}

/// State shared by the callers and the writer of one process.
#[derive(Debug)]
pub(super) struct Shared {
    /// Shutdown began: records from now on are dropped with [`DropReason::Shutdown`].
    pub(super) closed: AtomicBool,
    /// The writer should exit once the rings are empty.
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
    /// Each lane's free slots (its credits): callers take them in chunks, the writer gives back
    /// what it took once per batch.
    pub(super) free: Padded<[AtomicUsize; 2]>,
    /// Every ring of this process, the shared one first.
    pub(super) rings: Mutex<Vec<Arc<Ring>>>,
    /// Bumped when a ring is added: the writer re-reads `rings` only then.
    pub(super) generation: AtomicU64,
    /// The ring of threads whose thread-local producers are gone (records logged from other
    /// thread-local destructors), used under its lock.
    fallback: Mutex<Producer>,
    /// Callers waiting for room, per lane.
    room: [Room; 2],
    /// Flushes waiting for the writer, and where they wait.
    flushers: AtomicUsize,
    flushed: Mutex<()>,
    flushed_cv: Condvar,
    /// Set with `exit_cv` when the writer thread is about to return.
    pub(super) exit: Mutex<bool>,
    pub(super) exit_cv: Condvar,
}

// === impl Shared ===

impl Shared {
    /// Shared state for lanes of `capacity` records, with the shared ring listed.
    fn new(capacity: [usize; 2]) -> Shared {
        let fallback = Producer::new(capacity, [1; 2]);
        Shared {
            closed: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            exited: AtomicBool::new(false),
            parked: AtomicBool::new(false),
            held: AtomicUsize::new(0),
            bytes: Padded::default(),
            free: Padded(capacity.map(AtomicUsize::new)),
            rings: Mutex::new(vec![Arc::clone(&fallback.ring)]),
            generation: AtomicU64::new(0),
            fallback: Mutex::new(fallback),
            room: capacity.map(|c| Room {
                wake_at: (c / ROOM_WAKE_SHARE).max(1),
                ..Room::default()
            }),
            flushers: AtomicUsize::new(0),
            flushed: Mutex::new(()),
            flushed_cv: Condvar::new(),
            exit: Mutex::new(false),
            exit_cv: Condvar::new(),
        }
    }

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

    /// The writer gave back credits and bytes: wake the callers waiting for room in a lane once a
    /// [`ROOM_WAKE_SHARE`] of its slots is free, or at once when the writer took everything it
    /// found (`drained`). One load per lane when nobody waits.
    pub(super) fn offer_room(&self, drained: bool) {
        for (room, free) in self.room.iter().zip(&self.free.0) {
            if room.waiting.load(Ordering::SeqCst) > 0
                && (drained || free.load(Ordering::SeqCst) >= room.wake_at)
            {
                let _guard = room.lock.lock().unwrap_or_else(PoisonError::into_inner);
                room.cv.notify_all();
            }
        }
    }

    /// Waits until `fits()` or the writer offers room in `lane`, at most until `until`.
    ///
    /// The caller counts itself as waiting before it checks `fits()` under the lock, and the
    /// writer gives back room before it reads that count and notifies under the same lock: a
    /// caller that saw no room is waiting by the time the writer looks.
    fn wait_room(&self, lane: Lane, until: Instant, fits: impl Fn() -> bool) {
        let room = &self.room[lane as usize];
        room.waiting.fetch_add(1, Ordering::SeqCst);
        let guard = room.lock.lock().unwrap_or_else(PoisonError::into_inner);
        if !fits() {
            let left = until.saturating_duration_since(Instant::now());
            drop(room.cv.wait_timeout(guard, left));
        }
        room.waiting.fetch_sub(1, Ordering::SeqCst);
    }

    /// The writer finished a batch: wake the flushes waiting, if any.
    pub(super) fn notify_flushers(&self) {
        if self.flushers.load(Ordering::SeqCst) > 0 {
            let _guard = self.flushed.lock().unwrap_or_else(PoisonError::into_inner);
            self.flushed_cv.notify_all();
        }
    }

    /// A snapshot of the rings.
    pub(super) fn rings(&self) -> Vec<Arc<Ring>> {
        self.rings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// One process's queues and writer.
#[derive(Debug)]
pub(super) struct Lanes {
    /// Each lane's capacity (the credits there are).
    capacity: [usize; 2],
    /// Credits a thread takes at once, per lane.
    chunk: [usize; 2],
    overflow: [Overflow; 2],
    /// The most bytes of records each lane holds ([`Config::bytes`]).
    budget: [usize; 2],
    /// These lanes' id, the key of each thread's producer.
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
    /// New lanes of `config.capacity` records and `config.bytes` bytes each and a prefilled free
    /// list, with no writer yet. The capacities were checked by [`Config::check`].
    pub(super) fn new(config: &Config) -> Lanes {
        let capacity = config.capacity.map(|c| c.max(2));
        let (recycle, free) = bounded(FREE_BUFFERS);
        for _ in 0..PREFILLED_BUFFERS {
            // The free list holds FREE_BUFFERS > PREFILLED_BUFFERS, so this cannot fail.
            let _ = recycle.try_send(Vec::with_capacity(INITIAL_BUFFER));
        }
        Lanes {
            capacity,
            chunk: capacity.map(|c| (c / CREDIT_SHARES).clamp(1, MAX_CREDIT_CHUNK)),
            overflow: config.overflow,
            budget: config.bytes,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            free,
            recycle,
            shared: Arc::new(Shared::new(capacity)),
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

    /// Records waiting in the rings, plus those the writer holds for an absent daemon (they are
    /// not done yet either).
    pub(super) fn depth(&self) -> usize {
        let waiting: u64 = self
            .shared
            .rings()
            .iter()
            .map(|ring| {
                ring.pushed_total()
                    .saturating_sub(ring.done.0.load(Ordering::SeqCst))
            })
            .sum();
        usize::try_from(waiting).unwrap_or(usize::MAX)
    }

    /// Drops a record for `lane` before it is captured, and counts it, when the lane is full
    /// under the `Drop` policy: this thread holds none of the lane's credits and none are free.
    /// A flooded lane's drops then cost no formatting. It takes nothing: [`Lanes::push`] still
    /// takes the credit, and a record that passes here may still be dropped there when another
    /// thread took the last free slot meanwhile. During shutdown it refuses nothing, so that
    /// `push` counts the record as a shutdown drop.
    #[inline]
    pub(super) fn refuse(&self, counters: &Counters, lane: Lane) -> bool {
        let i = lane as usize;
        if self.overflow[i] != Overflow::Drop {
            return false;
        }
        // One thread-local lookup; a thread without a producer here (or whose thread-local state
        // is gone) holds no credits.
        let held = PRODUCERS
            .try_with(|producers| {
                let producers = producers.try_borrow().ok()?;
                let entry = producers.iter().find(|e| e.id == self.id)?;
                Some(entry.producer.credits[i])
            })
            .ok()
            .flatten()
            .unwrap_or(0);
        if held > 0
            || self.shared.free.0[i].load(Ordering::Relaxed) > 0
            || self.shared.closed.load(Ordering::Relaxed)
        {
            return false;
        }
        // As `push` counts a record it finds no room for.
        counters.raise_high_water(self.capacity[i] as u64);
        counters.drop_record(lane, DropReason::QueueFull);
        true
    }

    /// Runs `f` with `msg` on this thread's producer for these lanes, registering a ring on
    /// first use; a thread whose thread-local state is gone (or in use, which only a re-entrant
    /// call could cause) uses the shared ring under its lock. `None` only if neither ran `f`,
    /// which cannot happen.
    #[inline]
    fn with_producer<R>(&self, msg: Msg, f: impl Fn(&mut Producer, Msg) -> R) -> Option<R> {
        let mut slot = Some(msg);
        let out = PRODUCERS.try_with(|producers| {
            let mut producers = producers.try_borrow_mut().ok()?;
            let at = match producers.iter().position(|e| e.id == self.id) {
                Some(at) => at,
                None => {
                    // Forget producers of loggers that are gone (their entries hold rings).
                    producers.retain(|e| e.shared.strong_count() > 0);
                    producers.push(self.register());
                    producers.len() - 1
                }
            };
            let msg = slot.take()?;
            Some(f(&mut producers[at].producer, msg))
        });
        if let Ok(Some(out)) = out {
            return Some(out);
        }
        let msg = slot.take()?;
        let mut fallback = self
            .shared
            .fallback
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Some(f(&mut fallback, msg))
    }

    /// A new ring for this thread, listed for the writer.
    #[cold]
    fn register(&self) -> Entry {
        let producer = Producer::new(self.capacity, self.chunk);
        self.shared
            .rings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&producer.ring));
        self.shared.generation.fetch_add(1, Ordering::Release);
        Entry {
            id: self.id,
            shared: Arc::downgrade(&self.shared),
            producer,
        }
    }

    /// Queues one record under its lane's overflow policy. Never panics; a record that is not
    /// queued is counted as dropped.
    ///
    /// The record goes into this thread's ring, numbered after the thread's previous record in
    /// these lanes: the writer sends a ring's records in that order whichever lane they are in
    /// (the module docs of `worker` give the argument).
    #[inline]
    pub(super) fn push(
        &self,
        counters: &Counters,
        lane: Lane,
        priority: Priority,
        buf: Vec<u8>,
        form: Form,
    ) {
        let msg = Msg {
            seq: 0,
            priority,
            buf,
            form,
        };
        if self.shared.closed.load(Ordering::Relaxed) {
            counters.drop_record(lane, DropReason::Shutdown);
            self.recycle(msg);
            return;
        }
        let size = msg.bytes();
        let queued = self.with_producer(msg, |producer, msg| {
            let room = if !self.reserve(lane, size) {
                false
            } else if self.take_credit(producer, lane) {
                true
            } else {
                self.release(lane, size);
                // The lane is full: its capacity is a depth it reached.
                counters.raise_high_water(self.capacity[lane as usize] as u64);
                false
            };
            let mut msg = if room {
                msg
            } else {
                match self.overflow(producer, lane, msg, size) {
                    Ok(msg) => msg,
                    Err(failed) => return Err(failed),
                }
            };
            msg.seq = producer.seq;
            producer.push(lane, msg);
            producer.pushes = producer.pushes.wrapping_add(1);
            Ok(producer.pushes % 32 == 0)
        });
        match queued {
            None => {}
            Some(Ok(check_depth)) => {
                counters.enqueue(lane);
                // The lane's free count is written by every thread's credit refill and by the
                // writer: reading it on every 32nd record of a thread still wakes the writer
                // long before a lane of thousands fills.
                let i = lane as usize;
                if check_depth
                    && self.shared.free.0[i].load(Ordering::Relaxed) < self.capacity[i] / 2
                {
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
            Some(Err((msg, reason))) => {
                counters.drop_record(lane, reason);
                self.recycle(msg);
            }
        }
    }

    /// Takes one of `lane`'s credits for `producer`: one it holds, else a chunk of the lane's
    /// free slots (one atomic operation per chunk). False when the lane has none free.
    ///
    /// A thread holds at most a chunk minus one unused: up to that many slots per thread that
    /// logged to the lane may be counted as taken while they are empty. A chunk is at most
    /// 1/[`CREDIT_SHARES`] of the free slots (and of the capacity): near full, and in lanes
    /// below [`CREDIT_SHARES`] slots, a thread takes one credit at a time, so unused credits
    /// never take a lane's last free slots and a `Block` caller always gets room once the
    /// writer drains.
    #[inline]
    fn take_credit(&self, producer: &mut Producer, lane: Lane) -> bool {
        let i = lane as usize;
        if producer.credits[i] > 0 {
            producer.credits[i] -= 1;
            return true;
        }
        let free = &self.shared.free.0[i];
        let mut now = free.load(Ordering::Relaxed);
        loop {
            if now == 0 {
                return false;
            }
            // A chunk only while the lane is mostly free: near full, a thread takes the one
            // credit it uses, so credits held unused never leave a lane without free ones.
            let take = now.min(producer.chunk[i]).min((now / CREDIT_SHARES).max(1));
            match free.compare_exchange_weak(now, now - take, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => {
                    producer.credits[i] = take - 1;
                    return true;
                }
                Err(seen) => now = seen,
            }
        }
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
        if self.bytes_fit(lane, before, size) {
            return true;
        }
        bytes.fetch_sub(size, Ordering::Relaxed);
        false
    }

    /// Whether a record of `size` bytes fits `lane` when `before` bytes are queued there: within
    /// the budget, or into an empty lane whatever its size. Records of the initial buffer size
    /// (`size` 0) always fit.
    #[inline]
    fn bytes_fit(&self, lane: Lane, before: usize, size: usize) -> bool {
        size == 0 || before == 0 || before.saturating_add(size) <= self.budget[lane as usize]
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
        let mut buf = msg.buf;
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

    /// Waits for room (a credit and the bytes) in a full lane under its policy. Returns the
    /// record and the drop reason on failure; on success the credit is taken and the record's
    /// bytes are counted.
    ///
    /// The caller waits until the writer offers room ([`Shared::offer_room`]), in slices of
    /// [`ROOM_SLICE`] so that shutdown and its deadline are noticed.
    #[cold]
    fn overflow(
        &self,
        producer: &mut Producer,
        lane: Lane,
        msg: Msg,
        size: usize,
    ) -> Result<Msg, (Msg, DropReason)> {
        self.wake();
        let deadline = match self.overflow[lane as usize] {
            Overflow::Drop => return Err((msg, DropReason::QueueFull)),
            Overflow::BlockFor(wait) => Instant::now().checked_add(wait),
            Overflow::Block => None,
        };
        let i = lane as usize;
        // What `take_credit` and `reserve` would find.
        let fits = || {
            self.shared.free.0[i].load(Ordering::SeqCst) > 0
                && self.bytes_fit(lane, self.shared.bytes.0[i].load(Ordering::SeqCst), size)
        };
        loop {
            if self.reserve(lane, size) {
                if self.take_credit(producer, lane) {
                    return Ok(msg);
                }
                self.release(lane, size);
            }
            if self.shared.closed.load(Ordering::Relaxed) {
                return Err((msg, DropReason::Shutdown));
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return Err((msg, DropReason::Timeout));
            }
            let slice = now + ROOM_SLICE;
            self.shared
                .wait_room(lane, deadline.map_or(slice, |d| d.min(slice)), fits);
            self.wake();
        }
    }

    /// Waits until every record queued in these lanes before the call is done (handed to the
    /// transport or counted as dropped): true, or false when the deadline passed or the writer
    /// is gone. It snapshots each ring's queued count and waits for the writer's done count to
    /// reach it; nothing is queued for it, so a full lane does not delay it.
    pub(super) fn flush_until(&self, deadline: Option<Instant>) -> bool {
        let gone = || self.shared.exited.load(Ordering::SeqCst);
        if gone() {
            return self.depth() == 0;
        }
        let targets: Vec<(Arc<Ring>, u64)> = self
            .shared
            .rings()
            .into_iter()
            .map(|ring| {
                let target = ring.pushed_total();
                (ring, target)
            })
            .collect();
        let reached = || {
            targets
                .iter()
                .all(|(ring, target)| ring.done.0.load(Ordering::SeqCst) >= *target)
        };
        self.shared.flushers.fetch_add(1, Ordering::SeqCst);
        self.wake();
        let mut guard = self
            .shared
            .flushed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let done = loop {
            if reached() {
                break true;
            }
            if gone() {
                break self.depth() == 0;
            }
            let now = Instant::now();
            let slice = match deadline {
                Some(d) if d <= now => break false,
                Some(d) => (d - now).min(FLUSH_SLICE),
                None => FLUSH_SLICE,
            };
            // The slice bounds how late a writer that exited is noticed.
            guard = self
                .shared
                .flushed_cv
                .wait_timeout(guard, slice)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        };
        drop(guard);
        self.shared.flushers.fetch_sub(1, Ordering::SeqCst);
        done
    }

    /// After the writer exited, empties every ring, counting each record as a shutdown drop.
    #[cold]
    fn drain_after_exit(&self, counters: &Counters) {
        for ring in self.shared.rings() {
            let mut n = 0;
            ring.drain_all(|lane, msg| {
                self.release(lane, msg.bytes());
                self.shared.free.0[lane as usize].fetch_add(1, Ordering::Relaxed);
                counters.drop_record(lane, DropReason::Shutdown);
                n += 1;
            });
            ring.done.0.fetch_add(n, Ordering::SeqCst);
        }
        self.shared.notify_flushers();
    }
}

thread_local! {
    /// Recycled buffers taken from a free list and not used yet (buffers of any logger: they are
    /// plain byte vectors). At most [`STASH_REFILL`]; freed when the thread exits.
    static STASH: std::cell::RefCell<Vec<Vec<u8>>> =
        std::cell::RefCell::new(Vec::with_capacity(STASH_REFILL));
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
    fn a_full_drop_lane_drops_before_the_record_is_captured() {
        let s = setup(
            config((4, Overflow::Drop), (4, Overflow::Drop)),
            true,
            false,
        );
        fill_while_blocked(&s, 0);
        let filled = std::cell::Cell::new(0);
        let submit = |lane: Lane| {
            s.handle
                .submit(lane, pri(crate::Severity::Informational), |buf| {
                    filled.set(filled.get() + 1);
                    buf.extend_from_slice(b"late");
                    Some(Form::Rendered)
                })
        };
        for _ in 0..3 {
            assert_eq!(submit(Lane::Bulk), Some(()));
        }
        assert_eq!(filled.get(), 0, "a full Drop lane formats nothing");
        let stats = s.counters.snapshot(0);
        assert_eq!(stats.dropped_for(Lane::Bulk, DropReason::QueueFull), 3);
        assert_eq!(stats.queue_depth_high_water, 4, "{stats:?}");
        // A lane with room captures and queues as before.
        assert_eq!(submit(Lane::Error), Some(()));
        assert_eq!(filled.get(), 1);
        let permits = s.permits.as_ref().unwrap();
        for _ in 0..100 {
            permits.send(()).unwrap();
        }
        assert!(s.handle.flush(LONG));
        // Room again: the next record is captured and sent.
        assert_eq!(submit(Lane::Bulk), Some(()));
        assert_eq!(filled.get(), 2);
        assert!(s.handle.flush(LONG));
        let stats = s.counters.snapshot(0);
        assert_eq!(stats.written, 1 + 4 + 1 + 1, "{stats:?}");
        assert_eq!(stats.dropped_total(), 3);
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
