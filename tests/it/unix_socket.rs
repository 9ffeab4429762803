//! The unix datagram transport against a real rsyslogd: the RFC 3164 and RFC 5424 headers parse at
//! the daemon, every body format arrives exactly, routing picks the facility and the severity
//! mapping picks the severity.
//!
//! Every logger here is `Mode::Sync`, so a record is on the socket when `log` returns and the
//! tests do not depend on the background writer.

use std::time::{SystemTime, UNIX_EPOCH};

use fastsyslog::{
    Builder, Facility, Format, Header, Logger, Match, Mode, Severity, SeverityMapping,
};
use log::kv::Value;
use log::Level;

use crate::support::{emit, expect_line, pid, rendered, token, Rsyslogd};

fn logger(daemon: &Rsyslogd, ident: &str) -> Builder {
    Builder::new()
        .socket(daemon.socket())
        .ident(ident)
        .mode(Mode::Sync)
        .filter("trace")
}

fn build(b: Builder) -> Logger {
    // Sync mode: the guard's drop only flushes, so the logger keeps sending without it.
    b.build().expect("build the logger").0
}

/// Seconds since the epoch, now.
fn now() -> i64 {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(d.as_secs()).unwrap()
}

/// Checks `<PRI>Mmm dd hh:mm:ss ` at the start of `raw` (glibc's `%h %e %T`, day space-padded) and
/// returns the rest.
fn strip_3164_header(raw: &str, pri: u8) -> &str {
    let rest = raw
        .strip_prefix(&format!("<{pri}>"))
        .unwrap_or_else(|| panic!("no <{pri}> in {raw:?}"));
    let (stamp, rest) = rest.split_at(16);
    let b = stamp.as_bytes();
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    assert!(MONTHS.contains(&&stamp[..3]), "month in {raw:?}");
    assert_eq!(b[3], b' ', "{raw:?}");
    // `%e`: the day of the month, space-padded (" 2", "22"), never zero-padded.
    let day_ok = match b[4] {
        b' ' => (b'1'..=b'9').contains(&b[5]),
        b'1'..=b'3' => b[5].is_ascii_digit(),
        _ => false,
    };
    assert!(day_ok, "day (space-padded) in {raw:?}");
    assert_eq!(b[6], b' ', "{raw:?}");
    for (i, c) in b[7..15].iter().enumerate() {
        if i == 2 || i == 5 {
            assert_eq!(*c, b':', "{raw:?}");
        } else {
            assert!(c.is_ascii_digit(), "time in {raw:?}");
        }
    }
    assert_eq!(b[15], b' ', "{raw:?}");
    rest
}

#[test]
fn rfc3164_header_routes_access_to_local0_and_the_rest_to_local1() {
    let daemon = Rsyslogd::builder()
        .file_with_template("raw.log", "%rawmsg%\\n")
        .file_with_template("time.log", "%timereported:::date-unixtimestamp%|%msg%\\n")
        .start();
    let t = token("rfc3164");
    let logger = build(logger(&daemon, "it-unix"));
    let before = now();
    emit(
        &logger,
        Level::Info,
        "access",
        &[
            ("method", Value::from("GET")),
            ("path", Value::from("/a b")),
            ("status", Value::from(200u64)),
        ],
        format_args!("GET /a {t}"),
    );
    emit(
        &logger,
        Level::Warn,
        "app",
        &[],
        format_args!("disk low {t}"),
    );
    emit(
        &logger,
        Level::Error,
        "app::db",
        &[],
        format_args!("db down {t}"),
    );
    emit(
        &logger,
        Level::Debug,
        "app",
        &[],
        format_args!("cache miss {t}"),
    );

    let p = pid();
    let local0 = daemon.wait_for_token(Rsyslogd::LOCAL0, &t, 1);
    assert_eq!(
        rendered(&local0),
        [expect_line(
            134,
            "it-unix",
            &p,
            &format!("GET /a {t} method=GET path=\"/a b\" status=200")
        )]
    );
    let local1 = daemon.wait_for_token(Rsyslogd::LOCAL1, &t, 3);
    assert_eq!(
        rendered(&local1),
        [
            expect_line(140, "it-unix", &p, &format!("disk low {t}")),
            expect_line(139, "it-unix", &p, &format!("db down {t}")),
            expect_line(143, "it-unix", &p, &format!("cache miss {t}")),
        ]
    );
    assert_eq!(daemon.wait_for_token(Rsyslogd::ALL, &t, 4).len(), 4);

    // The raw datagram: glibc's header layout, byte for byte.
    let raw = daemon.wait_for_raw("raw.log", &format!("disk low {t}"));
    let rest = strip_3164_header(&raw[0], 140);
    assert_eq!(rest, format!("it-unix[{p}]: disk low {t}"));
    // The header's time is now (local time, as the daemon reads it).
    let timed = daemon.wait_for_raw("time.log", &format!("db down {t}"));
    let stamp: i64 = timed[0].split('|').next().unwrap().parse().unwrap();
    assert!(
        (before - 2..=now() + 2).contains(&stamp),
        "header time {stamp} is not now ({before}): {timed:?}"
    );
}

