//! A global allocator that counts allocations per thread, so a test can tell the caller's
//! allocations from the background writer's.
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOCATOR: fastsyslog_testkit::alloc::CountingAllocator =
//!     fastsyslog_testkit::alloc::CountingAllocator;
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    /// Allocations (and reallocations) made by this thread. `const` and `Cell`: no lazy
    /// initialisation and no destructor, so using it inside the allocator cannot recurse.
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

/// Counts allocations and reallocations per thread and forwards everything to [`System`].
#[derive(Debug)]
pub struct CountingAllocator;

/// Allocations and reallocations made by the calling thread so far under [`CountingAllocator`].
pub fn thread_allocations() -> u64 {
    ALLOCS.with(Cell::get)
}

// SAFETY: every method forwards to `System` with the arguments it was given, so `System`'s
// guarantees hold unchanged; counting touches only a `const` thread-local `Cell`.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // During thread teardown the slot may be gone; that allocation is then not counted.
        let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract (non-zero size), which is
        // passed through unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (every allocation goes through `alloc` or
        // `realloc` here) with this `layout`, as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counted as in `alloc`; see there for `try_with`.
        let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: `ptr`/`layout` describe a live `System` allocation and `new_size` is valid, as
        // the caller guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
