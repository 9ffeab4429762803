//! A value replaced whole at run time and read without a lock: [`Reloadable`] keeps it in an
//! `ArcSwap` with a generation counter, and each thread keeps the value it last used in a
//! one-slot cache ([`Slot`]) checked against that generation, so a read is one atomic load and a
//! thread-local lookup. Used by the filter directives and the log-volume rules.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::LocalKey;

use arc_swap::ArcSwap;

/// A thread's cached value: (reloadable id, generation, value). Each kind of value has its own
/// `thread_local!` slot, handed to [`Reloadable::with`].
pub(crate) type Slot<T> = RefCell<Option<(u64, u64, Arc<T>)>>;

/// Hands out [`Reloadable`] ids, which tell values apart in the threads' caches.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// See the module docs.
pub(crate) struct Reloadable<T> {
    id: u64,
    /// Bumped after each [`store`](Reloadable::store), so cached values are known to be stale.
    generation: AtomicU64,
    current: ArcSwap<T>,
}

impl<T: std::fmt::Debug> std::fmt::Debug for Reloadable<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Reloadable")
            .field(&*self.current.load())
            .finish()
    }
}

// === impl Reloadable ===

impl<T> Reloadable<T> {
    pub(crate) fn new(value: T) -> Self {
        Reloadable {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            generation: AtomicU64::new(0),
            current: ArcSwap::from_pointee(value),
        }
    }

    /// Runs `f` on the current value, from this thread's `cache` when it is fresh. No lock, no
    /// allocation on the cached path.
    #[inline]
    pub(crate) fn with<R>(&self, cache: &'static LocalKey<Slot<T>>, f: impl FnOnce(&T) -> R) -> R {
        let generation = self.generation.load(Ordering::Acquire);
        let mut f = Some(f);
        let cached = cache
            .try_with(|slot| {
                let slot = slot.try_borrow().ok()?;
                match &*slot {
                    Some((id, g, value)) if *id == self.id && *g == generation => {
                        f.take().map(|f| f(value))
                    }
                    _ => None,
                }
            })
            .ok()
            .flatten();
        match (cached, f) {
            (Some(result), _) => result,
            (None, Some(f)) => self.with_uncached(cache, generation, f),
            // `f` was taken only where a result was produced.
            (None, None) => unreachable!("the cached path returned a result"),
        }
    }

    /// [`with`](Reloadable::with) after a change or a switch of values on this thread: reads the
    /// swap and caches what it found. A thread being torn down, or a re-entrant call, just does
    /// not cache.
    #[cold]
    fn with_uncached<R>(
        &self,
        cache: &'static LocalKey<Slot<T>>,
        generation: u64,
        f: impl FnOnce(&T) -> R,
    ) -> R {
        let value = self.current.load_full();
        let _ = cache.try_with(|slot| {
            if let Ok(mut slot) = slot.try_borrow_mut() {
                *slot = Some((self.id, generation, Arc::clone(&value)));
            }
        });
        f(&value)
    }

    /// The current value, read from the swap (not the thread's cache).
    pub(crate) fn load(&self) -> Arc<T> {
        self.current.load_full()
    }

    /// Replaces the value; every thread sees it on its next read.
    pub(crate) fn store(&self, value: T) {
        self.current.store(Arc::new(value));
        // After the store, with Release: a thread that sees the new generation finds the new
        // value in the swap.
        self.generation.fetch_add(1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static SLOT: Slot<u32> = const { RefCell::new(None) };
    }

    #[test]
    fn a_store_is_seen_by_the_next_read_and_values_do_not_share_a_cache() {
        let a = Reloadable::new(1);
        let b = Reloadable::new(10);
        assert_eq!(a.with(&SLOT, |v| *v), 1);
        assert_eq!(
            b.with(&SLOT, |v| *v),
            10,
            "b must not read a's cached value"
        );
        assert_eq!(a.with(&SLOT, |v| *v), 1);
        a.store(2);
        assert_eq!(
            a.with(&SLOT, |v| *v),
            2,
            "a store must invalidate the cache"
        );
        assert_eq!(*a.load(), 2);
    }

    #[test]
    fn a_reentrant_read_still_reads() {
        let a = Reloadable::new(5);
        let inner = a.with(&SLOT, |outer| *outer + a.with(&SLOT, |inner| *inner));
        assert_eq!(inner, 10);
    }
}
