//! Live counters and the [`Stats`] snapshot.
//!
//! Every counter is a relaxed atomic: writers bump them from any thread, and [`Counters::snapshot`]
//! reads them without taking a lock. A snapshot is not atomic across counters; each value is exact.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::sys::net::errno;

/// Why a record was dropped.
///
/// # Examples
///
/// ```
/// assert_eq!(fastsyslog::DropReason::SendError.name(), "send_error");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// The transport failed to send it (socket error, send timeout, or an absent daemon: in
    /// background mode only once the logger shuts down, since until then records wait for it).
    SendError,
    /// Its lane's queue was full, in records or in bytes, under the `Drop` overflow policy.
    QueueFull,
    /// Its lane stayed full (in records or in bytes) for the whole `BlockFor` wait.
    Timeout,
    /// Formatting it panicked (a `Display` or `Debug` impl panicked).
    Panic,
    /// The logger had already shut down.
    Shutdown,
}

const REASONS: [DropReason; 5] = [
    DropReason::SendError,
    DropReason::QueueFull,
    DropReason::Timeout,
    DropReason::Panic,
    DropReason::Shutdown,
];

// === impl DropReason ===

impl DropReason {
    /// A stable snake_case name, used in the dropped-records summary and in `Stats` output.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(fastsyslog::DropReason::QueueFull.name(), "queue_full");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            DropReason::SendError => "send_error",
            DropReason::QueueFull => "queue_full",
            DropReason::Timeout => "timeout",
            DropReason::Panic => "panic",
            DropReason::Shutdown => "shutdown",
        }
    }

    /// Every reason, in a fixed order.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(fastsyslog::DropReason::all().len(), 5);
    /// ```
    pub const fn all() -> &'static [DropReason] {
        &REASONS
    }

    const fn index(self) -> usize {
        self as usize
    }
}

/// Which queue a record travelled in. In sync mode every record is counted under `Error` or `Bulk`
/// by the same rule, so per-lane figures mean the same in both modes.
///
/// # Examples
///
/// ```
/// assert_eq!(fastsyslog::Lane::Error.name(), "error");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    /// `WARN` and `ERROR` records.
    Error,
    /// Everything else (access, info, debug, trace).
    Bulk,
}

// === impl Lane ===

impl Lane {
    /// `"error"` or `"bulk"`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(fastsyslog::Lane::Bulk.name(), "bulk");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Lane::Error => "error",
            Lane::Bulk => "bulk",
        }
    }

    /// The lane a record of `level` travels in.
    pub(crate) fn for_level(level: log::Level) -> Lane {
        if level <= log::Level::Warn {
            Lane::Error
        } else {
            Lane::Bulk
        }
    }
}

/// The errno values counted individually in [`Stats::send_errors`], with their names; others are
/// summed under 0. These are the errors a syslog socket is expected to give: the daemon down or
/// restarting, a hung daemon, a record too long, a socket of the wrong type (`EPROTOTYPE`: a
/// stream socket at the path), no permission.
const ERRNOS: [(i32, &str); 14] = [
    (errno::EAGAIN, "EAGAIN"),
    (errno::ECONNREFUSED, "ECONNREFUSED"),
    (errno::ENOENT, "ENOENT"),
    (errno::ENOTCONN, "ENOTCONN"),
    (errno::EMSGSIZE, "EMSGSIZE"),
    (errno::ENOBUFS, "ENOBUFS"),
    (errno::EACCES, "EACCES"),
    (errno::EPROTOTYPE, "EPROTOTYPE"),
    (errno::ECONNRESET, "ECONNRESET"),
    (errno::EDESTADDRREQ, "EDESTADDRREQ"),
    (errno::ENOTSOCK, "ENOTSOCK"),
    (errno::EPERM, "EPERM"),
    (errno::ETIMEDOUT, "ETIMEDOUT"),
    (0, "other"),
];

/// The shared live counters behind [`Stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) enqueued: AtomicU64,
    pub(crate) written: AtomicU64,
    dropped: [[AtomicU64; 5]; 2],
    pub(crate) truncated: AtomicU64,
    send_errors: [AtomicU64; ERRNOS.len()],
    pub(crate) reconnects: AtomicU64,
    /// Frames the stream transport cut by closing a connection mid-frame (each record sent again).
    pub(crate) frames_cut: AtomicU64,
    pub(crate) queue_depth_high_water: AtomicU64,
    pub(crate) writer_blocked_ns: AtomicU64,
    /// Records queued per lane by the background writer's callers (sync mode counts `enqueued`).
    enqueued_lane: CallerLine<[AtomicU64; 2]>,
    /// [`monotonic_ns`] since when the background writer has been trying to send without a
    /// success: set when a send begins and none is pending, kept while sends fail or time out,
    /// cleared by the next successful one. `snapshot` derives `writer_stuck` from it, so a writer
    /// inside a send that never returns is seen as well as one whose every send times out.
    pub(crate) writer_waiting_since_ns: AtomicU64,
    /// Microseconds since the Unix epoch of the first drop not yet covered by a dropped-records
    /// summary; 0 when there is none. The drop summary's "since".
    first_drop_us: AtomicU64,
    /// Records held back on purpose: rate limits, sampling, backtrace rings.
    pub(crate) volume: VolumeCounts,
}

