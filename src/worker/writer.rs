//! The writer thread: how it starts, drains the lanes into batches, sends them, backs off and
//! sleeps when idle, releases flushes, sends the dropped-records summary, and exits.
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

use std::io;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use super::lanes::{Lanes, Msg, Shared, Waiter, MAX_RECYCLED_BUFFER};
use super::summary::{dropped_counts, summary_text, SummaryFn};
use super::{Config, Overflow};
use crate::clock::Timestamp;
use crate::severity::Priority;
use crate::stats::{monotonic_ns, Counters, DropReason, Lane};
use crate::transport::Factory as TransportFactory;
use crate::transport::Transport;

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

/// Everything needed to start a writer, kept so that a forked child can start its own.
pub(super) struct Spawner {
    pub(super) make: TransportFactory,
    pub(super) summary: SummaryFn,
    pub(super) config: Config,
    pub(super) counters: Arc<Counters>,
}

// === impl Spawner ===

impl Spawner {
    /// New lanes and a writer thread for this process, sending through `first` when given (the
    /// transport built at start-up), else through a new one from [`Spawner::make`].
    pub(super) fn start(self: &Arc<Self>, first: Option<Box<dyn Transport>>) -> io::Result<Lanes> {
        let mut lanes = Lanes::new(self.config.capacity, self.config.overflow);
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
        let lanes = Lanes::new(self.config.capacity, self.config.overflow);
        lanes.shared.closed.store(true, Ordering::SeqCst);
        lanes.shared.exited.store(true, Ordering::SeqCst);
        lanes
    }
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

// === impl Writer ===

impl Writer {
    /// The writer of `lanes`, which sends through `first` when given.
    fn new(spawner: &Arc<Spawner>, lanes: &Lanes, first: Option<Box<dyn Transport>>) -> Writer {
        Writer {
            rx: lanes.rx.clone(),
            recycle: lanes.recycle.clone(),
            shared: Arc::clone(&lanes.shared),
            spawner: Arc::clone(spawner),
            batch: Vec::with_capacity(MAX_BATCH),
            waiters: Vec::new(),
            reported: dropped_counts(&spawner.counters),
            unreported_since: None,
            summary_retry_at: None,
            summary_buf: Vec::new(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::tests::{config, pri, push, setup, setup_with_timeouts, texts, LONG};

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
}
