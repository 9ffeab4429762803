//! The writer thread: how it starts, merges the rings into batches in each thread's order, sends
//! them, holds them while the daemon is away, backs off and sleeps when idle, releases flushes,
//! sends the dropped-records summary, and exits.
//!
//! # No wake-up on the caller's path
//!
//! The writer is not parked in a blocking `recv()`: waking a parked thread costs the sender a
//! futex syscall (microseconds) per record when logging is sparse. Instead, once the rings are
//! empty the writer spins for about a microsecond, then sleeps with a backoff that starts at
//! [`MIN_IDLE_SLEEP`] and doubles up to [`MAX_IDLE_SLEEP`]. The backoff starts again from the
//! bottom only after a full batch (a backlog): records that trickle in do not shorten it, so what
//! arrives within one sleep goes out in one batch (one `sendmmsg`, one wake-up of the receiver)
//! rather than in a batch of one or two every 50 µs. It is unparked only by `flush`, `shutdown`,
//! a caller that finds less than half of its lane free, and a caller that waits for room in a
//! full lane. Delivery-latency bound: a record is handed to the transport at most
//! `MAX_IDLE_SLEEP` (1 ms) plus the kernel's timer slack (50 µs by default) after it was queued,
//! unless the writer is busy sending earlier records.
//!
//! Polling every millisecond forever would cost an idle server about 1000 wake-ups a second (a few
//! percent of a core on a busy VM). So after [`DEEP_SLEEP_AFTER`] (1 s) without a record the
//! writer sets a flag and parks for up to [`DEEP_SLEEP_POLL`]; the first caller that sees the
//! flag clears it and unparks the writer. Only that one record, the first after a second of
//! silence, pays for a wake-up (a few µs); every other caller reads the flag (one load of a
//! cache line that changes only at these transitions). The poll bound covers a wake-up lost to
//! the race between the flag and the queue check: at worst that record waits 100 ms.

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::lanes::{Lanes, Shared, MAX_RECYCLED_BUFFER};
use super::ring::{Cursor, Msg, Ring};
use super::summary::{dropped_counts, summary_text, Rendering};
use super::{Config, Overflow};
use crate::clock;
use crate::format::captured::{self, Form};
use crate::severity::Priority;
use crate::stats::{monotonic_ns, Counters, DropReason, Lane};
use crate::transport::Factory as TransportFactory;
use crate::transport::{daemon_away, Transport};

/// The writer's first sleep once a backlog is gone and its short spin found nothing.
const MIN_IDLE_SLEEP: Duration = Duration::from_micros(50);
/// The writer's longest sleep while idle: the delivery-latency bound (plus timer slack).
///
/// The writer is not woken per record (that would cost every caller a futex syscall when
/// logging is sparse); it polls its queues with a backoff from [`MIN_IDLE_SLEEP`] (50 µs) up to
/// this. So a record reaches the transport at most 1 ms (plus the kernel's timer slack, 50 µs by
/// default) after it was queued, unless the writer is busy sending earlier records. After
/// [`DEEP_SLEEP_AFTER`] of silence the writer parks and the next record wakes it at once.
const MAX_IDLE_SLEEP: Duration = Duration::from_millis(1);
/// After this long without a record the writer stops polling and parks until a caller wakes it.
///
/// This keeps an idle logger at about 10 wake-ups a second instead of 1000. Only the first
/// record after such a silence pays for waking the writer (a few µs on that caller).
const DEEP_SLEEP_AFTER: Duration = Duration::from_secs(1);
/// A parked idle writer still looks at its lanes this often: the delivery bound for a record
/// whose wake-up was lost to a race with the writer going to sleep.
pub(super) const DEEP_SLEEP_POLL: Duration = Duration::from_millis(100);

/// The most records sent in one batch (Linux's `sendmmsg` takes up to 1024).
const MAX_BATCH: usize = 256;
/// How many empty polls the writer spins through before its first sleep (about a microsecond).
const IDLE_SPINS: u32 = 64;
/// After a failed dropped-records summary, the next attempt waits this long.
const SUMMARY_RETRY: Duration = Duration::from_secs(1);
/// The most records taken from one ring in a row before the next ring's turn.
const RING_QUOTA: usize = 32;
/// While the daemon is away, the writer tries its held batch again this often (the transport's
/// own reconnect rate limit applies on top).
const HOLD_RETRY: Duration = Duration::from_millis(20);

