//! `--watch`: vmstat-style lines of rates, each computed from two snapshots of the directory.
//!
//! A process is known by its file and start time, so a pid the system reused is a new process.
//! A process first seen in a snapshot is its own baseline: it adds to the rates from the next
//! interval on (a forked child may start with its parent's counts, which are not its work). A
//! process whose file is gone adds nothing more. A counter lower than in the last snapshot (a file
//! recreated under the same name and start) counts as a restart from that value, never as a
//! negative rate.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use super::procs::{scan, Proc};
use crate::cli::{write_failed, Failure};

/// A header is printed before the first line and then every this many lines.
pub const HEADER_EVERY: u64 = 20;

/// The column titles, aligned with [`line()`].
pub const HEADER: &str = "    time    written/s  dropped/s    queue   live   dead";

/// What one process adds to a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The file and the start time: a reused pid is another process.
    pub key: (PathBuf, SystemTime),
    /// Records written so far.
    pub written: u64,
    /// Records dropped so far.
    pub dropped: u64,
    /// Records waiting now.
    pub queue_depth: u64,
    /// Whether it is alive.
    pub live: bool,
}

impl Point {
    /// The point of one process.
    pub fn of(p: &Proc) -> Point {
        Point {
            key: (p.path.clone(), p.started),
            written: p.stats.written,
            dropped: p.stats.dropped_total(),
            queue_depth: p.stats.queue_depth,
            live: p.is_live(),
        }
    }
}

/// One interval's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Rates {
    /// Records written per second, over every process.
    pub written_per_s: f64,
    /// Records dropped per second.
    pub dropped_per_s: f64,
    /// Records waiting at the end of the interval, summed over the live processes.
    pub queue_depth: u64,
    /// Live processes at the end of the interval.
    pub live: usize,
    /// Dead processes whose files remain.
    pub dead: usize,
}

/// The rates between the snapshots `prev` and `cur`, `elapsed` apart.
pub fn rates(prev: &[Point], cur: &[Point], elapsed: Duration) -> Rates {
    let (mut written, mut dropped) = (0u64, 0u64);
    for p in cur {
        if let Some(before) = prev.iter().find(|b| b.key == p.key) {
            written += increase(before.written, p.written);
            dropped += increase(before.dropped, p.dropped);
        }
    }
    let secs = elapsed.as_secs_f64().max(1e-9);
    let live = cur.iter().filter(|p| p.live).count();
    Rates {
        written_per_s: written as f64 / secs,
        dropped_per_s: dropped as f64 / secs,
        queue_depth: cur.iter().filter(|p| p.live).map(|p| p.queue_depth).sum(),
        live,
        dead: cur.len() - live,
    }
}

/// How much a counter grew from `before` to `now`; a counter that went down restarted from zero.
fn increase(before: u64, now: u64) -> u64 {
    if now >= before {
        now - before
    } else {
        now
    }
}

/// One line: the wall-clock time (UTC) at its end, then the figures.
pub fn line(at: SystemTime, r: &Rates) -> String {
    let secs = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (h, m, s) = (secs / 3600 % 24, secs / 60 % 60, secs % 60);
    format!(
        "{h:02}:{m:02}:{s:02} {:>12.1} {:>10.1} {:>8} {:>6} {:>6}",
        r.written_per_s, r.dropped_per_s, r.queue_depth, r.live, r.dead
    )
}