#[test]
fn rfc5424_format_parses_with_structured_data() {
    let daemon = Rsyslogd::builder()
        .file_with_template(
            "sd.log",
            "%pri%|%protocol-version%|%hostname%|%app-name%|%procid%|%msgid%|%structured-data%|%msg%\\n",
        )
        .start();
    let t = token("rfc5424");
    let logger = build(logger(&daemon, "it-5424").format(Format::Rfc5424));
    emit(
        &logger,
        Level::Info,
        "access",
        &[
            ("method", Value::from("GET")),
            ("path", Value::from("/a]b\"c\\d")),
            ("status", Value::from(200u64)),
        ],
        format_args!("GET /a {t}"),
    );
    emit(
        &logger,
        Level::Error,
        "app",
        &[],
        format_args!("db down {t}"),
    );

    let p = pid();
    let local0 = daemon.wait_for_token(Rsyslogd::LOCAL0, &t, 1);
    assert_eq!(
        rendered(&local0),
        [expect_line(134, "it-5424", &p, &format!("GET /a {t}"))]
    );
    let local1 = daemon.wait_for_token(Rsyslogd::LOCAL1, &t, 1);
    assert_eq!(
        rendered(&local1),
        [expect_line(139, "it-5424", &p, &format!("db down {t}"))]
    );
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned();
    let sd = daemon.wait_for_raw("sd.log", &t);
    assert_eq!(
        sd,
        [
            format!(
                "134|1|{host}|it-5424|{p}|-|[fields@32473 method=\"GET\" path=\"/a\\]b\\\"c\\\\d\" status=\"200\"]|GET /a {t}"
            ),
            format!("139|1|{host}|it-5424|{p}|-|-|db down {t}"),
        ]
    );
}

#[test]
fn rfc5424_header_with_logfmt_body() {
    let daemon = Rsyslogd::builder()
        .file_with_template(
            "sd.log",
            "%protocol-version%|%app-name%|%structured-data%|%msg%\\n",
        )
        .start();
    let t = token("rfc5424_logfmt");
    let logger = build(logger(&daemon, "it-5424l").header(Header::Rfc5424));
    emit(
        &logger,
        Level::Info,
        "access",
        &[("status", Value::from(404u64))],
        format_args!("GET /missing {t}"),
    );
    let local0 = daemon.wait_for_token(Rsyslogd::LOCAL0, &t, 1);
    assert_eq!(
        rendered(&local0),
        [expect_line(
            134,
            "it-5424l",
            &pid(),
            &format!("GET /missing {t} status=404")
        )]
    );
    assert_eq!(
        daemon.wait_for_raw("sd.log", &t),
        [format!("1|it-5424l|-|GET /missing {t} status=404")]
    );
}

