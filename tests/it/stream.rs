//! The stream transport end to end: rsyslogd's `imptcp` on a unix path (octet counting) and
//! syslog-ng's `unix-stream()` (one record per line), each in its own temp dir. Records arrive
//! whole and in order in the routed files, batches included; a record with a line break in it
//! stays one record; a long record is cut and counted; a daemon restart in background mode loses
//! nothing and is counted as a reconnect.

use std::io::Read as _;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fastsyslog::{Builder, Lane, Logger, Mode, Overflow, StreamFraming};
use log::{Level, Log};

use crate::daemon_config::{
    lines_with, log_through, retry, retry_for, rsyslog_prelude, start_rsyslogd, start_syslog_ng,
    syslog_ng, syslog_ng_prelude, token,
};
use crate::support::{self, flush, stats, Rsyslogd};

fn emit(logger: &Logger, level: Level, args: std::fmt::Arguments<'_>) {
    logger.log(
        &log::Record::builder()
            .level(level)
            .target("stream")
            .args(args)
            .build(),
    );
}

/// A background logger on the stream socket `path` that never drops (both lanes block).
fn lossless(path: &Path) -> Builder {
    Builder::new()
        .ident("it-stream")
        .stream_socket(path)
        .mode(Mode::Background)
        .overflow(Lane::Bulk, Overflow::Block)
        .overflow(Lane::Error, Overflow::Block)
        .filter("trace")
}

#[test]
fn rsyslog_imptcp_gets_batches_whole_and_in_order() {
    let daemon = Rsyslogd::builder().stream().start();
    let (logger, _guard) = lossless(&daemon.stream_socket())
        .max_message_size(2048)
        .build()
        .unwrap();
    let token = support::token("stream-order");
    let n = 3000;
    for i in 0..n {
        emit(&logger, Level::Info, format_args!("{token} {i}"));
    }
    // A line break inside a record: escaped by the renderer, one record on the wire and in the
    // file.
    emit(&logger, Level::Warn, format_args!("{token} {n} two\nlines"));
    // Longer than max_message_size: cut, marked and counted, as with datagrams.
    let long = "L".repeat(5000);
    emit(
        &logger,
        Level::Error,
        format_args!("{token} {} {long}", n + 1),
    );
    assert!(flush(&logger));

    let lines = daemon.wait_for_token(Rsyslogd::ALL, &token, n + 2);
    assert_eq!(lines.len(), n + 2);
    for (i, line) in lines[..n].iter().enumerate() {
        assert_eq!(line.msg, format!("{token} {i}"));
        assert_eq!(line.programname, "it-stream");
    }
    assert_eq!(lines[n].msg, format!("{token} {n} two\\nlines"));
    let cut = &lines[n + 1].msg;
    assert!(cut.starts_with(&format!("{token} {} LLL", n + 1)), "{cut}");
    assert!(cut.ends_with(" [truncated]"), "{cut}");
    assert!(cut.len() < 2048, "{}", cut.len());

    let s = stats(&logger);
    assert_eq!(s.written, n as u64 + 2, "{s:?}");
    assert_eq!(s.dropped_total(), 0, "{s:?}");
    assert_eq!(s.truncated, 1, "{s:?}");
    assert_eq!((s.reconnects, s.frames_cut), (0, 0), "{s:?}");
}

#[test]
fn a_daemon_restart_loses_nothing_over_the_stream() {
    let mut daemon = Rsyslogd::builder().stream().start();
    let (logger, _guard) = lossless(&daemon.stream_socket()).build().unwrap();
    let token = support::token("stream-restart");
    let s = crate::writer_faults::restart_loses_nothing(&mut daemon, &logger, &token);
    assert!(
        s.reconnects >= 1,
        "the new daemon is a new connection: {s:?}"
    );
}

#[test]
fn sync_mode_writes_each_record_and_picks_up_a_restarted_daemon() {
    let mut daemon = Rsyslogd::builder().stream().start();
    let (logger, _guard) = lossless(&daemon.stream_socket())
        .mode(Mode::Sync)
        .build()
        .unwrap();
    let token = support::token("stream-sync");
    for i in 0..50 {
        emit(&logger, Level::Info, format_args!("{token} {i}"));
    }
    daemon.wait_for_token(Rsyslogd::ALL, &token, 50);
    daemon.restart();
    // The first record after the restart finds the old connection dead and reconnects at once.
    for i in 50..60 {
        emit(&logger, Level::Info, format_args!("{token} {i}"));
    }
    let lines = daemon.wait_for_token(Rsyslogd::ALL, &token, 60);
    let got: Vec<String> = lines.iter().map(|l| l.msg.clone()).collect();
    let want: Vec<String> = (0..60).map(|i| format!("{token} {i}")).collect();
    assert_eq!(got, want);
    let s = stats(&logger);
    assert_eq!(
        (s.written, s.dropped_total(), s.reconnects),
        (60, 0, 1),
        "{s:?}"
    );
}

#[test]
fn generated_rsyslog_config_routes_the_stream_per_facility() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("app.sock");
    let logs = dir.path().join("logs");
    let builder = || Builder::new().stream_socket(&sock).ident("e2e-stream");
    let conf = rsyslog_prelude(dir.path()) + &builder().rsyslog_config(&logs).unwrap();
    let _daemon = start_rsyslogd(dir, &conf, &[&sock]);
    let test = "rsyslog_stream";
    // The socket file appears before imptcp accepts: the sync logger's first record may miss it,
    // so wait until a connection is taken.
    retry(|| std::os::unix::net::UnixStream::connect(&sock).map_err(|e| e.to_string()));
    let pid = log_through(builder(), test, 3);
    let access = retry(|| lines_with(&logs.join("access.log"), test, 3));
    let errors = retry(|| lines_with(&logs.join("app.log"), test, 3));
    for i in 0..3 {
        let t = token(test, i);
        assert!(
            access[i].ends_with(&format!(" info e2e-stream[{pid}]: GET /{t}")),
            "{}",
            access[i]
        );
        assert!(
            errors[i].ends_with(&format!(" err e2e-stream[{pid}]: failed {t}")),
            "{}",
            errors[i]
        );
    }
}

