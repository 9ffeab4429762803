//! The background writer: bounded lanes, overflow policies, batching, flush, shutdown and fork.
//!
//! # Shape
//!
//! A caller captures its record (the message and key-values as typed values, see
//! `format::captured`) into a buffer taken from a free list, then hands the buffer and
//! the priority to its own thread's ring for this logger (see [`ring`]): two single-producer
//! queues, the error lane (WARN and ERROR) and the bulk lane (everything else). Each lane is
//! bounded for the whole process in records (credits, see [`lanes`]) and in bytes. One named
//! thread, `fastsyslog-writer`, owns the transport; it polls every ring, merges each ring's two
//! lanes in the order its thread logged, renders each capture into the syslog message (the bytes
//! sync mode would send), sends what it took as one batch (`sendmmsg` for the unix transport),
//! and returns the buffers to the free list, so a steady stream of records allocates nothing on
//! the caller.
//!
//! # Order
//!
//! The guarantee: **records from one thread are handed to the transport in the order that thread
//! logged them**, whichever lanes they travel in, and **an error record is never held back by
//! another thread's bulk records**: it waits only for the bulk records its own thread logged
//! before it. Records of different threads are interleaved by the writer.
//!
//! How: a thread numbers the records it queues in a ring (no atomic: only it writes there), and
//! queues each before it numbers the next. The writer keeps, per ring, the number of the next
//! record to place and the head it took from each lane; it places the head that carries that
//! number. A head with a higher number proves the one it waits for is visible in the other lane,
//! so a second look finds it. Each batch first takes, from every ring, the error records that
//! are next in their ring, then the records of each ring in turn (at most 32 in a row). The lanes
//! keep separate credits, so an error record never waits for room behind bulk records nor is
//! dropped for them. A thread whose thread-local state is gone (a destructor logging at thread
//! exit) queues in a shared ring under a lock: in order among those records, not against its
//! earlier ones.
//!
//! # Flush
//!
//! Each ring counts the records queued in it (its producer) and those done (the writer, once the
//! batch holding them was sent or counted as dropped). A flush snapshots every ring's queued count
//! and waits until each ring's done count reaches it, waking the writer; it queues nothing, so a
//! full lane does not delay it. A thread that exits closes its ring; the writer drops the ring
//! once it has sent what was in it.
//!
//! # A full lane
//!
//! A `Block` or `BlockFor` caller that finds no free slot (or no room in the byte budget) counts
//! itself as waiting and sleeps on its lane's condition variable. The writer gives credits back
//! once per batch and, only when somebody waits, wakes the waiters once a quarter of the lane is
//! free or it has taken everything queued: the woken callers refill the lane together while the
//! writer sends the rest, rather than each caller being woken for every slot (which a
//! per-slot hand-off costs in context switches) or napping on a timer (which leaves the writer
//! idle while records could be queued).
//!
//! # An absent daemon, a hung daemon
//!
//! When a send finds no daemon (the socket missing, refused or replaced), the writer keeps the
//! batch and tries again every 20 ms; the lanes fill meanwhile, under their overflow policies,
//! and what waits goes out, in order, once the daemon is back. Shutdown (or a dropped logger)
//! gives up and counts what waits as send errors. When a send times out (the daemon is alive but
//! does not read), the rest of the batch from `Drop` and `BlockFor` lanes is dropped at once; a
//! `Block` lane's records are retried. `writer_stuck` counts from the first send since the last
//! successful one.
//!
//! - This file: the public settings ([`Overflow`], the `DEFAULT_*` constants and the builder's
//!   setters for them) and [`Handle`], the caller's side.
//! - [`ring`]: each thread's rings and their segments, and the numbering of its records.
//! - [`lanes`]: the credits, the buffer pool, each caller's stash, flush and the wait for room in
//!   a full lane.
//! - [`writer`]: the writer thread, its batching, and its idle backoff and deep sleep (why the
//!   caller never pays for a wake-up is explained there).
//! - [`summary`]: the dropped-records summary the writer sends once it has caught up (its "since"
//!   is the time of the first drop it covers).
//!
//! # Fork
//!
//! Each process owns its lanes and writer through a [`ForkLocal`]: in a forked child the first
//! record (one relaxed atomic load detects the fork) builds fresh lanes (with their own rings)
//! and a new writer, and the inherited rings are leaked untouched, since their locks may have
//! been held by parent threads that do not exist in the child. Records queued in the parent are
//! therefore never sent twice. The child's writer makes its transport anew; glibc's `syslog(3)` lock, which glibc does
//! not reset at fork, is the libc transport's own concern (it falls back to a socket of its own in
//! a child forked while a thread was inside `syslog(3)`, in sync mode too).
#![cfg(feature = "background")]

