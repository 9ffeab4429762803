//! `--json` and `--prometheus`: every process's counters in the library's own renderings, with
//! the tool's additions (liveness, start time, totals).

use std::fmt::Write as _;
use std::time::SystemTime;

use super::procs::{by_ident, live_dead, unix_seconds, Proc, Scan};

/// One JSON document:
///
/// ```text
/// {"dir":"/run/fastsyslog",
///  "processes":[{"ident":"web","pid":12,"state":"live","dead_reason":null,"version":"0.1.0",
///                "started":1765000000.5,"heartbeat":1765000060.1,"uptime_seconds":60.2,
///                "path":"/run/fastsyslog/web.12.fsstats","stats":{ Stats::to_json }}, ...],
///  "idents":[{"ident":"web","live":4,"dead":1,"stats":{ sum }}, ...],
///  "totals":{"live":4,"dead":1,"stats":{ sum }},
///  "unreadable":["/run/fastsyslog/x.1.fsstats: not a stats file (bad magic)", ...]}
/// ```
pub fn json(dir: &str, scan: &Scan, now: SystemTime) -> String {
    let procs = &scan.procs;
    let mut out = format!("{{\"dir\":{},\"processes\":[", string(dir));
    for (i, p) in procs.iter().enumerate() {
        let comma = if i == 0 { "" } else { "," };
        let reason = p.dead.as_deref().map_or_else(|| "null".to_owned(), string);
        let _ = write!(
            out,
            "{comma}{{\"ident\":{},\"pid\":{},\"state\":\"{}\",\"dead_reason\":{reason},\
             \"version\":{},\"started\":{:.6},\"heartbeat\":{:.6},\"uptime_seconds\":{:.3},\
             \"path\":{},\"stats\":{}}}",
            string(&p.ident),
            p.pid,
            if p.is_live() { "live" } else { "dead" },
            string(&p.version),
            unix_seconds(p.started),
            unix_seconds(p.heartbeat),
            p.uptime(now).as_secs_f64(),
            string(&p.path.to_string_lossy()),
            p.stats.to_json(),
        ); // Writing to a String never fails.
    }
    out.push_str("],\"idents\":[");
    for (i, (ident, members)) in by_ident(procs).into_iter().enumerate() {
        let comma = if i == 0 { "" } else { "," };
        let (live, dead) = live_dead(members.iter().copied());
        let sum = members.iter().map(|p| &p.stats).sum::<fastsyslog::Stats>();
        let _ = write!(
            out,
            "{comma}{{\"ident\":{},\"live\":{live},\"dead\":{dead},\"stats\":{}}}",
            string(ident),
            sum.to_json()
        );
    }
    let (live, dead) = live_dead(procs);
    let sum = procs.iter().map(|p| &p.stats).sum::<fastsyslog::Stats>();
    let _ = write!(
        out,
        "],\"totals\":{{\"live\":{live},\"dead\":{dead},\"stats\":{}}},\"unreadable\":[",
        sum.to_json()
    );
    let problems: Vec<String> = scan.unreadable.iter().map(|p| string(p)).collect();
    out.push_str(&problems.join(","));
    out.push_str("]}\n");
    out
}

/// A JSON string literal.
fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The Prometheus text exposition format: the library's families with labels `ident` and `pid`
/// for each process, and `pid="total"` for each ident's sum (leave it out when summing:
/// `sum by (ident) (fastsyslog_written_total{pid!="total"})`); then `fastsyslog_process_live`
/// (1 or 0) and `fastsyslog_process_start_time_seconds` per process.
pub fn prometheus(procs: &[Proc]) -> String {
    let pids: Vec<String> = procs.iter().map(|p| p.pid.to_string()).collect();
    let groups = by_ident(procs);
    let sums: Vec<_> = groups
        .iter()
        .map(|(_, members)| members.iter().map(|p| &p.stats).sum::<fastsyslog::Stats>())
        .collect();
    let labels: Vec<[(&str, &str); 2]> = procs
        .iter()
        .zip(&pids)
        .map(|(p, pid)| [("ident", p.ident.as_str()), ("pid", pid.as_str())])
        .chain(
            groups
                .iter()
                .map(|(ident, _)| [("ident", *ident), ("pid", "total")]),
        )
        .collect();
    let stats = procs.iter().map(|p| &p.stats).chain(&sums);
    let samples: Vec<(&[(&str, &str)], &fastsyslog::Stats)> =
        labels.iter().map(|l| l.as_slice()).zip(stats).collect();
    let mut out = fastsyslog::stats::prometheus(&samples);
    gauge(
        &mut out,
        "fastsyslog_process_live",
        "Whether the process is alive (1) or its stats file is a dead process's (0).",
        procs.iter().zip(&pids).map(|(p, pid)| {
            (
                &p.ident,
                pid,
                if p.is_live() {
                    "1".to_owned()
                } else {
                    "0".to_owned()
                },
            )
        }),
    );
    gauge(
        &mut out,
        "fastsyslog_process_start_time_seconds",
        "When the process started logging, in seconds since the Unix epoch.",
        procs
            .iter()
            .zip(&pids)
            .map(|(p, pid)| (&p.ident, pid, format!("{:.3}", unix_seconds(p.started)))),
    );
    out
}

/// Appends a gauge family with one sample per `(ident, pid, value)`.
fn gauge<'a>(
    out: &mut String,
    name: &str,
    help: &str,
    samples: impl Iterator<Item = (&'a String, &'a String, String)>,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    for (ident, pid, value) in samples {
        let _ = writeln!(
            out,
            "{name}{{ident=\"{}\",pid=\"{pid}\"}} {value}",
            label(ident)
        );
    }
}

/// A label value escaped for the exposition format (backslash, double quote, line feed).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(string("a\"b\\c\nd\u{1}"), r#""a\"b\\c\nd\u0001""#);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), r#"a\"b\\c\nd"#);
    }
}
