//! The span store of the [`Subscriber`](super::Subscriber): a slab of reusable slots holding each
//! span's metadata, parent and recorded fields, and the chain an event renders from it.
//!
//! # Locking
//!
//! - An event outside any span takes no lock: the current-span stack is thread-local.
//! - An event inside a span takes the span table's read lock while the renderer writes the span
//!   chain. No user code runs under it (span field values were copied when they were recorded), so
//!   it is held for microseconds and cannot deadlock with a `Debug` impl that creates a span.
//! - `new_span`, `record` and the last `try_close` of a span take the write lock; `clone_span` and
//!   the other `try_close` calls take the read lock and one atomic operation.
//!
//! # Fork
//!
//! The table is one per process ([`ForkLocal`]): a child forked while another thread held its
//! lock (a span being created or closed) would otherwise wait for that lock forever. A forked
//! child starts with an empty table of its own and never touches the inherited one, so a span id
//! from the parent (one the forking thread had entered, or a `Span` handle it kept) resolves to
//! "no span" there: the child's events do not carry the parent's span fields, and closing such a
//! span is a no-op. Ids carry the low 8 bits of the fork generation, so a parent's id never names
//! a child's span (only a chain of 256 nested forks wraps around).

use std::num::NonZeroU64;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use tracing_core::span::Id;
use tracing_core::Metadata;

use super::fields::SpanFields;
use crate::format::{Fields, Spans};
use crate::sys::fork::{generation, ForkLocal};

/// The span storage: a slab of slots plus a free list, so closed spans' slots (and their field
/// vectors' capacity) are reused; one per process (see the module docs, "Fork").
///
/// A span id is `process << 56 | generation << 32 | (slot index + 1)`, where `process` is the
/// table's fork tag and `generation` the slot's reuse count (24 bits, wrapping): a stale id (a bug
/// in the caller, or a thread-local stack entry outliving its span) never reaches a reused slot's
/// new span, and a parent's id never reaches a child's.
#[derive(Debug)]
pub(super) struct SpanTable {
    inner: ForkLocal<RwLock<Slab>>,
}

impl Default for SpanTable {
    fn default() -> Self {
        SpanTable {
            inner: ForkLocal::new(RwLock::new(Slab::new())),
        }
    }
}

#[derive(Debug)]
struct Slab {
    /// The low 8 bits of the fork generation of the process that made this table.
    process: u8,
    slots: Vec<Slot>,
    /// Indices of free slots.
    free: Vec<usize>,
}

#[derive(Debug)]
struct Slot {
    /// How often the slot was reused, modulo 2^24.
    generation: u32,
    /// Handles to the span: `Span` clones, and each child span (which keeps its parent alive).
    refs: AtomicUsize,
    /// `None` while the slot is free.
    span: Option<SpanData>,
}

#[derive(Debug)]
struct SpanData {
    metadata: &'static Metadata<'static>,
    parent: Option<Id>,
    fields: SpanFields,
}

/// The deepest span chain an event renders; deeper (pathological) chains lose their outermost spans.
pub(super) const MAX_DEPTH: usize = 64;

/// The bits of a slot's reuse count that an id carries.
const GENERATION_MASK: u32 = 0x00FF_FFFF;

/// The low 8 bits of this process's fork generation: the tag of the tables it makes.
fn process_tag() -> u8 {
    generation().to_le_bytes()[0]
}

fn encode(process: u8, index: usize, generation: u32) -> Id {
    let low = (index as u64) + 1;
    let high = u64::from(process) << 24 | u64::from(generation & GENERATION_MASK);
    // `low` is at least 1, so the id is never zero.
    let raw = NonZeroU64::new(high << 32 | low).unwrap_or(NonZeroU64::MIN);
    Id::from_non_zero_u64(raw)
}

/// `(process, slot index, slot generation)`.
fn decode(id: &Id) -> (u8, usize, u32) {
    let raw = id.into_u64();
    // `wrapping_sub`: an id that is not ours (low half 0) maps to a slot that never exists.
    (
        (raw >> 56) as u8,
        ((raw & 0xFFFF_FFFF) as usize).wrapping_sub(1),
        (raw >> 32) as u32 & GENERATION_MASK,
    )
}

// === impl SpanTable ===

impl SpanTable {
    // A panic while a lock was held (only possible in the renderer, which is caught) leaves the
    // table consistent: every mutation below is a single assignment or push.
    fn read(&self) -> RwLockReadGuard<'_, Slab> {
        self.lock().read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Slab> {
        self.lock().write().unwrap_or_else(PoisonError::into_inner)
    }

    /// This process's table; a forked child's first call replaces the inherited one, without
    /// reading it (its lock may be held by a thread that does not exist in the child).
    fn lock(&self) -> &RwLock<Slab> {
        self.inner.get_or_replace(|_| RwLock::new(Slab::new()))
    }

