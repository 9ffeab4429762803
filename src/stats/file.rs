//! The stats file's format: the header and schema the writer lays out once, the schema of the
//! counters [`Block`], and the one decoder from named values to [`Stats`] that the process and a
//! reader of the file share. The byte layout is documented on [the module](super).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::{is_stuck, Block, DropReason, Lane, LaneQueue, Stats, ERRNOS};
use crate::sys::shm::{FileSpec, Shared, PAGE};

/// The extension of every stats file: `<dir>/<ident>.<pid>.fsstats`.
///
/// # Examples
///
/// ```
/// assert_eq!(fastsyslog::stats::FILE_EXTENSION, "fsstats");
/// ```
pub const FILE_EXTENSION: &str = "fsstats";

/// The first 8 bytes of every stats file.
pub(crate) const MAGIC: [u8; 8] = *b"FSSTATS\0";
/// The format version this crate writes and reads.
pub(crate) const VERSION: u32 = 1;
/// Where the fixed header fields sit (see the byte diagram in the module docs).
pub(crate) mod at {
    pub(crate) const VERSION: usize = 8;
    pub(crate) const HEADER_LEN: usize = 12;
    pub(crate) const SCHEMA_OFFSET: usize = 16;
    pub(crate) const SCHEMA_LEN: usize = 20;
    pub(crate) const VALUES_OFFSET: usize = 24;
    pub(crate) const VALUES_LEN: usize = 28;
    pub(crate) const ENTRY_COUNT: usize = 32;
    pub(crate) const FLAGS: usize = 36;
    pub(crate) const PID: usize = 40;
    pub(crate) const START_US: usize = 48;
    pub(crate) const STALE_AFTER_US: usize = 56;
    pub(crate) const VERSION_LEN: usize = 64;
    pub(crate) const IDENT_LEN: usize = 66;
    /// The crate version's bytes, then the ident's.
    pub(crate) const STRINGS: usize = 68;
}
/// Flag bit: a background writer keeps the heartbeat.
pub(crate) const FLAG_HEARTBEAT: u32 = 1;
/// A heartbeat older than this (with the pid still present) means the writer is gone: 300 times
/// the longest sleep of a healthy writer (100 ms), long enough for a send that hangs until its
/// timeout. Written into each file's header, so readers need not know it.
pub(crate) const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(30);

/// What a value means: the schema's kind byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Only ever grows.
    Counter = 0,
    /// Goes up and down.
    Gauge = 1,
    /// 0 or 1.
    #[allow(dead_code)] // In the format for readers; no value of this version uses it.
    Flag = 2,
    /// Microseconds since the Unix epoch, 0 for never.
    TimestampUs = 3,
    /// Nanoseconds on the machine's `CLOCK_MONOTONIC`, 0 for not set.
    MonotonicNs = 4,
}

impl Kind {
    pub(crate) fn from_byte(b: u8) -> Option<Kind> {
        Some(match b {
            0 => Kind::Counter,
            1 => Kind::Gauge,
            2 => Kind::Flag,
            3 => Kind::TimestampUs,
            4 => Kind::MonotonicNs,
            _ => return None,
        })
    }
}

type Getter = Box<dyn Fn(&Block) -> &AtomicU64 + Send + Sync>;

/// One schema entry: a value's name, kind, labels and place.
pub(crate) struct Entry {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) labels: Vec<(String, String)>,
    /// From the start of the [`Block`] in a process; from the start of the file once read.
    pub(crate) offset: usize,
    /// The value in a process's own block (`None` for an entry read from a file).
    get: Option<Getter>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("labels", &self.labels)
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

impl Entry {
    /// An entry read from a file.
    pub(crate) fn read(
        name: String,
        kind: Kind,
        labels: Vec<(String, String)>,
        offset: usize,
    ) -> Entry {
        Entry {
            name,
            kind,
            labels,
            offset,
            get: None,
        }
    }

