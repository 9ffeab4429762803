//! Bounded waiting: call a probe until it returns `Some`, a fixed number of times.

use std::time::Duration;

/// How many times [`retry`] tries.
pub const RETRIES: u32 = 30;
/// How long [`retry`] waits between tries.
pub const RETRY_INTERVAL: Duration = Duration::from_millis(100);

/// Calls `f` until it returns `Some`, up to [`RETRIES`] times [`RETRY_INTERVAL`] apart (about 3 s).
/// The way to wait for the daemon's files; never a fixed sleep.
pub fn retry<T>(f: impl FnMut() -> Option<T>) -> Option<T> {
    retry_n(RETRIES, RETRY_INTERVAL, f)
}

/// Like [`retry`] with a custom number of tries (for slower things such as a daemon's start).
pub fn retry_n<T>(tries: u32, interval: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    for i in 0..tries {
        if let Some(v) = f() {
            return Some(v);
        }
        if i + 1 < tries {
            std::thread::sleep(interval);
        }
    }
    None
}
