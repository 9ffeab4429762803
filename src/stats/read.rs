//! Reading stats files from outside the process: [`read_file`], [`read_dir`], and whether the
//! process behind a file is still alive ([`Liveness`]).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::file::{at, decode, Entry, Kind, FILE_EXTENSION, FLAG_HEARTBEAT, MAGIC, VERSION};
use super::Stats;
use crate::sys::shm::MappedFile;

/// One process's stats file, read from outside the process ([`read_file`]).
///
/// # Examples
///
/// ```no_run
/// let p = fastsyslog::stats::read_file("/dev/shm/fastsyslog/web.123.fsstats".as_ref()).unwrap();
/// println!("{} {} {} written={}", p.ident, p.pid, p.liveness, p.stats.written);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProcessStats {
    /// The file read.
    pub path: PathBuf,
    /// The process that wrote it.
    pub pid: u32,
    /// Its ident.
    pub ident: String,
    /// The fastsyslog version it runs.
    pub version: String,
    /// When its logger was built (for a forked child: when it was forked).
    pub started: SystemTime,
    /// Its background writer's last heartbeat; `started` when there is none yet (sync mode, or a
    /// forked child whose writer has not started).
    pub heartbeat: SystemTime,
    /// Whether the process still runs.
    pub liveness: Liveness,
    /// Its counters, as [`stats()`](crate::stats()) in the process would give them (the total
    /// queue depth is the lanes' as the writer last saw them).
    pub stats: Stats,
}

impl ProcessStats {
    /// Whether the process is [`Liveness::Live`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # let p = fastsyslog::stats::read_file("/dev/shm/x.1.fsstats".as_ref()).unwrap();
    /// if !p.is_live() {
    ///     std::fs::remove_file(&p.path).unwrap();
    /// }
    /// ```
    pub fn is_live(&self) -> bool {
        matches!(self.liveness, Liveness::Live)
    }
}

/// Whether the process behind a stats file still runs.
///
/// A clean exit (the guard dropped, or `exit(3)`) removes the file, so a file is either live or
/// left by a process that died: killed, crashed, `_exit(2)`.
///
/// # Examples
///
/// ```
/// use fastsyslog::stats::{DeadReason, Liveness};
/// assert_eq!(Liveness::Dead(DeadReason::PidGone).to_string(), "dead (pid gone)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Liveness {
    /// The pid exists and, with a background writer, its heartbeat is fresh.
    Live,
    /// The process is gone, or its writer stopped beating.
    Dead(DeadReason),
}

/// Why a stats file is considered dead ([`Liveness::Dead`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeadReason {
    /// No process has the pid (`kill(pid, 0)` fails with `ESRCH`).
    PidGone,
    /// The pid exists (it may have been reused) but the background writer's heartbeat is older
    /// than the file's threshold (30 s): its age.
    StaleHeartbeat(Duration),
}

impl fmt::Display for Liveness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Liveness::Live => f.write_str("live"),
            Liveness::Dead(DeadReason::PidGone) => f.write_str("dead (pid gone)"),
            Liveness::Dead(DeadReason::StaleHeartbeat(age)) => {
                write!(f, "dead (heartbeat {}s old)", age.as_secs())
            }
        }
    }
}

/// Why [`read_file`] could not read a stats file: the path and what was wrong.
///
/// # Examples
///
/// ```
/// let err = fastsyslog::stats::read_file("/nonexistent/x.1.fsstats".as_ref()).unwrap_err();
/// assert!(err.to_string().starts_with("/nonexistent/x.1.fsstats: "), "{err}");
/// ```
#[derive(Debug)]
pub struct ReadError {
    path: PathBuf,
    kind: ReadErrorKind,
}

/// What was wrong with a stats file ([`ReadError::kind`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadErrorKind {
    /// It could not be opened or mapped.
    Io(io::Error),
    /// It does not start with the stats file magic.
    NotStatsFile,
    /// A format version this crate does not read (a byte-swapped version means a file from a
    /// machine of the other byte order).
    Version(u32),
    /// It is shorter than its header says.
    Truncated {
        /// Its length.
        len: u64,
        /// The length its header needs.
        needed: u64,
    },
    /// Its header or schema contradicts itself (a torn or corrupted file).
    Torn(&'static str),
}