/// Prints a line every `every` until `count` lines (forever without one).
///
/// # Errors
///
/// The directory cannot be read, or stdout cannot be written.
pub fn watch(
    dir: &Path,
    every: Duration,
    count: Option<u64>,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let snapshot = || -> Result<(Instant, Vec<Point>), Failure> {
        let taken = Instant::now();
        let procs = scan(dir)?.procs;
        Ok((taken, procs.iter().map(Point::of).collect()))
    };
    let (mut last_at, mut last) = snapshot()?;
    let mut printed = 0u64;
    while count.map_or(true, |n| printed < n) {
        std::thread::sleep((last_at + every).saturating_duration_since(Instant::now()));
        let (at, cur) = snapshot()?;
        let r = rates(&last, &cur, at - last_at);
        if printed % HEADER_EVERY == 0 {
            writeln!(out, "{HEADER}").map_err(write_failed)?;
        }
        writeln!(out, "{}", line(SystemTime::now(), &r)).map_err(write_failed)?;
        out.flush().map_err(write_failed)?;
        printed += 1;
        (last_at, last) = (at, cur);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(name: &str, started: u64, written: u64, dropped: u64, live: bool) -> Point {
        Point {
            key: (
                PathBuf::from(name),
                SystemTime::UNIX_EPOCH + Duration::from_secs(started),
            ),
            written,
            dropped,
            queue_depth: 2,
            live,
        }
    }

    #[test]
    fn rates_are_growth_per_second() {
        let prev = [point("a.1", 1, 100, 0, true), point("a.2", 1, 50, 1, true)];
        let cur = [point("a.1", 1, 300, 0, true), point("a.2", 1, 150, 5, true)];
        let r = rates(&prev, &cur, Duration::from_secs(2));
        assert_eq!(r.written_per_s, 150.0);
        assert_eq!(r.dropped_per_s, 2.0);
        assert_eq!((r.queue_depth, r.live, r.dead), (4, 2, 0));
    }

    #[test]
    fn appearing_and_vanishing_processes_add_no_jump() {
        // a.2 vanished (its file cleaned), a.3 appeared with a parent's inherited counts.
        let prev = [
            point("a.1", 1, 100, 0, true),
            point("a.2", 1, 500, 0, false),
        ];
        let cur = [
            point("a.1", 1, 110, 0, true),
            point("a.3", 9, 10_000, 7, true),
        ];
        let r = rates(&prev, &cur, Duration::from_secs(1));
        assert_eq!((r.written_per_s, r.dropped_per_s), (10.0, 0.0));
        assert_eq!((r.live, r.dead), (2, 0));
        // From the next interval on, a.3 counts.
        let next = [
            point("a.1", 1, 110, 0, true),
            point("a.3", 9, 10_020, 7, true),
        ];
        assert_eq!(
            rates(&cur, &next, Duration::from_secs(1)).written_per_s,
            20.0
        );
    }

    #[test]
    fn a_restarted_pid_never_gives_a_negative_rate() {
        // Same file name, new start time: another process, its own baseline.
        let prev = [point("a.7", 1, 1_000, 10, true)];
        let reused = [point("a.7", 50, 3, 0, true)];
        let r = rates(&prev, &reused, Duration::from_secs(1));
        assert_eq!((r.written_per_s, r.dropped_per_s), (0.0, 0.0));
        // Same name and start, counters lower: a restart from that value.
        let lower = [point("a.7", 1, 4, 0, true)];
        let r = rates(&prev, &lower, Duration::from_secs(1));
        assert_eq!((r.written_per_s, r.dropped_per_s), (4.0, 0.0));
    }

    #[test]
    fn dead_processes_are_counted_apart_and_queue_nothing() {
        let prev = [point("a.1", 1, 10, 0, true)];
        let cur = [point("a.1", 1, 10, 0, false)];
        let r = rates(&prev, &cur, Duration::from_secs(1));
        assert_eq!((r.queue_depth, r.live, r.dead), (0, 0, 1));
    }

    #[test]
    fn the_header_comes_back_every_twenty_lines_until_the_count() {
        let dir = std::env::temp_dir().join(format!("fsstats-watch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut out = Vec::new();
        watch(&dir, Duration::from_millis(1), Some(41), &mut out).unwrap();
        std::fs::remove_dir(&dir).unwrap();
        let text = String::from_utf8(out).unwrap();
        let headers: Vec<usize> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| *l == HEADER)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(headers, vec![0, 21, 42]);
        assert_eq!(text.lines().count(), 41 + 3);
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_it() {
        let dir = Path::new("/nonexistent/fsstats");
        let err = watch(dir, Duration::from_millis(1), Some(1), &mut Vec::new()).unwrap_err();
        assert_eq!(err.code, crate::cli::ERROR);
        assert!(
            err.message.contains("/nonexistent/fsstats"),
            "{}",
            err.message
        );
    }

    #[test]
    fn lines_align_with_the_header() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(86400 + 3723);
        let r = Rates {
            written_per_s: 12345.67,
            dropped_per_s: 0.0,
            queue_depth: 17,
            live: 5,
            dead: 1,
        };
        let text = line(at, &r);
        assert_eq!(
            text,
            "01:02:03      12345.7        0.0       17      5      1"
        );
        assert_eq!(text.len(), HEADER.len());
    }
}
