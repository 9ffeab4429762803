//! The logger's counters: the [`Stats`] snapshot, its renderings (one line with `Display`,
//! [`Stats::to_json`], [`Stats::to_prometheus`] and [`prometheus`] for many processes), and the
//! stats file that lets other processes read them ([`read_file`], [`read_dir`]).
//!
//! Every counter is a relaxed atomic: writers bump them from any thread, and a snapshot reads them
//! without taking a lock. A snapshot is not atomic across counters; each value is exact.
//!
//! # A health endpoint
//!
//! ```no_run
//! let _guard = fastsyslog::init();
//! // In the handler of GET /metrics:
//! let body = fastsyslog::stats().map(|s| s.to_prometheus()).unwrap_or_default();
//! # let _ = body;
//! ```
//!
//! # The stats file
//!
//! With [`Builder::stats_dir`](crate::Builder::stats_dir) (or `FASTSYSLOG_STATS_DIR`) each process
//! publishes its counters in `<dir>/<ident>.<pid>.fsstats`, on tmpfs. The counters live in the
//! file's shared mapping: bumping one is the same atomic add as without a file, with no system
//! call, and a reader in another process sees every value as it changes ([`read_dir`], or the
//! format below from any language). The idea is mmstats' (Michael Schurter, 2011).
//!
//! - **tmpfs only.** A shared mapping of a disk file has its dirty pages written back by the
//!   kernel, and a write to a page under write-back can wait for the disk: the logger's writer
//!   would stall on I/O it never asked for. `stats_dir` refuses a directory not on tmpfs (use
//!   `/dev/shm/<app>` or `/run/<app>`) with an error naming it.
//! - **Written once, then only atomics.** The file is created under a temporary name
//!   (`.<ident>.<pid>.fsstats.tmp`), its header and schema written in full, and only then renamed
//!   into place: a reader never sees a half-written header. After that only the values change,
//!   each as one aligned 64-bit atomic store or add.
//! - **Fork.** A forked child's counters leave the parent's file before the child can bump
//!   anything (in the atfork child handler): the child writes its own file,
//!   `<ident>.<child pid>.fsstats`, which starts from the parent's values at the fork (as the
//!   child's in-process [`Stats`] do) and never touches the parent's. Summing the files of a
//!   pre-fork tree therefore counts what the parent logged before the fork once per child too.
//!   The handler runs for every `fork()`, also one followed by `exec`: such a child's file stays
//!   behind when the program it runs exits, and reads as dead then (`posix_spawn(3)`, which
//!   `std::process::Command` uses, runs no atfork handler and makes no file).
//! - **Exit.** Dropping the [`WorkerGuard`](crate::WorkerGuard) or a normal `exit(3)` removes the
//!   file. A process that dies otherwise (killed, crashed, `_exit(2)`) leaves it, and readers mark
//!   it dead: its pid is gone (`kill(pid, 0)` fails with `ESRCH`), or, with a background writer,
//!   the heartbeat is older than the threshold in the header (30 s; a healthy writer beats at
//!   least every 100 ms). In sync mode nothing runs between records, so there is no heartbeat:
//!   only the pid tells (a reused pid makes a dead sync-mode file look alive).
//!
//! ## The stats file format
//!
//! Version 1. Integers are in the machine's byte order (little-endian on x86-64 and aarch64; a
//! reader finds a byte-swapped version number on a machine of the other order). Offsets are in
//! bytes from the start of the file. Header:
//!
//! ```text
//!  offset size  field
//!   0      8    magic: the bytes "FSSTATS\0"
//!   8      4    format version (u32): 1
//!  12      4    header length (u32): the fixed fields and the two strings, padded to 8
//!  16      4    schema offset (u32)
//!  20      4    schema length (u32), in bytes
//!  24      4    values offset (u32): a multiple of 4096
//!  28      4    values length (u32), in bytes
//!  32      4    schema entry count (u32)
//!  36      4    flags (u32): bit 0 set when a background writer keeps the heartbeat
//!  40      8    pid (u64)
//!  48      8    start time (u64): microseconds since the Unix epoch
//!  56      8    heartbeat threshold (u64): microseconds; an older heartbeat means dead
//!  64      2    crate version length v (u16)
//!  66      2    ident length n (u16)
//!  68      v    crate version, UTF-8 (for example "0.1.0")
//!  68+v    n    ident, UTF-8
//!  ...          zero bytes up to the header length
//! ```
//!
//! The schema follows at its offset: `count` entries, one per value, each 8-byte aligned:
//!
//! ```text
//!  +0      2    entry length (u16), a multiple of 8, this field included
//!  +2      1    kind (u8): 0 counter, 1 gauge, 2 flag (0 or 1), 3 timestamp (microseconds
//!               since the Unix epoch, 0 for never), 4 monotonic (nanoseconds on the machine's
//!               CLOCK_MONOTONIC, 0 for not set)
//!  +3      1    label count k (u8)
//!  +4      4    value offset (u32), from the start of the file: 8-aligned, inside the values
//!  +8      2    name length (u16), then the name (UTF-8)
//!               then k times: key length (u16), key, value length (u16), value
//!  ...          zero bytes up to the entry length
//! ```
//!
//! Zero bytes pad the schema up to the values offset. The values area holds unsigned 64-bit
//! integers, each at the offset its entry gives; bytes no entry names are unused. Read each value
//! with one aligned 8-byte load (an atomic load where the language has one): the writer changes
//! them only with atomic operations, so such a load never sees half an update. A reader skips
//! kinds and names it does not know. The header, schema and their offsets never change after the
//! file appears.
//!
//! The names of version 1, with their labels: `enqueued` (no label: sync mode; `lane`:
//! background mode), `written`, `dropped` (`lane`, `reason`), `truncated`, `send_errors`
//! (`errno`: a name such as `ECONNREFUSED` or `other`; `code`: the number), `reconnects`, `frames_cut`,
//! `queue_depth_high_water`, `lane_queue_depth`, `lane_queue_bytes`,
//! `lane_queue_depth_high_water`, `lane_queue_bytes_high_water` (`lane`), `writer_blocked_ns`,
//! `writer_trying_since` (monotonic: the writer is stuck when it is set and over a second old),
//! `heartbeat`, `first_unreported_drop` (timestamps), `suppressed`, `sampled_out`,
//! `backtrace_captured`, `backtrace_sent`. `lane` is `error` or `bulk`; `reason` is a
//! [`DropReason::name`].

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::sys::net::errno;

