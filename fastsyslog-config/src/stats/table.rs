//! The default listing: the processes grouped by ident, a row per pid and a totals row per ident.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use super::procs::{by_ident, live_dead, Proc};

/// The listing of `procs` (sorted) at `now`.
pub fn render(procs: &[Proc], now: SystemTime) -> String {
    let mut out = String::new();
    for (ident, members) in by_ident(procs) {
        let (live, dead) = live_dead(members.iter().copied());
        let _ = writeln!(out, "{ident}: {live} live, {dead} dead"); // A String never fails.
        out.push_str(&header());
        for p in &members {
            let stuck = if p.stats.writer_stuck { "yes" } else { "no" };
            let row = row(
                &p.pid.to_string(),
                &p.state(),
                &uptime(p.uptime(now)),
                p,
                stuck,
            );
            out.push_str(&row);
        }
        let sum = members.iter().map(|p| &p.stats).sum::<fastsyslog::Stats>();
        let stuck = members.iter().filter(|p| p.stats.writer_stuck).count();
        let totals = Proc {
            stats: sum,
            ..(*members[0]).clone()
        };
        out.push_str(&row("total", "", "", &totals, &stuck.to_string()));
        out.push('\n');
    }
    out
}

/// The column titles.
fn header() -> String {
    cells([
        "pid", "state", "uptime", "written", "dropped", "queue", "stuck",
    ])
}

/// One process's row (or a totals row).
fn row(pid: &str, state: &str, uptime: &str, p: &Proc, stuck: &str) -> String {
    let (written, dropped, queue) = (
        p.stats.written.to_string(),
        p.stats.dropped_total().to_string(),
        p.stats.queue_depth.to_string(),
    );
    cells([pid, state, uptime, &written, &dropped, &queue, stuck])
}

/// Aligned cells, the same for the titles and the rows.
fn cells([pid, state, uptime, written, dropped, queue, stuck]: [&str; 7]) -> String {
    format!("{pid:>9}  {state:<20} {uptime:>7} {written:>12} {dropped:>10} {queue:>8}  {stuck}\n")
}

/// A duration as `42s`, `5m07s`, `3h05m` or `2d03h`.
pub fn uptime(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86399 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86400, s % 86400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::super::procs::tests::proc;
    use super::*;

    #[test]
    fn uptime_keeps_two_units() {
        for (secs, text) in [
            (0, "0s"),
            (59, "59s"),
            (60, "1m00s"),
            (307, "5m07s"),
            (3600 + 300, "1h05m"),
            (2 * 86400 + 3 * 3600 + 59, "2d03h"),
        ] {
            assert_eq!(uptime(Duration::from_secs(secs)), text, "{secs}");
        }
    }

    #[test]
    fn listing_groups_rows_and_adds_totals() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(165);
        let procs = vec![
            proc("api", 7, 3, None),
            proc("web", 10, 100, None),
            proc("web", 11, 23, Some("pid gone")),
        ];
        let text = render(&procs, now);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "api: 1 live, 0 dead");
        assert_eq!(
            lines[1],
            "      pid  state                 uptime      written    dropped    queue  stuck"
        );
        assert_eq!(
            lines[2],
            "        7  live                   1m05s            3          0        0  no"
        );
        assert!(lines[3].starts_with("    total "), "{}", lines[3]);
        assert_eq!(lines[5], "web: 1 live, 1 dead");
        assert!(lines[8].contains("DEAD (pid gone)"), "{}", lines[8]);
        assert!(
            lines[8].contains("1m00s"),
            "a dead row's uptime ends at its heartbeat"
        );
        let total: Vec<&str> = lines[9].split_whitespace().collect();
        assert_eq!(total, ["total", "123", "0", "0", "0"]);
        // Every row is as wide as the header up to the stuck column.
        for line in [lines[2], lines[7], lines[8]] {
            assert_eq!(line.rfind("  ").map(|i| i + 2), lines[1].rfind("stuck"));
        }
    }
}