    /// The value in `block` (0 for an entry read from a file: it has no block here).
    pub(crate) fn load(&self, block: &Block) -> u64 {
        self.get.as_ref().map_or(0, |get| get(block).load(Relaxed))
    }

    fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

const LANES: [Lane; 2] = [Lane::Error, Lane::Bulk];

/// Every value of `block`, in a fixed order: the schema written into the file and the one the
/// process decodes its own snapshot with.
pub(crate) fn schema(block: &Block) -> Vec<Entry> {
    let base = block as *const Block as usize;
    let mut out = Vec::new();
    let mut add = |name: &str, kind: Kind, labels: Vec<(&str, String)>, get: Getter| {
        let offset = get(block) as *const AtomicU64 as usize - base;
        out.push(Entry {
            name: name.to_owned(),
            kind,
            labels: labels.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            offset,
            get: Some(get),
        });
    };
    let lane = |l: Lane| vec![("lane", l.name().to_owned())];
    use Kind::{Counter, Gauge, MonotonicNs, TimestampUs};
    add("enqueued", Counter, vec![], Box::new(|b| &b.enqueued));
    for l in LANES {
        add(
            "enqueued",
            Counter,
            lane(l),
            Box::new(move |b| &b.enqueued_lane[l as usize]),
        );
    }
    add("written", Counter, vec![], Box::new(|b| &b.written));
    for l in LANES {
        for &r in DropReason::all() {
            let labels = vec![
                ("lane", l.name().to_owned()),
                ("reason", r.name().to_owned()),
            ];
            add(
                "dropped",
                Counter,
                labels,
                Box::new(move |b| &b.dropped[l as usize][r.index()]),
            );
        }
    }
    add("truncated", Counter, vec![], Box::new(|b| &b.truncated));
    for (i, &(code, name)) in ERRNOS.iter().enumerate() {
        let labels = vec![("errno", name.to_owned()), ("code", code.to_string())];
        add(
            "send_errors",
            Counter,
            labels,
            Box::new(move |b| &b.send_errors[i]),
        );
    }
    add("reconnects", Counter, vec![], Box::new(|b| &b.reconnects));
    add("frames_cut", Counter, vec![], Box::new(|b| &b.frames_cut));
    add(
        "queue_depth_high_water",
        Gauge,
        vec![],
        Box::new(|b| &b.queue_depth_high_water),
    );
    for l in LANES {
        let i = l as usize;
        add(
            "lane_queue_depth",
            Gauge,
            lane(l),
            Box::new(move |b| &b.lane_depth[i]),
        );
        add(
            "lane_queue_bytes",
            Gauge,
            lane(l),
            Box::new(move |b| &b.lane_bytes[i]),
        );
        add(
            "lane_queue_depth_high_water",
            Gauge,
            lane(l),
            Box::new(move |b| &b.lane_depth_high_water[i]),
        );
        add(
            "lane_queue_bytes_high_water",
            Gauge,
            lane(l),
            Box::new(move |b| &b.lane_bytes_high_water[i]),
        );
    }
    add(
        "writer_blocked_ns",
        Counter,
        vec![],
        Box::new(|b| &b.writer_blocked_ns),
    );
    add(
        "writer_trying_since",
        MonotonicNs,
        vec![],
        Box::new(|b| &b.writer_waiting_since_ns),
    );
    add(
        "heartbeat",
        TimestampUs,
        vec![],
        Box::new(|b| &b.heartbeat_us),
    );
    add(
        "first_unreported_drop",
        TimestampUs,
        vec![],
        Box::new(|b| &b.first_drop_us),
    );
    add(
        "suppressed",
        Counter,
        vec![],
        Box::new(|b| &b.volume.suppressed),
    );
    add(
        "sampled_out",
        Counter,
        vec![],
        Box::new(|b| &b.volume.sampled_out),
    );
    add(
        "backtrace_captured",
        Counter,
        vec![],
        Box::new(|b| &b.volume.captured),
    );
    add(
        "backtrace_sent",
        Counter,
        vec![],
        Box::new(|b| &b.volume.backtrace_sent),
    );
    out
}

/// Builds a [`Stats`] from named values: the process's own snapshot and a reader of a file both
/// come here. Unknown names are skipped (a newer writer may add values). `now_mono` is
/// [`super::monotonic_ns`] now, for the stuck flag; `queue_depth` is the lanes' sum.
pub(crate) fn decode<'a>(values: impl Iterator<Item = (&'a Entry, u64)>, now_mono: u64) -> Stats {
    let mut stats = Stats::default();
    let mut lanes = LANES.map(|lane| LaneQueue {
        lane,
        ..LaneQueue::default()
    });
    let mut by_lane = [0u64; 2];
    let mut captured = 0;
    let lane_of = |e: &Entry| match e.label("lane") {
        Some("error") => Some(0),
        Some("bulk") => Some(1),
        _ => None,
    };
    for (e, v) in values {
        match (e.name.as_str(), lane_of(e)) {
            ("enqueued", Some(i)) => by_lane[i] = v,
            ("enqueued", None) => stats.enqueued = v,
            ("written", _) => stats.written = v,
            ("dropped", Some(i)) => {
                let reason = e
                    .label("reason")
                    .and_then(|name| DropReason::all().iter().find(|r| r.name() == name).copied());
                if let (Some(reason), true) = (reason, v > 0) {
                    stats.dropped.push((LANES[i], reason, v));
                }
            }
            ("truncated", _) => stats.truncated = v,
            ("send_errors", _) => {
                let code = e.label("code").and_then(|c| c.parse().ok()).unwrap_or(0);
                if v > 0 {
                    stats.send_errors.push((code, v));
                }
            }
            ("reconnects", _) => stats.reconnects = v,
            ("frames_cut", _) => stats.frames_cut = v,
            ("queue_depth_high_water", _) => stats.queue_depth_high_water = v,
            ("lane_queue_depth", Some(i)) => lanes[i].depth = v,
            ("lane_queue_bytes", Some(i)) => lanes[i].bytes = v,
            ("lane_queue_depth_high_water", Some(i)) => lanes[i].depth_high_water = v,
            ("lane_queue_bytes_high_water", Some(i)) => lanes[i].bytes_high_water = v,
            ("writer_blocked_ns", _) => stats.writer_blocked_ns = v,
            ("writer_trying_since", _) => stats.writer_stuck = is_stuck(v, now_mono),
            ("heartbeat", _) if v != 0 => {
                stats.heartbeat = Some(std::time::UNIX_EPOCH + std::time::Duration::from_micros(v));
            }
            ("suppressed", _) => stats.suppressed = v,
            ("sampled_out", _) => stats.sampled_out = v,
            ("backtrace_captured", _) => captured = v,
            ("backtrace_sent", _) => stats.backtrace_sent = v,
            _ => {}
        }
    }
    stats.enqueued += by_lane.iter().sum::<u64>();
    stats.enqueued_by_lane = LANES.into_iter().zip(by_lane).collect();
    stats.backtrace_discarded = captured.saturating_sub(stats.backtrace_sent);
    stats.queue_depth = lanes.iter().map(|q| q.depth).sum();
    stats.lanes = lanes.to_vec();
    stats
}

