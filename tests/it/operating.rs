//! The operator's side, against real daemons: the `/dev/log` snippets of two applications and a
//! foreign `local0` sender on one rsyslogd (and one syslog-ng), each line landing in its own file;
//! the deployment variables (`FASTSYSLOG_FACILITY`, `FASTSYSLOG_ROUTES`) moving records; and the
//! daemons' real message-size limits, measured with raw datagrams.

use std::fs;
use std::path::Path;

use fastsyslog::Builder;

use crate::daemon_config::Daemon;
use crate::daemon_config::{
    lines_with, log_through, retry, rsyslog_check, rsyslog_prelude, send_raw, start_rsyslogd,
    start_syslog_ng, syslog_ng, syslog_ng_prelude, token,
};
use crate::support::{self, Rsyslogd};

/// Applications on the default facilities: two whose idents share a prefix (`web`, `webapi`: a
/// match on the program that were a prefix match would mix them), and one with the longest ident
/// kept (48 bytes) and punctuation in it.
const APPS: [&str; 3] = [
    "web",
    "webapi",
    "svc.billing-eu_012345678901234567890123456789012",
];

/// The foreign sender: an HAProxy-style line on `local0` (Debian's haproxy.cfg logs there).
fn foreign_line(t: &str) -> String {
    format!("<134>Nov 22 20:00:00 haproxy[4242]: 10.0.0.1:5000 GET /{t} 200")
}

/// Checks the files of one daemon that ran both apps' snippets, then a catch-all into `syslog`.
fn check_each_line_in_its_own_file(logs: &Path, catch_all: &Path, test: &str) {
    let pid = std::process::id();
    for app in APPS {
        let dir = logs.join(app);
        let access = retry(|| lines_with(&dir.join("access.log"), test, 2));
        let other = retry(|| lines_with(&dir.join("app.log"), test, 2));
        for line in access.iter().chain(&other) {
            assert!(
                line.contains(&format!(" {app}[{pid}]: ")),
                "{app}'s file holds another program's line: {line:?}"
            );
        }
        // The severity is on every line.
        assert!(access[0].contains(" info "), "{:?}", access[0]);
        assert!(other[0].contains(" err "), "{:?}", other[0]);
        let all = fs::read_to_string(dir.join("access.log")).unwrap()
            + &fs::read_to_string(dir.join("app.log")).unwrap();
        assert!(
            !all.contains("haproxy"),
            "{app} caught the foreign line:\n{all}"
        );
    }
    let t = token(test, 99);
    let syslog = retry(|| lines_with(catch_all, &t, 1));
    assert!(syslog[0].contains("haproxy[4242]"), "{syslog:?}");
    let syslog = fs::read_to_string(catch_all).unwrap();
    assert!(
        !syslog.contains(&token(test, 0)),
        "the apps' records must stop in their snippets:\n{syslog}"
    );
}

/// The daemon a shared scenario runs in, with what it needs around the generated snippets.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Rsyslog,
    SyslogNg,
}

impl Kind {
    /// What the distribution's main config provides (the system socket at `dir/log.sock`).
    fn prelude(self, dir: &Path) -> String {
        match self {
            Kind::Rsyslog => rsyslog_prelude(dir),
            Kind::SyslogNg => syslog_ng_prelude(dir),
        }
    }

    /// `builder`'s snippet, writing under `logs`.
    fn snippet(self, builder: &Builder, logs: &Path) -> String {
        match self {
            Kind::Rsyslog => builder.rsyslog_config(logs).unwrap(),
            Kind::SyslogNg => builder.syslog_ng_config(logs).unwrap() + "\n",
        }
    }

    /// Debian's catch-all into `/var/log/syslog`, after the snippets, here into `file`.
    fn catch_all(self, file: &Path) -> String {
        match self {
            Kind::Rsyslog => format!("action(type=\"omfile\" file=\"{}\")\n", file.display()),
            Kind::SyslogNg => format!(
                "destination d_syslog {{ file(\"{}\"); }};\nlog {{ source(s_src); destination(d_syslog); }};\n",
                file.display()
            ),
        }
    }

    fn start(self, dir: tempfile::TempDir, conf: &str, ready: &[&Path]) -> Daemon {
        match self {
            Kind::Rsyslog => start_rsyslogd(dir, conf, ready),
            Kind::SyslogNg => start_syslog_ng(syslog_ng(), dir, conf, ready),
        }
    }
}