/// Counts kept apart from drops: records held back on purpose (see `crate::volume`).
#[derive(Debug, Default)]
pub(crate) struct VolumeCounts {
    /// Records a rate limit suppressed (each reported in a summary record).
    pub(crate) suppressed: AtomicU64,
    /// Records sampling left out.
    pub(crate) sampled_out: AtomicU64,
    /// Records captured into a backtrace ring.
    pub(crate) captured: AtomicU64,
    /// Captured records sent ahead of an error.
    pub(crate) backtrace_sent: AtomicU64,
}

/// Keeps counters that every caller bumps on their own cache lines (128 bytes: adjacent-line
/// prefetch pairs lines on x86), apart from the ones the background writer bumps after each
/// batch; sharing a line would cost a sparse caller a cross-core transfer per record.
#[derive(Debug, Default)]
#[repr(align(128))]
struct CallerLine<T>(T);

impl<T> std::ops::Deref for CallerLine<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// A writer that has been trying to send for this long without a success is reported as stuck.
pub(crate) const STUCK_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// Whether a writer trying to send since `started` ([`monotonic_ns`], 0 for "not trying") without
/// a success is stuck at `now`.
pub(crate) fn is_stuck(started: u64, now: u64) -> bool {
    let limit = u64::try_from(STUCK_AFTER.as_nanos()).unwrap_or(u64::MAX);
    started != 0 && now.saturating_sub(started) > limit
}

/// Nanoseconds on a monotonic clock, at least 1 (0 means "not set" in the counters).
pub(crate) fn monotonic_ns() -> u64 {
    static BASE: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(std::time::Instant::now);
    u64::try_from(base.elapsed().as_nanos())
        .unwrap_or(u64::MAX)
        .max(1)
}

// === impl Counters ===

impl Counters {
    pub(crate) fn drop_record(&self, lane: Lane, reason: DropReason) {
        self.drop_records(lane, reason, 1);
    }

    /// Counts `n` records of `lane` dropped for `reason`, and stamps the first drop's time.
    pub(crate) fn drop_records(&self, lane: Lane, reason: DropReason, n: u64) {
        self.dropped[lane as usize][reason.index()].fetch_add(n, Relaxed);
        // Shutdown drops come after the writer's last summary; only the others need a "since".
        if reason != DropReason::Shutdown && self.first_drop_us.load(Relaxed) == 0 {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
            // Another thread's first drop may have won: it is as early as this one.
            let _ = self
                .first_drop_us
                .compare_exchange(0, now.max(1), Relaxed, Relaxed);
        }
    }

    /// Counts `n` records of `lane` that a failed send dropped, under `err`'s errno in
    /// `send_errors` too: the two counts agree by construction.
    #[cfg_attr(not(feature = "background"), allow(dead_code))] // Only the background writer uses it.
    pub(crate) fn send_failed(&self, lane: Lane, err: &std::io::Error, n: u64) {
        self.drop_records(lane, DropReason::SendError, n);
        self.send_errors[errno_slot(err)].fetch_add(n, Relaxed);
    }

    /// The time of the first drop not covered by a summary yet (microseconds since the Unix
    /// epoch), or `None`.
    #[cfg_attr(not(feature = "background"), allow(dead_code))] // Only the background writer uses it.
    pub(crate) fn first_drop_us(&self) -> Option<u64> {
        Some(self.first_drop_us.load(Relaxed)).filter(|&us| us != 0)
    }

    /// A summary covered the drops since `us`: the next drop starts a new "since".
    #[cfg_attr(not(feature = "background"), allow(dead_code))] // Only the background writer uses it.
    pub(crate) fn summarised_drops_since(&self, us: u64) {
        // A drop may already have started a new period; then this does nothing.
        let _ = self.first_drop_us.compare_exchange(us, 0, Relaxed, Relaxed);
    }

    /// Counts one record queued in `lane` (background mode).
    #[cfg_attr(not(feature = "background"), allow(dead_code))]
    #[inline]
    pub(crate) fn enqueue(&self, lane: Lane) {
        self.enqueued_lane[lane as usize].fetch_add(1, Relaxed);
    }

