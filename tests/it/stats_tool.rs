//! The stats reader `fastsyslog-stats` (the `fastsyslog-config` package's second binary) against
//! real processes: the `prefork` example with 4 workers and a stats dir, logging to a private
//! rsyslogd. The reader must see 5 live pids whose counters add up to its totals and equal what
//! each process's `stats()` said; a worker killed with SIGKILL shows as dead and `--clean` removes
//! its file only. `--prometheus` passes `promtool check metrics`; the exit codes and one-line
//! errors are checked on bad input.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::daemon_config::{built, example};
use crate::support::{kill, retry, Rsyslogd};

/// No process here should live longer: the whole test takes a few seconds.
const LIMIT: Duration = Duration::from_secs(60);

/// The reader, built with this test binary's profile.
fn tool() -> PathBuf {
    built(&["-p", "fastsyslog-config", "--bin", "fastsyslog-stats"]).join("fastsyslog-stats")
}

/// Runs the reader with `args` and no `FASTSYSLOG_STATS_DIR`, under [`LIMIT`].
fn run(tool: &Path, args: &[&str]) -> Output {
    let child = Command::new(tool)
        .args(args)
        .env_remove("FASTSYSLOG_STATS_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let done = fastsyslog_testkit::process::wait_with_output_within(child, LIMIT).unwrap();
    assert!(
        !done.timed_out,
        "fastsyslog-stats {args:?} ran past {LIMIT:?}"
    );
    done.output
}

/// The reader's stdout, after checking that it succeeded.
fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The reader's `--json` document.
fn json(tool: &Path, dir: &Path) -> Value {
    serde_json::from_str(&ok(&run(tool, &[dir.to_str().unwrap(), "--json"]))).unwrap()
}

/// The processes of a `--json` document by pid.
fn by_pid(doc: &Value) -> BTreeMap<u64, &Value> {
    let procs = doc["processes"].as_array().expect("a processes array");
    procs
        .iter()
        .map(|p| (p["pid"].as_u64().unwrap(), p))
        .collect()
}

/// The prefork example, running with `--hold`: its stdin (closing it lets every process end) and
/// the lines it prints, as they come.
struct Prefork {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Prefork {
    fn start(daemon: &Rsyslogd, dir: &Path, ident: &str, args: &[&str]) -> Prefork {
        let mut child = Command::new(example("prefork"))
            .args(["--workers", "4", "--hold"])
            .args(args)
            .env("FASTSYSLOG_STATS_DIR", dir)
            .env("FASTSYSLOG_SOCKET", daemon.socket())
            .env("FASTSYSLOG_IDENT", ident)
            .env_remove("FASTSYSLOG_LOG")
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (send, lines) = mpsc::channel();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Prefork { child, lines }
    }

    /// The `stats <pid> <json>` line of each of the 5 processes, by pid.
    fn stats_lines(&self) -> BTreeMap<u64, Value> {
        let deadline = Instant::now() + LIMIT;
        let mut said = BTreeMap::new();
        while said.len() < 5 {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .expect("5 stats lines in time");
            if let Some(rest) = line.strip_prefix("stats ") {
                let (pid, doc) = rest.split_once(' ').unwrap();
                said.insert(pid.parse().unwrap(), serde_json::from_str(doc).unwrap());
            }
        }
        said
    }

    /// Closes stdin so every process ends, and returns the output, under [`LIMIT`].
    fn finish(mut self) -> Output {
        drop(self.child.stdin.take());
        let done = fastsyslog_testkit::process::wait_with_output_within(self.child, LIMIT).unwrap();
        assert!(!done.timed_out, "prefork ran past {LIMIT:?}");
        done.output
    }
}

/// The counters `key` of a stats object.
fn count(stats: &Value, key: &str) -> u64 {
    stats[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no count {key:?} in {stats}"))
}

#[test]
fn prefork_workers_live_then_one_killed_and_cleaned() {
    let start = Instant::now();
    let tool = tool();
    let daemon = Rsyslogd::start();
    let dir = tempfile::tempdir_in("/dev/shm").unwrap();
    let ident = format!("st{}", std::process::id());
    let records = 200;
    let pre = Prefork::start(
        &daemon,
        dir.path(),
        &ident,
        &["--records", &records.to_string()],
    );
    let said = pre.stats_lines();

    // Five live processes, each with what its own stats() said.
    let doc = json(&tool, dir.path());
    let procs = by_pid(&doc);
    assert_eq!(
        procs.keys().collect::<Vec<_>>(),
        said.keys().collect::<Vec<_>>(),
        "{doc}"
    );
    for (pid, p) in &procs {
        assert_eq!(p["state"], "live", "{p}");
        assert_eq!(p["ident"], ident.as_str());
        // Everything but the heartbeat, which goes on beating after the process printed.
        let (mut file, mut own) = (p["stats"].clone(), said[pid].clone());
        file["heartbeat_us"] = Value::Null;
        own["heartbeat_us"] = Value::Null;
        assert_eq!(file, own, "pid {pid}: the file against its stats()");
    }
    let written: Vec<u64> = procs
        .values()
        .map(|p| count(&p["stats"], "written"))
        .collect();
    // The rows add up to the totals, per ident and overall.
    let sum: u64 = written.iter().sum();
    assert_eq!(count(&doc["totals"]["stats"], "written"), sum, "{doc}");
    assert_eq!(doc["idents"][0]["ident"], ident.as_str());
    assert_eq!(count(&doc["idents"][0]["stats"], "written"), sum);
    assert_eq!(
        (&doc["totals"]["live"], &doc["totals"]["dead"]),
        (&5.into(), &0.into())
    );
    // And the daemon has each process's records. A forked worker's counts start from its
    // parent's at the fork (as `stats()` in the child does), so a worker's `written` exceeds its
    // own records by what the parent had written by then.
    let parent = *said.keys().min().unwrap();
    let at_daemon = |pid: u64| {
        let pid = pid.to_string();
        let lines = daemon.lines(Rsyslogd::ALL);
        lines
            .iter()
            .filter(|l| l.programname == ident && l.procid == pid)
            .count() as u64
    };
    let workers: Vec<u64> = said.keys().copied().filter(|&p| p != parent).collect();
    let arrived = retry(|| {
        let n: Vec<u64> = workers.iter().map(|&p| at_daemon(p)).collect();
        n.iter().all(|&n| n == records + 1).then_some(n)
    });
    assert!(
        arrived.is_some(),
        "each worker's {} records at the daemon",
        records + 1
    );
    assert_eq!(at_daemon(parent), count(&said[&parent], "written"));
    let inherited: Vec<u64> = workers
        .iter()
        .map(|p| {
            let own = count(&said[p], "written").checked_sub(records + 1);
            own.expect("a worker's written counts its own records")
        })
        .collect();
    assert!(
        inherited
            .iter()
            .all(|&n| n <= count(&said[&parent], "written")),
        "{inherited:?}"
    );

    // The listing: a group with 5 live rows and a totals row.
    let listing = ok(&run(&tool, &[dir.path().to_str().unwrap()]));
    assert!(
        listing.starts_with(&format!("{ident}: 5 live, 0 dead\n")),
        "{listing}"
    );
    let total_row = listing
        .lines()
        .find(|l| l.trim_start().starts_with("total"));
    let total_row: Vec<&str> = total_row.unwrap().split_whitespace().collect();
    assert_eq!(total_row[1], sum.to_string(), "{listing}");

    // Prometheus text that promtool accepts, with a sample per process and per ident.
    let prom = ok(&run(&tool, &[dir.path().to_str().unwrap(), "--prometheus"]));
    promtool_check(&prom);
    for pid in said.keys().map(u64::to_string).chain(["total".to_owned()]) {
        let label = format!("pid=\"{pid}\"");
        assert!(prom.contains(&label), "no {label} in\n{prom}");
    }

    // A worker killed: dead in every view, and --clean removes its file only.
    let victim = *said.keys().max().unwrap();
    assert!(kill("-KILL", victim as u32));
    let dead = retry(|| {
        let doc = json(&tool, dir.path());
        (by_pid(&doc)[&victim]["state"] == "dead").then_some(doc)
    })
    .expect("the killed worker shows as dead");
    let procs = by_pid(&dead);
    assert_eq!(procs.len(), 5);
    assert!(procs[&victim]["dead_reason"].is_string(), "{dead}");
    assert_eq!(
        (&dead["totals"]["live"], &dead["totals"]["dead"]),
        (&4.into(), &1.into())
    );
    let listing = ok(&run(&tool, &[dir.path().to_str().unwrap()]));
    let row = listing
        .lines()
        .find(|l| l.split_whitespace().next() == Some(&victim.to_string()))
        .unwrap();
    assert!(row.contains("DEAD"), "{listing}");

    let cleaned = ok(&run(&tool, &[dir.path().to_str().unwrap(), "--clean"]));
    assert_eq!(cleaned.lines().count(), 1, "{cleaned}");
    assert!(cleaned.starts_with("removed "), "{cleaned}");
    assert!(cleaned.contains(&format!("pid {victim}")), "{cleaned}");
    let after = json(&tool, dir.path());
    let left: Vec<u64> = by_pid(&after).keys().copied().collect();
    let expected: Vec<u64> = said.keys().copied().filter(|&p| p != victim).collect();
    assert_eq!(left, expected);
    assert!(after["processes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["state"] == "live"));
    let again = ok(&run(&tool, &[dir.path().to_str().unwrap(), "--clean"]));
    assert_eq!(again, "no dead processes\n");

    let out = pre.finish();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("worker {victim} failed (exit status 137)")),
        "{stderr}"
    );
    eprintln!("prefork with stats: {:?}", start.elapsed());
}

#[test]
fn watch_prints_rates_while_workers_log() {
    let tool = tool();
    let daemon = Rsyslogd::start();
    let dir = tempfile::tempdir_in("/dev/shm").unwrap();
    let ident = format!("sw{}", std::process::id());
    // Each worker logs 1500 records at 1000 a second: the reader watches them for 2.5 s.
    let pre = Prefork::start(
        &daemon,
        dir.path(),
        &ident,
        &["--records", "1500", "--rate", "1000"],
    );
    let dirs = dir.path().to_str().unwrap();
    let out = run(&tool, &[dirs, "--watch", "0.25", "--count", "10"]);
    let text = ok(&out);
    let said = pre.stats_lines();
    pre.finish();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 11, "a header and 10 lines:\n{text}");
    assert!(lines[0].contains("written/s"), "{text}");
    let rows: Vec<Vec<&str>> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let rate = |r: &Vec<&str>| r[1].parse::<f64>().unwrap();
    // Some interval saw the 4 workers at about 4000 records a second, with 5 live processes.
    let busiest = rows.iter().map(rate).fold(0.0, f64::max);
    assert!(busiest > 1000.0, "{text}");
    assert!(rows.iter().any(|r| r[4] == "5"), "{text}");
    assert!(rows.iter().all(|r| rate(r) >= 0.0 && r[5] == "0"), "{text}");
    assert_eq!(said.len(), 5);
}

#[test]
fn bad_input_gets_a_one_line_error_and_exit_code() {
    let tool = tool();
    let empty = tempfile::tempdir().unwrap();
    let e = empty.path().to_str().unwrap();
    let missing = empty.path().join("nowhere");
    let m = missing.to_str().unwrap();
    let table: [(&[&str], i32, String); 7] = [
        (&[e, "--bogus"], 2, "unknown flag \"--bogus\"".to_owned()),
        (
            &[e, "--watch", "soon"],
            2,
            "--watch: bad number of seconds \"soon\"".to_owned(),
        ),
        (
            &[e, "--watch", "0"],
            2,
            "--watch: bad number of seconds \"0\"".to_owned(),
        ),
        (&[e, "--count", "3"], 2, "--count needs --watch".to_owned()),
        (
            &[e, "--json", "--prometheus"],
            2,
            "--prometheus: give one of".to_owned(),
        ),
        (
            &["--json"],
            2,
            "no stats directory: give DIR or set FASTSYSLOG_STATS_DIR".to_owned(),
        ),
        (&[m], 1, format!("cannot read stats directory {m}: ")),
    ];
    for (args, code, message) in table {
        let out = run(&tool, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&format!("fastsyslog-stats: {message}")),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
        // A usage error adds the usage line; any other error is one line.
        let expected_lines = if code == 2 { 2 } else { 1 };
        assert_eq!(stderr.lines().count(), expected_lines, "{args:?}: {stderr}");
    }
    // The environment names the directory when no argument does.
    let out = Command::new(&tool)
        .env("FASTSYSLOG_STATS_DIR", empty.path())
        .output()
        .unwrap();
    assert_eq!(
        ok(&out),
        format!("no stats files in {e} (*.fsstats)\n"),
        "an empty directory is no error"
    );
    // A file that is not a stats file is named on stderr and skipped, in the listing and the JSON.
    let foreign = empty.path().join("x.1.fsstats");
    std::fs::write(&foreign, "not a stats file").unwrap();
    let out = run(&tool, &[e]);
    assert_eq!(
        ok(&out),
        format!("no readable stats files in {e} (*.fsstats)\n")
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let skipped = format!("fastsyslog-stats: skipped {}: ", foreign.display());
    assert!(stderr.starts_with(&skipped), "{stderr}");
    let doc: Value = serde_json::from_str(&ok(&run(&tool, &[e, "--json"]))).unwrap();
    let unreadable = doc["unreadable"][0].as_str().unwrap_or_default();
    assert!(
        unreadable.starts_with(&foreign.display().to_string()),
        "{doc}"
    );
    let help = ok(&run(&tool, &["--help"]));
    assert!(help.starts_with("usage: fastsyslog-stats"), "{help}");
}

/// Checks exposition text with Prometheus's own `promtool check metrics` (lint problems fail too).
fn promtool_check(text: &str) {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR"));
    if let Err(e) = fastsyslog_testkit::promtool::check_metrics(cache, text) {
        panic!("{e}\n{text}");
    }
}