/// Every app's `/dev/log` snippet, then the catch-all, in one daemon; each app logs and a foreign
/// `local0` sender writes one line; each must land in its own file.
fn apps_and_a_foreign_sender(kind: Kind, test: &str) {
    let dir = tempfile::tempdir().unwrap();
    let syssock = dir.path().join("log.sock");
    let logs = dir.path().join("logs");
    let catch_all = dir.path().join("syslog");
    let mut conf = kind.prelude(dir.path());
    for app in APPS {
        conf += &kind.snippet(&Builder::new().ident(app), &logs.join(app));
    }
    conf += &kind.catch_all(&catch_all);
    let _daemon = kind.start(dir, &conf, &[&syssock]);

    for app in APPS {
        // A daemon that has just started on a loaded machine may take longer than the default
        // 100 ms to take a datagram; this test is about where records land, not about that bound.
        let builder = Builder::new()
            .socket(&syssock)
            .ident(app)
            .send_timeout(Some(std::time::Duration::from_secs(5)));
        log_through(builder, test, 2);
    }
    send_raw(&syssock, &foreign_line(&token(test, 99)));
    check_each_line_in_its_own_file(&logs, &catch_all, test);
}

#[test]
fn rsyslog_two_apps_and_a_foreign_local0_sender_each_land_in_their_own_file() {
    apps_and_a_foreign_sender(Kind::Rsyslog, "ops_rsyslog_two_apps");
}

#[test]
fn syslog_ng_two_apps_and_a_foreign_local0_sender_each_land_in_their_own_file() {
    apps_and_a_foreign_sender(Kind::SyslogNg, "ops_ng_two_apps");
}

#[test]
fn several_apps_snippets_together_pass_both_checks() {
    // Side by side in one daemon, as installed from rsyslog.d / conf.d: no name may clash.
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let conf = |kind: Kind| {
        let mut conf = kind.prelude(dir.path());
        for app in APPS {
            let b = Builder::new().ident(app).route(
                fastsyslog::Match::Level(log::Level::Warn),
                fastsyslog::Facility::Local2,
            );
            conf += &kind.snippet(&b, &logs.join(app));
        }
        conf
    };
    rsyslog_check(&conf(Kind::Rsyslog)).unwrap();
    syslog_ng().check(&conf(Kind::SyslogNg)).unwrap();
}

// === the environment moves records ===

/// The child side of [`deployment_variables_move_records`]: logs through `Builder::from_env()`.
#[test]
fn deployment_variables_child() {
    let Some(socket) = support::child_role("operating::deployment_variables_child") else {
        return;
    };
    let t = support::child_token();
    let (logger, _guard) = Builder::from_env()
        .socket(socket)
        .mode(fastsyslog::Mode::Sync)
        .build()
        .expect("the parent's variables are valid");
    for (level, target, what) in [
        (log::Level::Info, "access", "access"),
        (log::Level::Warn, "app", "warn"),
        (log::Level::Info, "app", "info"),
        (log::Level::Info, "audit::trail", "audit"),
    ] {
        support::emit(&logger, level, target, &[], format_args!("{what} {t}"));
    }
    log::Log::flush(&logger);
}

/// Where each of the child's four records landed: (`what`, facility).
fn facilities(daemon: &Rsyslogd, t: &str) -> Vec<(String, String)> {
    let mut got: Vec<(String, String)> = daemon
        .wait_for_token(Rsyslogd::ALL, t, 4)
        .into_iter()
        .map(|l| (l.msg.split(' ').next().unwrap().to_owned(), l.facility))
        .collect();
    got.sort();
    got
}

/// The variables a child gets, and where its records must land: (`what`, facility).
type Vars = &'static [(&'static str, &'static str)];
type Landed = [(&'static str, &'static str); 4];