#[test]
fn json_body_parses_with_mmjsonparse() {
    let daemon = Rsyslogd::builder()
        .config(
            "module(load=\"mmjsonparse\")\n\
             template(name=\"t_json\" type=\"string\" \
               string=\"%$!msg%|%$!method%|%$!status%|%$!path%|%$!note:::json%|%$!_msg%|%$!ok%\\n\")\n\
             action(type=\"mmjsonparse\")\n\
             *.* action(type=\"omfile\" file=\"{dir}/json.log\" template=\"t_json\")",
        )
        .start();
    let t = token("json");
    let logger = build(logger(&daemon, "it-json").format(Format::Json));
    emit(
        &logger,
        Level::Info,
        "access",
        &[
            ("method", Value::from("GET")),
            ("status", Value::from(200u64)),
            ("path", Value::from("/a \"b\"")),
            ("note", Value::from("a\nb")),
            ("msg", Value::from("user msg")),
            ("ok", Value::from(true)),
        ],
        format_args!("GET /a {t}"),
    );
    let local0 = daemon.wait_for_token(Rsyslogd::LOCAL0, &t, 1);
    assert_eq!(
        rendered(&local0),
        [expect_line(
            134,
            "it-json",
            &pid(),
            &format!(
                "@cee: {{\"msg\":\"GET /a {t}\",\"method\":\"GET\",\"status\":200,\
                 \"path\":\"/a \\\"b\\\"\",\"note\":\"a\\nb\",\"_msg\":\"user msg\",\"ok\":true}}"
            )
        )]
    );
    // rsyslog's own JSON parser agrees: one object, each field with its value (the newline in
    // `note` is re-escaped by the template's `json` option so the file stays one line per record).
    assert_eq!(
        daemon.wait_for_raw("json.log", &t),
        [format!("GET /a {t}|GET|200|/a \"b\"|a\\nb|user msg|true")]
    );
}

#[test]
fn logfmt_escapes_keys_and_values() {
    let daemon = Rsyslogd::start();
    let t = token("logfmt");
    let logger = build(logger(&daemon, "it-logfmt"));
    emit(
        &logger,
        Level::Info,
        "app",
        &[
            ("user", Value::from("alice smith")),
            ("empty", Value::from("")),
            ("quote", Value::from("say \"hi\"")),
            ("eq", Value::from("a=b")),
            ("back", Value::from("C:\\dir")),
            ("nl", Value::from("a\nb\tc")),
            ("bad key", Value::from(1u64)),
            ("", Value::from("anon")),
            ("flag", Value::from(true)),
            ("neg", Value::from(-5i64)),
            ("ratio", Value::from(1.5f64)),
            ("bare", Value::from("ok")),
        ],
        format_args!("login {t}"),
    );
    let local1 = daemon.wait_for_token(Rsyslogd::LOCAL1, &t, 1);
    assert_eq!(
        local1[0].msg,
        format!(
            "login {t} user=\"alice smith\" empty=\"\" quote=\"say \\\"hi\\\"\" eq=\"a=b\" \
             back=\"C:\\\\dir\" nl=\"a\\nb\\tc\" bad_key=1 _=anon flag=true neg=-5 ratio=1.5 bare=ok"
        )
    );
    assert_eq!(
        (local1[0].pri, local1[0].programname.as_str()),
        (142, "it-logfmt")
    );
}

#[test]
fn custom_routes_first_match_wins() {
    let daemon = Rsyslogd::start();
    let t = token("routes");
    let logger = build(
        logger(&daemon, "it-routes")
            .clear_routes()
            .route(Match::Target("audit".into()), Facility::Local5)
            .route(Match::Level(Level::Warn), Facility::Local2)
            .route(Match::Field("access".into()), Facility::Local0)
            .default_facility(Facility::Local3),
    );
    let yes = [("access", Value::from(true))];
    let no = [("access", Value::from(false))];
    emit(
        &logger,
        Level::Info,
        "audit::login",
        &[],
        format_args!("1 {t}"),
    );
    emit(&logger, Level::Error, "audit", &[], format_args!("2 {t}"));
    emit(&logger, Level::Error, "app", &[], format_args!("3 {t}"));
    emit(&logger, Level::Info, "app", &yes, format_args!("4 {t}"));
    emit(&logger, Level::Info, "app", &no, format_args!("5 {t}"));
    emit(&logger, Level::Info, "access", &[], format_args!("6 {t}"));
    emit(&logger, Level::Info, "auditor", &[], format_args!("7 {t}"));
    // A flag field is on for any value but `false`, `0` and "".
    let zero = [("access", Value::from(0u64))];
    let empty = [("access", Value::from(""))];
    let word = [("access", Value::from("yes"))];
    emit(&logger, Level::Info, "app", &zero, format_args!("8 {t}"));
    emit(&logger, Level::Info, "app", &empty, format_args!("9 {t}"));
    emit(&logger, Level::Info, "app", &word, format_args!("10 {t}"));

    let p = pid();
    let all = daemon.wait_for_token(Rsyslogd::ALL, &t, 10);
    let l = |pri, msg: &str| {
        let kv = match msg {
            "4" => " access=true",
            "5" => " access=false",
            "8" => " access=0",
            "9" => " access=\"\"",
            "10" => " access=yes",
            _ => "",
        };
        expect_line(pri, "it-routes", &p, &format!("{msg} {t}{kv}"))
    };
    assert_eq!(
        rendered(&all),
        [
            l(174, "1"),
            l(171, "2"),
            l(147, "3"),
            l(134, "4"),
            l(158, "5"),
            l(158, "6"),
            l(158, "7"),
            l(158, "8"),
            l(158, "9"),
            l(134, "10"),
        ]
    );
    assert_eq!(daemon.lines_with(Rsyslogd::LOCAL0, &t).len(), 2);
    assert_eq!(daemon.lines_with(Rsyslogd::LOCAL1, &t).len(), 0);
}

