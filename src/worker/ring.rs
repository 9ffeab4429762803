//! Each producing thread's queues: a [`Ring`] per (thread, lanes) with one single-producer chain
//! per lane, the thread-local [`Producer`] that fills it, and the numbering that lets the writer
//! merge a thread's two chains back into its program order.
//!
//! A chain is a list of fixed `crossbeam_queue::ArrayQueue` segments: the producer pushes into
//! the newest, the writer pops from the oldest. A segment starts at [`FIRST_SEGMENT`] slots
//! (allocated when the thread first logs) and a full one is followed by one twice its size, up
//! to the lane's capacity; the writer frees a segment once it is empty and a newer one exists.
//! So a steady stream allocates nothing, and only a backlog beyond a thread's segment allocates
//! (once per doubling). `SegQueue` would be simpler but allocates a block every 31 records.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crossbeam_queue::ArrayQueue;

use crate::format::captured::Form;
use crate::severity::Priority;
use crate::stats::Lane;

/// A new segment's slots (or the lane's capacity when smaller).
pub(super) const FIRST_SEGMENT: usize = 64;
/// A new buffer's capacity: most records fit without growing it. Buffers no larger than this
/// are not counted against a lane's byte budget (see [`Msg::bytes`]).
pub(super) const INITIAL_BUFFER: usize = 512;

/// What travels in a lane: a record, rendered or captured for the writer to render ([`Form`]),
/// with its number in its ring (the writer merges a ring's two lanes by it).
pub(super) struct Msg {
    pub(super) seq: u64,
    pub(super) priority: Priority,
    pub(super) buf: Vec<u8>,
    pub(super) form: Form,
}

// === impl Msg ===

impl Msg {
    /// The bytes a record holds against its lane's byte budget: its buffer's capacity (what it
    /// keeps allocated) when that is more than [`INITIAL_BUFFER`], else 0.
    ///
    /// Buffers of the initial size are bounded by the lane's capacity alone (at most 512 bytes
    /// per slot), and most records fit one: leaving them out spares the caller an atomic
    /// add on a line the writer writes after every batch.
    pub(super) fn bytes(&self) -> usize {
        if self.buf.capacity() > INITIAL_BUFFER {
            self.buf.capacity()
        } else {
            0
        }
    }
}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Record(#{}, {}, {} bytes, {:?})",
            self.seq,
            self.priority.value(),
            self.buf.len(),
            self.form
        )
    }
}

/// Keeps what one side writes off the lines the other side writes.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(super) struct Padded<T>(pub(super) T);

/// One lane of one thread: segments oldest first.
#[derive(Debug)]
pub(super) struct Chain {
    segments: Mutex<VecDeque<Arc<ArrayQueue<Msg>>>>,
    /// How many segments were ever added after the first: the writer looks at `segments` only
    /// when this moved since it last did.
    grown: AtomicU64,
    /// The largest segment (the lane's capacity).
    max: usize,
}

// === impl Chain ===

impl Chain {
    fn new(max: usize) -> (Chain, Arc<ArrayQueue<Msg>>) {
        let first = Arc::new(ArrayQueue::new(FIRST_SEGMENT.min(max).max(1)));
        let chain = Chain {
            segments: Mutex::new(VecDeque::from([Arc::clone(&first)])),
            grown: AtomicU64::new(0),
            max,
        };
        (chain, first)
    }

    /// The producer's push into `tail`, its newest segment: a full one is followed by a larger
    /// one, which becomes the new tail. Never fails: the lane's credits bound the records.
    fn push(&self, tail: &mut Arc<ArrayQueue<Msg>>, msg: Msg) {
        let Err(msg) = tail.push(msg) else {
            return;
        };
        let next = Arc::new(ArrayQueue::new((tail.capacity() * 2).min(self.max).max(1)));
        // The new segment is empty and has room for at least one record.
        let _ = next.push(msg);
        self.segments
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(Arc::clone(&next));
        // After the segment is listed: a writer that sees the count finds it.
        self.grown.fetch_add(1, Ordering::Release);
        *tail = next;
    }
}