mod lanes;
mod ring;
mod summary;
mod writer;

use std::fmt;
use std::io::{self, Write as _};
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::ParseOverflowError;
use crate::format::captured::Form;
use crate::severity::Priority;
use crate::stats::{Counters, Lane};
use crate::transport::Transport;

use crate::sys::fork::ForkLocal;

use lanes::Lanes;
pub(crate) use summary::{summary_renderer, Rendering};
use writer::{Spawner, DEEP_SLEEP_POLL};

/// The default capacity of the error lane (WARN and ERROR records).
///
/// Errors are rare and matter most: 4096 absorbs a burst of a few milliseconds of errors from
/// every thread while the writer is busy. Slots (about 64 bytes each) are allocated per thread as
/// its backlog needs them (see [`Builder::queue_capacity`](crate::Builder::queue_capacity)).
pub const DEFAULT_ERROR_QUEUE_CAPACITY: usize = 4096;
/// The default capacity of the bulk lane (access, INFO, DEBUG and TRACE records).
///
/// 65536 records ride out a daemon pause of tens of milliseconds at high request rates; a
/// thread's slots grow with its backlog, to at most about 4 MiB for one thread holding them all.
/// The records waiting in them are bounded by [`DEFAULT_BULK_QUEUE_BYTES`].
pub const DEFAULT_BULK_QUEUE_CAPACITY: usize = 65536;
/// The largest queue capacity [`Builder::queue_capacity`](crate::Builder::queue_capacity) accepts
/// (16 Mi records, whose slots alone take about 1.3 GiB); above it `build()` is an error.
pub const MAX_QUEUE_CAPACITY: usize = 1 << 24;
/// The default byte budget of the error lane: 8 MiB of queued records.
///
/// A record holds its buffer's capacity (at least 512 bytes, at most the maximum message size
/// plus the buffer's slack) until the writer sends it; buffers of the initial 512 bytes are
/// bounded by the capacity instead (2 MiB for 4096 slots). 8 MiB keeps about 2000 records of
/// 4 KiB, so the lane holds at most about 10 MiB.
pub const DEFAULT_ERROR_QUEUE_BYTES: usize = 8 << 20;
/// The default byte budget of the bulk lane: 64 MiB of queued records.
///
/// With the 512 bytes per slot that are bounded by the capacity (32 MiB), a stalled daemon and
/// long records cannot hold more than about 96 MiB (the default capacity alone would allow
/// 65536 × 8 KiB, about 0.5 GiB).
pub const DEFAULT_BULK_QUEUE_BYTES: usize = 64 << 20;
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

/// What a caller does when its lane's queue is full (in records or in bytes).
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
    /// Wait for room however long it takes (lossless). A hung or absent daemon then stalls the
    /// callers once the lane is full.
    Block,
    /// Wait up to this long for room, then drop the record ([`DropReason::Timeout`](crate::DropReason::Timeout)).
    BlockFor(Duration),
    /// Drop the new record at once ([`DropReason::QueueFull`](crate::DropReason::QueueFull)).
    Drop,
}

// === impl Overflow ===

impl FromStr for Overflow {
    type Err = ParseOverflowError;

    /// Parses `block`, `drop` or `block_for=<N>ms`, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        match lower.as_str() {
            "block" => return Ok(Overflow::Block),
            "drop" => return Ok(Overflow::Drop),
            _ => {}
        }
        lower
            .strip_prefix("block_for=")
            .and_then(|rest| rest.strip_suffix("ms"))
            .and_then(|ms| ms.parse().ok())
            .map(|ms| Overflow::BlockFor(Duration::from_millis(ms)))
            .ok_or_else(|| ParseOverflowError::new(s))
    }
}