#[test]
fn deployment_variables_move_records() {
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    let table: [(Vars, Landed); 3] = [
        (
            &[],
            [
                ("access", "local0"),
                ("audit", "local1"),
                ("info", "local1"),
                ("warn", "local1"),
            ],
        ),
        (
            &[("FASTSYSLOG_FACILITY", "local3")],
            [
                ("access", "local0"),
                ("audit", "local3"),
                ("info", "local3"),
                ("warn", "local3"),
            ],
        ),
        (
            &[
                (
                    "FASTSYSLOG_ROUTES",
                    "audit=local4,warn=local2,access=local5,*=local6",
                ),
                ("FASTSYSLOG_ACCESS_FACILITY", ""),
            ],
            [
                ("access", "local5"),
                ("audit", "local4"),
                ("info", "local6"),
                ("warn", "local2"),
            ],
        ),
    ];
    for (vars, want) in table {
        let daemon = Rsyslogd::start();
        let t = support::token("deployment_variables");
        support::run_child(
            "operating::deployment_variables_child",
            &daemon.socket(),
            &t,
            vars,
        );
        let want: Vec<(String, String)> = pairs(&want);
        assert_eq!(facilities(&daemon, &t), want, "{vars:?}");
    }
}

// === the daemons' size limits, measured ===

/// Starts `kind` with its defaults (no size setting, as Debian installs it) and a file that
/// stores each message's text, sends raw datagrams of `sizes` bytes, and returns how many bytes
/// of each the daemon kept.
fn stored_sizes(kind: Kind, test: &str, sizes: &[usize]) -> Vec<usize> {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("log.sock");
    let file = dir.path().join("raw");
    let output = match kind {
        Kind::Rsyslog => format!(
            "template(name=\"raw\" type=\"string\" string=\"%msg%\\n\")\n\
             action(type=\"omfile\" file=\"{}\" template=\"raw\")\n",
            file.display()
        ),
        Kind::SyslogNg => format!(
            "destination d_raw {{ file(\"{}\" template(\"${{MSG}}\\n\")); }};\n\
             log {{ source(s_src); destination(d_raw); }};\n",
            file.display()
        ),
    };
    let conf = kind.prelude(dir.path()) + &output;
    let _daemon = kind.start(dir, &conf, &[&sock]);

    let head = "<134>Nov 22 20:00:00 big[1]: ";
    for &n in sizes {
        let tag = format!("{}-{n}-", token(test, 0));
        let datagram = format!("{head}{tag}{}", "x".repeat(n - head.len() - tag.len()));
        assert_eq!(datagram.len(), n);
        send_raw(&sock, &datagram);
    }
    sizes
        .iter()
        .map(|&n| {
            let tag = format!("{}-{n}-", token(test, 0));
            let line = retry(|| lines_with(&file, &tag, 1)).remove(0);
            // The line is the message as stored, from its tag on; add back the header.
            head.len() + line.len() - line.find(&tag).unwrap()
        })
        .collect()
}

#[test]
fn rsyslog_keeps_8096_bytes_of_a_datagram_by_default() {
    let got = stored_sizes(Kind::Rsyslog, "rs_limit", &[8000, 8096, 8097, 8192]);
    assert_eq!(got, [8000, 8096, 8096, 8096], "rsyslog's default limit");
    assert_eq!(
        fastsyslog::DEFAULT_MAX_MESSAGE_SIZE,
        8096,
        "the crate's default fits it"
    );
}

#[test]
fn syslog_ng_keeps_65536_bytes_of_a_datagram_by_default() {
    let got = stored_sizes(Kind::SyslogNg, "ng_limit", &[8192, 65536, 65600]);
    assert_eq!(
        got,
        [8192, 65536, 65536],
        "syslog-ng's default log-msg-size"
    );
}

#[test]
fn a_record_cut_by_the_default_logger_keeps_its_marker_in_rsyslog() {
    // The default builder and its generated snippet, on rsyslog's defaults: a record over the
    // limit is cut by the logger, marked, and stored whole, marker included.
    let dir = tempfile::tempdir().unwrap();
    let syssock = dir.path().join("log.sock");
    let logs = dir.path().join("logs");
    let conf =
        rsyslog_prelude(dir.path()) + &Builder::new().ident("big").rsyslog_config(&logs).unwrap();
    let _daemon = start_rsyslogd(dir, &conf, &[&syssock]);

    let t = token("ops_cut_marker", 0);
    let (logger, _guard) = Builder::new()
        .ident("big")
        .socket(&syssock)
        .mode(fastsyslog::Mode::Sync)
        .build()
        .unwrap();
    support::emit(
        &logger,
        log::Level::Error,
        "app",
        &[],
        format_args!("{t} {}", "y".repeat(20_000)),
    );
    log::Log::flush(&logger);
    let line = retry(|| lines_with(&logs.join("app.log"), &t, 1)).remove(0);
    assert!(
        line.ends_with("y [truncated]"),
        "cut by the daemon, marker lost: ...{}",
        &line[line.len() - 40..]
    );
}