    pub(super) fn insert(
        &self,
        metadata: &'static Metadata<'static>,
        parent: Option<Id>,
        fields: SpanFields,
    ) -> Id {
        let mut slab = self.write();
        // The child holds a reference to its parent, so the parent's fields outlive the parent's
        // last `Span` handle for as long as the child exists (the registry does the same).
        let parent = parent.filter(|p| match slab.get(p) {
            Some(slot) => {
                slot.refs.fetch_add(1, Ordering::Relaxed);
                true
            }
            None => false,
        });
        let data = SpanData {
            metadata,
            parent,
            fields,
        };
        // Span ids are limited to 2^32 - 1 live slots by the encoding; past that (never in
        // practice) slot 0 would be shared, so new spans are created without storage instead.
        let index = match slab.free.pop() {
            Some(index) => index,
            None if slab.slots.len() < u32::MAX as usize - 1 => {
                slab.slots.push(Slot {
                    generation: 0,
                    refs: AtomicUsize::new(0),
                    span: None,
                });
                slab.slots.len() - 1
            }
            None => return encode(slab.process, u32::MAX as usize - 1, GENERATION_MASK),
        };
        let process = slab.process;
        let slot = &mut slab.slots[index];
        slot.refs = AtomicUsize::new(1);
        slot.span = Some(data);
        encode(process, index, slot.generation)
    }

    pub(super) fn update(&self, id: &Id, update: SpanFields) {
        let mut slab = self.write();
        if let Some(span) = slab.get_mut(id) {
            span.fields.merge(update);
        }
    }

    pub(super) fn metadata(&self, id: &Id) -> Option<&'static Metadata<'static>> {
        let slab = self.read();
        let slot = slab.get(id)?;
        slot.span.as_ref().map(|s| s.metadata)
    }

