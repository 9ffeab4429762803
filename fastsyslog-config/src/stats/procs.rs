//! The processes under a stats directory as the tool shows them, and sums over several.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use fastsyslog::stats::{DeadReason, Liveness, ProcessStats};
use fastsyslog::Stats;

use crate::cli::Failure;

/// One process's stats file.
#[derive(Debug, Clone)]
pub struct Proc {
    /// The file, `<dir>/<ident>.<pid>.fsstats`.
    pub path: PathBuf,
    /// The process's syslog ident.
    pub ident: String,
    /// Its pid.
    pub pid: u32,
    /// The fastsyslog version it runs.
    pub version: String,
    /// When it started logging.
    pub started: SystemTime,
    /// Its writer's last heartbeat.
    pub heartbeat: SystemTime,
    /// `None` while it lives, else why the reader takes it for dead.
    pub dead: Option<String>,
    /// Its counters.
    pub stats: Stats,
}

// === impl Proc ===

impl Proc {
    /// The tool's view of a file the library read.
    pub fn from_file(file: ProcessStats) -> Proc {
        let dead = dead_reason(&file.liveness);
        Proc {
            path: file.path,
            ident: file.ident,
            pid: file.pid,
            version: file.version,
            started: file.started,
            heartbeat: file.heartbeat,
            dead,
            stats: file.stats,
        }
    }

    /// Whether the process is alive.
    pub fn is_live(&self) -> bool {
        self.dead.is_none()
    }

    /// `live`, or `DEAD (<reason>)`: upper case so a dead row stands out in a listing.
    pub fn state(&self) -> String {
        match &self.dead {
            None => "live".to_owned(),
            Some(reason) => format!("DEAD ({reason})"),
        }
    }

    /// How long it has run: until `now` while it lives, until its last heartbeat once dead.
    pub fn uptime(&self, now: SystemTime) -> Duration {
        let end = if self.is_live() { now } else { self.heartbeat };
        end.duration_since(self.started).unwrap_or_default()
    }
}

/// `None` for a live process, else why it is taken for dead (`pid gone`, `heartbeat 42s old`).
pub fn dead_reason(liveness: &Liveness) -> Option<String> {
    match liveness {
        Liveness::Live => None,
        Liveness::Dead(DeadReason::PidGone) => Some("pid gone".to_owned()),
        Liveness::Dead(DeadReason::StaleHeartbeat(age)) => {
            Some(format!("heartbeat {}s old", age.as_secs()))
        }
        // A reason added later: the library's own words ("dead (...)").
        other => Some(other.to_string()),
    }
}

/// What a directory holds: the processes (sorted by ident, then pid) and the files that could
/// not be read, as `(path or name, error)` messages.
#[derive(Debug, Default)]
pub struct Scan {
    /// The processes, sorted by ident, then pid.
    pub procs: Vec<Proc>,
    /// One message per stats file that could not be read (half-written, foreign, vanished).
    pub unreadable: Vec<String>,
}

/// Reads every stats file under `dir`.
///
/// # Errors
///
/// A directory that cannot be read, named with the OS error.
pub fn scan(dir: &Path) -> Result<Scan, Failure> {
    let files = fastsyslog::stats::read_dir(dir).map_err(|e| {
        Failure::error(format!(
            "cannot read stats directory {}: {e}",
            dir.display()
        ))
    })?;
    let mut scan = Scan::default();
    for file in files {
        match file {
            Ok(file) => scan.procs.push(Proc::from_file(file)),
            Err(e) => scan.unreadable.push(e.to_string()),
        }
    }
    sort(&mut scan.procs);
    Ok(scan)
}

/// Sorts processes by ident, then pid, then start time (a pid the system reused).
pub fn sort(procs: &mut [Proc]) {
    procs.sort_by(|a, b| (&a.ident, a.pid, a.started).cmp(&(&b.ident, b.pid, b.started)));
}

/// The processes grouped by ident, in the order given (sorted by [`sort`], each ident once).
pub fn by_ident(procs: &[Proc]) -> Vec<(&str, Vec<&Proc>)> {
    let mut groups: Vec<(&str, Vec<&Proc>)> = Vec::new();
    for p in procs {
        match groups.last_mut() {
            Some((ident, members)) if *ident == p.ident => members.push(p),
            _ => groups.push((&p.ident, vec![p])),
        }
    }
    groups
}

/// How many of `procs` live and how many are dead.
pub fn live_dead<'a>(procs: impl IntoIterator<Item = &'a Proc>) -> (usize, usize) {
    procs.into_iter().fold((0, 0), |(live, dead), p| {
        if p.is_live() {
            (live + 1, dead)
        } else {
            (live, dead + 1)
        }
    })
}

/// Seconds since the Unix epoch (0 before it).
pub fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A process for the tests: `ident`, `pid`, started 100 s after the epoch.
    pub(crate) fn proc(ident: &str, pid: u32, written: u64, dead: Option<&str>) -> Proc {
        let mut stats = Stats::default();
        stats.written = written;
        Proc {
            path: PathBuf::from(format!("/run/fs/{ident}.{pid}.fsstats")),
            ident: ident.to_owned(),
            pid,
            version: "0.1.0".to_owned(),
            started: SystemTime::UNIX_EPOCH + Duration::from_secs(100),
            heartbeat: SystemTime::UNIX_EPOCH + Duration::from_secs(160),
            dead: dead.map(str::to_owned),
            stats,
        }
    }

    #[test]
    fn groups_follow_the_sorted_idents() {
        let mut procs = vec![
            proc("web", 9, 0, None),
            proc("api", 5, 0, None),
            proc("web", 3, 0, Some("pid gone")),
        ];
        sort(&mut procs);
        let groups = by_ident(&procs);
        let shape: Vec<(&str, Vec<u32>)> = groups
            .iter()
            .map(|(ident, ps)| (*ident, ps.iter().map(|p| p.pid).collect()))
            .collect();
        assert_eq!(shape, vec![("api", vec![5]), ("web", vec![3, 9])]);
        assert_eq!(live_dead(&procs), (2, 1));
    }

    #[test]
    fn dead_reasons_are_short() {
        assert_eq!(dead_reason(&Liveness::Live), None);
        let gone = Liveness::Dead(DeadReason::PidGone);
        assert_eq!(dead_reason(&gone).as_deref(), Some("pid gone"));
        let stale = Liveness::Dead(DeadReason::StaleHeartbeat(Duration::from_secs(42)));
        assert_eq!(dead_reason(&stale).as_deref(), Some("heartbeat 42s old"));
    }

    #[test]
    fn a_dead_process_ran_until_its_last_heartbeat() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        assert_eq!(proc("a", 1, 0, None).uptime(now), Duration::from_secs(900));
        let dead = proc("a", 1, 0, Some("pid gone"));
        assert_eq!(dead.uptime(now), Duration::from_secs(60));
        assert_eq!(dead.state(), "DEAD (pid gone)");
    }
}