#[test]
fn target_field_puts_the_target_on_every_line() {
    let daemon = Rsyslogd::start();
    let t = support::token("target_field");
    for (on, target) in [(true, "db::pool"), (false, "db::cache")] {
        let (logger, _guard) = Builder::new()
            .socket(daemon.socket())
            .mode(fastsyslog::Mode::Sync)
            .target_field(on)
            .build()
            .unwrap();
        support::emit(
            &logger,
            log::Level::Warn,
            target,
            &[("conns", 3.into())],
            format_args!("pool exhausted {t}"),
        );
        log::Log::flush(&logger);
    }
    let lines = daemon.wait_for_token(Rsyslogd::LOCAL1, &t, 2);
    let msgs: Vec<&str> = lines.iter().map(|l| l.msg.as_str()).collect();
    assert_eq!(
        msgs,
        [
            format!("pool exhausted {t} target=db::pool conns=3"),
            format!("pool exhausted {t} conns=3"),
        ],
        "opt-in: only the first logger adds it"
    );
}

#[test]
fn print_config_example_prints_what_rsyslogd_accepts_and_refuses_bad_variables() {
    let exe = crate::daemon_config::example("print_config");
    let dir = tempfile::tempdir().unwrap();
    let run = |vars: &[(&str, &str)]| {
        std::process::Command::new(&exe)
            .args([
                "--print-rsyslog-config",
                &dir.path().join("logs").display().to_string(),
            ])
            .env_remove("FASTSYSLOG_ROUTES")
            .env_remove("FASTSYSLOG_FACILITY")
            .envs(vars.iter().copied())
            .output()
            .unwrap()
    };
    let out = run(&[]);
    assert!(out.status.success(), "{out:?}");
    let conf = String::from_utf8(out.stdout).unwrap();
    assert!(
        conf.contains(r#"if $programname == "billing" and prifilt("local4.*") then {"#),
        "the app's own audit route: {conf}"
    );
    rsyslog_check(&(rsyslog_prelude(dir.path()) + &conf)).unwrap();

    // The environment wins over the code's routes (apply_env last), and a bad value is refused.
    let out = run(&[("FASTSYSLOG_FACILITY", "local6")]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(r#"prifilt("local6.*")"#));
    let out = run(&[("FASTSYSLOG_FACILITY", "local66")]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("FASTSYSLOG_FACILITY") && err.contains("local66"),
        "{err}"
    );
}

#[test]
fn strict_start_refuses_an_absent_daemon_and_lenient_start_delivers_once_it_appears() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("log.sock");
    let builder = || {
        Builder::new()
            .socket(&sock)
            .ident("late")
            .mode(fastsyslog::Mode::Sync)
    };
    // Strict: no daemon, no logger, and the error names the socket.
    let err = builder().strict(true).build().unwrap_err();
    assert_eq!(err.kind(), fastsyslog::ErrorKind::Connect);
    assert!(
        err.to_string().contains(&sock.display().to_string()),
        "{err}"
    );

    // Lenient (the default): the logger starts, counts what it cannot send, and delivers once
    // the daemon is there.
    let (logger, _guard) = builder().build().unwrap();
    let t = support::token("lenient_start");
    support::emit(
        &logger,
        log::Level::Error,
        "app",
        &[],
        format_args!("early {t}"),
    );
    assert_eq!(logger.handle().stats().written, 0);
    let daemon = Rsyslogd::builder().socket(&sock).start();
    // Reconnects are rate-bounded: keep logging until one record lands (bounded by retry).
    let mut n = 0;
    support::retry(|| {
        n += 1;
        support::emit(
            &logger,
            log::Level::Error,
            "app",
            &[],
            format_args!("late {n} {t}"),
        );
        Some(daemon.lines_with(Rsyslogd::LOCAL1, &t)).filter(|l| !l.is_empty())
    })
    .expect("no record arrived after the daemon appeared");
}