/// Everything needed to start a writer, kept so that a forked child can start its own.
pub(super) struct Spawner {
    pub(super) make: TransportFactory,
    pub(super) rendering: Rendering,
    pub(super) config: Config,
    pub(super) counters: Arc<Counters>,
}

// === impl Spawner ===

impl Spawner {
    /// New lanes and a writer thread for this process, sending through `first` when given (the
    /// transport built at start-up), else through a new one from [`Spawner::make`].
    pub(super) fn start(self: &Arc<Self>, first: Option<Box<dyn Transport>>) -> io::Result<Lanes> {
        let mut lanes = Lanes::new(&self.config);
        let writer = Writer::new(self, &lanes, first);
        let handle = thread::Builder::new()
            .name("fastsyslog-writer".into())
            .spawn(move || writer.run())?;
        lanes.writer = Some(handle.thread().clone());
        // The writer runs detached: shutdown waits for it with a bound instead of `join`.
        drop(handle);
        Ok(lanes)
    }

    /// Lanes whose writer could not be started: closed from the start.
    pub(super) fn dead(&self) -> Lanes {
        let lanes = Lanes::new(&self.config);
        lanes.shared.closed.store(true, Ordering::SeqCst);
        lanes.shared.exited.store(true, Ordering::SeqCst);
        lanes
    }
}

/// Marks "a writer is inside a transport call": adds the time to the blocked time, and starts
/// the stuck clock ([`Counters::writer_waiting_since_ns`]) unless it runs already. Only a
/// successful send stops that clock ([`sent`]).
struct InSend<'a> {
    counters: &'a Counters,
    started: Instant,
}

impl<'a> InSend<'a> {
    fn enter(counters: &'a Counters) -> Self {
        // Already running: an earlier send failed and none has succeeded since.
        let _ = counters.writer_waiting_since_ns.compare_exchange(
            0,
            monotonic_ns(),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        InSend {
            counters,
            started: Instant::now(),
        }
    }
}

impl Drop for InSend<'_> {
    fn drop(&mut self) {
        let blocked = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.counters
            .writer_blocked_ns
            .fetch_add(blocked, Ordering::Relaxed);
    }
}

/// A send succeeded: the writer is not stuck.
fn sent(counters: &Counters) {
    counters.writer_waiting_since_ns.store(0, Ordering::Relaxed);
}

/// The writer's view of one ring: where it reads each lane, the head it took from each and has
/// not placed yet, and what it took.
struct RingState {
    ring: Arc<Ring>,
    cursors: [Cursor; 2],
    heads: [Option<Msg>; 2],
    /// The number of the ring's next record to place.
    next: u64,
    /// Records taken per lane.
    taken: [u64; 2],
    /// Records taken and not yet done (in the batch being sent).
    unsent: u64,
}

// === impl RingState ===

impl RingState {
    fn new(ring: Arc<Ring>) -> RingState {
        RingState {
            cursors: ring.cursors(),
            ring,
            heads: [None, None],
            next: 0,
            taken: [0; 2],
            unsent: 0,
        }
    }

    /// The lane that holds the ring's next record, if it was queued.
    ///
    /// The producer numbers its records consecutively and queues each before it numbers the
    /// next, so once a head numbered above `next` is seen, the record numbered `next` is
    /// visible in the other lane: a second look finds it.
    fn next_lane(&mut self) -> Option<Lane> {
        for _ in 0..2 {
            for (i, head) in self.heads.iter_mut().enumerate() {
                if head.is_none() {
                    *head = self.cursors[i].pop(&self.ring.chains[i]);
                }
            }
            for (head, lane) in self.heads.iter().zip([Lane::Error, Lane::Bulk]) {
                if head.as_ref().is_some_and(|m| m.seq == self.next) {
                    return Some(lane);
                }
            }
            if self.heads.iter().all(Option::is_none) {
                return None;
            }
        }
        None
    }

    /// Takes the head of `lane` (the ring's next record).
    fn take(&mut self, lane: Lane) -> Option<Msg> {
        let msg = self.heads[lane as usize].take()?;
        self.next += 1;
        self.taken[lane as usize] += 1;
        self.unsent += 1;
        Some(msg)
    }

    /// Records queued in `lane` and not taken yet.
    fn waiting(&self, lane: Lane) -> u64 {
        let i = lane as usize;
        self.ring.pushed.0[i]
            .load(Ordering::Acquire)
            .saturating_sub(self.taken[i])
    }

