//! Local time from the C library (`localtime_r(3)`, watched for fork, probed in a forked child)
//! and the coarse real-time clock.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use super::fork::{generation, TZ_LOCK};
pub(crate) use super::LocalTime;

/// The fork generation of the last process in this lineage known to be able to call
/// `localtime_r(3)`: the one the crate started in (0), or a forked child whose probe returned.
static TZ_CLEAR: AtomicU32 = AtomicU32::new(0);
/// The fork generation of the process whose probe has started (one probe per process).
static TZ_PROBED: AtomicU32 = AtomicU32::new(0);
/// How long a forked child's first breakdown waits for its probe. A free lock answers in tens of
/// microseconds (a thread spawn and one call); this leaves room for a loaded machine.
const PROBE_LIMIT: Duration = Duration::from_millis(50);

/// `secs` since the Unix epoch in the local time zone, or `None` if the C library cannot represent
/// it, or must not be asked because its time-zone lock may be held forever in this process.
///
/// In a forked child, the first call asks on a probe thread and waits at most [`PROBE_LIMIT`]:
/// the lock may be held by a thread of the parent (any library's `localtime_r`) that does not
/// exist here. If the probe answers, the lock is free for good in this process; if not, it is
/// poisoned (the probe thread stays blocked) and every call returns `None`. Calls made while
/// another thread's probe runs return `None` too.
pub(crate) fn local_time(secs: i64) -> Option<LocalTime> {
    if TZ_LOCK.poisoned() {
        return None;
    }
    // `time_t` is `i64` on most targets (a no-op conversion there) but `i32` on some 32-bit ones.
    #[allow(clippy::useless_conversion)]
    let t: libc::time_t = secs.try_into().ok()?;
    let generation = generation();
    if TZ_CLEAR.load(Ordering::Acquire) != generation {
        return probe(t, generation);
    }
    watched_breakdown(t)
}

/// A forked child's first `localtime_r(t)`, on a thread of its own (see [`local_time`]).
fn probe(t: libc::time_t, generation: u32) -> Option<LocalTime> {
    if TZ_PROBED.swap(generation, Ordering::AcqRel) == generation {
        // Another thread of this process probes (or a failed spawn gave up): do without.
        return None;
    }
    let (tx, rx) = mpsc::sync_channel(1);
    let spawned = std::thread::Builder::new()
        .name("fastsyslog-tz-probe".into())
        .spawn(move || {
            // The receiver may have given up; then nobody needs the answer.
            let _ = tx.send(watched_breakdown(t));
        });
    if spawned.is_err() {
        return None;
    }
    match rx.recv_timeout(PROBE_LIMIT) {
        Ok(answer) => {
            TZ_CLEAR.store(generation, Ordering::Release);
            answer
        }
        Err(_) => {
            TZ_LOCK.poison();
            None
        }
    }
}

/// `localtime_r(t)` under the fork watch, broken down.
fn watched_breakdown(t: libc::time_t) -> Option<LocalTime> {
    let tm = {
        let _watched = TZ_LOCK.enter();
        localtime_r(t)?
    };
    Some(LocalTime {
        year: tm.tm_year.checked_add(1900)?,
        month: u8::try_from(tm.tm_mon + 1).ok()?,
        day: u8::try_from(tm.tm_mday).ok()?,
        hour: u8::try_from(tm.tm_hour).ok()?,
        minute: u8::try_from(tm.tm_min).ok()?,
        second: u8::try_from(tm.tm_sec.min(59)).ok()?,
        utc_offset: i32::try_from(tm.tm_gmtoff).ok()?,
    })
}

/// `localtime_r(t)`, or `None` when it fails.
fn localtime_r(t: libc::time_t) -> Option<libc::tm> {
    // SAFETY: `libc::tm` is a plain C struct of integers and one pointer, for which all-zero bytes
    // are a valid value; localtime_r overwrites it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers point to live, properly aligned locals for the whole call; localtime_r
    // is the reentrant variant and keeps neither pointer.
    let res = unsafe { libc::localtime_r(&t, &mut tm) };
    (!res.is_null()).then_some(tm)
}

/// The coarse real-time clock (`CLOCK_REALTIME_COARSE` on Linux: the time at the last timer tick,
/// a few nanoseconds to read instead of tens): whole seconds since the Unix epoch, or `None` when
/// the clock cannot be read. For headers that carry whole seconds only.
pub(crate) fn realtime_coarse_secs() -> Option<i64> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const CLOCK: libc::clockid_t = libc::CLOCK_REALTIME_COARSE;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const CLOCK: libc::clockid_t = libc::CLOCK_REALTIME;
    // `time_t` is `i64` on most targets (a no-op conversion there) but `i32` on some 32-bit ones.
    #[allow(clippy::useless_conversion)]
    read_clock(CLOCK).map(|ts| i64::from(ts.tv_sec))
}

/// `clock_gettime(clock)`, or `None` when it fails.
fn read_clock(clock: libc::clockid_t) -> Option<libc::timespec> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a live, properly aligned local for the whole call; clock_gettime only writes
    // into it.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    (rc == 0).then_some(ts)
}

/// The coarse monotonic clock (`CLOCK_MONOTONIC_COARSE` on Linux: the last timer tick, a few
/// nanoseconds to read) in nanoseconds, at least 1; `None` when it cannot be read. For windows of
/// milliseconds and more (rate limits).
pub(crate) fn monotonic_coarse_ns() -> Option<u64> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const CLOCK: libc::clockid_t = libc::CLOCK_MONOTONIC_COARSE;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const CLOCK: libc::clockid_t = libc::CLOCK_MONOTONIC;
    nanos(CLOCK)
}

/// `clock` in nanoseconds, at least 1; `None` when it cannot be read.
fn nanos(clock: libc::clockid_t) -> Option<u64> {
    let ts = read_clock(clock)?;
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u64::try_from(ts.tv_nsec).ok()?;
    Some(
        secs.saturating_mul(1_000_000_000)
            .saturating_add(nanos)
            .max(1),
    )
}

/// The monotonic clock (`CLOCK_MONOTONIC`, the same in every process of the machine) in
/// nanoseconds, at least 1; `None` when it cannot be read. Stats files carry such times, so a
/// reader in another process can compare them with its own reading.
pub(crate) fn monotonic_ns() -> Option<u64> {
    nanos(libc::CLOCK_MONOTONIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coarse_monotonic_clock_moves_forward() {
        let a = monotonic_coarse_ns().expect("readable");
        std::thread::sleep(std::time::Duration::from_millis(30));
        let b = monotonic_coarse_ns().expect("readable");
        assert!(b >= a + 20_000_000, "{a} then {b}");
    }

    #[test]
    fn local_time_breaks_down_the_epoch() {
        let t = local_time(0).expect("epoch is representable");
        let offset_hours = t.utc_offset / 3600;
        assert!((-14..=14).contains(&offset_hours));
        assert!(t.year == 1970 || t.year == 1969);
    }

    #[test]
    fn coarse_clock_is_near_the_system_clock() {
        let coarse = realtime_coarse_secs().expect("the clock can be read");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        assert!(now.abs_diff(u64::try_from(coarse).expect("positive")) <= 1);
    }
}
