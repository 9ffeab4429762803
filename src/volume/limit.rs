//! Per-call-site rate limits: a fixed table of buckets, claimed by call sites on first use.
//!
//! Each call site (file and line; a record without a location is keyed by its target and level)
//! in a limit's scope gets a bucket of `burst` records per `interval` window: the bucket refills
//! in full when a window ends, as rsyslog's and journald's limits do. What is over the burst is
//! suppressed and counted; the call site's first record after its window ended sends one summary
//! record first, with the true number suppressed in that window.
//!
//! The check is a coarse clock read and three relaxed atomics on the caller (a window start, a
//! count, the table slot's key), no lock and no allocation: the table is allocated once when the logger is built. Once
//! [`SLOTS`] call sites hold a bucket, a new one finds none and is not limited.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use super::{Call, Host, Scope, ShowInterval};
use crate::stats::monotonic_ns;

/// Buckets per logger (only allocated when a limit is configured).
pub(crate) const SLOTS: usize = 4096;
/// How many slots a call site's key probes before giving up.
const PROBES: usize = 16;

/// One call site's bucket.
#[derive(Debug, Default)]
struct Slot {
    /// The call site's key; 0 while free.
    key: AtomicU64,
    /// When the current window began ([`monotonic_ns`]); 0 until the first record.
    start: AtomicU64,
    /// Records seen in the current window, passed and suppressed.
    seen: AtomicU64,
}

#[derive(Debug)]
struct Rule {
    scope: Scope,
    burst: u64,
    interval: Duration,
    interval_ns: u64,
}

/// The configured limits and their buckets.
#[derive(Debug)]
pub(crate) struct Limits {
    rules: Vec<Rule>,
    slots: Box<[Slot]>,
}

impl Limits {
    pub(crate) fn new(rules: Vec<(Scope, u32, Duration)>) -> Limits {
        let slots = if rules.is_empty() {
            Box::default()
        } else {
            (0..SLOTS).map(|_| Slot::default()).collect()
        };
        Limits {
            rules: rules
                .into_iter()
                .map(|(scope, burst, interval)| Rule {
                    scope,
                    burst: u64::from(burst),
                    interval,
                    interval_ns: u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX),
                })
                .collect(),
            slots,
        }
    }

    /// Whether `event` is within its call site's budget; sends the call site's summary first when
    /// its last window ended with records suppressed.
    pub(crate) fn admit(&self, host: &dyn Host, event: Call<'_>) -> bool {
        let Some((index, rule)) = self
            .rules
            .iter()
            .enumerate()
            .find(|(_, r)| r.scope.matches(event.target, event.level))
        else {
            return true;
        };
        let Some(slot) = self.slot(key(&event, index)) else {
            return true;
        };
        // The last timer tick is precise enough for windows of milliseconds, and cheaper to read.
        let now = crate::sys::time::monotonic_coarse_ns().unwrap_or_else(monotonic_ns);
        let start = slot.start.load(Relaxed);
        let window_over = start == 0 || now.saturating_sub(start) >= rule.interval_ns;
        // One caller opens the new window; the others count against it.
        if window_over
            && slot
                .start
                .compare_exchange(start, now, Relaxed, Relaxed)
                .is_ok()
        {
            let seen = slot.seen.swap(1, Relaxed);
            let suppressed = seen.saturating_sub(rule.burst);
            if start != 0 && suppressed > 0 {
                summarise(host, &event, suppressed, rule.interval);
            }
            if rule.burst > 0 {
                return true;
            }
        } else if slot.seen.fetch_add(1, Relaxed) < rule.burst {
            return true;
        }
        host.counts().suppressed.fetch_add(1, Relaxed);
        false
    }

    /// The slot holding `key`, claiming a free one on the first record; `None` when the table
    /// is full along the probe sequence.
    fn slot(&self, key: u64) -> Option<&Slot> {
        let mask = self.slots.len().checked_sub(1)?;
        let first = (key as usize) & mask;
        for i in 0..PROBES {
            let slot = &self.slots[(first + i) & mask];
            let held = slot.key.load(Relaxed);
            if held == key {
                return Some(slot);
            }
            if held == 0 {
                match slot.key.compare_exchange(0, key, Relaxed, Relaxed) {
                    Ok(_) => return Some(slot),
                    Err(other) if other == key => return Some(slot),
                    Err(_) => continue,
                }
            }
        }
        None
    }
}