/// Background writer settings, set through the builder.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Queue capacity per lane, indexed by `Lane as usize`.
    pub(crate) capacity: [usize; 2],
    /// Overflow policy per lane, indexed by `Lane as usize`.
    pub(crate) overflow: [Overflow; 2],
    /// Byte budget per lane, indexed by `Lane as usize`.
    pub(crate) bytes: [usize; 2],
    /// How often a parked idle writer looks at its lanes ([`DEEP_SLEEP_POLL`]; tests raise it).
    pub(crate) deep_sleep_poll: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            capacity: [DEFAULT_ERROR_QUEUE_CAPACITY, DEFAULT_BULK_QUEUE_CAPACITY],
            overflow: [DEFAULT_ERROR_OVERFLOW, DEFAULT_BULK_OVERFLOW],
            bytes: [DEFAULT_ERROR_QUEUE_BYTES, DEFAULT_BULK_QUEUE_BYTES],
            deep_sleep_poll: DEEP_SLEEP_POLL,
        }
    }
}

// === impl Config ===

impl Config {
    /// The settings `build()` cannot use, as an error naming the setting and the value.
    pub(crate) fn check(&self) -> Result<(), crate::Error> {
        for lane in [Lane::Error, Lane::Bulk] {
            let capacity = self.capacity[lane as usize];
            if capacity > MAX_QUEUE_CAPACITY {
                return Err(crate::Error::new(
                    crate::ErrorKind::InvalidConfig,
                    format!(
                        "queue_capacity({}) = {capacity} is above the maximum {MAX_QUEUE_CAPACITY}",
                        lane.name()
                    ),
                ));
            }
        }
        Ok(())
    }
}

// === impl Builder (background writer settings) ===

impl crate::Builder {
    /// How many records `lane` holds while the writer catches up, across all threads of the
    /// process. Defaults: [`DEFAULT_ERROR_QUEUE_CAPACITY`] (4096) and
    /// [`DEFAULT_BULK_QUEUE_CAPACITY`] (65536).
    ///
    /// Each logging thread has its own queue per lane: 64 slots (about 64 bytes each) when it
    /// first logs, doubled when its backlog needs more, up to this capacity, and freed when the
    /// thread exits. Threads take free slots in chunks (at most 64, and at most 1/256 of those
    /// free), so up to 63 slots per thread may be held unused. The records that wait are bounded
    /// by [`queue_bytes`](crate::Builder::queue_bytes). Values below 2 are raised to 2; values
    /// above [`MAX_QUEUE_CAPACITY`] make `build()` return an error.
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