impl ReadError {
    fn new(path: &Path, kind: ReadErrorKind) -> ReadError {
        ReadError {
            path: path.to_owned(),
            kind,
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What was wrong.
    pub fn kind(&self) -> &ReadErrorKind {
        &self.kind
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.path.display())?;
        match &self.kind {
            ReadErrorKind::Io(e) => write!(f, "{e}"),
            ReadErrorKind::NotStatsFile => f.write_str("not a stats file (bad magic)"),
            ReadErrorKind::Version(v) => {
                write!(
                    f,
                    "unsupported format version {v} (this reader reads {VERSION})"
                )
            }
            ReadErrorKind::Truncated { len, needed } => {
                write!(f, "truncated: {len} bytes, the header needs {needed}")
            }
            ReadErrorKind::Torn(what) => write!(f, "torn or corrupted header: {what}"),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ReadErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Reads one stats file (see [the format](mod@super#the-stats-file-format)). Every value is read with
/// one atomic load, so no value is torn; the snapshot is not atomic across values, as in the
/// process.
///
/// # Errors
///
/// A [`ReadError`] naming the path: it cannot be opened, is not a stats file, has another format
/// version, is shorter than its header says, or its header contradicts itself.
///
/// The file is mapped while it is read. A logger never shrinks its file; if something else
/// truncates it during the read, the kernel raises `SIGBUS` in the reader, as for any mapped
/// file, so keep the stats directory writable only by the processes that log there.
///
/// # Examples
///
/// ```
/// let dir = tempfile::tempdir_in("/dev/shm").unwrap();
/// let (_logger, guard) = fastsyslog::Builder::new()
///     .ident("web")
///     .mode(fastsyslog::Mode::Sync)
///     .stats_dir(dir.path())
///     .build()
///     .unwrap();
/// let path = dir.path().join(format!("web.{}.fsstats", std::process::id()));
/// let p = fastsyslog::stats::read_file(&path).unwrap();
/// assert_eq!((p.ident.as_str(), p.pid), ("web", std::process::id()));
/// assert!(p.is_live());
/// drop(guard);
/// assert!(!path.exists(), "a clean shutdown removes the file");
/// ```
pub fn read_file(path: &Path) -> Result<ProcessStats, ReadError> {
    let err = |kind| ReadError::new(path, kind);
    let file = MappedFile::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => err(ReadErrorKind::NotStatsFile),
        _ => err(ReadErrorKind::Io(e)),
    })?;
    let torn = |what| err(ReadErrorKind::Torn(what));
    let fixed = file
        .copy(0, at::STRINGS)
        .ok_or_else(|| err(ReadErrorKind::NotStatsFile))?;
    if fixed[..8] != MAGIC {
        return Err(err(ReadErrorKind::NotStatsFile));
    }
    let u16_at = |b: &[u8], i: usize| usize::from(u16::from_ne_bytes([b[i], b[i + 1]]));
    let u32_at =
        |b: &[u8], i: usize| u32::from_ne_bytes(b[i..i + 4].try_into().expect("4 bytes")) as usize;
    let u64_at = |b: &[u8], i: usize| u64::from_ne_bytes(b[i..i + 8].try_into().expect("8 bytes"));
    let version = u32_at(&fixed, at::VERSION) as u32;
    if version != VERSION {
        return Err(err(ReadErrorKind::Version(version)));
    }
    let header_len = u32_at(&fixed, at::HEADER_LEN);
    let schema_offset = u32_at(&fixed, at::SCHEMA_OFFSET);
    let schema_len = u32_at(&fixed, at::SCHEMA_LEN);
    let values_offset = u32_at(&fixed, at::VALUES_OFFSET);
    let values_len = u32_at(&fixed, at::VALUES_LEN);
    let count = u32_at(&fixed, at::ENTRY_COUNT);
    let flags = u32_at(&fixed, at::FLAGS) as u32;
    let needed = values_offset.saturating_add(values_len);
    if needed > file.len() {
        return Err(err(ReadErrorKind::Truncated {
            len: file.len() as u64,
            needed: needed as u64,
        }));
    }
    let strings_len = u16_at(&fixed, at::VERSION_LEN) + u16_at(&fixed, at::IDENT_LEN);
    if header_len < at::STRINGS + strings_len
        || schema_offset < header_len
        || schema_offset.saturating_add(schema_len) > values_offset
        || values_offset % 8 != 0
    {
        return Err(torn("header lengths disagree"));
    }
    let strings = file
        .copy(at::STRINGS, strings_len)
        .ok_or_else(|| torn("strings out of range"))?;
    let (crate_version, ident) = strings.split_at(u16_at(&fixed, at::VERSION_LEN));
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| torn("a string is not UTF-8"));
    let (crate_version, ident) = (text(crate_version)?, text(ident)?);
    let schema = file
        .copy(schema_offset, schema_len)
        .ok_or_else(|| torn("schema out of range"))?;
    let entries =
        parse_schema(&schema, count, values_offset..needed).ok_or_else(|| torn("bad schema"))?;
    let values: Vec<u64> = entries
        .iter()
        .map(|e| file.load_u64(e.offset).unwrap_or(0))
        .collect();
    let stats = decode(entries.iter().zip(values), super::monotonic_ns());
    let pid = u32::try_from(u64_at(&fixed, at::PID)).map_err(|_| torn("pid out of range"))?;
    let started = UNIX_EPOCH + Duration::from_micros(u64_at(&fixed, at::START_US));
    let stale_after = Duration::from_micros(u64_at(&fixed, at::STALE_AFTER_US));
    // A heartbeat from before the start is a parent's, inherited through fork: not this
    // process's writer.
    let beat = stats.heartbeat.filter(|&t| t >= started);
    let heartbeat = beat.unwrap_or(started);
    let liveness = if !crate::sys::shm::pid_alive(pid) {
        Liveness::Dead(DeadReason::PidGone)
    } else {
        let age = SystemTime::now()
            .duration_since(heartbeat)
            .unwrap_or_default();
        if flags & FLAG_HEARTBEAT != 0 && beat.is_some() && age > stale_after {
            Liveness::Dead(DeadReason::StaleHeartbeat(age))
        } else {
            Liveness::Live
        }
    };
    Ok(ProcessStats {
        path: path.to_owned(),
        pid,
        ident,
        version: crate_version,
        started,
        heartbeat,
        liveness,
        stats,
    })
}

/// The schema's entries, each value offset checked to be 8-aligned inside `values`; `None` when
/// the schema is malformed.
fn parse_schema(b: &[u8], count: usize, values: std::ops::Range<usize>) -> Option<Vec<Entry>> {
    let u16_at = |i: usize| -> Option<usize> {
        Some(usize::from(u16::from_ne_bytes([
            *b.get(i)?,
            *b.get(i + 1)?,
        ])))
    };
    let string = |i: usize| -> Option<(String, usize)> {
        let len = u16_at(i)?;
        let bytes = b.get(i + 2..i + 2 + len)?;
        Some((String::from_utf8(bytes.to_vec()).ok()?, i + 2 + len))
    };
    let mut out = Vec::with_capacity(count.min(4096));
    let mut at = 0;
    for _ in 0..count {
        let len = u16_at(at)?;
        let end = at.checked_add(len)?;
        if len < 10 || len % 8 != 0 || end > b.len() {
            return None;
        }
        let kind = Kind::from_byte(b[at + 2]);
        let labels = usize::from(b[at + 3]);
        let offset = u32::from_ne_bytes(b.get(at + 4..at + 8)?.try_into().ok()?) as usize;
        if offset % 8 != 0 || offset < values.start || offset + 8 > values.end {
            return None;
        }
        let (name, mut i) = string(at + 8)?;
        let mut pairs = Vec::with_capacity(labels);
        for _ in 0..labels {
            let (k, next) = string(i)?;
            let (v, next) = string(next)?;
            pairs.push((k, v));
            i = next;
        }
        if i > end {
            return None;
        }
        // An unknown kind is a newer writer's: skip the value, keep reading.
        if let Some(kind) = kind {
            out.push(Entry::read(name, kind, pairs, offset));
        }
        at = end;
    }
    Some(out)
}

/// Reads every `*.fsstats` file in `dir` (not those starting with `.`: files still being
/// written), sorted by ident then pid. Each file gives its own result, so one bad file does not
/// hide the others.
///
/// # Errors
///
/// The directory cannot be listed.
///
/// # Examples
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// assert!(fastsyslog::stats::read_dir(dir.path()).unwrap().is_empty());
/// ```
pub fn read_dir(dir: &Path) -> io::Result<Vec<Result<ProcessStats, ReadError>>> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !name.starts_with('.') && path.extension().is_some_and(|e| e == FILE_EXTENSION) {
            paths.push(path);
        }
    }
    let mut out: Vec<_> = paths.iter().map(|p| read_file(p)).collect();
    out.sort_by_cached_key(|r| match r {
        Ok(p) => (p.ident.clone(), p.pid, p.path.clone()),
        Err(e) => name_key(&e.path),
    });
    Ok(out)
}

/// `(ident, pid, path)` from a file name `<ident>.<pid>.fsstats`, for sorting unreadable files.
fn name_key(path: &Path) -> (String, u32, PathBuf) {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let (ident, pid) = stem.rsplit_once('.').unwrap_or((stem, ""));
    (ident.to_owned(), pid.parse().unwrap_or(0), path.to_owned())
}