/// A call site's key: its location (or its target and level) and the rule, mixed; never 0.
fn key(event: &Call<'_>, rule: usize) -> u64 {
    let (a, b) = match event.location {
        Some((file, line)) => (
            file.as_ptr() as u64 ^ (file.len() as u64) << 48,
            u64::from(line),
        ),
        None => (event.target.as_ptr() as u64, event.level as u64 | 1 << 40),
    };
    let mut h = a.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^= (b ^ (rule as u64) << 32).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    h ^= h >> 29;
    h.max(1)
}

/// Sends the summary of a call site's ended window, to the facility and at the level its records
/// have, ahead of the record that found the window over.
fn summarise(host: &dyn Host, event: &Call<'_>, suppressed: u64, interval: Duration) {
    struct Text<'a>(&'a Call<'a>, u64, Duration);
    impl std::fmt::Display for Text<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            let Text(event, n, interval) = self;
            write!(
                f,
                "fastsyslog: suppressed {n} records from {} at ",
                event.target
            )?;
            match event.location {
                Some((file, line)) => write!(f, "{file}:{line}")?,
                None => f.write_str("an unknown location")?,
            }
            write!(f, " in the last {}", ShowInterval(*interval))
        }
    }
    host.send_own(&Text(event, suppressed, interval));
}

#[cfg(test)]
mod tests {
    use super::super::fake::{call, volume, Fake, Sent};
    use super::*;

    fn limited(burst: u32, interval: Duration) -> super::super::Volume {
        volume(|b| b.rate_limit("warn", burst, interval))
    }

    #[test]
    fn each_call_site_gets_its_own_burst_per_window() {
        let v = limited(3, Duration::from_secs(3600));
        let sent = Sent::default();
        let host = Fake(&sent, "x");
        let admitted = |line, n| {
            (0..n)
                .filter(|_| v.admit(&host, call(log::Level::Warn, "app", line)))
                .count()
        };
        assert_eq!(admitted(10, 10), 3);
        assert_eq!(admitted(11, 2), 2, "another call site keeps its budget");
        assert_eq!(admitted(12, 10), 3);
        assert_eq!(sent.counts.suppressed.load(Relaxed), 14);
        let info = call(log::Level::Info, "app", 10);
        assert!((0..10).all(|_| v.admit(&host, info)), "out of scope");
        assert!(sent.lines.borrow().is_empty(), "no window ended");
    }

    #[test]
    fn a_new_window_refills_and_summarises_the_last_one() {
        let v = limited(2, Duration::from_millis(30));
        let sent = Sent::default();
        let host = Fake(&sent, "x");
        let e = call(log::Level::Warn, "app", 20);
        let passed = (0..7).filter(|_| v.admit(&host, e)).count();
        assert_eq!(passed, 2);
        std::thread::sleep(Duration::from_millis(40));
        assert!(v.admit(&host, e));
        assert_eq!(
            *sent.lines.borrow(),
            ["fastsyslog: suppressed 5 records from app at src/app.rs:20 in the last 30ms"]
        );
        assert_eq!(sent.counts.suppressed.load(Relaxed), 5);
    }

    #[test]
    fn a_full_table_leaves_new_call_sites_unlimited() {
        let v = limited(0, Duration::from_secs(3600));
        let sent = Sent::default();
        let host = Fake(&sent, "x");
        let mut limited = 0;
        for line in 0..(SLOTS as u32 + 64) {
            if !v.admit(&host, call(log::Level::Warn, "app", line)) {
                limited += 1;
            }
        }
        // Open addressing fills most of the table before a probe sequence finds no slot.
        assert!(limited >= SLOTS * 3 / 4, "{limited}");
        assert!(limited <= SLOTS);
        assert_eq!(
            sent.counts.suppressed.load(Relaxed),
            limited as u64,
            "every suppression counted"
        );
    }
}