    pub(crate) fn dropped(&self, lane: Lane, reason: DropReason) -> u64 {
        self.dropped[lane as usize][reason.index()].load(Relaxed)
    }

    pub(crate) fn send_error(&self, err: &std::io::Error) {
        self.send_errors[errno_slot(err)].fetch_add(1, Relaxed);
    }

    #[cfg_attr(not(feature = "background"), allow(dead_code))] // Only the background writer uses it.
    pub(crate) fn raise_high_water(&self, depth: u64) {
        // A read first: `fetch_max` always writes, which would take the line from every other
        // core on each call even once the mark stands still (callers of a full lane call this
        // per record, the writer per batch).
        if self.queue_depth_high_water.load(Relaxed) < depth {
            self.queue_depth_high_water.fetch_max(depth, Relaxed);
        }
    }

    /// A lock-free snapshot of every counter.
    pub(crate) fn snapshot(&self, queue_depth: u64) -> Stats {
        let mut dropped = Vec::new();
        for lane in [Lane::Error, Lane::Bulk] {
            for &reason in DropReason::all() {
                let n = self.dropped(lane, reason);
                if n > 0 {
                    dropped.push((lane, reason, n));
                }
            }
        }
        let send_errors = ERRNOS
            .iter()
            .zip(&self.send_errors)
            .map(|(&(errno, _), n)| (errno, n.load(Relaxed)))
            .filter(|&(_, n)| n > 0)
            .collect();
        let enqueued_by_lane: Vec<(Lane, u64)> = [Lane::Error, Lane::Bulk]
            .into_iter()
            .map(|lane| (lane, self.enqueued_lane[lane as usize].load(Relaxed)))
            .collect();
        let stuck = is_stuck(self.writer_waiting_since_ns.load(Relaxed), monotonic_ns());
        Stats {
            enqueued: self.enqueued.load(Relaxed)
                + enqueued_by_lane.iter().map(|&(_, n)| n).sum::<u64>(),
            enqueued_by_lane,
            written: self.written.load(Relaxed),
            dropped,
            truncated: self.truncated.load(Relaxed),
            send_errors,
            reconnects: self.reconnects.load(Relaxed),
            frames_cut: self.frames_cut.load(Relaxed),
            queue_depth,
            queue_depth_high_water: self.queue_depth_high_water.load(Relaxed),
            writer_blocked_ns: self.writer_blocked_ns.load(Relaxed),
            writer_stuck: stuck,
            suppressed: self.volume.suppressed.load(Relaxed),
            sampled_out: self.volume.sampled_out.load(Relaxed),
            backtrace_sent: self.volume.backtrace_sent.load(Relaxed),
            backtrace_discarded: self
                .volume
                .captured
                .load(Relaxed)
                .saturating_sub(self.volume.backtrace_sent.load(Relaxed)),
        }
    }
}

/// The slot of `err`'s errno in [`ERRNOS`] (the last one, 0, for any other).
fn errno_slot(err: &std::io::Error) -> usize {
    let errno = err.raw_os_error().unwrap_or(0);
    ERRNOS
        .iter()
        .position(|&(e, _)| e == errno)
        .unwrap_or(ERRNOS.len() - 1)
}

