//! `atexit(3)`: a hook that runs when the process exits normally.
//!
//! `exit(3)` (which `std::process::exit` and a return from `main` call) runs the hooks; `_exit(2)`,
//! `abort(3)` and fatal signals do not. A forked child inherits the registration with the rest of
//! the process's memory, so the hook is registered once per process tree and runs in every process
//! of it that exits normally.

use std::sync::Once;

static REGISTER: Once = Once::new();

/// Registers `hook` with `atexit(3)`, once per process tree; later calls do nothing. Returns
/// whether the hook is registered (false when `atexit` failed, which only happens on exhaustion).
pub(crate) fn at_exit(hook: extern "C" fn()) -> bool {
    static REGISTERED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    REGISTER.call_once(|| {
        // SAFETY: `hook` is an `extern "C" fn()` with no arguments, valid for the whole program (a
        // fn item, never unloaded), which is all atexit requires. It is registered once, so it runs
        // once per exit; what it does is the caller's concern (it must not unwind, and it must be
        // safe to run in a forked child, which inherits the registration).
        let rc = unsafe { libc::atexit(hook) };
        REGISTERED.store(rc == 0, std::sync::atomic::Ordering::Relaxed);
    });
    REGISTERED.load(std::sync::atomic::Ordering::Relaxed)
}
