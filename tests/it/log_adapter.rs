//! The `log` adapter against a real rsyslogd: per-target directives, `log::set_max_level` from
//! `init`, key-values through the macros, message hygiene and truncation.
//!
//! In-process tests call `Log::log` on a built [`Logger`] (the `log` macros' global gate is shared
//! by every test in this binary); what needs the global logger runs in a child process (the
//! re-exec pattern in `support`).

use fastsyslog::{Builder, ErrorKind, Format, Logger, Mode};
use log::kv::Value;
use log::{Level, Log};

use crate::support::{
    child_role, child_token, emit, expect_line, pid, rendered, run_child, token, Rsyslogd,
};

const INIT_CHILD: &str = "log_adapter::init_child";

fn logger(daemon: &Rsyslogd, ident: &str) -> Builder {
    Builder::new()
        .socket(daemon.socket())
        .ident(ident)
        .mode(Mode::Sync)
}

fn meta(target: &str, level: Level) -> log::Metadata<'_> {
    log::Metadata::builder().target(target).level(level).build()
}

#[test]
fn per_target_directives_gate_records() {
    let daemon = Rsyslogd::start();
    let t = token("directives");
    let (logger, _guard) = logger(&daemon, "it-gate")
        .filter("warn,my_crate::db=debug,access=info")
        .build()
        .unwrap();
    assert_eq!(logger.max_level(), log::LevelFilter::Debug);
    assert!(logger.enabled(&meta("my_crate::db", Level::Debug)));
    assert!(logger.enabled(&meta("my_crate::db::pool", Level::Debug)));
    assert!(!logger.enabled(&meta("my_crate::db", Level::Trace)));
    assert!(!logger.enabled(&meta("my_crate::web", Level::Info)));
    assert!(logger.enabled(&meta("access", Level::Info)));
    assert!(!logger.enabled(&meta("access", Level::Debug)));

    // `log` does not call `enabled` before `log`: the adapter must gate inside `log` too.
    let sent = [
        (Level::Debug, "my_crate::db", true),
        (Level::Trace, "my_crate::db", false),
        (Level::Info, "my_crate::web", false),
        (Level::Warn, "my_crate::web", true),
        (Level::Info, "access", true),
        (Level::Debug, "access", false),
        (Level::Info, "other", false),
        (Level::Error, "other", true),
    ];
    for (i, (level, target, _)) in sent.iter().enumerate() {
        emit(&logger, *level, target, &[], format_args!("{i} {t}"));
    }
    // Datagrams from one socket are processed in order: once the last enabled record is in, a
    // disabled one sent before it would be too.
    let all = daemon.wait_for(Rsyslogd::ALL, |lines| {
        lines.iter().any(|l| l.msg == format!("7 {t}"))
    });
    let got: Vec<&str> = all
        .iter()
        .filter(|l| l.msg.ends_with(&t))
        .map(|l| l.msg.as_str())
        .collect();
    let want: Vec<String> = sent
        .iter()
        .enumerate()
        .filter(|(_, (_, _, on))| *on)
        .map(|(i, _)| format!("{i} {t}"))
        .collect();
    assert_eq!(got, want);
    assert_eq!(logger.handle().stats().written, 4);
}

/// Child: the global logger from the environment, through the `log` macros.
#[test]
fn init_child() {
    if child_role(INIT_CHILD).is_none() {
        return;
    }
    let t = child_token();
    assert_eq!(log::max_level(), log::LevelFilter::Off, "log's default");
    let guard = fastsyslog::try_init().expect("init from the environment");
    assert_eq!(log::max_level(), log::LevelFilter::Debug);

    log::debug!(target: "my_crate::db", "query {t}");
    log::trace!(target: "my_crate::db", "trace is above max_level {t}");
    log::info!(target: "my_crate::web", "info is off for web {t}");
    let addr = std::net::Ipv4Addr::new(10, 0, 0, 1);
    let tags = vec!["a", "b"];
    log::info!(
        target: "access",
        method = "GET",
        path = "/a b",
        status = 200,
        bytes = 5120u64,
        duration_ms = 1.25,
        cached = false,
        delta = -3,
        peer:% = addr,
        tags:? = tags;
        "GET /a {t}"
    );
    log::error!(target: "my_crate::db", "down {t}");

    let again = Builder::new()
        .socket(std::env::var("FASTSYSLOG_SOCKET").unwrap())
        .mode(Mode::Sync)
        .try_init()
        .expect_err("a second logger");
    assert_eq!(again.kind(), ErrorKind::AlreadyInitialized);
    assert!(guard.flush());
    let stats = guard.stats();
    assert_eq!((stats.written, stats.dropped_total()), (3, 0), "{stats:?}");
}