mod file;
mod read;
mod render;

pub use self::file::FILE_EXTENSION;
pub use self::read::{
    read_dir, read_file, DeadReason, Liveness, ProcessStats, ReadError, ReadErrorKind,
};
pub use self::render::prometheus;

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

/// The shared live counters behind [`Stats`]: a [`Block`] of atomics on pages of its own, which a
/// stats file backs when [`Builder::stats_dir`](crate::Builder::stats_dir) is set (see
/// [the format](mod@self#the-stats-file-format)). Callers bump the block's fields through `Deref`:
/// where the counters live changes nothing on the record path.
pub(crate) struct Counters {
    block: crate::sys::shm::Shared<Block>,
    /// Every value of the block with its name, kind and labels, in a fixed order.
    schema: Vec<file::Entry>,
    /// The published stats file, if any.
    file: Option<std::path::PathBuf>,
}

/// The counters themselves: every field a 64-bit atomic (so any bytes are a valid value, which a
/// file shared with readers needs), each described by one [`file::Entry`] of the schema.
#[derive(Debug, Default)]
#[repr(C)]
pub(crate) struct Block {
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
    /// Microseconds since the Unix epoch of the background writer's last pass (0: never).
    heartbeat_us: AtomicU64,
    /// Per lane, as the writer last saw them: records waiting, bytes waiting, and the highest of
    /// each it has seen.
    lane_depth: [AtomicU64; 2],
    lane_bytes: [AtomicU64; 2],
    lane_depth_high_water: [AtomicU64; 2],
    lane_bytes_high_water: [AtomicU64; 2],
    /// Records queued per lane by the background writer's callers (sync mode counts `enqueued`).
    enqueued_lane: CallerLine<[AtomicU64; 2]>,
}

impl std::ops::Deref for Counters {
    type Target = Block;
    #[inline]
    fn deref(&self) -> &Block {
        &self.block
    }
}

