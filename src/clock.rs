//! Time for message headers: [`Timestamp`] (a local time broken down, and its RFC 3339 text) and
//! a wall clock that calls into the C library's time-zone code at most once per second per thread.

use std::cell::Cell;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::sys;

/// A wall-clock time broken down in the local time zone, as headers print it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timestamp {
    pub(crate) year: i32,
    /// 1 to 12.
    pub(crate) month: u8,
    /// 1 to 31.
    pub(crate) day: u8,
    pub(crate) hour: u8,
    pub(crate) minute: u8,
    pub(crate) second: u8,
    pub(crate) micros: u32,
    /// Seconds east of UTC.
    pub(crate) utc_offset: i32,
}

/// An RFC 3339 time as [`Timestamp::rfc3339`] writes it, on the stack.
pub(crate) struct Rfc3339 {
    bytes: [u8; 32],
    len: usize,
}

impl Rfc3339 {
    fn put(&mut self, s: &[u8]) {
        self.bytes[self.len..self.len + s.len()].copy_from_slice(s);
        self.len += s.len();
    }

    /// `n` (at most 99) as two digits.
    fn two(&mut self, n: u32) {
        let n = n.min(99) as u8;
        self.put(&[b'0' + n / 10, b'0' + n % 10]);
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl Timestamp {
    /// `2026-11-22T20:34:36.123456+01:00` (`Z` for UTC; the fraction only with `micros`): the RFC
    /// 5424 header's time and the dropped-records summary's. The year is clamped to 0–9999 and the
    /// offset to 99 hours, so the text is always valid RFC 3339 and at most 32 bytes.
    pub(crate) fn rfc3339(&self, micros: bool) -> Rfc3339 {
        let mut t = Rfc3339 {
            bytes: [0; 32],
            len: 0,
        };
        let year = self.year.clamp(0, 9999) as u32;
        t.two(year / 100);
        t.two(year % 100);
        t.put(b"-");
        t.two(u32::from(self.month));
        t.put(b"-");
        t.two(u32::from(self.day));
        t.put(b"T");
        t.two(u32::from(self.hour));
        t.put(b":");
        t.two(u32::from(self.minute));
        t.put(b":");
        t.two(u32::from(self.second));
        if micros {
            let micros = self.micros.min(999_999);
            t.put(b".");
            t.two(micros / 10_000);
            t.two(micros / 100 % 100);
            t.two(micros % 100);
        }
        if self.utc_offset == 0 {
            t.put(b"Z");
        } else {
            t.put(if self.utc_offset < 0 { b"-" } else { b"+" });
            let off = self.utc_offset.unsigned_abs();
            t.two(off / 3600);
            t.put(b":");
            t.two(off % 3600 / 60);
        }
        t
    }
}

thread_local! {
    /// The last second this thread broke down, and its result.
    static CACHE: Cell<Option<(i64, Timestamp)>> = const { Cell::new(None) };
}

/// The epoch: the fallback when the clock is before 1970 or the C library cannot break it down,
/// and the time handed to renderers whose header carries none (glibc writes its own).
pub(crate) const EPOCH: Timestamp = Timestamp {
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
    at(SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default())
}

/// `since` the Unix epoch as local time.
pub(crate) fn at(since: std::time::Duration) -> Timestamp {
    let secs = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
    local(secs, since.subsec_micros())
}

/// The current local time to the second (`micros` is 0), for RFC 3164 headers, which carry whole
/// seconds. Reads the coarse real-time clock, as `time(2)` does: it stands still between timer
/// ticks (4 ms here), so a record logged within one tick after a second begins may carry the
/// second before. That costs a few nanoseconds instead of a few tens.
pub(crate) fn now_seconds() -> Timestamp {
    match sys::time::realtime_coarse_secs() {
        Some(secs) => local(secs, 0),
        None => Timestamp { micros: 0, ..now() },
    }
}

/// `secs` and `micros` as local time, from this thread's cache when `secs` is the second it broke
/// down last.
fn local(secs: i64, micros: u32) -> Timestamp {
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

/// The UTC offset of the last local time the C library broke down, for [`civil`] when it cannot be
/// asked (a forked child whose parent held glibc's time-zone lock at the fork).
static LAST_OFFSET: AtomicI32 = AtomicI32::new(0);

/// `secs` broken down by the C library's time zone, or at the last offset it gave when it cannot
/// be asked.
fn breakdown(secs: i64, micros: u32) -> Timestamp {
    match sys::time::local_time(secs) {
        Some(t) => {
            LAST_OFFSET.store(t.utc_offset, Ordering::Relaxed);
            from_local(t, micros)
        }
        None => civil(secs, micros, LAST_OFFSET.load(Ordering::Relaxed)),
    }
}

/// The C library's breakdown as a [`Timestamp`].
fn from_local(t: sys::time::LocalTime, micros: u32) -> Timestamp {
    Timestamp {
        year: t.year,
        month: t.month,
        day: t.day,
        hour: t.hour,
        minute: t.minute,
        second: t.second,
        micros,
        utc_offset: t.utc_offset,
    }
}

/// Breaks `secs` since the epoch down at a fixed `utc_offset` without the C library (the
/// days-to-civil algorithm of H. Hinnant's `chrono`-compatible date library). A DST change after
/// the offset was last read is not seen.
pub(crate) fn civil(secs: i64, micros: u32, utc_offset: i32) -> Timestamp {
    let local = secs.saturating_add(i64::from(utc_offset));
    let (days, of_day) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Every narrowing below is in range by construction (month 1-12, day 1-31, of_day < 86400).
    let narrow = |v: i64| u8::try_from(v).unwrap_or(0);
    Timestamp {
        year: i32::try_from(year).unwrap_or(EPOCH.year),
        month: narrow(month),
        day: narrow(day),
        hour: narrow(of_day / 3600),
        minute: narrow(of_day % 3600 / 60),
        second: narrow(of_day % 60),
        micros,
        utc_offset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::tests::now as fixed_now;

    #[test]
    fn now_is_plausible_and_cached_per_second() {
        let a = now();
        let b = now();
        assert!(a.year >= 2024, "{a:?}");
        assert!((1..=12).contains(&a.month) && (1..=31).contains(&a.day));
        assert!(b.micros < 1_000_000);
        assert_eq!(a.utc_offset, b.utc_offset);
    }

    #[test]
    fn seconds_clock_agrees_with_the_precise_one() {
        let before = now();
        let coarse = now_seconds();
        let after = now();
        assert_eq!(coarse.micros, 0);
        let key = |t: &Timestamp| (t.year, t.month, t.day, t.hour, t.minute, t.second);
        // The coarse clock may lag by one tick, so it may still show the second before `before`.
        let lagged = civil(
            i64::from(before.hour) * 3600
                + i64::from(before.minute) * 60
                + i64::from(before.second)
                - 1,
            0,
            0,
        );
        assert!(
            (key(&before) <= key(&coarse) && key(&coarse) <= key(&after))
                || (coarse.hour, coarse.minute, coarse.second)
                    == (lagged.hour, lagged.minute, lagged.second),
            "{before:?} {coarse:?} {after:?}"
        );
        assert_eq!(coarse.utc_offset, before.utc_offset);
    }

    #[test]
    fn civil_matches_the_c_library() {
        // Across leap days, year ends, the epoch and far dates, at the machine's own offset.
        for secs in [
            0_i64,
            951_782_400,   // 2000-02-29
            1_709_164_800, // 2024-02-29
            1_735_689_599, // 2024-12-31T23:59:59Z
            1_795_000_000,
            4_102_444_800, // 2100-01-01
            -86_400,
        ] {
            let Some(libc) = sys::time::local_time(secs).map(|t| from_local(t, 7)) else {
                continue;
            };
            assert_eq!(civil(secs, 7, libc.utc_offset), libc, "{secs}");
        }
        // 2026-11-18T11:06:40Z at +01:00.
        let t = civil(1_795_000_000, 0, 3600);
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute),
            (2026, 11, 18, 12, 6),
            "{t:?}"
        );
    }

    #[test]
    fn rfc3339_times_with_and_without_the_fraction() {
        let t = fixed_now();
        let text = |t: Timestamp, micros| String::from_utf8(t.rfc3339(micros).as_bytes().to_vec());
        assert_eq!(text(t, true).unwrap(), "2026-11-02T09:05:01.000042+01:00");
        assert_eq!(text(t, false).unwrap(), "2026-11-02T09:05:01+01:00");
        let west = Timestamp {
            utc_offset: -(9 * 3600 + 30 * 60),
            micros: 999_999,
            ..t
        };
        assert_eq!(
            text(west, true).unwrap(),
            "2026-11-02T09:05:01.999999-09:30"
        );
        let utc = Timestamp { utc_offset: 0, ..t };
        assert_eq!(text(utc, false).unwrap(), "2026-11-02T09:05:01Z");
        // Out-of-range parts are clamped, so the text stays RFC 3339 and fits its 32 bytes.
        let odd = Timestamp {
            year: 123_456,
            micros: u32::MAX,
            utc_offset: -i32::MAX,
            ..t
        };
        assert_eq!(text(odd, true).unwrap(), "9999-11-02T09:05:01.999999-99:14");
    }
}
