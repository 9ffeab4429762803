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
//! One ring per thread serves one logger (the last one that captured on that thread); its length
//! is the largest capacity configured.

use std::cell::RefCell;
use std::sync::atomic::Ordering::Relaxed;

use super::{in_target, Scope, Volume};
use crate::format::{Fields, Value};
use crate::pipeline::{Event, Pipeline};
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
    /// The [`Volume`] the entries belong to (its address); 0 for none.
    owner: usize,
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

/// A record's fields with `backtrace=1` after them.
struct Marked<'a>(&'a dyn Fields);

impl Fields for Marked<'_> {
    fn visit(&self, visitor: &mut dyn FnMut(&str, Value<'_>)) {
        self.0.visit(visitor);
        visitor("backtrace", Value::U64(1));
    }
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
    pub(crate) fn capture(&self, volume: &Volume, pipeline: &Pipeline, event: &Event<'_>) -> bool {
        let covered = self.rules.iter().any(|(target, level)| {
            event.level >= *level
                && target
                    .as_deref()
                    .map_or(true, |t| in_target(event.target, t))
        });
        if !covered {
            return false;
        }
        let owner = volume as *const Volume as usize;
        let marked = Marked(event.fields);
        let marked = Event {
            level: event.level,
            target: event.target,
            message: event.message,
            fields: &marked,
            spans: event.spans,
            location: event.location,
        };
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
            let Some(priority) = pipeline.deliver(&marked, Some(&mut bytes)) else {
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
                lane: Lane::for_level(event.level),
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

    /// Sends this thread's ring, oldest first, if it holds records of `volume`'s logger.
    pub(crate) fn flush(&self, volume: &Volume, pipeline: &Pipeline) {
        if self.rules.is_empty() {
            return;
        }
        let owner = volume as *const Volume as usize;
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
                pipeline.send_rendered(entry.lane, entry.priority, &entry.bytes);
            }
            pipeline
                .counters
                .volume
                .backtrace_sent
                .fetch_add(ring.len as u64, Relaxed);
            ring.head = 0;
            ring.len = 0;
        });
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixDatagram;

    use super::*;
    use crate::format::{Message, NoFields};
    use crate::{Builder, Mode};

    fn event(
        level: log::Level,
        target: &'static str,
        text: &'static &'static str,
    ) -> Event<'static> {
        Event {
            level,
            target,
            message: Message::Display(text),
            fields: &NoFields,
            spans: None,
            location: None,
        }
    }

    fn received(rx: &UnixDatagram) -> Vec<String> {
        rx.set_nonblocking(true).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = rx.recv(&mut buf) {
            out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        out
    }

    #[test]
    fn an_error_sends_the_last_records_first_in_order_and_marked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sock");
        let rx = UnixDatagram::bind(&path).unwrap();
        let p = Builder::new()
            .socket(&path)
            .mode(Mode::Sync)
            .filter("trace")
            .backtrace("db", log::Level::Debug, 3)
            .build_pipeline()
            .unwrap();
        const TEXTS: [&str; 5] = ["d0", "d1", "d2", "d3", "d4"];
        for text in &TEXTS {
            p.dispatch(&event(log::Level::Debug, "db::pool", text));
        }
        p.dispatch(&event(log::Level::Debug, "web", &"other target"));
        p.dispatch(&event(log::Level::Info, "db", &"info is sent"));
        assert_eq!(received(&rx).len(), 2, "captured records wait");
        p.dispatch(&event(log::Level::Error, "web", &"boom"));
        let got = received(&rx);
        assert_eq!(got.len(), 4, "{got:?}");
        for (line, want) in got
            .iter()
            .zip(["d2 backtrace=1", "d3 backtrace=1", "d4 backtrace=1"])
        {
            assert!(line.ends_with(want), "{want} ends {line}");
            assert_eq!(line.matches("backtrace=1").count(), 1, "one record: {line}");
        }
        assert!(got[3].ends_with("boom"), "{got:?}");
        let stats = p.stats();
        assert_eq!((stats.backtrace_sent, stats.backtrace_discarded), (3, 2));
        // Sent once: a second error finds the ring empty.
        p.dispatch(&event(log::Level::Error, "web", &"boom again"));
        assert_eq!(received(&rx).len(), 1);
    }
}