/// The writer's place in one chain: the segment it pops from and the growth it has seen.
#[derive(Debug)]
pub(super) struct Cursor {
    head: Arc<ArrayQueue<Msg>>,
    seen: u64,
}

// === impl Cursor ===

impl Cursor {
    /// The writer's next message of `chain`, oldest first.
    pub(super) fn pop(&mut self, chain: &Chain) -> Option<Msg> {
        loop {
            if let Some(msg) = self.head.pop() {
                return Some(msg);
            }
            if chain.grown.load(Ordering::Acquire) == self.seen {
                return None;
            }
            // The producer moved to a newer segment before it counted it, so what it pushed
            // into this one is visible now.
            if let Some(msg) = self.head.pop() {
                return Some(msg);
            }
            let mut segments = chain
                .segments
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            segments.pop_front();
            match segments.front() {
                Some(next) => self.head = Arc::clone(next),
                None => return None,
            }
            self.seen += 1;
        }
    }
}

/// One thread's queues for one logger: written by that thread alone (or, for the shared ring
/// of threads whose thread-local state is gone, under a lock), read by the writer.
#[derive(Debug)]
pub(super) struct Ring {
    pub(super) chains: [Chain; 2],
    /// Records queued per lane (only the producer writes).
    pub(super) pushed: Padded<[AtomicU64; 2]>,
    /// Records handed to the transport or counted as dropped after they were queued (the writer
    /// adds once per batch; callers only after the writer exited).
    pub(super) done: Padded<AtomicU64>,
    /// The thread exited: once its records are out, the writer forgets the ring.
    pub(super) closed: AtomicBool,
}

// === impl Ring ===

impl Ring {
    /// A ring and the producer's two tails.
    pub(super) fn new(capacity: [usize; 2]) -> (Arc<Ring>, [Arc<ArrayQueue<Msg>>; 2]) {
        let (error, error_tail) = Chain::new(capacity[0]);
        let (bulk, bulk_tail) = Chain::new(capacity[1]);
        let ring = Arc::new(Ring {
            chains: [error, bulk],
            pushed: Padded::default(),
            done: Padded::default(),
            closed: AtomicBool::new(false),
        });
        (ring, [error_tail, bulk_tail])
    }

    /// A cursor at each chain's oldest segment, for the writer.
    pub(super) fn cursors(&self) -> [Cursor; 2] {
        [&self.chains[0], &self.chains[1]].map(|chain| {
            let segments = chain
                .segments
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            Cursor {
                // A chain always holds a segment, except while the writer switches (under
                // this lock), and only the writer makes cursors.
                head: Arc::clone(segments.front().expect("a chain keeps a segment")),
                // The cursor starts at the oldest segment: every growth is still ahead of it,
                // however many happened before the writer first saw the ring.
                seen: 0,
            }
        })
    }

    /// Records queued and not yet done (both lanes): what a flush of this ring waits for.
    pub(super) fn pushed_total(&self) -> u64 {
        self.pushed.0[0].load(Ordering::Acquire) + self.pushed.0[1].load(Ordering::Acquire)
    }

    /// Every message still queued, oldest first per lane, for a caller that found the writer
    /// gone. Only then do callers pop.
    pub(super) fn drain_all(&self, mut each: impl FnMut(Lane, Msg)) {
        for (chain, lane) in self.chains.iter().zip([Lane::Error, Lane::Bulk]) {
            let segments = chain
                .segments
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            for segment in segments.iter() {
                while let Some(msg) = segment.pop() {
                    each(lane, msg);
                }
            }
        }
    }
}

/// The producer's side of one ring: its tails, its record numbering, and the lane credits it
/// took and has not used yet. A thread keeps one per logger it logs to (in a thread-local); the
/// shared ring's sits under a lock.
#[derive(Debug)]
pub(super) struct Producer {
    pub(super) ring: Arc<Ring>,
    tails: [Arc<ArrayQueue<Msg>>; 2],
    /// The number the next record queued gets: consecutive per ring across both lanes.
    pub(super) seq: u64,
    /// Queue slots taken from the lane's shared count and not used yet.
    pub(super) credits: [usize; 2],
    /// How many credits this producer takes at once (see `Lanes::take_credit`).
    pub(super) chunk: [usize; 2],
    /// Records pushed, for checks done on every 32nd.
    pub(super) pushes: u32,
}