#[test]
fn syslog_ng_unix_stream_gets_line_framed_records_in_order() {
    let ng = syslog_ng();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("app.sock");
    let logs = dir.path().join("logs");
    let builder = || {
        lossless(&sock)
            .ident("ng-stream")
            .stream_framing(StreamFraming::NonTransparent)
    };
    let conf = syslog_ng_prelude(dir.path()) + &builder().syslog_ng_config(&logs).unwrap();
    // The prelude's system source is in no log path here, so syslog-ng does not open it.
    let _daemon = start_syslog_ng(ng, dir, &conf, &[&sock]);

    let (logger, _guard) = builder().build().unwrap();
    let test = support::token("ng-stream");
    let n = 2000;
    for i in 0..n {
        emit(&logger, Level::Info, format_args!("{test} {i}"));
    }
    emit(&logger, Level::Info, format_args!("{test} {n} two\nlines"));
    assert!(flush(&logger));
    // Routed by facility: everything but the access target goes to app.log.
    let lines = retry_for(std::time::Duration::from_secs(10), &mut || {
        lines_with(&logs.join("app.log"), &test, n + 1)
    });
    assert_eq!(lines.len(), n + 1, "one line per record");
    for (i, line) in lines[..n].iter().enumerate() {
        assert!(
            line.ends_with(&format!(" ng-stream[{}]: {test} {i}", std::process::id())),
            "{line}"
        );
    }
    assert!(
        lines[n].ends_with(&format!("{test} {n} two\\nlines")),
        "{}",
        lines[n]
    );
    let s = stats(&logger);
    assert_eq!((s.written, s.dropped_total()), (n as u64 + 1, 0), "{s:?}");
}

/// The records of an octet-counted stream, as text; panics on a malformed one.
fn frames(mut bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(sp) = bytes.iter().position(|&b| b == b' ') {
        let len: usize = std::str::from_utf8(&bytes[..sp]).unwrap().parse().unwrap();
        let frame = &bytes[sp + 1..sp + 1 + len];
        out.push(String::from_utf8(frame.to_vec()).unwrap());
        bytes = &bytes[sp + 1 + len..];
    }
    assert!(bytes.is_empty(), "a cut frame: {bytes:?}");
    out
}

/// Accepts connections on `listener` until `stop`, reading each on its own thread until it ends
/// or, once `stop` is set, goes quiet; returns the records of every connection that sent any, in
/// the order they were accepted.
fn per_connection(
    listener: UnixListener,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<Vec<String>>> {
    std::thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let mut readers = Vec::new();
        loop {
            // Read before accepting: a connection queued before `stop` is still taken.
            let stopping = stop.load(Ordering::SeqCst);
            match listener.accept() {
                Ok((conn, _)) => {
                    let stop = Arc::clone(&stop);
                    readers.push(std::thread::spawn(move || read_until_quiet(conn, &stop)));
                }
                Err(_) if stopping => break,
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        readers
            .into_iter()
            .map(|r| r.join().unwrap())
            .filter(|records| !records.is_empty())
            .collect()
    })
}

/// The records of `conn`, read until it ends or, once `stop` is set, has nothing more.
fn read_until_quiet(mut conn: std::os::unix::net::UnixStream, stop: &AtomicBool) -> Vec<String> {
    conn.set_nonblocking(false).unwrap();
    conn.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let stopping = stop.load(Ordering::SeqCst);
        match conn.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(_) if stopping => break,
            Err(_) => {}
        }
    }
    frames(&buf)
}

#[test]
fn a_forked_child_writes_on_a_connection_of_its_own() {
    for mode in [Mode::Sync, Mode::Background] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let stop = Arc::new(AtomicBool::new(false));
        let reader = per_connection(UnixListener::bind(&path).unwrap(), Arc::clone(&stop));
        let (logger, guard) = lossless(&path).mode(mode).build().unwrap();
        emit(&logger, Level::Info, format_args!("parent 1"));
        assert!(flush(&logger));
        // The child logs and flushes (it ends with _exit, which runs no exit hook), under a bound.
        let forked = fastsyslog_testkit::process::fork_each(1, Duration::from_secs(10), || {
            emit(&logger, Level::Info, format_args!("child 1"));
            if flush(&logger) {
                0
            } else {
                1
            }
        })
        .unwrap();
        assert!(
            forked.hung.is_empty() && forked.failed.is_empty(),
            "{mode:?}: {forked:?}"
        );
        emit(&logger, Level::Info, format_args!("parent 2"));
        assert!(flush(&logger));
        drop((logger, guard));
        stop.store(true, Ordering::SeqCst);
        let conns: Vec<Vec<String>> = reader
            .join()
            .unwrap()
            .into_iter()
            .map(|records| {
                records
                    .iter()
                    .map(|r| r.rsplit(": ").next().unwrap().to_owned())
                    .collect()
            })
            .collect();
        // Had the child written on the parent's connection, its record would sit between the
        // parent's two there, or cut one of them.
        assert_eq!(
            conns,
            [vec!["parent 1", "parent 2"], vec!["child 1"]],
            "{mode:?}"
        );
    }
}