#[test]
fn init_sets_max_level_and_the_macros_carry_key_values() {
    let daemon = Rsyslogd::start();
    let t = token("init");
    let socket = daemon.socket();
    let child = run_child(
        INIT_CHILD,
        &socket,
        &t,
        &[
            ("FASTSYSLOG_SOCKET", socket.to_str().unwrap()),
            ("FASTSYSLOG_LOG", "warn,my_crate::db=debug,access=info"),
            ("RUST_LOG", "trace"),
            ("FASTSYSLOG_IDENT", "it-init"),
            ("FASTSYSLOG_MODE", "sync"),
        ],
    );
    let p = child.pid.to_string();
    assert_eq!(
        rendered(&daemon.wait_for_token(Rsyslogd::LOCAL0, &t, 1)),
        [expect_line(
            134,
            "it-init",
            &p,
            &format!(
                "GET /a {t} method=GET path=\"/a b\" status=200 bytes=5120 duration_ms=1.25 \
                 cached=false delta=-3 peer=10.0.0.1 tags=\"[\\\"a\\\", \\\"b\\\"]\""
            )
        )]
    );
    assert_eq!(
        rendered(&daemon.wait_for_token(Rsyslogd::LOCAL1, &t, 2)),
        [
            expect_line(143, "it-init", &p, &format!("query {t}")),
            expect_line(139, "it-init", &p, &format!("down {t}")),
        ]
    );
}

#[test]
fn hostile_messages_arrive_as_one_escaped_line_each() {
    let daemon = Rsyslogd::start();
    let t = token("hygiene");
    let (logger, _guard) = logger(&daemon, "it-hygiene").build().unwrap();
    let cases: [(String, String); 8] = [
        (
            format!("GET /x\r\nJan  1 00:00:00 host sshd[1]: Accepted root {t}"),
            format!("GET /x\\r\\nJan  1 00:00:00 host sshd[1]: Accepted root {t}"),
        ),
        (format!("%s%n%x%p %% {t}"), format!("%s%n%x%p %% {t}")),
        (format!("a\0b {t}"), format!("a\\u0000b {t}")),
        (
            format!("tab\tesc\x1b[31m del\x7f c1\u{85} ls\u{2028} {t}"),
            format!("tab\\tesc\\u001b[31m del\\u007f c1\\u0085 ls\\u2028 {t}"),
        ),
        // A `\` makes it a quoted logfmt message.
        (format!("C:\\dir\\n {t}"), format!("\"C:\\\\dir\\\\n {t}\"")),
        (format!("{t} trailing\n"), format!("{t} trailing\\n")),
        (format!("grüße 日本 🦀 {t}"), format!("grüße 日本 🦀 {t}")),
        (t.clone(), t.clone()),
    ];
    for (sent, _) in &cases {
        emit(&logger, Level::Info, "app", &[], format_args!("{sent}"));
    }
    // A hostile key-value too: its value is quoted and escaped, its key made safe.
    emit(
        &logger,
        Level::Info,
        "app",
        &[("evil key=\"", Value::from("x\r\ny=1 \0"))],
        format_args!("kv {t}"),
    );
    let got = daemon.wait_for_token(Rsyslogd::LOCAL1, &t, cases.len() + 1);
    let p = pid();
    let mut want: Vec<String> = cases
        .iter()
        .map(|(_, msg)| expect_line(142, "it-hygiene", &p, msg))
        .collect();
    want.push(expect_line(
        142,
        "it-hygiene",
        &p,
        &format!("kv {t} evil_key__=\"x\\r\\ny=1 \\u0000\""),
    ));
    assert_eq!(rendered(&got), want);
    assert_eq!(logger.handle().stats().truncated, 0);
}

/// The RFC 3164 header this crate writes for `ident` and this process, for length arithmetic.
fn header_3164_len(pri: u8, ident: &str) -> usize {
    format!("<{pri}>Nov 22 20:34:36 {ident}[{}]: ", pid()).len()
}

