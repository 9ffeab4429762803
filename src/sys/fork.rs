//! Fork awareness: the cached pid, the fork generation, the atfork child handler, the watches on
//! glibc locks a child may inherit held, and [`ForkLocal`], one value per process.
//!
//! Everything the child handler touches is an atomic: it runs right after `fork()`, where only
//! async-signal-safe work is allowed.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};
use std::sync::Once;

/// The cached pid; 0 means "not read since start-up or the last fork".
static PID: AtomicU32 = AtomicU32::new(0);
/// Bumped in every forked child, so per-process state (writer thread, sockets) can notice a fork.
/// `u32::MAX` means the handler could not be installed: the pid is then re-read on every call.
static FORK_GENERATION: AtomicU32 = AtomicU32::new(0);
static ATFORK: Once = Once::new();

// === glibc's locks across fork ===
//
// glibc (verified with 2.36) does not reset its syslog lock or its time-zone lock in a forked
// child: a child forked while any thread was inside `openlog(3)`/`syslog(3)` or `localtime_r(3)`
// (`syslog(3)` calls it for its header) inherits the lock held by a thread that does not exist
// there, and its own next call deadlocks. Any library can hold them (chrono's `Local` calls
// `localtime_r`), and the crate sees only its own calls. So:
//
// - every call the crate makes is counted in a `LockWatch`; the child handler turns a non-zero
//   count into a poisoned flag, and a poisoned lock is never asked for again;
// - in any forked child ([`forked`]) the crate never calls `openlog(3)`/`syslog(3)` (the libc
//   transport sends through its own socket), whoever may have held the lock;
// - in a forked child, `localtime_r(3)` is first called on a probe thread with a bound
//   (`sys::time`): if the probe returns, no dead thread holds the lock and the child may call it;
//   if not, the lock is poisoned and the clock uses its own arithmetic.
//
// Forks made before the crate's first use (before the handler is installed) are not counted.

/// Counts the crate's calls that hold one glibc lock, and remembers in a child whether one was
/// running at the fork.
#[derive(Debug)]
pub(crate) struct LockWatch {
    /// How many watched calls are running now, in every thread. A forked child sees the count at
    /// the moment of `fork()`; the child handler resets it.
    active: AtomicU32,
    /// Set in a forked child whose parent had a thread inside a watched call at the fork: the lock
    /// may be held forever in this process (and in its own children, which inherit the flag).
    /// Never cleared.
    poisoned: AtomicBool,
}

/// glibc's syslog lock, taken by `openlog(3)` and `syslog(3)`.
pub(crate) static SYSLOG_LOCK: LockWatch = LockWatch::new();
/// glibc's time-zone lock, taken by `localtime_r(3)` and by `syslog(3)` for its header.
pub(crate) static TZ_LOCK: LockWatch = LockWatch::new();

impl LockWatch {
    const fn new() -> Self {
        LockWatch {
            active: AtomicU32::new(0),
            poisoned: AtomicBool::new(false),
        }
    }

    /// Marks one watched call from now until the returned guard drops. SeqCst, so a `fork()` that
    /// happens while the call can hold the lock always sees a non-zero count; a fork just after the
    /// call returns may see it too, which only costs that child the fallback.
    pub(crate) fn enter(&'static self) -> Watched {
        install_atfork();
        self.active.fetch_add(1, Ordering::SeqCst);
        Watched(self)
    }

    /// Whether the lock may be held forever in this process, so it must not be asked for.
    pub(crate) fn poisoned(&self) -> bool {
        self.poisoned.load(Ordering::SeqCst)
    }

    /// Marks the lock as possibly held forever in this process (and in its future children): a
    /// probe found it taken by a thread that did not let go within the probe's bound.
    pub(crate) fn poison(&self) {
        self.poisoned.store(true, Ordering::SeqCst);
    }

    /// In the child handler: whether a watched call was running at the fork; resets the count.
    fn reset_in_child(&self) -> bool {
        let was_active = self.active.swap(0, Ordering::SeqCst) != 0;
        if was_active {
            self.poisoned.store(true, Ordering::SeqCst);
        }
        was_active
    }
}

