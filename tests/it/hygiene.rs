//! What reaches the daemons, end to end: records at the size limit through glibc's `syslog(3)`
//! (in a private `/dev/log` namespace), and idents as rsyslog and syslog-ng store them.

use std::path::Path;

use fastsyslog::{Builder, Mode};
use log::Level;

use crate::daemon_config::{lines_with, retry, start_syslog_ng, syslog_ng};
use crate::support::devlog::{assert_private_devlog, host_devlog_exists, run_child_with_devlog};
use crate::support::{child_role, child_token, emit, token, Rsyslogd};

const LIMIT_CHILD: &str = "hygiene::libc_limit_child";

/// The limit the child's logger is built with, header included.
const LIMIT: usize = 1024;
/// The child's ident.
const LIMIT_IDENT: &str = "it-limit";

/// What glibc writes before the body for local0.info (`<134>Mmm dd hh:mm:ss ident[pid]: `).
fn glibc_header_len(pid: u32) -> usize {
    format!("<134>Nov 22 20:34:36 {LIMIT_IDENT}[{pid}]: ").len()
}

/// Child: three records whose datagrams are 1023, 1024 and 1025 bytes under a 1024 limit.
#[test]
fn libc_limit_child() {
    if child_role(LIMIT_CHILD).is_none() {
        return;
    }
    assert_private_devlog();
    let t = child_token();
    let (logger, _guard) = Builder::new()
        .ident(LIMIT_IDENT)
        .mode(Mode::Sync)
        .max_message_size(LIMIT)
        .build()
        .expect("build the libc logger");
    let header = glibc_header_len(std::process::id());
    for wire in [LIMIT - 1, LIMIT, LIMIT + 1] {
        let head = format!("{t} {wire} ");
        let msg = head.clone() + &"y".repeat(wire - header - head.len());
        emit(&logger, Level::Info, "access", &[], format_args!("{msg}"));
    }
    log::Log::flush(&logger);
    println!(
        "FASTSYSLOG_IT_TRUNCATED={}",
        logger.handle().stats().truncated
    );
}

#[test]
fn libc_records_up_to_the_limit_arrive_whole_through_devlog() {
    let daemon = Rsyslogd::builder()
        .file_with_template("raw.log", "%rawmsg%\\n")
        .start();
    let t = token("libc_limit");
    let host_before = host_devlog_exists();
    let child = run_child_with_devlog(
        LIMIT_CHILD,
        &daemon.socket(),
        &daemon.dir().join("dev"),
        &t,
        &[],
    );
    assert_eq!(host_devlog_exists(), host_before, "host /dev/log changed");
    let raw = |wire: usize| {
        daemon
            .wait_for_raw("raw.log", &format!("{t} {wire} "))
            .remove(0)
    };
    // The two that fit arrive whole, byte for byte what glibc sent.
    for wire in [LIMIT - 1, LIMIT] {
        let line = raw(wire);
        assert_eq!(line.len(), wire, "{line}");
        assert!(line.ends_with("yyy"), "{line}");
    }
    // Only the one over the limit is cut, to the limit, and marked.
    let line = raw(LIMIT + 1);
    assert_eq!(line.len(), LIMIT, "{line}");
    assert!(line.ends_with("y [truncated]"), "{line}");
    let stdout = String::from_utf8_lossy(&child.output.stdout);
    assert!(
        stdout.contains("FASTSYSLOG_IT_TRUNCATED=1\n"),
        "one record counted as truncated: {stdout}"
    );
}

/// Idents as given, and what both daemons must store as the program name.
const IDENTS: [(&str, &str); 6] = [
    ("x/y", "x_y"),
    ("a:b[1]", "a_b_1_"),
    ("caf\u{e9}", "caf_"),
    ("\u{202e}toor", "_toor"),
    ("my app", "my_app"),
    ("ok-name.v2+~", "ok-name.v2+~"),
];

/// Logs one record per ident of [`IDENTS`] to `socket`, tagged `{t}-{i}`.
fn log_idents(socket: &Path, t: &str) {
    let long = "\u{e9}".repeat(300);
    let idents = IDENTS.iter().map(|(raw, _)| *raw).chain([long.as_str()]);
    for (i, ident) in idents.enumerate() {
        let (logger, _guard) = Builder::new()
            .socket(socket)
            .ident(ident)
            .mode(Mode::Sync)
            .build()
            .expect("build");
        emit(&logger, Level::Info, "access", &[], format_args!("{t}-{i}"));
    }
}

/// What each logged ident must arrive as, in [`log_idents`]'s order.
fn sanitized() -> Vec<String> {
    let long = "_".repeat(fastsyslog::MAX_IDENT_LEN);
    IDENTS
        .iter()
        .map(|(_, s)| (*s).to_owned())
        .chain([long])
        .collect()
}

#[test]
fn idents_arrive_whole_in_rsyslog() {
    let daemon = Rsyslogd::start();
    let t = token("idents_rsyslog");
    log_idents(&daemon.socket(), &t);
    let want = sanitized();
    let lines = daemon.wait_for_token(Rsyslogd::LOCAL0, &t, want.len());
    for (i, want) in want.iter().enumerate() {
        let line = lines
            .iter()
            .find(|l| l.msg == format!("{t}-{i}"))
            .unwrap_or_else(|| panic!("no record {i}: {lines:#?}"));
        assert_eq!(&line.programname, want, "{line:?}");
    }
}

#[test]
fn idents_arrive_whole_in_syslog_ng() {
    let ng = syslog_ng();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("ng.sock");
    let out = dir.path().join("programs.log");
    let conf = format!(
        "@version: 3.38\n\
         source s {{ unix-dgram(\"{}\"); }};\n\
         destination d {{ file(\"{}\" template(\"${{PROGRAM}}|${{MESSAGE}}\\n\")); }};\n\
         log {{ source(s); destination(d); }};\n",
        sock.display(),
        out.display()
    );
    let _daemon = start_syslog_ng(ng, dir, &conf, &[&sock]);
    let t = token("idents_ng");
    log_idents(&sock, &t);
    let want = sanitized();
    let lines = retry(|| lines_with(&out, &t, want.len()));
    for (i, want) in want.iter().enumerate() {
        let tag = format!("|{t}-{i}");
        let line = lines
            .iter()
            .find(|l| l.ends_with(&tag))
            .unwrap_or_else(|| panic!("no record {i}: {lines:#?}"));
        assert_eq!(line.strip_suffix(&tag), Some(want.as_str()), "{line}");
    }
}