impl Default for Counters {
    fn default() -> Self {
        let block = crate::sys::shm::Shared::new(Block::default());
        let schema = file::schema(&block);
        Counters {
            block,
            schema,
            file: None,
        }
    }
}

impl fmt::Debug for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Counters")
            .field("block", &*self.block)
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

/// Counts kept apart from drops: records held back on purpose (see `crate::volume`).
#[derive(Debug, Default)]
#[repr(C)]
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

/// Nanoseconds on the machine's monotonic clock (the same in every process, so a stats file's
/// reader can compare), at least 1 (0 means "not set" in the counters).
pub(crate) fn monotonic_ns() -> u64 {
    crate::sys::time::monotonic_ns().unwrap_or(1)
}

/// Microseconds since the Unix epoch, at least 1 (0 means "never" in the counters).
pub(crate) fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
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
            // Another thread's first drop may have won: it is as early as this one.
            let _ = self
                .first_drop_us
                .compare_exchange(0, now_us(), Relaxed, Relaxed);
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

    #[cfg_attr(not(feature = "background"), allow(dead_code))] // The drop summary reads it.
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

    /// The background writer's heartbeat: called once per pass of its loop (a batch sent, or a
    /// sleep over), never per record.
    #[cfg_attr(not(feature = "background"), allow(dead_code))] // Only the background writer beats.
    pub(crate) fn beat(&self) {
        self.heartbeat_us.store(now_us(), Relaxed);
    }

    /// Publishes each lane's waiting `(records, bytes)` as the writer sees them after a pass, and
    /// raises their high-water marks. Writes only what changed.
    #[cfg_attr(not(feature = "background"), allow(dead_code))] // Only the background writer uses it.
    pub(crate) fn publish_queues(&self, lanes: [(u64, u64); 2]) {
        for (i, (records, bytes)) in lanes.into_iter().enumerate() {
            for (gauge, mark, value) in [
                (&self.lane_depth[i], &self.lane_depth_high_water[i], records),
                (&self.lane_bytes[i], &self.lane_bytes_high_water[i], bytes),
            ] {
                if gauge.load(Relaxed) != value {
                    gauge.store(value, Relaxed);
                }
                if mark.load(Relaxed) < value {
                    mark.fetch_max(value, Relaxed);
                }
            }
        }
    }

    /// A lock-free snapshot of every counter, with `queue_depth` (the live count) for the total
    /// queue depth. Decoded through the schema, as a reader of the stats file decodes it.
    pub(crate) fn snapshot(&self, queue_depth: u64) -> Stats {
        let mut stats = file::decode(
            self.schema.iter().map(|e| (e, e.load(&self.block))),
            monotonic_ns(),
        );
        stats.queue_depth = queue_depth;
        stats
    }

    /// The published stats file, if any.
    pub(crate) fn file(&self) -> Option<&std::path::Path> {
        self.file.as_deref()
    }

    /// Removes the stats file (the logger shut down); the counters keep working in the process.
    pub(crate) fn unpublish(&self) {
        self.block.unpublish();
    }

    /// Counters that live in a new stats file in `dir` (see [`file::publish`]).
    pub(crate) fn published(
        dir: &std::path::Path,
        ident: &str,
        background: bool,
    ) -> std::io::Result<Counters> {
        let mut counters = Counters::default();
        let path = file::publish(
            &mut counters.block,
            &counters.schema,
            dir,
            ident,
            background,
        )?;
        counters.file = Some(path);
        Ok(counters)
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
    /// Each lane's queue as the background writer last saw it (after its last pass: at most
    /// about a millisecond old while it is busy, [`queue_depth`](Stats::queue_depth) is live),
    /// with its high-water marks; empty in sync mode.
    pub lanes: Vec<LaneQueue>,
    /// The background writer's last heartbeat: it beats once per pass of its loop (a batch sent
    /// or a sleep over, at least every 100 ms while it runs), never per record. `None` in sync
    /// mode, where nothing runs between records, and before the writer's first pass.
    pub heartbeat: Option<std::time::SystemTime>,
}