    /// The ring's thread exited and everything it queued is out: the ring can go.
    fn finished(&self) -> bool {
        self.ring.closed.load(Ordering::Acquire)
            && self.unsent == 0
            && self.heads.iter().all(Option::is_none)
            && self.ring.pushed_total() == self.taken[0] + self.taken[1]
    }
}

/// The writer thread's state.
struct Writer {
    /// Every ring of the process as last read (when [`Shared::generation`] was `generation`).
    rings: Vec<RingState>,
    generation: u64,
    recycle: Sender<Vec<u8>>,
    shared: Arc<Shared>,
    spawner: Arc<Spawner>,
    batch: Vec<(Lane, Priority, Vec<u8>)>,
    /// Drop counts already covered by a summary (or present when this writer started).
    reported: [[u64; 5]; 2],
    summary_retry_at: Option<Instant>,
    summary_buf: Vec<u8>,
    /// Where a captured record is rendered; it then swaps buffers with the record, so neither
    /// side allocates in steady state.
    scratch: Vec<u8>,
    /// The transport built at start-up, taken by [`Writer::open_transport`]; `None` in a forked
    /// child's writer, which builds its own.
    first: Option<Box<dyn Transport>>,
}

// === impl Writer ===

impl Writer {
    /// The writer of `lanes`, which sends through `first` when given.
    fn new(spawner: &Arc<Spawner>, lanes: &Lanes, first: Option<Box<dyn Transport>>) -> Writer {
        Writer {
            rings: Vec::new(),
            generation: u64::MAX,
            recycle: lanes.recycle.clone(),
            shared: Arc::clone(&lanes.shared),
            spawner: Arc::clone(spawner),
            batch: Vec::with_capacity(MAX_BATCH),
            reported: dropped_counts(&spawner.counters),
            summary_retry_at: None,
            summary_buf: Vec::new(),
            scratch: Vec::new(),
            first,
        }
    }

    fn counters(&self) -> &Counters {
        &self.spawner.counters
    }

    fn open_transport(&mut self) -> Box<dyn Transport> {
        if let Some(first) = self.first.take() {
            return first;
        }
        // `openlog` takes glibc's syslog lock too, so it can get stuck like a send.
        let counters = &self.spawner.counters;
        let waiting = counters.writer_waiting_since_ns.load(Ordering::Relaxed) != 0;
        let transport = {
            let _in_send = InSend::enter(counters);
            (self.spawner.make)()
        };
        if !waiting {
            // Opening is not sending: only a send's failure keeps the stuck clock running.
            sent(counters);
        }
        transport
    }

