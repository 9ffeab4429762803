//! The backtrace ring: recent verbose records of chosen targets, kept per thread instead of sent,
//! and sent ahead of that thread's next error record.
//!
//! A captured record is rendered at once (its time is when it was logged, its field
//! `backtrace=1` marks it) into a buffer the thread's ring keeps and reuses, so once a thread's
//! ring is full a capture allocates nothing. The ring holds the last N records; older ones are
//! overwritten. When the thread logs an error, the ring's records are handed to the transport in
//! the order they were logged, then the error. Records never sent are counted as discarded
//! ([`Stats::backtrace_discarded`](crate::Stats::backtrace_discarded)), never as dropped.
//!
//! One ring per thread serves one logger's rules (the last ones that captured on that thread);
//! its length is the largest capacity configured. New rules start every ring afresh.

use std::cell::RefCell;
use std::sync::atomic::Ordering::Relaxed;

use super::{in_target, Call, Host, Scope};
use crate::severity::Priority;
use crate::stats::Lane;

/// One captured record, rendered.
struct Entry {
    lane: Lane,
    priority: Priority,
    bytes: Vec<u8>,
}

/// A thread's ring.
struct Ring {
    /// The serial of the rules the entries belong to; 0 for none.
    owner: u64,
    entries: Vec<Entry>,
    /// The oldest entry.
    head: usize,
    len: usize,
}

thread_local! {
    static RING: RefCell<Ring> = const {
        RefCell::new(Ring {
            owner: 0,
            entries: Vec::new(),
            head: 0,
            len: 0,
        })
    };
}

/// The configured rings: which records are captured, and how many are kept.
#[derive(Debug)]
pub(crate) struct Backtraces {
    /// Target (`None`: every target) and the least verbose level captured.
    rules: Vec<(Option<String>, log::Level)>,
    capacity: usize,
}

impl Backtraces {
    pub(crate) fn new(rules: Vec<(Scope, usize)>) -> Backtraces {
        Backtraces {
            capacity: rules.iter().map(|&(_, n)| n).max().unwrap_or(0),
            rules: rules
                .into_iter()
                .map(|(s, _)| (s.target, s.level.unwrap_or(log::Level::Trace)))
                .collect(),
        }
    }

    /// Captures `event` into this thread's ring when a rule covers it; `true` when captured (the
    /// caller sends nothing).
    pub(crate) fn capture(&self, owner: u64, host: &dyn Host, event: Call<'_>) -> bool {
        let covered = self.rules.iter().any(|(target, level)| {
            event.level >= *level
                && target
                    .as_deref()
                    .map_or(true, |t| in_target(event.target, t))
        });
        if !covered {
            return false;
        }
        RING.try_with(|ring| {
            // A `Display` impl that logs while its record is being captured: that inner record
            // is sent as usual.
            let Ok(mut ring) = ring.try_borrow_mut() else {
                return false;
            };
            if ring.owner != owner {
                ring.owner = owner;
                ring.head = 0;
                ring.len = 0;
            }
            let cap = self.capacity;
            let index = if ring.len == cap {
                let oldest = ring.head;
                ring.head = (ring.head + 1) % cap;
                oldest
            } else {
                (ring.head + ring.len) % cap
            };
            let mut bytes = match ring.entries.get_mut(index) {
                Some(entry) => std::mem::take(&mut entry.bytes),
                None => Vec::with_capacity(256),
            };
            bytes.clear();
            let Some((lane, priority)) = host.capture(&mut bytes) else {
                // Rendering panicked (counted as a drop); the slot stays as it was.
                if let Some(entry) = ring.entries.get_mut(index) {
                    entry.bytes = bytes;
                }
                if ring.len == cap {
                    ring.head = index;
                }
                return true;
            };
            let entry = Entry {
                lane,
                priority,
                bytes,
            };
            if index < ring.entries.len() {
                ring.entries[index] = entry;
            } else {
                ring.entries.push(entry);
            }
            ring.len = (ring.len + 1).min(cap);
            true
        })
        // The thread is exiting: nothing to keep it in, so it is discarded.
        .unwrap_or(true)
    }

    /// Sends this thread's ring, oldest first, if it holds records of the rules `owner`.
    pub(crate) fn flush(&self, owner: u64, host: &dyn Host) {
        if self.rules.is_empty() {
            return;
        }
        let _ = RING.try_with(|ring| {
            let Ok(mut ring) = ring.try_borrow_mut() else {
                return;
            };
            if ring.owner != owner || ring.len == 0 {
                return;
            }
            let cap = self.capacity;
            for i in 0..ring.len {
                let entry = &ring.entries[(ring.head + i) % cap];
                host.replay(entry.lane, entry.priority, &entry.bytes);
            }
            host.counts()
                .backtrace_sent
                .fetch_add(ring.len as u64, Relaxed);
            ring.head = 0;
            ring.len = 0;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::fake::{call, volume, Fake, Sent};

    #[test]
    fn an_error_sends_the_last_records_first_in_order_and_marked() {
        let v = volume(|b| b.backtrace("db", log::Level::Debug, 3));
        let sent = Sent::default();
        for text in ["d0", "d1", "d2", "d3", "d4"] {
            assert!(!v.admit(&Fake(&sent, text), call(log::Level::Debug, "db::pool", 1)));
        }
        let other = Fake(&sent, "other");
        assert!(
            v.admit(&other, call(log::Level::Debug, "web", 2)),
            "other target"
        );
        assert!(
            v.admit(&other, call(log::Level::Info, "db", 3)),
            "info is sent"
        );
        assert!(sent.lines.borrow().is_empty(), "captured records wait");
        assert!(v.admit(&other, call(log::Level::Error, "web", 4)));
        assert_eq!(
            *sent.lines.borrow(),
            ["d2 backtrace=1", "d3 backtrace=1", "d4 backtrace=1"]
        );
        let counts = &sent.counts;
        let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(
            (load(&counts.captured), load(&counts.backtrace_sent)),
            (5, 3)
        );
        // Sent once: a second error finds the ring empty.
        assert!(v.admit(&other, call(log::Level::Error, "web", 4)));
        assert_eq!(sent.lines.borrow().len(), 3);
    }
}
