//! A plain file logger (`log::Log`): what a service that "just logs to a file" does.
//!
//! One line per record: `2026-11-22T20:34:36.123456Z INFO access: GET /… HTTP/1.1 status=200 …`.
//! [`FileLogger::line_flushed`] writes every line to the kernel before returning (one `write(2)`
//! per record, what Python's `FileHandler` and most "simple" loggers do);
//! [`FileLogger::buffered`] keeps a 64 KiB buffer and writes when it fills.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// A `log::Log` that appends lines to one file.
#[derive(Debug)]
pub struct FileLogger {
    out: Mutex<Inner>,
    flush_each: bool,
}

#[derive(Debug)]
struct Inner {
    file: BufWriter<File>,
    line: String,
}

impl FileLogger {
    /// Writes each record to the file before returning.
    pub fn line_flushed(path: &Path) -> FileLogger {
        FileLogger::open(path, true)
    }

    /// Buffers 64 KiB; [`log::Log::flush`] writes the rest.
    pub fn buffered(path: &Path) -> FileLogger {
        FileLogger::open(path, false)
    }

    fn open(path: &Path, flush_each: bool) -> FileLogger {
        let file = File::options()
            .create(true)
            .append(true)
            .open(path)
            .expect("open the log file");
        FileLogger {
            out: Mutex::new(Inner {
                file: BufWriter::with_capacity(64 * 1024, file),
                line: String::with_capacity(256),
            }),
            flush_each,
        }
    }
}

impl log::Log for FileLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let mut inner = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let Inner { file, line } = &mut *inner;
        line.clear();
        write_utc(line, SystemTime::now());
        // Writing into a String cannot fail.
        let _ = write!(
            line,
            " {} {}: {}{}",
            record.level(),
            record.target(),
            record.args(),
            KeyValues(record.key_values())
        );
        line.push('\n');
        // A full disk is not something a benchmark can do anything about; the bytes are simply lost.
        let _ = file.write_all(line.as_bytes());
        if self.flush_each {
            let _ = file.flush();
        }
    }

    fn flush(&self) {
        let mut inner = self.out.lock().unwrap_or_else(|p| p.into_inner());
        // As in `log`: flush errors have nowhere to go.
        let _ = inner.file.flush();
    }
}

/// The UTC calendar time of `t` as `(year, month, day, hour, minute, second, micros)`.
pub fn utc_parts(t: SystemTime) -> (i64, u32, u32, u32, u32, u32, u32) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
        d.subsec_micros(),
    )
}

/// Appends `t` as `2026-11-22T20:34:36.123456Z`.
pub fn write_utc(out: &mut String, t: SystemTime) {
    let (y, mo, d, h, mi, s, us) = utc_parts(t);
    let _ = write!(out, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{us:06}Z");
}

/// A record's key-values written the obvious way, each as ` key=value` through `Display`: this
/// logger and the floor of the background design in `overhead` (bin/overhead.rs) share it.
pub struct KeyValues<'a>(pub &'a dyn log::kv::Source);

impl std::fmt::Display for KeyValues<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        struct Pairs<'a, 'b>(&'a mut std::fmt::Formatter<'b>);
        impl<'kvs> log::kv::VisitSource<'kvs> for Pairs<'_, '_> {
            fn visit_pair(
                &mut self,
                key: log::kv::Key<'kvs>,
                value: log::kv::Value<'kvs>,
            ) -> Result<(), log::kv::Error> {
                write!(self.0, " {key}={value}").map_err(log::kv::Error::from)
            }
        }
        self.0.visit(&mut Pairs(f)).map_err(|_| std::fmt::Error)
    }
}
