//! A wall clock for message headers that calls into the C library's time-zone code at most once per
//! second per thread.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::format::Timestamp;

thread_local! {
    /// The last second this thread broke down, and its result.
    static CACHE: Cell<Option<(i64, Timestamp)>> = const { Cell::new(None) };
}

/// The epoch as a fallback when the clock is before 1970 or the C library cannot break it down.
const EPOCH: Timestamp = Timestamp {
    year: 1970,
    month: 1,
    day: 1,
    hour: 0,
    minute: 0,
    second: 0,
    micros: 0,
    utc_offset: 0,
};

/// The current local time. Within one second this is a `clock_gettime` and a thread-local read; the
/// `localtime_r` call (which takes glibc's time-zone lock) happens once per second per thread.
pub(crate) fn now() -> Timestamp {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
    let micros = since.subsec_micros();
    let slow = || breakdown(secs, micros);
    // `try_with` because this can run during thread teardown (a `Drop` that logs).
    CACHE
        .try_with(|cache| match cache.get() {
            Some((cached, mut ts)) if cached == secs => {
                ts.micros = micros;
                ts
            }
            _ => {
                let ts = slow();
                cache.set(Some((secs, ts)));
                ts
            }
        })
        .unwrap_or_else(|_| slow())
}

#[cfg(unix)]
fn breakdown(secs: i64, micros: u32) -> Timestamp {
    crate::transport::libc::local_time(secs, micros).unwrap_or(EPOCH)
}

#[cfg(not(unix))]
fn breakdown(_secs: i64, _micros: u32) -> Timestamp {
    EPOCH
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_plausible_and_cached_per_second() {
        let a = now();
        let b = now();
        assert!(a.year >= 2024, "{a:?}");
        assert!((1..=12).contains(&a.month) && (1..=31).contains(&a.day));
        assert!(b.micros < 1_000_000);
        assert_eq!(a.utc_offset, b.utc_offset);
    }
}