/// A snapshot of a logger's counters, from [`WorkerGuard::stats`](crate::WorkerGuard::stats) or
/// [`stats()`](crate::stats()).
///
/// Counting identity: every record that passed the level gate is, once flushed, exactly one of
/// `written` or `dropped_total()`.
///
/// A forked child inherits its parent's counts at the moment of `fork()`; records the parent had
/// queued then are counted in `enqueued` but never written by the child (nor sent twice).
///
/// # Examples
///
/// ```
/// let stats = fastsyslog::Stats::default();
/// assert_eq!(stats.dropped_total(), 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Records handed to the background queues (background mode), or that passed the gate (sync).
    pub enqueued: u64,
    /// `enqueued` split by lane as `(lane, count)`, in background mode (empty counts in sync mode).
    pub enqueued_by_lane: Vec<(Lane, u64)>,
    /// Records the transport accepted (the daemon may still discard them: see RELIABILITY.md, "A successful send does not mean
    /// the record was stored").
    pub written: u64,
    /// Non-zero drop counts as `(lane, reason, count)`.
    pub dropped: Vec<(Lane, DropReason, u64)>,
    /// Records cut to the maximum message size (they are also counted in `written` or `dropped`).
    pub truncated: u64,
    /// Records a failed send dropped, as `(errno, count)`: their sum equals the
    /// [`DropReason::SendError`] drops of both lanes. The expected errnos are counted one by one
    /// ([`Stats::errno_name`] names them); errno 0 sums every other. Sends that are retried (a
    /// `Block` lane's timed-out send, a batch held while the daemon is away) and the
    /// dropped-records summary lose no user record and are not counted here.
    pub send_errors: Vec<(i32, u64)>,
    /// Successful reconnections of the unix transport.
    pub reconnects: u64,
    /// Records the stream transport ([`Builder::stream_socket`](crate::Builder::stream_socket))
    /// had written in part when their connection broke or their send timed out: the connection
    /// was closed with the frame cut, and the record was sent again whole on the next connection
    /// (or, in a lossy lane after a timeout, counted as dropped). The daemon may have stored the
    /// cut piece.
    pub frames_cut: u64,
    /// Records waiting in the background queues when the snapshot was taken.
    pub queue_depth: u64,
    /// The most records ever waiting in the background queues at once.
    pub queue_depth_high_water: u64,
    /// Nanoseconds the background writer spent blocked inside a send.
    pub writer_blocked_ns: u64,
    /// Whether the background writer has been trying to send for more than a second without one
    /// success: inside one send that does not return, or through sends that time out or fail
    /// (a hung or absent daemon). It clears with the next successful send.
    pub writer_stuck: bool,
    /// Records a rate limit suppressed ([`Builder::rate_limit`](crate::Builder::rate_limit)),
    /// each reported in a summary record; not drops.
    pub suppressed: u64,
    /// Records sampling left out ([`Builder::sample`](crate::Builder::sample)); not drops.
    pub sampled_out: u64,
    /// Backtrace-ring records sent ahead of an error ([`Builder::backtrace`](crate::Builder::backtrace)).
    pub backtrace_sent: u64,
    /// Backtrace-ring records captured and not sent (overwritten, or still waiting for an
    /// error); not drops.
    pub backtrace_discarded: u64,
}

// === impl Stats ===

impl Stats {
    /// All dropped records, over every lane and reason.
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::{DropReason, Lane, Stats};
    /// let mut stats = Stats::default();
    /// stats.dropped.push((Lane::Bulk, DropReason::QueueFull, 3));
    /// assert_eq!(stats.dropped_total(), 3);
    /// ```
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().map(|&(_, _, n)| n).sum()
    }

    /// Records queued in one lane (background mode).
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::{Lane, Stats};
    /// assert_eq!(Stats::default().enqueued_for(Lane::Error), 0);
    /// ```
    pub fn enqueued_for(&self, lane: Lane) -> u64 {
        self.enqueued_by_lane
            .iter()
            .filter(|&&(l, _)| l == lane)
            .map(|&(_, n)| n)
            .sum()
    }

    /// The name of an errno counted in [`send_errors`](Stats::send_errors) (`"EPROTOTYPE"`,
    /// `"ECONNREFUSED"` ...), `"other"` for 0, or `None` for an errno not counted one by one.
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::Stats;
    /// assert_eq!(Stats::errno_name(0), Some("other"));
    /// # #[cfg(target_os = "linux")]
    /// assert_eq!(Stats::errno_name(91), Some("EPROTOTYPE"));
    /// ```
    pub fn errno_name(errno: i32) -> Option<&'static str> {
        ERRNOS
            .iter()
            .find(|&&(e, _)| e == errno)
            .map(|&(_, name)| name)
    }

    /// Dropped records of one lane and reason.
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::{DropReason, Lane, Stats};
    /// assert_eq!(Stats::default().dropped_for(Lane::Error, DropReason::Timeout), 0);
    /// ```
    pub fn dropped_for(&self, lane: Lane, reason: DropReason) -> u64 {
        self.dropped
            .iter()
            .filter(|&&(l, r, _)| l == lane && r == reason)
            .map(|&(_, _, n)| n)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_reports_only_nonzero_drops() {
        let c = Counters::default();
        c.drop_record(Lane::Bulk, DropReason::QueueFull);
        c.drop_record(Lane::Bulk, DropReason::QueueFull);
        c.drop_record(Lane::Error, DropReason::SendError);
        let s = c.snapshot(0);
        assert_eq!(s.dropped_total(), 3);
        assert_eq!(s.dropped_for(Lane::Bulk, DropReason::QueueFull), 2);
        assert_eq!(s.dropped.len(), 2);
    }

    #[test]
    fn send_errors_group_by_errno() {
        let c = Counters::default();
        c.send_error(&std::io::Error::from_raw_os_error(errno::ECONNREFUSED));
        c.send_error(&std::io::Error::from_raw_os_error(errno::ECONNREFUSED));
        c.send_error(&std::io::Error::from_raw_os_error(9999));
        c.send_error(&std::io::Error::other("x"));
        let s = c.snapshot(0);
        assert_eq!(s.send_errors, vec![(errno::ECONNREFUSED, 2), (0, 2)]);
    }
}