/// One running watched call; see [`LockWatch::enter`].
#[derive(Debug)]
pub(crate) struct Watched(&'static LockWatch);

impl Drop for Watched {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

extern "C" fn after_fork_in_child() {
    // Only atomics here (see the module docs).
    PID.store(0, Ordering::Relaxed);
    FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
    // The threads counted in the watches do not exist in the child; their calls never finish.
    let in_syslog = SYSLOG_LOCK.reset_in_child();
    let in_localtime = TZ_LOCK.reset_in_child();
    // syslog(3) breaks down the time under glibc's time-zone lock too.
    if in_syslog && !in_localtime {
        TZ_LOCK.poisoned.store(true, Ordering::SeqCst);
    }
    // Stats files: the child's counters leave the parent's mapping before anything can bump them.
    super::shm::after_fork_in_child();
}

fn install_atfork() {
    ATFORK.call_once(|| {
        // SAFETY: the child handler is an `extern "C" fn()` that lives for the whole program and
        // only touches atomics (async-signal-safe); the prepare and parent handlers are null, which
        // pthread_atfork allows. A failure (ENOMEM) only means the pid is re-read on every call.
        let rc = unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
        if rc != 0 {
            FORK_GENERATION.store(u32::MAX, Ordering::Relaxed);
        }
    });
}

/// Starts counting forks (installs the atfork child handler) if not done yet. Called when a
/// transport is opened, so every fork after the first logger is built is seen, even by a process
/// that has not logged yet.
pub(crate) fn track_forks() {
    install_atfork();
}

/// The current process id, cached until the next fork.
pub(crate) fn pid() -> u32 {
    let cached = PID.load(Ordering::Relaxed);
    if cached != 0 && FORK_GENERATION.load(Ordering::Relaxed) != u32::MAX {
        return cached;
    }
    install_atfork();
    let pid = std::process::id();
    PID.store(pid, Ordering::Relaxed);
    pid
}

/// How many forks this process is removed from the one that first asked (changes in a forked
/// child).
pub(crate) fn generation() -> u32 {
    install_atfork();
    FORK_GENERATION.load(Ordering::Relaxed)
}

/// Whether this process may have been forked from the one where the crate started (or a fork could
/// not be tracked, because the handler could not be installed): glibc's syslog lock may then be
/// held by a thread that does not exist here.
pub(crate) fn forked() -> bool {
    generation() != 0
}

// === ForkLocal ===

/// One value per process: a forked child replaces the value it inherited with its own, and never
/// touches the inherited one, whose locks another thread of the parent may have held at fork time.
///
/// Readers pay one acquire load plus the relaxed [`generation`] load. The inherited value is
/// leaked in the child (its destructor could block on such a lock); only a value created in the
/// current process is dropped.
pub(crate) struct ForkLocal<T: Send + Sync + 'static> {
    /// Always a pointer from `Box::into_raw`, never null, never freed while `self` is alive.
    ptr: AtomicPtr<ForkSlot<T>>,
}

/// A value and the fork generation of the process that created it.
struct ForkSlot<T> {
    generation: u32,
    value: T,
}

impl<T: Send + Sync + 'static> ForkLocal<T> {
    /// Wraps `value`, created in the current process.
    pub(crate) fn new(value: T) -> Self {
        let slot = Box::new(ForkSlot {
            generation: generation(),
            value,
        });
        ForkLocal {
            ptr: AtomicPtr::new(Box::into_raw(slot)),
        }
    }

    fn slot(&self) -> &ForkSlot<T> {
        let ptr = self.ptr.load(Ordering::Acquire);
        // SAFETY: `ptr` came from `Box::into_raw` (in `new` or `get_or_replace`) and was published
        // with a release store or CAS, which the acquire load above pairs with, so the slot is fully
        // initialised. A slot is freed only in `Drop`, which has `&mut self`, so it outlives this
        // `&self` borrow; replaced slots are leaked, never freed. `T: Sync` makes sharing `&T`
        // between threads sound.
        unsafe { &*ptr }
    }

    /// The value for this process: the current one, or, in a forked child that has not replaced
    /// the inherited value yet, a new one from `make(previous)`. When two threads of the child
    /// race, one value wins and the other is dropped.
    pub(crate) fn get_or_replace(&self, make: impl FnOnce(&T) -> T) -> &T {
        let generation = generation();
        let current = self.slot();
        if current.generation == generation {
            return &current.value;
        }
        let new = Box::into_raw(Box::new(ForkSlot {
            generation,
            value: make(&current.value),
        }));
        let expected = (current as *const ForkSlot<T>).cast_mut();
        match self
            .ptr
            .compare_exchange(expected, new, Ordering::AcqRel, Ordering::Acquire)
        {
            // The inherited slot is leaked on purpose (see the type's docs).
            Ok(_) => &self.slot().value,
            Err(_) => {
                // SAFETY: `new` came from `Box::into_raw` just above and the failed CAS did not
                // publish it, so this thread owns it exclusively and frees it exactly once.
                drop(unsafe { Box::from_raw(new) });
                &self.slot().value
            }
        }
    }
}

impl<T: Send + Sync + 'static> Drop for ForkLocal<T> {
    fn drop(&mut self) {
        let ptr = *self.ptr.get_mut();
        // SAFETY: `ptr` is a live slot from `Box::into_raw` (see `slot`) and `&mut self` means no
        // borrow of it remains; it is only read here.
        let generation = unsafe { (*ptr).generation };
        if generation == self::generation() {
            // SAFETY: as above, and the slot was created in this process, so nothing else frees
            // it: ownership moves back into a Box that is dropped once.
            drop(unsafe { Box::from_raw(ptr) });
        }
        // Otherwise it was inherited through fork(): leaked, see the type's docs.
    }
}

impl<T: Send + Sync + std::fmt::Debug + 'static> std::fmt::Debug for ForkLocal<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ForkLocal")
            .field(&self.slot().value)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_matches_std() {
        assert_eq!(pid(), std::process::id());
        assert_eq!(pid(), std::process::id());
    }

    #[test]
    fn a_watch_counts_running_calls() {
        static WATCH: LockWatch = LockWatch::new();
        let outer = WATCH.enter();
        let inner = WATCH.enter();
        assert_eq!(WATCH.active.load(Ordering::SeqCst), 2);
        drop(inner);
        drop(outer);
        assert_eq!(WATCH.active.load(Ordering::SeqCst), 0);
        assert!(!WATCH.poisoned());
    }

    #[test]
    fn a_watch_active_at_fork_poisons_the_child_only() {
        static WATCH: LockWatch = LockWatch::new();
        let running = WATCH.enter();
        // What the child handler does to the watch it inherits.
        assert!(WATCH.reset_in_child());
        assert!(WATCH.poisoned());
        assert_eq!(WATCH.active.load(Ordering::SeqCst), 0);
        // The guard's drop in the "child" must not wrap the reset count below zero.
        std::mem::forget(running);
        assert!(!WATCH.reset_in_child());
    }

    #[test]
    fn fork_local_keeps_the_value_of_this_process() {
        let local = ForkLocal::new(7);
        assert_eq!(*local.get_or_replace(|_| 8), 7);
    }
}