/// One lane's queue in [`Stats::lanes`].
///
/// # Examples
///
/// ```
/// let q = fastsyslog::stats::LaneQueue::default();
/// assert_eq!(q.depth, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LaneQueue {
    /// Which lane.
    pub lane: Lane,
    /// Records waiting.
    pub depth: u64,
    /// Bytes of rendered records waiting.
    pub bytes: u64,
    /// The most records seen waiting at once.
    pub depth_high_water: u64,
    /// The most bytes seen waiting at once.
    pub bytes_high_water: u64,
}

impl Default for LaneQueue {
    fn default() -> Self {
        LaneQueue {
            lane: Lane::Bulk,
            depth: 0,
            bytes: 0,
            depth_high_water: 0,
            bytes_high_water: 0,
        }
    }
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

/// Adds another process's (or logger's) counts: counters and queue gauges add up, keyed counts
/// (per lane, reason, errno) add by key, `writer_stuck` is true when either is, and the heartbeat
/// is the later one. High-water marks add too, so a sum's mark is an upper bound of the marks the
/// processes could have reached together.
///
/// # Examples
///
/// ```
/// use fastsyslog::{DropReason, Lane, Stats};
/// let mut a = Stats::default();
/// a.written = 5;
/// a.dropped.push((Lane::Bulk, DropReason::QueueFull, 1));
/// let mut b = a.clone();
/// b.written = 7;
/// let total: Stats = [a, b].iter().sum();
/// assert_eq!((total.written, total.dropped_total()), (12, 2));
/// ```
impl std::ops::AddAssign<&Stats> for Stats {
    fn add_assign(&mut self, other: &Stats) {
        // Every field by name, with no `..`: a new field does not compile until it is summed.
        let Stats {
            enqueued,
            enqueued_by_lane,
            written,
            dropped,
            truncated,
            send_errors,
            reconnects,
            frames_cut,
            queue_depth,
            queue_depth_high_water,
            writer_blocked_ns,
            writer_stuck,
            suppressed,
            sampled_out,
            backtrace_sent,
            backtrace_discarded,
            lanes,
            heartbeat,
        } = other;
        for (sum, n) in [
            (&mut self.enqueued, enqueued),
            (&mut self.written, written),
            (&mut self.truncated, truncated),
            (&mut self.reconnects, reconnects),
            (&mut self.frames_cut, frames_cut),
            (&mut self.queue_depth, queue_depth),
            (&mut self.queue_depth_high_water, queue_depth_high_water),
            (&mut self.writer_blocked_ns, writer_blocked_ns),
            (&mut self.suppressed, suppressed),
            (&mut self.sampled_out, sampled_out),
            (&mut self.backtrace_sent, backtrace_sent),
            (&mut self.backtrace_discarded, backtrace_discarded),
        ] {
            *sum = sum.saturating_add(*n);
        }
        for &(lane, n) in enqueued_by_lane {
            add_keyed(&mut self.enqueued_by_lane, lane, n);
        }
        for &(lane, reason, n) in dropped {
            match self
                .dropped
                .iter_mut()
                .find(|(l, r, _)| (*l, *r) == (lane, reason))
            {
                Some((_, _, sum)) => *sum = sum.saturating_add(n),
                None => self.dropped.push((lane, reason, n)),
            }
        }
        for &(errno, n) in send_errors {
            add_keyed(&mut self.send_errors, errno, n);
        }
        self.writer_stuck = self.writer_stuck || *writer_stuck;
        for q in lanes {
            let sum = match self.lanes.iter_mut().position(|t| t.lane == q.lane) {
                Some(i) => &mut self.lanes[i],
                None => {
                    self.lanes.push(LaneQueue {
                        lane: q.lane,
                        ..LaneQueue::default()
                    });
                    self.lanes.last_mut().expect("just pushed")
                }
            };
            sum.depth = sum.depth.saturating_add(q.depth);
            sum.bytes = sum.bytes.saturating_add(q.bytes);
            sum.depth_high_water = sum.depth_high_water.saturating_add(q.depth_high_water);
            sum.bytes_high_water = sum.bytes_high_water.saturating_add(q.bytes_high_water);
        }
        self.heartbeat = self.heartbeat.max(*heartbeat);
    }
}

/// The sum of many snapshots, as [`AddAssign`](std::ops::AddAssign) adds two: the totals of a
/// pre-forked server's processes, for example.
impl<'a> std::iter::Sum<&'a Stats> for Stats {
    fn sum<I: Iterator<Item = &'a Stats>>(iter: I) -> Stats {
        let mut total = Stats::default();
        for s in iter {
            total += s;
        }
        total
    }
}