#[test]
fn long_messages_are_cut_to_the_limit_and_marked() {
    let daemon = Rsyslogd::builder()
        .file_with_template("raw.log", "%rawmsg%\\n")
        .start();
    let t = token("truncate");
    const MAX: usize = 1024;
    let (logger, _guard): (Logger, fastsyslog::WorkerGuard) = logger(&daemon, "it-trunc")
        .max_message_size(MAX)
        .build()
        .unwrap();
    // Exactly at the limit: kept whole. One over: cut and marked.
    let room = MAX - header_3164_len(142, "it-trunc");
    let fits = format!("{t} {}", "a".repeat(room - t.len() - 1));
    let over = format!("{t} {}", "b".repeat(room - t.len()));
    emit(&logger, Level::Info, "app", &[], format_args!("{fits}"));
    emit(&logger, Level::Info, "app", &[], format_args!("{over}"));
    // Multibyte characters straddling the cut, and a 300 KB message.
    emit(
        &logger,
        Level::Info,
        "app",
        &[],
        format_args!("{t} {}", "é".repeat(2000)),
    );
    emit(
        &logger,
        Level::Info,
        "app",
        &[],
        format_args!("{t} {}", "c".repeat(300 * 1024)),
    );

    let got = daemon.wait_for_token(Rsyslogd::LOCAL1, &t, 4);
    assert_eq!(got[0].msg, fits, "a message exactly at the limit is whole");
    for line in &got[1..] {
        assert!(line.msg.ends_with(" [truncated]"), "{line:?}");
        assert!(
            !line.msg.contains('\u{fffd}'),
            "cut inside a character: {line:?}"
        );
    }
    assert!(got[1].msg.starts_with(&format!("{t} bbb")));
    assert!(got[2].msg.starts_with(&format!("{t} ééé")));
    assert!(got[3].msg.starts_with(&format!("{t} ccc")));
    let raw = daemon.wait_for_raw("raw.log", &t);
    assert_eq!(raw.len(), 4, "one datagram each");
    assert_eq!(raw[0].len(), MAX);
    assert_eq!(raw[1].len(), MAX, "ASCII fills the limit exactly");
    assert!((MAX - 1..=MAX).contains(&raw[2].len()), "{}", raw[2].len());
    assert_eq!(raw[3].len(), MAX);
    assert_eq!(logger.handle().stats().truncated, 3);
}

#[test]
fn default_limit_is_8k() {
    let daemon = Rsyslogd::builder()
        .file_with_template("raw.log", "%rawmsg%\\n")
        .start();
    let t = token("default_limit");
    let (logger, _guard) = logger(&daemon, "it-8k").build().unwrap();
    emit(
        &logger,
        Level::Info,
        "app",
        &[],
        format_args!("{t} {}", "d".repeat(300 * 1024)),
    );
    let raw = daemon.wait_for_raw("raw.log", &t);
    assert_eq!(raw[0].len(), fastsyslog::DEFAULT_MAX_MESSAGE_SIZE);
    assert_eq!(fastsyslog::DEFAULT_MAX_MESSAGE_SIZE, 8096);
    assert!(raw[0].ends_with(" [truncated]"));
}

#[test]
fn truncated_json_stays_one_valid_object() {
    let daemon = Rsyslogd::builder()
        .config(
            "module(load=\"mmjsonparse\")\n\
             template(name=\"t_json\" type=\"string\" \
               string=\"%$!truncated%|%$!status%|%$!msg:1:40%\\n\")\n\
             action(type=\"mmjsonparse\")\n\
             *.* action(type=\"omfile\" file=\"{dir}/json.log\" template=\"t_json\")",
        )
        .start();
    let t = token("json_truncate");
    let (logger, _guard) = logger(&daemon, "it-jtrunc")
        .format(Format::Json)
        .max_message_size(512)
        .build()
        .unwrap();
    let after = "x".repeat(600);
    emit(
        &logger,
        Level::Info,
        "access",
        &[
            ("status", Value::from(200u64)),
            ("after", Value::from(after.as_str())),
        ],
        format_args!("{t} {}", "\"q\" ".repeat(50)),
    );
    let line = &daemon.wait_for_token(Rsyslogd::LOCAL0, &t, 1)[0];
    assert!(
        line.msg
            .starts_with(&format!("@cee: {{\"msg\":\"{t} \\\"q\\\" ")),
        "{line:?}"
    );
    assert!(line.msg.ends_with(",\"truncated\":true}"), "{line:?}");
    let json = daemon.wait_for_raw("json.log", &t);
    assert_eq!(json.len(), 1);
    // `$!truncated` is true, the fields before the cut are whole, and `$!msg` unescapes to what
    // was logged (its first 40 characters are printed).
    let msg = format!("{t} {}", "\"q\" ".repeat(50));
    let head: String = msg.chars().take(40).collect();
    assert_eq!(json, [format!("true|200|{head}")]);
}