    /// How many bytes of queued records `lane` holds while the writer catches up. Defaults:
    /// [`DEFAULT_ERROR_QUEUE_BYTES`] (8 MiB) and [`DEFAULT_BULK_QUEUE_BYTES`] (64 MiB).
    ///
    /// A record counts its buffer's capacity, which is what it keeps allocated; buffers of the
    /// initial 512 bytes are not counted (the capacity bounds them: at most 512 bytes per slot),
    /// so a lane holds at most this budget plus 512 bytes per slot. A record that does not fit
    /// meets the lane's [`overflow`](crate::Builder::overflow) policy exactly as a full queue
    /// does (with `Drop` it is counted as
    /// [`DropReason::QueueFull`](crate::DropReason::QueueFull)). A lane may go over its budget by
    /// one record per thread logging at that moment, and an empty budget always takes one
    /// record, however large.
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::{Builder, Lane};
    /// let b = Builder::new().queue_bytes(Lane::Bulk, 16 << 20);
    /// # let _ = b;
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "background")))]
    pub fn queue_bytes(mut self, lane: Lane, bytes: usize) -> Self {
        self.worker.bytes[lane as usize] = bytes;
        self
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
        rendering: Rendering,
        config: Config,
        counters: Arc<Counters>,
    ) -> Result<Handle, crate::Error> {
        config.check()?;
        let spawner = Arc::new(Spawner {
            make,
            rendering,
            config,
            counters,
        });
        let lanes = spawner.start(Some(first)).map_err(|e| {
            crate::Error::with_source(
                crate::ErrorKind::SpawnWorker,
                "could not spawn the background writer thread",
                e,
            )
        })?;
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
            counters.writer_waiting_since_ns.store(0, Ordering::Relaxed);
            self.spawner
                .start(None)
                .unwrap_or_else(|_| self.spawner.dead())
        })
    }

    /// Fills a recycled buffer with `fill` (a capture, or rendered bytes, as its [`Form`] says)
    /// and queues it under its lane's overflow policy: the caller's whole hand-off, with this
    /// process's lanes looked up once. A record for a full `Drop` lane is counted as dropped
    /// before `fill` runs ([`Lanes::refuse`](lanes::Lanes::refuse)). When `fill` returns `None` (a user `Display` panicked)
    /// nothing is queued and `None` is returned; the caller counts that drop.
    #[inline]
    pub(crate) fn submit(
        &self,
        lane: Lane,
        priority: Priority,
        fill: impl FnOnce(&mut Vec<u8>) -> Option<Form>,
    ) -> Option<()> {
        let lanes = self.lanes();
        if lanes.refuse(&self.spawner.counters, lane) {
            return Some(());
        }
        let mut buf = lanes.take_buffer();
        let form = fill(&mut buf)?;
        lanes.push(&self.spawner.counters, lane, priority, buf, form);
        Some(())
    }

    /// [`Lanes::take_buffer`] of this process's lanes.
    #[cfg(test)]
    pub(crate) fn take_buffer(&self) -> Vec<u8> {
        self.lanes().take_buffer()
    }

    /// [`Lanes::push`] to this process's lanes.
    #[cfg(test)]
    pub(crate) fn push(&self, lane: Lane, priority: Priority, buf: Vec<u8>) {
        let counters = &self.spawner.counters;
        self.lanes()
            .push(counters, lane, priority, buf, Form::Rendered);
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

#[cfg(test)]
mod tests {
    //! The harness every test of the writer uses (a mock transport, a handle over it), and the
    //! tests of this file.

    use super::*;
    use crate::Facility;
    use std::sync::{mpsc, Mutex};
    use std::thread;

    /// One `send_batch` call as a [`MockTransport`] saw it: `(PRI, bytes)` per record.
    type Sent = Vec<(u8, Vec<u8>)>;
    pub(super) type Batches = mpsc::Receiver<Sent>;

    /// Forwards every batch into a channel; optionally waits for a permit before each batch.
    #[derive(Debug)]
    struct MockTransport {
        out: Mutex<mpsc::Sender<Sent>>,
        gate: Option<Mutex<mpsc::Receiver<()>>>,
        fail: bool,
        /// The first this-many batches fail with a send timeout (EAGAIN).
        timeouts: std::sync::atomic::AtomicUsize,
        /// The first this-many batches fail as if no daemon were there (ENOENT).
        away: std::sync::atomic::AtomicUsize,
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
                // A socket of the wrong type: a failure that waiting does not cure.
                return (0, Some(io::Error::from_raw_os_error(libc::EPROTOTYPE)));
            }
            let take = |n: &std::sync::atomic::AtomicUsize| {
                n.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                    .is_ok()
            };
            if take(&self.away) {
                return (0, Some(io::Error::from_raw_os_error(libc::ENOENT)));
            }
            if take(&self.timeouts) {
                return (0, Some(io::Error::from_raw_os_error(libc::EAGAIN)));
            }
            let copy = batch.iter().map(|(p, m)| (p.value(), m.to_vec())).collect();
            // The test may have stopped listening; that is not the writer's concern.
            let _ = self.out.lock().unwrap().send(copy);
            (batch.len(), None)
        }
    }

    pub(super) struct Setup {
        pub(super) handle: Handle,
        pub(super) counters: Arc<Counters>,
        pub(super) batches: Batches,
        /// Each `()` lets one `send_batch` through (only with `gated`).
        pub(super) permits: Option<mpsc::Sender<()>>,
    }

    pub(super) fn setup(config: Config, gated: bool, fail: bool) -> Setup {
        setup_with(config, gated, fail, 0, 0)
    }

    pub(super) fn setup_with_timeouts(
        config: Config,
        gated: bool,
        fail: bool,
        timeouts: usize,
    ) -> Setup {
        setup_with(config, gated, fail, timeouts, 0)
    }

    /// A handle over a mock transport: `gated` sends wait for a permit each, `fail` ones all fail
    /// (EPROTOTYPE), and the first `timeouts` batches time out and the first `away` batches find
    /// no daemon (ENOENT).
    pub(super) fn setup_with(
        config: Config,
        gated: bool,
        fail: bool,
        timeouts: usize,
        away: usize,
    ) -> Setup {
        let (out, batches) = mpsc::channel();
        let (permits, gate) = mpsc::channel();
        let transport = Arc::new(Mutex::new(Some(MockTransport {
            out: Mutex::new(out),
            gate: gated.then(|| Mutex::new(gate)),
            fail,
            timeouts: std::sync::atomic::AtomicUsize::new(timeouts),
            away: std::sync::atomic::AtomicUsize::new(away),
        })));
        let make: crate::transport::Factory = Box::new(move || {
            let t = transport.lock().unwrap().take().expect("made once");
            Box::new(t) as Box<dyn Transport>
        });
        let rendering = Rendering {
            renderer: test_renderer(),
            summary: Box::new(|text, buf| {
                buf.clear();
                buf.extend_from_slice(text.as_bytes());
                Priority::new(Facility::Local1, crate::Severity::Warning)
            }),
        };
        let counters = Arc::new(Counters::default());
        let first = make();
        let handle = Handle::spawn(make, first, rendering, config, Arc::clone(&counters)).unwrap();
        Setup {
            handle,
            counters,
            batches,
            permits: gated.then_some(permits),
        }
    }

    /// The renderer of the writers under test: a logfmt body alone, so a capture of a message
    /// without fields renders as the message's text.
    pub(super) fn test_renderer() -> crate::format::Renderer {
        crate::format::Renderer::new(
            crate::Format::Logfmt,
            crate::format::Framing::LibcBody,
            "test".into(),
            "host".into(),
            8192,
        )
    }

    pub(super) fn config(error: (usize, Overflow), bulk: (usize, Overflow)) -> Config {
        Config {
            capacity: [error.0, bulk.0],
            overflow: [error.1, bulk.1],
            ..Config::default()
        }
    }

    pub(super) fn pri(sev: crate::Severity) -> Priority {
        Priority::new(Facility::Local1, sev)
    }

    pub(super) fn push(h: &Handle, lane: Lane, text: &str) {
        let mut buf = h.take_buffer();
        buf.extend_from_slice(text.as_bytes());
        let sev = match lane {
            Lane::Error => crate::Severity::Error,
            Lane::Bulk => crate::Severity::Informational,
        };
        h.push(lane, pri(sev), buf);
    }

    pub(super) fn texts(batches: &Batches) -> Vec<String> {
        batches
            .try_iter()
            .flatten()
            .map(|(_, m)| String::from_utf8(m).unwrap())
            .collect()
    }

    /// Pushes "hold" and waits until the writer is inside its send (blocked on the gate), so
    /// what is pushed next waits in the lanes.
    pub(super) fn hold(s: &Setup) {
        push(&s.handle, Lane::Bulk, "hold");
        let since = &s.counters.writer_waiting_since_ns;
        while since.load(Ordering::Relaxed) == 0 {
            thread::yield_now();
        }
    }

    /// Fills the bulk lane (capacity 4) while the writer is blocked, so the next pushes overflow.
    pub(super) fn fill_while_blocked(s: &Setup, extra: usize) {
        hold(s);
        for i in 0..4 + extra {
            push(&s.handle, Lane::Bulk, &format!("r{i}"));
        }
    }

    pub(super) const LONG: Duration = Duration::from_secs(10);

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
    fn a_capacity_above_the_maximum_is_an_error_naming_it() {
        let table = [
            (
                usize::MAX,
                Lane::Bulk,
                Some("queue_capacity(bulk) = 18446744073709551615"),
            ),
            (
                MAX_QUEUE_CAPACITY + 1,
                Lane::Error,
                Some("queue_capacity(error) = 16777217"),
            ),
            (MAX_QUEUE_CAPACITY, Lane::Bulk, None),
        ];
        for (capacity, lane, want) in table {
            let mut config = Config::default();
            config.capacity[lane as usize] = capacity;
            match (config.check(), want) {
                (Ok(()), None) => {}
                (Err(e), Some(want)) => {
                    assert!(e.to_string().contains(want), "{e}");
                    assert_eq!(e.kind(), crate::ErrorKind::InvalidConfig);
                }
                (got, want) => panic!("{capacity}: {got:?}, expected {want:?}"),
            }
        }
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

    #[test]
    fn overflow_parse_error_names_the_value() {
        let table = [
            ("sometimes", "\"sometimes\""),
            ("  Block_For=5s ", "\"  Block_For=5s \""),
            ("block_for=ms", "\"block_for=ms\""),
            ("", "\"\""),
        ];
        for (input, quoted) in table {
            let err = input.parse::<Overflow>().unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "unknown overflow policy {quoted} (expected block, drop or block_for=<N>ms)"
                ),
                "{input:?}"
            );
            // A std error, so `?` can carry it in a `Box<dyn Error>`.
            let _: &dyn std::error::Error = &err;
        }
    }
}