// === impl Producer ===

impl Producer {
    pub(super) fn new(capacity: [usize; 2], chunk: [usize; 2]) -> Producer {
        let (ring, tails) = Ring::new(capacity);
        Producer {
            ring,
            tails,
            seq: 0,
            credits: [0; 2],
            chunk,
            pushes: 0,
        }
    }

    /// Queues `msg` (numbered already, its credit taken) in `lane`.
    pub(super) fn push(&mut self, lane: Lane, msg: Msg) {
        let i = lane as usize;
        self.ring.chains[i].push(&mut self.tails[i], msg);
        self.seq += 1;
        // Only this producer writes the count: a load and a store, no read-modify-write.
        let pushed = &self.ring.pushed.0[i];
        pushed.store(pushed.load(Ordering::Relaxed) + 1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    //! Stress tests of the rings through a whole writer (a mock transport): many threads, threads
    //! that exit mid-run, flushes under load, `Block` with a slow transport. Each checks that
    //! every record logged is written or counted as dropped, once, in its thread's order, and
    //! that the lanes' credits (their capacity) are all back once the threads are gone.

    use std::collections::HashSet;
    use std::sync::atomic::Ordering;
    use std::thread;
    use std::time::Duration;

    use super::FIRST_SEGMENT;
    use crate::stats::{Lane, Stats};
    use crate::worker::tests::{config, push, setup, texts, Setup, LONG};
    use crate::worker::{Config, Handle, Overflow};

    /// Pushes `n` records `"<t> <i>"` from thread `t`, every third one an error.
    fn log_thread(h: &Handle, t: usize, n: usize) {
        for i in 0..n {
            let lane = if i % 3 == 0 { Lane::Error } else { Lane::Bulk };
            push(h, lane, &format!("{t} {i}"));
        }
    }

    /// Checks what the transport got: no record twice, each thread's records in order, and
    /// written + dropped = logged (`extra` of them not from `log_thread`); returns how many
    /// records each thread got through.
    fn check(s: &Setup, threads: usize, logged: u64, extra: u64) -> Vec<usize> {
        let stats: Stats = s.counters.snapshot(0);
        // The dropped-records summary is not a record of the test's (nor counted as written).
        let got: Vec<String> = texts(&s.batches)
            .into_iter()
            .filter(|t| t.starts_with(|c: char| c.is_ascii_digit()))
            .collect();
        let mut seen = HashSet::new();
        let mut last: Vec<Option<usize>> = vec![None; threads];
        let mut count = vec![0; threads];
        for text in &got {
            assert!(seen.insert(text.clone()), "{text} sent twice");
            let (t, i) = text.split_once(' ').expect("a stress record");
            let (t, i): (usize, usize) = (t.parse().unwrap(), i.parse().unwrap());
            assert!(
                last[t].map_or(true, |l| l < i),
                "thread {t}: {i} after {last:?}"
            );
            last[t] = Some(i);
            count[t] += 1;
        }
        assert_eq!(stats.written, got.len() as u64 + extra, "{stats:?}");
        assert_eq!(stats.written + stats.dropped_total(), logged, "{stats:?}");
        count
    }

    /// The lanes' free credits once every producing thread is gone: the whole capacity.
    fn assert_credits_back(s: &Setup, capacity: [usize; 2]) {
        let free = &s.handle.lanes().shared.free.0;
        for (i, cap) in capacity.into_iter().enumerate() {
            assert_eq!(free[i].load(Ordering::Relaxed), cap, "lane {i}");
        }
    }

    #[test]
    fn stress_many_threads_some_exiting_mid_run_with_flushes() {
        const WAVES: usize = 4;
        const PER_WAVE: usize = 4;
        const RECORDS: usize = 3000;
        let capacity = [512, 4096];
        let s = setup(
            config((capacity[0], Overflow::Drop), (capacity[1], Overflow::Drop)),
            false,
            false,
        );
        thread::scope(|scope| {
            // Waves of threads that start while earlier ones still log and exit mid-run.
            for wave in 0..WAVES {
                for k in 0..PER_WAVE {
                    let h = &s.handle;
                    scope.spawn(move || log_thread(h, wave * PER_WAVE + k, RECORDS));
                }
                // Flushes under load return and report success (nothing hangs the writer).
                assert!(s.handle.flush(LONG));
            }
        });
        assert!(s.handle.flush(LONG));
        let logged = (WAVES * PER_WAVE * RECORDS) as u64;
        let count = check(&s, WAVES * PER_WAVE, logged, 0);
        // Under `Drop`, 16 threads on a small machine may starve the writer: how many records
        // each thread gets through is not a property of the rings (the lossless test checks all).
        assert!(count.iter().sum::<usize>() > 0, "{count:?}");
        assert_credits_back(&s, capacity);
        assert_eq!(s.handle.queue_depth(), 0);
    }

    #[test]
    fn stress_lossless_with_a_slow_transport_delivers_all_in_order() {
        const THREADS: usize = 8;
        const RECORDS: usize = 2000;
        let capacity = [64, 256];
        let s = setup(
            config(
                (capacity[0], Overflow::Block),
                (capacity[1], Overflow::Block),
            ),
            true,
            false,
        );
        let permits = s.permits.clone().unwrap();
        let stop = std::sync::atomic::AtomicBool::new(false);
        thread::scope(|scope| {
            // The slow transport: one batch let through every 100 µs.
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    if permits.send(()).is_err() {
                        break;
                    }
                    thread::sleep(Duration::from_micros(100));
                }
            });
            let loggers: Vec<_> = (0..THREADS)
                .map(|t| {
                    let h = &s.handle;
                    scope.spawn(move || log_thread(h, t, RECORDS))
                })
                .collect();
            for l in loggers {
                l.join().unwrap();
            }
            assert!(s.handle.flush(LONG));
            stop.store(true, Ordering::Relaxed);
        });
        let logged = (THREADS * RECORDS) as u64;
        let count = check(&s, THREADS, logged, 0);
        assert_eq!(count, vec![RECORDS; THREADS], "lossless: every record");
        let stats = s.counters.snapshot(0);
        // The credits bound what waits in each lane: never above its capacity.
        for (lane, cap) in stats.lanes.iter().zip(capacity) {
            assert!(lane.depth_high_water <= cap as u64, "{stats:?}");
        }
        assert_credits_back(&s, capacity);
    }

    #[test]
    fn stress_flushes_from_many_threads_under_load() {
        const THREADS: usize = 8;
        const RECORDS: usize = 2000;
        let s = setup(Config::default(), false, false);
        thread::scope(|scope| {
            for t in 0..THREADS {
                let h = &s.handle;
                scope.spawn(move || {
                    for chunk in 0..4 {
                        let from = chunk * RECORDS / 4;
                        for i in from..from + RECORDS / 4 {
                            let lane = if i % 3 == 0 { Lane::Error } else { Lane::Bulk };
                            push(h, lane, &format!("{t} {i}"));
                        }
                        // A flush racing other threads' records and flushes still returns.
                        assert!(h.flush(LONG));
                    }
                });
            }
        });
        let count = check(&s, THREADS, (THREADS * RECORDS) as u64, 0);
        // The default lanes are large enough for this: nothing dropped.
        assert_eq!(count, vec![RECORDS; THREADS]);
    }

    #[test]
    fn a_ring_that_grew_before_the_writer_saw_it_is_drained() {
        let s = setup(Config::default(), true, false);
        let permits = s.permits.clone().unwrap();
        // The writer is inside its send of "hold": a new thread's ring is registered, fills its
        // first segment and grows before the writer reads the list of rings again.
        crate::worker::tests::hold(&s);
        let n = 2 * FIRST_SEGMENT + 10;
        thread::scope(|scope| {
            scope.spawn(|| log_thread(&s.handle, 0, n));
        });
        for _ in 0..1000 {
            permits.send(()).unwrap();
        }
        assert!(
            s.handle.flush(LONG),
            "every record of the grown ring went out"
        );
        let count = check(&s, 1, n as u64 + 1, 1);
        assert_eq!(count, vec![n]);
    }
}