    fn run(mut self) {
        let transport = self.open_transport();
        let mut sleep = MIN_IDLE_SLEEP;
        let mut spins = 0;
        let mut idle_since = Instant::now();
        let mut held = false;
        loop {
            // The stats heartbeat: once per pass, never per record.
            self.counters().beat();
            // A held batch goes first: nothing behind it may overtake it.
            let got = if held { 0 } else { self.drain() };
            held = !self.send(&*transport);
            if held {
                self.publish_queues(true);
            }
            if held {
                // The daemon is away: keep the records (the lanes fill up meanwhile, under their
                // policies) and try again soon. `shutdown` unparks at once.
                thread::park_timeout(HOLD_RETRY);
                continue;
            }
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
            // The rings are empty: the writer has caught up.
            if got == 0 && Arc::strong_count(&self.shared) == 1 {
                // The lanes are gone: the logger was dropped.
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
            if self.idle() {
                thread::park_timeout(self.spawner.config.deep_sleep_poll);
            }
            self.shared.parked.store(false, Ordering::SeqCst);
        }
        self.shared.exited.store(true, Ordering::SeqCst);
        // Records queued between the last pass and `exited`: callers that push after this see
        // `exited` and count their records as shutdown drops themselves.
        loop {
            let got = self.drain();
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

    /// Reads the list of rings again if a ring was added since the last read.
    fn refresh(&mut self) {
        let generation = self.shared.generation.load(Ordering::Acquire);
        if generation == self.generation {
            return;
        }
        self.generation = generation;
        for ring in self.shared.rings() {
            if !self.rings.iter().any(|st| Arc::ptr_eq(&st.ring, &ring)) {
                self.rings.push(RingState::new(ring));
            }
        }
    }

    /// Whether every ring is empty, as far as the writer knows.
    fn idle(&mut self) -> bool {
        self.refresh();
        self.rings
            .iter()
            .all(|st| st.waiting(Lane::Error) == 0 && st.waiting(Lane::Bulk) == 0)
    }

    /// Moves up to a batch of records into `self.batch` and returns how many it took.
    ///
    /// First every ring's error records that are next in their ring (an error record waits only
    /// for the records its own thread logged before it), then each ring's records in the order
    /// its thread logged them, [`RING_QUOTA`] per ring in turn. The credits and bytes of what was
    /// taken go back to the lanes once per call; rings of exited threads that are empty go.
    fn drain(&mut self) -> usize {
        self.refresh();
        let mut rings = std::mem::take(&mut self.rings);
        let mut got = 0;
        let mut taken = [0usize; 2];
        let mut bytes = [0usize; 2];
        let mut place = |writer: &mut Writer, st: &mut RingState, lane: Lane| {
            if let Some(msg) = st.take(lane) {
                taken[lane as usize] += 1;
                bytes[lane as usize] += msg.bytes();
                got += 1;
                writer.place(lane, msg);
            }
        };
        for st in &mut rings {
            while self.batch.len() < MAX_BATCH && st.next_lane() == Some(Lane::Error) {
                place(self, st, Lane::Error);
            }
        }
        loop {
            let before = self.batch.len();
            for st in &mut rings {
                for _ in 0..RING_QUOTA {
                    if self.batch.len() >= MAX_BATCH {
                        break;
                    }
                    match st.next_lane() {
                        Some(lane) => place(self, st, lane),
                        None => break,
                    }
                }
            }
            if self.batch.len() == before || self.batch.len() >= MAX_BATCH {
                break;
            }
        }
        if rings.iter().any(RingState::finished) {
            let (gone, kept): (Vec<RingState>, Vec<RingState>) =
                rings.into_iter().partition(RingState::finished);
            rings = kept;
            self.shared
                .rings
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|ring| !gone.iter().any(|st| Arc::ptr_eq(&st.ring, ring)));
        }
        self.rings = rings;
        for i in 0..2 {
            if taken[i] > 0 {
                self.shared.free.0[i].fetch_add(taken[i], Ordering::SeqCst);
            }
            if bytes[i] > 0 {
                self.shared.bytes.0[i].fetch_sub(bytes[i], Ordering::SeqCst);
            }
        }
        self.shared.offer_room(got < MAX_BATCH);
        if got > 0 {
            let waiting = self.waiting();
            self.counters()
                .raise_high_water(got as u64 + waiting[0] + waiting[1]);
        }
        // Before the batch is sent: a flush that returns then finds its records out of the depth.
        self.publish_queues(false);
        got
    }

    /// Records queued in each lane's rings and not taken yet.
    fn waiting(&self) -> [u64; 2] {
        [Lane::Error, Lane::Bulk].map(|lane| self.rings.iter().map(|st| st.waiting(lane)).sum())
    }

    /// Publishes each lane's queue to the stats, on every drain and on every pass that holds a
    /// batch: the records waiting in its rings plus those of its records this writer holds for
    /// an absent daemon (as `queue_depth` counts them), and its bytes.
    fn publish_queues(&self, held: bool) {
        let mut depth = self.waiting();
        if held {
            for (lane, ..) in &self.batch {
                depth[*lane as usize] += 1;
            }
        }
        self.counters().publish_queues([0, 1].map(|i| {
            (
                depth[i],
                self.shared.bytes.0[i].load(Ordering::Relaxed) as u64,
            )
        }));
    }

    /// Puts a taken record into the batch, rendering a capture.
    fn place(&mut self, lane: Lane, msg: Msg) {
        let Msg {
            priority,
            buf,
            form,
            ..
        } = msg;
        let buf = match form {
            Form::Rendered => Some(buf),
            Form::Captured(_) => self.render(lane, priority, buf, form),
        };
        if let Some(buf) = buf {
            self.batch.push((lane, priority, buf));
        }
    }

    /// The batch was handed to the transport (or its records counted): what each ring had in
    /// it is done, and the flushes waiting for it may return.
    fn finish_batch(&mut self) {
        for st in &mut self.rings {
            if st.unsent > 0 {
                st.ring.done.0.fetch_add(st.unsent, Ordering::SeqCst);
                st.unsent = 0;
            }
        }
        self.shared.notify_flushers();
    }

    /// Renders a record a caller captured ([`captured`]) and returns the buffer that holds it
    /// rendered; the capture's buffer becomes the next scratch. `None` (counted as a drop) if
    /// rendering failed, which only a bug could make happen: the values are the caller's copies,
    /// no user code runs here.
    fn render(
        &mut self,
        lane: Lane,
        priority: Priority,
        buf: Vec<u8>,
        form: Form,
    ) -> Option<Vec<u8>> {
        let mut out = std::mem::take(&mut self.scratch);
        let renderer = &self.spawner.rendering.renderer;
        let rendered = catch_unwind(AssertUnwindSafe(|| {
            let decoded = captured::decode(&buf, form)?;
            let now = decoded.time.map_or(clock::EPOCH, clock::at);
            let pid = crate::sys::fork::pid();
            Some(decoded.with_record(priority, |rec| renderer.render(&mut out, rec, pid, &now)))
        }));
        match rendered {
            Ok(Some(truncated)) => {
                if truncated {
                    self.counters().truncated.fetch_add(1, Ordering::Relaxed);
                }
                self.scratch = buf;
                Some(out)
            }
            _ => {
                self.counters().drop_record(lane, DropReason::Panic);
                self.scratch = out;
                self.recycle_buffer(buf);
                None
            }
        }
    }

    /// Whether records can no longer wait for the daemon: shutdown began, or the logger is gone.
    fn giving_up(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst) || Arc::strong_count(&self.shared) == 1
    }

    /// Whether `lane` waits for room rather than dropping: its records survive a send timeout.
    fn lossless(&self, lane: Lane) -> bool {
        self.spawner.config.overflow[lane as usize] == Overflow::Block
    }

    /// Sends the batch, counts the outcome, recycles the buffers and releases flush waiters.
    ///
    /// Returns false, keeping the unsent records in `self.batch`, when the daemon is away (the
    /// socket is missing, refused or replaced) and the logger is still running: the caller tries
    /// again later. After a send timeout (the daemon is alive but not reading), every record of a
    /// lossy lane left in the batch is dropped at once rather than each waiting its own timeout;
    /// a `Block` lane's records are retried.
    fn send(&mut self, transport: &dyn Transport) -> bool {
        let counters = Arc::clone(&self.spawner.counters);
        let mut at = 0;
        while at < self.batch.len() {
            let (sent, err) = {
                let refs: Vec<(Priority, &[u8])> = self.batch[at..]
                    .iter()
                    .map(|(_, priority, buf)| (*priority, buf.as_slice()))
                    .collect();
                let _in_send = InSend::enter(&counters);
                transport.send_batch(&refs)
            };
            let sent = sent.min(self.batch.len() - at);
            if sent > 0 {
                self::sent(&counters);
                counters.written.fetch_add(sent as u64, Ordering::Relaxed);
                at += sent;
            }
            let Some(e) = err else {
                if at < self.batch.len() {
                    // A transport that stops without an error: count the rest rather than
                    // retrying forever.
                    let e = io::Error::from(io::ErrorKind::WriteZero);
                    self.drop_from(at, &counters, &e, |_| true);
                }
                break;
            };
            if at >= self.batch.len() {
                break;
            }
            if daemon_away(&e) {
                if !self.giving_up() {
                    self.recycle_first(at);
                    self.set_held(self.batch.len());
                    return false;
                }
                self.drop_from(at, &counters, &e, |_| true);
                break;
            }
            if is_timeout(&e) {
                if self.lossless(self.batch[at].0) {
                    // The daemon is alive but slow: a lossless lane waits for it.
                    thread::park_timeout(MIN_IDLE_SLEEP);
                    continue;
                }
                // The daemon is alive but does not read: another timeout per record would hold
                // the writer for 100 ms each (25 s for a batch). Drop every lossy record now.
                let lossless = self.spawner.config.overflow.map(|o| o == Overflow::Block);
                self.drop_from(at, &counters, &e, |lane| !lossless[lane as usize]);
                continue;
            }
            // This record cannot be sent (too long, a socket of the wrong type ...): drop it
            // alone and go on with the next.
            let lane = self.batch[at].0;
            counters.send_failed(lane, &e, 1);
            at += 1;
        }
        self.recycle_first(self.batch.len());
        // Before the flushes: one that returns sees the held records gone.
        self.set_held(0);
        self.finish_batch();
        true
    }

    /// Publishes how many records the writer holds for an absent daemon (`queue_depth` adds
    /// them). Only a change is written.
    fn set_held(&self, n: usize) {
        if self.shared.held.load(Ordering::Relaxed) != n {
            self.shared.held.store(n, Ordering::Relaxed);
        }
    }

    /// Counts the records from `at` on whose lane passes `lossy` as dropped by `err` and takes
    /// them out of the batch (the others stay, in order).
    fn drop_from(
        &mut self,
        at: usize,
        counters: &Counters,
        err: &io::Error,
        lossy: impl Fn(Lane) -> bool,
    ) {
        let mut dropped = [0u64; 2];
        let mut kept = at;
        for i in at..self.batch.len() {
            let lane = self.batch[i].0;
            if lossy(lane) {
                dropped[lane as usize] += 1;
                let buf = std::mem::take(&mut self.batch[i].2);
                self.recycle_buffer(buf);
            } else {
                self.batch.swap(kept, i);
                kept += 1;
            }
        }
        self.batch.truncate(kept);
        for (lane, n) in [Lane::Error, Lane::Bulk].into_iter().zip(dropped) {
            if n > 0 {
                counters.send_failed(lane, err, n);
            }
        }
    }

    /// Returns the buffers of the first `n` records of the batch to the free list.
    fn recycle_first(&mut self, n: usize) {
        let done: Vec<Vec<u8>> = self.batch.drain(..n).map(|(_, _, buf)| buf).collect();
        for buf in done {
            self.recycle_buffer(buf);
        }
    }

    fn recycle_buffer(&self, mut buf: Vec<u8>) {
        if buf.capacity() <= MAX_RECYCLED_BUFFER && buf.capacity() > 0 {
            buf.clear();
            // A full free list just frees this buffer.
            let _ = self.recycle.try_send(buf);
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
        // The first drop since the last summary, stamped by whoever dropped it.
        let first_drop = self.counters().first_drop_us();
        let since = first_drop.map_or_else(crate::clock::now, |us| {
            crate::clock::at(Duration::from_micros(us))
        });
        let text = summary_text(&self.reported, &now, &since);
        let mut buf = std::mem::take(&mut self.summary_buf);
        let priority = (self.spawner.rendering.summary)(&text, &mut buf);
        let result = {
            let _in_send = InSend::enter(&self.spawner.counters);
            transport.send(priority, &buf)
        };
        self.summary_buf = buf;
        match result {
            Ok(()) => {
                sent(self.counters());
                self.reported = now;
                if let Some(us) = first_drop {
                    self.counters().summarised_drops_since(us);
                }
                self.summary_retry_at = None;
            }
            // Not a user record: nothing is counted (see `Stats::send_errors`); it is tried again.
            Err(_) => self.summary_retry_at = Instant::now().checked_add(SUMMARY_RETRY),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::tests::{
        config, hold, pri, push, setup, setup_with, setup_with_timeouts, texts, LONG,
    };

    #[test]
    fn writer_sends_batches() {
        let s = setup(Config::default(), true, false);
        let permits = s.permits.as_ref().unwrap();
        // "hold" occupies the writer inside send_batch (waiting for a permit) while the next
        // records pile up; they then go out as one batch.
        hold(&s);
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

    /// Everything the batches carried, in order, as text.
    fn received(s: &crate::worker::tests::Setup, n: usize) -> Vec<String> {
        let mut got = Vec::new();
        while got.len() < n {
            let batch = s.batches.recv_timeout(LONG).expect("a batch");
            got.extend(
                batch
                    .into_iter()
                    .map(|(_, m)| String::from_utf8(m).unwrap()),
            );
        }
        got
    }

    #[test]
    fn one_threads_records_leave_in_program_order() {
        let s = setup(Config::default(), true, false);
        let permits = s.permits.as_ref().unwrap();
        hold(&s);
        push(&s.handle, Lane::Bulk, "info0");
        push(&s.handle, Lane::Error, "warn0");
        push(&s.handle, Lane::Bulk, "info1");
        push(&s.handle, Lane::Error, "err0");
        push(&s.handle, Lane::Error, "err1");
        push(&s.handle, Lane::Bulk, "info2");
        for _ in 0..3 {
            permits.send(()).unwrap();
        }
        assert_eq!(
            received(&s, 7),
            ["hold", "info0", "warn0", "info1", "err0", "err1", "info2"]
        );
    }

    #[test]
    fn an_error_passes_other_threads_bulk_but_not_its_own() {
        let s = setup(Config::default(), true, false);
        let permits = s.permits.as_ref().unwrap();
        hold(&s);
        // Another thread floods the bulk lane; this one reports an error; then the flooding
        // thread reports one too.
        let (flooded, go_on) = (std::sync::Barrier::new(2), std::sync::Barrier::new(2));
        thread::scope(|scope| {
            scope.spawn(|| {
                for i in 0..5 {
                    push(&s.handle, Lane::Bulk, &format!("flood{i}"));
                }
                flooded.wait();
                go_on.wait();
                push(&s.handle, Lane::Error, "error-there");
            });
            flooded.wait();
            push(&s.handle, Lane::Error, "error-here");
            go_on.wait();
        });
        for _ in 0..3 {
            permits.send(()).unwrap();
        }
        // "error-here" goes ahead of the flood (its thread's "hold" has gone out already);
        // "error-there" is the flooding thread's: it stays behind that thread's records.
        assert_eq!(
            received(&s, 8),
            [
                "hold",
                "error-here",
                "flood0",
                "flood1",
                "flood2",
                "flood3",
                "flood4",
                "error-there"
            ]
        );
    }

    #[test]
    fn each_threads_order_holds_with_many_threads() {
        let s = setup(Config::default(), false, false);
        thread::scope(|scope| {
            for t in 0..4 {
                let handle = &s.handle;
                scope.spawn(move || {
                    for i in 0..2000 {
                        let lane = if i % 3 == 0 { Lane::Error } else { Lane::Bulk };
                        push(handle, lane, &format!("{t} {i}"));
                    }
                });
            }
        });
        assert!(s.handle.flush(LONG));
        let mut next = [0; 4];
        for text in texts(&s.batches) {
            let (t, i) = text.split_once(' ').unwrap();
            let (t, i): (usize, usize) = (t.parse().unwrap(), i.parse().unwrap());
            assert_eq!(i, next[t], "thread {t} out of order");
            next[t] += 1;
        }
        assert_eq!(next, [2000; 4]);
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
    fn send_errors_agree_with_send_error_drops() {
        let s = setup(Config::default(), false, true);
        for i in 0..10 {
            push(&s.handle, Lane::Bulk, &format!("r{i}"));
        }
        push(&s.handle, Lane::Error, "e");
        assert!(s.handle.flush(LONG));
        // The writer tries the dropped-records summary (which fails too) before it exits.
        s.handle.shutdown(LONG);
        let stats = s.counters.snapshot(0);
        assert_eq!(stats.written, 0);
        assert_eq!(stats.dropped_for(Lane::Bulk, DropReason::SendError), 10);
        assert_eq!(stats.dropped_for(Lane::Error, DropReason::SendError), 1);
        assert_eq!(stats.send_errors, vec![(libc::EPROTOTYPE, 11)]);
        assert_eq!(
            crate::Stats::errno_name(libc::EPROTOTYPE),
            Some("EPROTOTYPE")
        );
    }

    #[test]
    fn stuck_writer_is_reported() {
        let s = setup(Config::default(), true, false);
        push(&s.handle, Lane::Bulk, "stuck");
        while s.counters.writer_waiting_since_ns.load(Ordering::Relaxed) == 0 {
            thread::yield_now();
        }
        let started = s.counters.writer_waiting_since_ns.load(Ordering::Relaxed);
        assert!(!s.counters.snapshot(0).writer_stuck, "not yet a second");
        assert!(!crate::stats::is_stuck(started, started + 999_000_000));
        assert!(crate::stats::is_stuck(started, started + 1_001_000_000));
        assert!(!crate::stats::is_stuck(0, u64::MAX), "0 means not waiting");
    }

    #[test]
    fn stuck_counts_from_the_last_successful_send() {
        // Every send of the first three batches times out at once, as a hung daemon's do after
        // the send timeout: the writer is never inside a send for long, yet it is stuck.
        let s = setup_with_timeouts(
            config((16, Overflow::Drop), (16, Overflow::Drop)),
            false,
            false,
            3,
        );
        let since = |s: &crate::worker::tests::Setup| {
            s.counters.writer_waiting_since_ns.load(Ordering::Relaxed)
        };
        push(&s.handle, Lane::Bulk, "lost");
        assert!(s.handle.flush(LONG));
        let first = since(&s);
        assert_ne!(first, 0, "a timed-out send leaves the stuck clock running");
        push(&s.handle, Lane::Bulk, "lost too");
        assert!(s.handle.flush(LONG));
        assert_eq!(since(&s), first, "a second failure does not restart it");
        assert!(crate::stats::is_stuck(first, first + 1_001_000_000));
        // The summary may take the third failure; then a record goes through.
        push(&s.handle, Lane::Bulk, "lost or kept");
        push(&s.handle, Lane::Bulk, "kept");
        assert!(s.handle.flush(LONG));
        assert_eq!(since(&s), 0, "a successful send stops the clock");
    }

    #[test]
    fn a_timed_out_batch_drops_its_lossy_rest_at_once() {
        // The first three sends time out: "hold" alone, the summary of its drop (tried once the
        // writer finds the lanes empty behind it), then the 200 records queued behind it.
        let s = setup_with_timeouts(
            config((16, Overflow::Drop), (1024, Overflow::Drop)),
            true,
            false,
            3,
        );
        let permits = s.permits.as_ref().unwrap();
        hold(&s);
        for i in 0..200 {
            push(&s.handle, Lane::Bulk, &format!("r{i}"));
        }
        for _ in 0..1000 {
            permits.send(()).unwrap();
        }
        assert!(s.handle.flush(LONG));
        let stats = s.counters.snapshot(0);
        // One timeout for the whole batch, not one per record (which would let the third send
        // deliver r1..r199).
        assert_eq!(stats.written, 0, "{stats:?}");
        assert_eq!(stats.dropped_for(Lane::Bulk, DropReason::SendError), 201);
        assert_eq!(stats.send_errors, vec![(libc::EAGAIN, 201)]);
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
        // Retried sends lose no record: nothing to count.
        assert_eq!(stats.send_errors, vec![]);

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
    fn records_wait_while_the_daemon_is_away_and_go_out_when_it_returns() {
        let s = setup_with(
            config((16, Overflow::Drop), (16, Overflow::Drop)),
            false,
            false,
            0,
            3,
        );
        for i in 0..10 {
            push(&s.handle, Lane::Bulk, &format!("r{i}"));
        }
        push(&s.handle, Lane::Error, "e");
        assert!(s.handle.flush(LONG));
        let stats = s.counters.snapshot(s.handle.queue_depth());
        assert_eq!((stats.written, stats.dropped_total()), (11, 0), "{stats:?}");
        assert_eq!(stats.queue_depth, 0);
        let mut want: Vec<String> = (0..10).map(|i| format!("r{i}")).collect();
        want.push("e".into());
        assert_eq!(texts(&s.batches), want);
    }

    #[test]
    fn a_full_lane_drops_by_its_policy_while_the_daemon_is_away() {
        let s = setup_with(
            config((4, Overflow::Drop), (4, Overflow::Drop)),
            true,
            false,
            0,
            usize::MAX,
        );
        // The writer is inside its first send (of "hold"), so the lane fills: 4 queued, 16 not.
        hold(&s);
        for i in 0..20 {
            push(&s.handle, Lane::Bulk, &format!("r{i}"));
        }
        let stats = s.counters.snapshot(0);
        assert_eq!(stats.dropped_for(Lane::Bulk, DropReason::QueueFull), 16);
        // The send finds no daemon: the writer holds "hold" and drains nothing more.
        let permits = s.permits.clone().unwrap();
        for _ in 0..1000 {
            permits.send(()).unwrap();
        }
        let shared = Arc::clone(&s.handle.lanes().shared);
        while shared.held.load(Ordering::Relaxed) == 0 {
            thread::yield_now();
        }
        assert!(!s.handle.flush(Duration::from_millis(50)));
        // Held and queued (a flush queues nothing).
        assert_eq!(s.handle.queue_depth(), 1 + 4);
        // Shutdown gives up on the held records and counts them.
        s.handle.shutdown(Duration::from_millis(50));
        let settled = (0..500).find_map(|_| {
            let stats = s.counters.snapshot(0);
            if stats.dropped_total() == 21 {
                return Some(stats);
            }
            thread::sleep(Duration::from_millis(10));
            None
        });
        let stats = settled.unwrap_or_else(|| s.counters.snapshot(0));
        assert_eq!(
            stats.dropped_for(Lane::Bulk, DropReason::SendError),
            5,
            "{stats:?}"
        );
        assert_eq!((stats.written, stats.dropped_total()), (0, 21));
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
}