/// Adds `n` to `key`'s count in `counts`, appending the key when it is new.
fn add_keyed<K: PartialEq>(counts: &mut Vec<(K, u64)>, key: K, n: u64) {
    match counts.iter_mut().find(|(k, _)| *k == key) {
        Some((_, sum)) => *sum = sum.saturating_add(n),
        None => counts.push((key, n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[test]
    #[allow(clippy::field_reassign_with_default)] // Each snapshot sets the fields it tests.
    fn a_sum_adds_every_count_by_key() {
        let mut a = Stats::default();
        a.written = 5;
        a.enqueued = 6;
        a.enqueued_by_lane = vec![(Lane::Bulk, 6)];
        a.dropped = vec![(Lane::Bulk, DropReason::QueueFull, 1)];
        a.send_errors = vec![(111, 2)];
        a.queue_depth = 3;
        let mut b = Stats::default();
        b.written = 7;
        b.enqueued_by_lane = vec![(Lane::Error, 1), (Lane::Bulk, 2)];
        b.dropped = vec![
            (Lane::Error, DropReason::Timeout, 4),
            (Lane::Bulk, DropReason::QueueFull, 2),
        ];
        b.send_errors = vec![(111, 1), (0, 1)];
        b.writer_stuck = true;
        let mut bulk = LaneQueue::default();
        bulk.depth = 2;
        bulk.bytes = 100;
        a.lanes = vec![bulk];
        b.lanes = vec![bulk, bulk];
        b.lanes[0].lane = Lane::Error;
        a.heartbeat = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(5));
        let sum: Stats = [&a, &b].into_iter().sum();
        let lanes: Vec<(Lane, u64, u64)> = sum
            .lanes
            .iter()
            .map(|q| (q.lane, q.depth, q.bytes))
            .collect();
        assert_eq!(lanes, vec![(Lane::Bulk, 4, 200), (Lane::Error, 2, 100)]);
        assert_eq!(sum.heartbeat, a.heartbeat);
        assert_eq!(sum.written, 12);
        assert_eq!(sum.enqueued, 6);
        assert_eq!(sum.enqueued_for(Lane::Bulk), 8);
        assert_eq!(sum.enqueued_for(Lane::Error), 1);
        assert_eq!(sum.dropped_for(Lane::Bulk, DropReason::QueueFull), 3);
        assert_eq!(sum.dropped_total(), 7);
        assert_eq!(sum.send_errors, vec![(111, 3), (0, 1)]);
        assert_eq!(sum.queue_depth, 3);
        assert!(sum.writer_stuck);
    }

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
    fn shm_dir() -> tempfile::TempDir {
        tempfile::tempdir_in("/dev/shm").expect("/dev/shm is a tmpfs here")
    }

    #[test]
    fn a_stats_file_reads_back_as_the_snapshot() {
        let dir = shm_dir();
        let c = Counters::published(dir.path(), "web", true).unwrap();
        c.drop_record(Lane::Bulk, DropReason::QueueFull);
        c.send_failed(
            Lane::Error,
            &std::io::Error::from_raw_os_error(errno::ECONNREFUSED),
            2,
        );
        c.enqueue(Lane::Error);
        c.written.fetch_add(5, Relaxed);
        c.publish_queues([(1, 100), (2, 300)]);
        c.beat();
        let path = c.file().unwrap().to_owned();
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            format!("web.{}.fsstats", std::process::id())
        );
        let read = read_file(&path).unwrap();
        assert_eq!((read.ident.as_str(), read.pid), ("web", std::process::id()));
        assert_eq!(read.version, env!("CARGO_PKG_VERSION"));
        assert!(read.is_live(), "{:?}", read.liveness);
        let mut expected = c.snapshot(3);
        expected.queue_depth = 3;
        assert_eq!(read.stats, expected);
        assert_eq!(read.stats.send_errors, vec![(errno::ECONNREFUSED, 2)]);
        assert_eq!(read.stats.lanes[1].bytes_high_water, 300);
        assert!(read.stats.heartbeat.is_some());
        c.unpublish();
        assert!(!path.exists());
    }

    /// Parses a stats file with nothing but the offsets the module docs give, as a reader in
    /// another language would.
    #[test]
    fn the_documented_layout_is_the_written_one() {
        let dir = shm_dir();
        let c = Counters::published(dir.path(), "doc", false).unwrap();
        c.written.fetch_add(42, Relaxed);
        c.drop_record(Lane::Error, DropReason::Timeout);
        let bytes = std::fs::read(c.file().unwrap()).unwrap();
        let u16_at = |i: usize| usize::from(u16::from_le_bytes([bytes[i], bytes[i + 1]]));
        let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap()) as usize;
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap());
        assert_eq!(&bytes[0..8], b"FSSTATS\0");
        assert_eq!(u32_at(8), 1);
        let (schema_offset, count, values_offset) = (u32_at(16), u32_at(32), u32_at(24));
        assert_eq!(values_offset % 4096, 0);
        assert_eq!(u32_at(36) & 1, 0, "sync mode keeps no heartbeat");
        assert_eq!(u64_at(40), u64::from(std::process::id()));
        let (v, n) = (u16_at(64), u16_at(66));
        assert_eq!(&bytes[68..68 + v], env!("CARGO_PKG_VERSION").as_bytes());
        assert_eq!(&bytes[68 + v..68 + v + n], b"doc");
        let mut found = std::collections::BTreeMap::new();
        let mut at = schema_offset;
        for _ in 0..count {
            let len = u16_at(at);
            assert_eq!(len % 8, 0);
            let labels = bytes[at + 3];
            let offset = u32_at(at + 4);
            let name_len = u16_at(at + 8);
            let name = std::str::from_utf8(&bytes[at + 10..at + 10 + name_len]).unwrap();
            let mut i = at + 10 + name_len;
            let mut text = name.to_owned();
            for _ in 0..labels {
                let k = u16_at(i);
                let key = std::str::from_utf8(&bytes[i + 2..i + 2 + k]).unwrap();
                let vlen = u16_at(i + 2 + k);
                let value = std::str::from_utf8(&bytes[i + 4 + k..i + 4 + k + vlen]).unwrap();
                text.push_str(&format!(" {key}={value}"));
                i += 4 + k + vlen;
            }
            found.insert(text, u64_at(offset));
            at += len;
        }
        assert_eq!(found["written"], 42);
        assert_eq!(found["dropped lane=error reason=timeout"], 1);
        assert_eq!(found["dropped lane=bulk reason=timeout"], 0);
        assert!(
            found.contains_key("send_errors errno=ECONNREFUSED code=111"),
            "{found:?}"
        );
    }

    #[test]
    fn a_reader_never_sees_a_counter_go_backwards() {
        let dir = shm_dir();
        let c = std::sync::Arc::new(Counters::published(dir.path(), "load", true).unwrap());
        let path = c.file().unwrap().to_owned();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writers: Vec<_> = (0..4)
            .map(|_| {
                let (c, stop) = (c.clone(), stop.clone());
                std::thread::spawn(move || {
                    while !stop.load(Relaxed) {
                        c.written.fetch_add(1, Relaxed);
                        c.enqueue(Lane::Bulk);
                        c.drop_record(Lane::Bulk, DropReason::QueueFull);
                    }
                })
            })
            .collect();
        let mut last = (0, 0, 0);
        for _ in 0..2000 {
            let s = read_file(&path).expect("never a torn header").stats;
            let now = (s.written, s.enqueued, s.dropped_total());
            assert!(
                now.0 >= last.0 && now.1 >= last.1 && now.2 >= last.2,
                "{last:?} then {now:?}"
            );
            last = now;
        }
        stop.store(true, Relaxed);
        for w in writers {
            w.join().unwrap();
        }
        assert!(last.0 > 0, "the writers ran");
    }

    #[test]
    fn a_file_that_is_not_a_stats_file_is_named_in_the_error() {
        let dir = shm_dir();
        let path = dir.path().join("x.1.fsstats");
        std::fs::write(&path, vec![7u8; 8192]).unwrap();
        let err = read_file(&path).unwrap_err();
        assert!(matches!(err.kind(), ReadErrorKind::NotStatsFile));
        assert!(
            err.to_string().contains("x.1.fsstats: not a stats file"),
            "{err}"
        );
        let c = Counters::published(dir.path(), "cut", false).unwrap();
        let bytes = std::fs::read(c.file().unwrap()).unwrap();
        let short = dir.path().join("short.2.fsstats");
        std::fs::write(&short, &bytes[..4096]).unwrap();
        let err = read_file(&short).unwrap_err();
        assert!(
            matches!(err.kind(), ReadErrorKind::Truncated { .. }),
            "{err}"
        );
        let mut torn = bytes.clone();
        torn[16..20].copy_from_slice(&u32::MAX.to_ne_bytes());
        let torn_path = dir.path().join("torn.3.fsstats");
        std::fs::write(&torn_path, &torn).unwrap();
        assert!(matches!(
            read_file(&torn_path).unwrap_err().kind(),
            ReadErrorKind::Torn(_)
        ));
        let all = read_dir(dir.path()).unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(all.iter().filter(|r| r.is_ok()).count(), 1);
    }
    #[test]
    fn a_stale_heartbeat_reads_as_dead_though_the_pid_lives() {
        let dir = shm_dir();
        let c = Counters::published(dir.path(), "stale", true).unwrap();
        let path = c.file().unwrap().to_owned();
        // No heartbeat yet: a writer that has not started is not judged.
        assert!(read_file(&path).unwrap().is_live());
        c.beat();
        assert!(read_file(&path).unwrap().is_live());
        let old = now_us() - 31_000_000;
        c.heartbeat_us.store(old, Relaxed);
        // A heartbeat from before the start is a parent's: not judged either.
        assert!(
            read_file(&path).unwrap().is_live(),
            "a heartbeat before the start counts"
        );
        let started = read_file(&path).unwrap().started;
        let after_start = started + std::time::Duration::from_micros(1);
        let us = after_start
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros();
        c.heartbeat_us.store(u64::try_from(us).unwrap(), Relaxed);
        std::thread::sleep(std::time::Duration::from_millis(5));
        let mut raw = std::fs::read(&path).unwrap();
        // A copy whose threshold is 1 ms: the same heartbeat is now stale.
        raw[file::at::STALE_AFTER_US..file::at::STALE_AFTER_US + 8]
            .copy_from_slice(&1000u64.to_ne_bytes());
        let copy = dir
            .path()
            .join(format!("copy.{}.fsstats", std::process::id()));
        std::fs::write(&copy, &raw).unwrap();
        assert!(
            matches!(
                read_file(&copy).unwrap().liveness,
                Liveness::Dead(DeadReason::StaleHeartbeat(_))
            ),
            "{:?}",
            read_file(&copy).unwrap().liveness
        );
        // Without the background flag (sync mode) only the pid tells.
        raw[file::at::FLAGS..file::at::FLAGS + 4].copy_from_slice(&0u32.to_ne_bytes());
        std::fs::write(&copy, &raw).unwrap();
        assert!(read_file(&copy).unwrap().is_live());
    }

    #[test]
    fn bad_stats_dirs_are_errors_naming_the_variable_or_path() {
        let env = |value: &'static str| {
            move |name: &str| (name == "FASTSYSLOG_STATS_DIR").then(|| value.into())
        };
        let err = crate::Builder::new()
            .with_env(env("relative/dir"))
            .build_pipeline(false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("FASTSYSLOG_STATS_DIR") && err.contains("relative/dir"),
            "{err}"
        );
        let on_disk = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
        assert!(
            !crate::sys::shm::on_tmpfs(&on_disk).unwrap(),
            "the test needs a disk dir"
        );
        let err = crate::Builder::new()
            .mode(crate::Mode::Sync)
            .stats_dir(&on_disk)
            .build_pipeline(false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&on_disk.display().to_string()) && err.contains("tmpfs"),
            "{err}"
        );
        let err = crate::Builder::new()
            .mode(crate::Mode::Sync)
            .stats_dir("/proc/self/no/such")
            .build_pipeline(false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/proc/self/no/such") && err.contains("cannot create"),
            "{err}"
        );
    }
}