    pub(super) fn clone_span(&self, id: &Id) {
        if let Some(slot) = self.read().get(id) {
            slot.refs.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Drops one reference; frees the span (and releases its parent) when it was the last.
    pub(super) fn try_close(&self, id: Id) -> bool {
        let mut next = Some(id);
        let mut closed_first = None;
        // A loop rather than recursion: closing a leaf may close a long chain of parents.
        while let Some(id) = next.take() {
            let last = match self.read().get(&id) {
                // AcqRel: the thread that frees the slot must see every other thread's use of it.
                Some(slot) => slot.refs.fetch_sub(1, Ordering::AcqRel) == 1,
                None => false,
            };
            closed_first.get_or_insert(last);
            if !last {
                break;
            }
            let mut slab = self.write();
            let (_, index, _) = decode(&id);
            // Re-checked under the write lock: a child created in between (from a stale id; never
            // through a live `Span`) may have taken a reference again, and then the span stays.
            match slab.get(&id) {
                Some(slot) if slot.refs.load(Ordering::Acquire) == 0 => {}
                _ => break,
            }
            let slot = &mut slab.slots[index];
            let span = slot.span.take();
            slot.generation = slot.generation.wrapping_add(1) & GENERATION_MASK;
            slab.free.push(index);
            drop(slab);
            next = span.and_then(|s| s.parent);
        }
        closed_first.unwrap_or(false)
    }

    /// How many span slots exist (live or free). Bounded by the most spans alive at once.
    #[cfg(test)]
    pub(super) fn slots(&self) -> usize {
        self.read().slots.len()
    }

    /// How many spans are open.
    pub(super) fn live(&self) -> usize {
        let slab = self.read();
        slab.slots.len() - slab.free.len()
    }
}

// === impl Slab ===

impl Slab {
    fn new() -> Self {
        Slab {
            process: process_tag(),
            slots: Vec::new(),
            free: Vec::new(),
        }
    }

    /// The live slot `id` names, if it is this process's and its generation still matches.
    fn get(&self, id: &Id) -> Option<&Slot> {
        let (process, index, generation) = decode(id);
        if process != self.process {
            return None;
        }
        self.slots
            .get(index)
            .filter(|slot| slot.generation == generation && slot.span.is_some())
    }

    fn get_mut(&mut self, id: &Id) -> Option<&mut SpanData> {
        let (process, index, generation) = decode(id);
        if process != self.process {
            return None;
        }
        self.slots
            .get_mut(index)
            .filter(|slot| slot.generation == generation)
            .and_then(|slot| slot.span.as_mut())
    }

    /// Calls `visitor` for the chain ending at `id`, outermost first. Recursion instead of a
    /// collected list, so rendering a chain allocates nothing.
    fn visit_chain(&self, id: &Id, depth: usize, visitor: &mut dyn FnMut(&str, &dyn Fields)) {
        let Some(span) = self.get(id).and_then(|slot| slot.span.as_ref()) else {
            return;
        };
        if depth < MAX_DEPTH {
            if let Some(parent) = &span.parent {
                self.visit_chain(parent, depth + 1, visitor);
            }
        }
        visitor(span.metadata.name(), &span.fields);
    }
}

/// An event's span chain, read under the table's read lock while the renderer walks it.
pub(super) struct SpanChain<'a> {
    pub(super) table: &'a SpanTable,
    pub(super) leaf: Id,
}

impl Spans for SpanChain<'_> {
    fn visit(&self, visitor: &mut dyn FnMut(&str, &dyn Fields)) {
        self.table.read().visit_chain(&self.leaf, 0, visitor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracing::tests::{current_chain, kv, live, with_sub, Sink};
    use crate::tracing::Subscriber;
    use std::sync::mpsc;
    use std::time::Duration;
    use tracing::dispatcher;

    #[test]
    fn nested_spans_chain_outermost_first_with_recorded_fields() {
        let sink = Sink::new();
        dispatcher::with_default(&sink.dispatch("info"), || {
            let outer = tracing::info_span!("req", method = "GET", user = tracing::field::Empty);
            let _o = outer.enter();
            outer.record("user", "bob");
            let inner = tracing::info_span!("db", table = "users", rows = 3u64, ok = true);
            let _i = inner.enter();
            assert_eq!(
                current_chain(),
                vec![
                    ("req".to_owned(), kv(&[("method", "GET"), ("user", "bob")])),
                    (
                        "db".to_owned(),
                        kv(&[("table", "users"), ("rows", "3"), ("ok", "true")])
                    ),
                ]
            );
            outer.record("method", "POST");
            assert_eq!(current_chain()[0].1[0], ("method".into(), "POST".into()));
            tracing::info!(n = 1, "inside");
        });
        assert!(sink.recv().contains("inside"));
    }

    #[test]
    fn clone_and_close_count_references() {
        let sink = Sink::new();
        dispatcher::with_default(&sink.dispatch("info"), || {
            let span = tracing::info_span!("a");
            let copy = span.clone();
            assert_eq!(live(), 1);
            drop(span);
            assert_eq!(live(), 1, "the clone keeps it open");
            drop(copy);
            assert_eq!(live(), 0);

            // A child keeps its parent's fields alive after the parent's last handle is gone.
            let parent = tracing::info_span!("parent", p = 1);
            let child = tracing::info_span!(parent: &parent, "child");
            drop(parent);
            assert_eq!(live(), 2);
            let _e = child.enter();
            assert_eq!(current_chain()[0], ("parent".to_owned(), kv(&[("p", "1")])));
            drop(_e);
            drop(child);
            assert_eq!(live(), 0);
        });
    }

    #[test]
    fn closed_span_ids_are_reused_with_a_new_generation() {
        let sink = Sink::new();
        dispatcher::with_default(&sink.dispatch("info"), || {
            let first = tracing::info_span!("a").id().unwrap();
            let second = tracing::info_span!("b").id().unwrap();
            assert_eq!(decode(&first).1, decode(&second).1, "same slot");
            assert_ne!(first, second, "different generation");
            with_sub(|sub| {
                assert!(sub.spans.metadata(&first).is_none(), "stale id");
                assert_eq!(sub.spans.slots(), 1);
            });
        });
    }

    #[test]
    fn an_id_from_another_process_names_no_span() {
        let sink = Sink::new();
        dispatcher::with_default(&sink.dispatch("info"), || {
            let span = tracing::info_span!("mine");
            let id = span.id().unwrap();
            let (process, index, generation) = decode(&id);
            // The same slot and generation, tagged as a parent's (or a child's) id.
            let foreign = encode(process.wrapping_add(1), index, generation);
            with_sub(|sub| {
                assert!(sub.spans.metadata(&id).is_some());
                assert!(sub.spans.metadata(&foreign).is_none());
                assert!(!sub.spans.try_close(foreign.clone()), "not ours to close");
                assert_eq!(sub.spans.live(), 1);
            });
        });
    }

    #[test]
    fn million_spans_across_threads_keep_the_table_bounded() {
        let sink = Sink::new();
        let dispatch = sink.dispatch("info");
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let dispatch = dispatch.clone();
                std::thread::spawn(move || {
                    dispatcher::with_default(&dispatch, || {
                        for i in 0..125_000u64 {
                            let outer = tracing::info_span!("outer", t, i);
                            let _e = outer.enter();
                            let inner = tracing::info_span!("inner");
                            drop(inner);
                        }
                    })
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let sub = dispatch.downcast_ref::<Subscriber>().unwrap();
        assert_eq!(sub.spans.live(), 0);
        // At most two spans per thread are ever open at once.
        assert!(sub.spans.slots() <= 8, "{} slots", sub.spans.slots());
    }

    #[test]
    fn events_outside_spans_take_no_lock() {
        let sink = Sink::new();
        let dispatch = sink.dispatch("info");
        let sub = dispatch.downcast_ref::<Subscriber>().unwrap();
        let held = sub.spans.write();
        let (tx, rx) = mpsc::channel();
        let thread = {
            let dispatch = dispatch.clone();
            std::thread::spawn(move || {
                dispatcher::with_default(&dispatch, || tracing::info!("no span"));
                tx.send(()).unwrap();
            })
        };
        let sent = rx.recv_timeout(Duration::from_secs(10));
        drop(held);
        thread.join().unwrap();
        assert!(sent.is_ok(), "the event waited for the span table lock");
        assert!(sink.recv().contains("no span"));
    }
}
