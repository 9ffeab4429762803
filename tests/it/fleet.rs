//! The documented two-tier setup (`examples/two-tier/`), both tiers on loopback: the app logs to
//! the local rsyslogd's socket, which forwards over RELP through a disk-assisted queue to a central
//! rsyslogd writing one file per host and facility. The central tier is killed (SIGKILL, as in a
//! crash) and restarted mid-stream; afterwards every record must be at the central tier.

use std::collections::HashMap;
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use log::Log as _;

use crate::daemon_config::{retry_for, rsyslog_prelude, start_rsyslogd, Daemon};
use fastsyslog::{Builder, Mode};

const RECORDS: usize = 100_000;

/// A shipped config with its production values replaced by the test's.
fn shipped(name: &str, replace: &[(&str, String)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/two-tier")
        .join(name);
    let mut text = fs::read_to_string(&path).unwrap();
    for (from, to) in replace {
        assert!(
            text.contains(from),
            "{} no longer contains {from:?}",
            path.display()
        );
        text = text.replace(from, to);
    }
    text
}

/// Panics with the install hint unless rsyslog's RELP modules are installed (package
/// `rsyslog-relp`, which `apt-get install rsyslog` does not pull in).
fn require_relp() {
    let dirs = ["/usr/lib/rsyslog", "/usr/lib64/rsyslog"]
        .into_iter()
        .map(PathBuf::from)
        .chain(
            fs::read_dir("/usr/lib")
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path().join("rsyslog")),
        );
    let found = dirs
        .into_iter()
        .any(|d| d.join("imrelp.so").exists() && d.join("omrelp.so").exists());
    assert!(
        found,
        "rsyslog's RELP modules not found: apt-get install -y rsyslog-relp"
    );
}

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Waits until something accepts TCP connections on `port`.
fn wait_listening(port: u16) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "nothing listens on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every `token` number found in the files under `dir`, with how often it was seen.
fn seen(dir: &Path, token: &str) -> HashMap<usize, u32> {
    let mut counts = HashMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = fs::read_to_string(&path).unwrap_or_default();
            for line in crate::support::complete_lines(&text) {
                let Some(rest) = line.split(token).nth(1) else {
                    continue;
                };
                let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
                if let Ok(n) = n.parse() {
                    *counts.entry(n).or_insert(0) += 1;
                }
            }
        }
    }
    counts
}

/// Lines in all files under `dir`.
fn line_count(dir: &Path) -> usize {
    let mut n = 0;
    for host in fs::read_dir(dir).into_iter().flatten().flatten() {
        for file in fs::read_dir(host.path()).into_iter().flatten().flatten() {
            n += fs::read(file.path()).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count());
        }
    }
    n
}

/// Files under `dir` whose name starts with `prefix` (the disk part of a disk-assisted queue).
fn queue_files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .collect()
}