/// Lays out the header and schema for `schema` and publishes `block` as the file
/// `<dir>/<ident>.<pid>.fsstats` (see [`Shared::publish`]). Returns the file's path.
pub(crate) fn publish(
    block: &mut Shared<Block>,
    schema: &[Entry],
    dir: &Path,
    ident: &str,
    background: bool,
) -> std::io::Result<PathBuf> {
    // The atfork child step (which moves a child's counters off this file) must run in every
    // fork from now on.
    crate::sys::fork::track_forks();
    let header = header(schema, ident, background, block.len());
    block.publish(&FileSpec {
        dir,
        stem: &ident.replace('/', "_"),
        ext: FILE_EXTENSION,
        header: &header,
        pid_at: at::PID,
        start_at: at::START_US,
    })
}

fn put_u16(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u16::try_from(n).unwrap_or(u16::MAX).to_ne_bytes());
}

fn set_u32(out: &mut [u8], at: usize, n: usize) {
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    out[at..at + 4].copy_from_slice(&n.to_ne_bytes());
}

fn pad8(out: &mut Vec<u8>) {
    out.resize(out.len().div_ceil(8) * 8, 0);
}

/// The header, the schema and zero padding up to the values (a whole number of pages).
fn header(schema: &[Entry], ident: &str, background: bool, values_len: usize) -> Vec<u8> {
    let version = env!("CARGO_PKG_VERSION");
    let ident = &ident[..ident.len().min(u16::MAX as usize)];
    let mut out = vec![0u8; at::STRINGS];
    out[..8].copy_from_slice(&MAGIC);
    out[at::VERSION..at::VERSION + 4].copy_from_slice(&VERSION.to_ne_bytes());
    let flags = if background { FLAG_HEARTBEAT } else { 0 };
    out[at::FLAGS..at::FLAGS + 4].copy_from_slice(&flags.to_ne_bytes());
    out[at::PID..at::PID + 8].copy_from_slice(&u64::from(std::process::id()).to_ne_bytes());
    out[at::START_US..at::START_US + 8].copy_from_slice(&super::now_us().to_ne_bytes());
    let stale = u64::try_from(STALE_AFTER.as_micros()).unwrap_or(u64::MAX);
    out[at::STALE_AFTER_US..at::STALE_AFTER_US + 8].copy_from_slice(&stale.to_ne_bytes());
    out[at::VERSION_LEN..at::VERSION_LEN + 2]
        .copy_from_slice(&(version.len() as u16).to_ne_bytes());
    out[at::IDENT_LEN..at::IDENT_LEN + 2].copy_from_slice(&(ident.len() as u16).to_ne_bytes());
    out.extend_from_slice(version.as_bytes());
    out.extend_from_slice(ident.as_bytes());
    pad8(&mut out);
    let header_len = out.len();
    let mut entries = Vec::new();
    for e in schema {
        let start = entries.len();
        entries.extend_from_slice(&[0, 0, e.kind as u8, e.labels.len() as u8, 0, 0, 0, 0]);
        put_u16(&mut entries, e.name.len());
        entries.extend_from_slice(e.name.as_bytes());
        for (k, v) in &e.labels {
            put_u16(&mut entries, k.len());
            entries.extend_from_slice(k.as_bytes());
            put_u16(&mut entries, v.len());
            entries.extend_from_slice(v.as_bytes());
        }
        pad8(&mut entries);
        let len = entries.len() - start;
        entries[start..start + 2].copy_from_slice(&(len as u16).to_ne_bytes());
    }
    let values_offset = (header_len + entries.len()).div_ceil(PAGE) * PAGE;
    // Each entry's offset counts from the file's start: the values follow the padding.
    let mut at_entry = 0;
    for e in schema {
        let len = usize::from(u16::from_ne_bytes([
            entries[at_entry],
            entries[at_entry + 1],
        ]));
        set_u32(&mut entries, at_entry + 4, values_offset + e.offset);
        at_entry += len;
    }
    set_u32(&mut out, at::HEADER_LEN, header_len);
    set_u32(&mut out, at::SCHEMA_OFFSET, header_len);
    set_u32(&mut out, at::SCHEMA_LEN, entries.len());
    set_u32(&mut out, at::VALUES_OFFSET, values_offset);
    set_u32(&mut out, at::VALUES_LEN, values_len);
    set_u32(&mut out, at::ENTRY_COUNT, schema.len());
    out.extend_from_slice(&entries);
    out.resize(values_offset, 0);
    out
}