#[test]
fn access_and_default_facilities_are_configurable() {
    let daemon = Rsyslogd::start();
    let t = token("facilities");
    let logger = build(
        logger(&daemon, "it-fac")
            .access_facility(Facility::Local1)
            .default_facility(Facility::Local0),
    );
    emit(
        &logger,
        Level::Info,
        "access::http",
        &[],
        format_args!("a {t}"),
    );
    emit(&logger, Level::Error, "app", &[], format_args!("e {t}"));
    let p = pid();
    assert_eq!(
        rendered(&daemon.wait_for_token(Rsyslogd::LOCAL1, &t, 1)),
        [expect_line(142, "it-fac", &p, &format!("a {t}"))]
    );
    assert_eq!(
        rendered(&daemon.wait_for_token(Rsyslogd::LOCAL0, &t, 1)),
        [expect_line(131, "it-fac", &p, &format!("e {t}"))]
    );
}

fn send_each_level(logger: &Logger, t: &str) {
    for (level, name) in [
        (Level::Error, "error"),
        (Level::Warn, "warn"),
        (Level::Info, "info"),
        (Level::Debug, "debug"),
        (Level::Trace, "trace"),
    ] {
        emit(logger, level, "app", &[], format_args!("{name} {t}"));
    }
}

#[test]
fn severity_mappings_default_journald_and_custom() {
    let daemon = Rsyslogd::start();
    let p = pid();
    let cases: [(&str, SeverityMapping, [u8; 5]); 3] = [
        ("default", SeverityMapping::new(), [139, 140, 142, 143, 143]),
        (
            "journald",
            SeverityMapping::journald(),
            [139, 140, 141, 142, 143],
        ),
        (
            "custom",
            SeverityMapping {
                info: Severity::Critical,
                ..SeverityMapping::new()
            },
            [139, 140, 138, 143, 143],
        ),
    ];
    for (name, mapping, pris) in cases {
        let t = token(&format!("severity_{name}"));
        let ident = format!("it-sev-{name}");
        send_each_level(
            &build(logger(&daemon, &ident).severity_mapping(mapping)),
            &t,
        );
        let got = daemon.wait_for_token(Rsyslogd::LOCAL1, &t, 5);
        let want: Vec<String> = ["error", "warn", "info", "debug", "trace"]
            .iter()
            .zip(pris)
            .map(|(level, pri)| expect_line(pri, &ident, &p, &format!("{level} {t}")))
            .collect();
        assert_eq!(rendered(&got), want, "{name}");
    }
}

#[test]
fn rfc5424_long_message_keeps_its_structured_data_and_is_marked() {
    let daemon = Rsyslogd::builder()
        .file_with_template("sd.log", "%structured-data%|%msg%\\n")
        .file_with_template("raw.log", "%rawmsg%\\n")
        .start();
    let t = token("rfc5424_truncate");
    let logger = build(
        logger(&daemon, "it-5424t")
            .format(Format::Rfc5424)
            .max_message_size(600),
    );
    emit(
        &logger,
        Level::Error,
        "app",
        &[("code", Value::from(7u64))],
        format_args!("{t} {}", "z".repeat(2000)),
    );
    let sd = daemon.wait_for_raw("sd.log", &t);
    assert_eq!(sd.len(), 1);
    assert!(
        sd[0].starts_with(&format!("[fields@32473 code=\"7\"]|{t} zzz")),
        "{sd:?}"
    );
    assert!(sd[0].ends_with("z [truncated]"), "{sd:?}");
    let raw = daemon.wait_for_raw("raw.log", &t);
    assert_eq!(raw[0].len(), 600, "{raw:?}");
    assert_eq!(logger.handle().stats().truncated, 1);
}