#[test]
fn relp_two_tier_keeps_every_record_across_a_central_restart() {
    require_relp();
    let start = Instant::now();
    let port = free_port();

    // Central tier.
    let central_dir = tempfile::tempdir().unwrap();
    let central_logs = central_dir.path().join("fleet");
    let conf = rsyslog_prelude(central_dir.path())
        + &shipped(
            "central.conf",
            &[
                (
                    "port=\"2514\"",
                    format!("port=\"{port}\" address=\"127.0.0.1\""),
                ),
                ("/var/log/fleet", central_logs.display().to_string()),
            ],
        );
    let mut central: Daemon = start_rsyslogd(central_dir, &conf, &[]);
    wait_listening(port);

    // Local tier.
    let local_dir = tempfile::tempdir().unwrap();
    let work = local_dir.path().to_owned();
    let app_sock = local_dir.path().join("app.sock");
    let conf = rsyslog_prelude(local_dir.path())
        + &shipped(
            "local.conf",
            &[
                ("/run/fastsyslog/app.sock", app_sock.display().to_string()),
                ("central.example.net", "127.0.0.1".to_owned()),
                ("port=\"2514\"", format!("port=\"{port}\"")),
            ],
        );
    let _local = start_rsyslogd(local_dir, &conf, &[&app_sock]);

    // The app: background writer, and no send timeout; a flush every 1000 records keeps the
    // writer's queues far below their capacity, so whatever the overflow policy the app side
    // never drops (what this test is about is the path from the local to the central tier).
    let (logger, _guard) = Builder::new()
        .socket(&app_sock)
        .ident("fleet-app")
        // The background writer when the feature is on (the default), else sync.
        .mode(Mode::default())
        .send_timeout(None)
        .build()
        .unwrap();
    let token = format!("relp-{}-", std::process::id());
    let log_range = |range: std::ops::Range<usize>| {
        for i in range {
            // One record in ten goes to the error facility, so the central tier writes two files.
            let (target, level) = if i % 10 == 0 {
                ("app::db", log::Level::Error)
            } else {
                ("access", log::Level::Info)
            };
            logger.log(
                &log::Record::builder()
                    .target(target)
                    .level(level)
                    .args(format_args!("GET /item {token}{i}"))
                    .build(),
            );
            if i % 1000 == 999 {
                logger.flush();
            }
        }
    };

    log_range(0..30_000);
    central.kill();
    let killed_at = start.elapsed();
    log_range(30_000..70_000);
    // While the central tier is down the local tier's queue spills to disk (past 90% of
    // queue.size="10000"); this also gives omrelp time to notice the outage.
    let spilled = retry_for(Duration::from_secs(10), &mut || {
        let files = queue_files(&work, "fastsyslog_central");
        if files.is_empty() {
            Err(format!("no disk queue files in {}", work.display()))
        } else {
            Ok(files.len())
        }
    });
    central.restart(&[]);
    wait_listening(port);
    let restarted_at = start.elapsed();
    log_range(70_000..RECORDS);
    logger.flush();
    let stats = logger.handle().stats();
    assert_eq!(
        stats.dropped_total(),
        0,
        "the app dropped records: {stats:?}"
    );

    let counts = retry_for(Duration::from_secs(60), &mut || {
        // Counting newlines is cheap; parse only once there can be enough lines.
        let lines = line_count(&central_logs);
        if lines < RECORDS {
            return Err(format!("{lines} of {RECORDS} lines at the central tier"));
        }
        let counts = seen(&central_logs, &token);
        if counts.len() == RECORDS {
            Ok(counts)
        } else {
            let missing: Vec<usize> = (0..RECORDS)
                .filter(|n| !counts.contains_key(n))
                .take(5)
                .collect();
            Err(format!(
                "{} of {RECORDS} distinct records at the central tier; first missing {missing:?}",
                counts.len()
            ))
        }
    });
    let duplicates: u32 = counts.values().map(|c| c - 1).sum();
    // Duplicates come only from records the central tier wrote but whose acknowledgment died with
    // it: at most the RELP window (omrelp windowSize, 128) plus the retried batch of the action
    // queue (queue.dequeueBatchSize, 128) per outage. See RELIABILITY.md, "From one host to a fleet".
    assert!(duplicates <= 256, "{duplicates} duplicates for one outage");
    // Each facility in its own file under the sending host's directory.
    let host_dirs: Vec<PathBuf> = fs::read_dir(&central_logs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(host_dirs.len(), 1, "{host_dirs:?}");
    let local0 = fs::read_to_string(host_dirs[0].join("local0.log")).unwrap();
    let local1 = fs::read_to_string(host_dirs[0].join("local1.log")).unwrap();
    assert!(local0
        .lines()
        .all(|l| l.contains(" fleet-app[") && !l.contains("app::db")));
    assert!(local1.lines().filter(|l| l.contains(&token)).count() >= RECORDS / 10);
    eprintln!(
        "relp two-tier: {RECORDS} records, all at the central tier, {duplicates} duplicates; \
         central killed at {killed_at:?}, restarted at {restarted_at:?} ({spilled} disk queue \
         files meanwhile); done at {:?}",
        start.elapsed()
    );
}
