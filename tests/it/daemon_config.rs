//! Generated daemon configuration in the real daemons: `rsyslogd -N1`, `syslog-ng --syntax-only`,
//! and end-to-end runs that check records land per facility. Also the shipped example configs and
//! the `access_and_errors` example against a real rsyslogd.
//!
//! Each test runs its own daemon in its own temp dir (own socket, own files, no `/dev/log`). The
//! snippets are what an operator installs; a test puts a small prelude in front of them that plays
//! the part of the distribution's main config (load `imuxsock`, keep the daemon's own messages in
//! its own dir), with the system socket moved to the test's dir.

use std::fs;
use std::io::Read as _;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fastsyslog::{Builder, Facility, Format, Header, Match, Mode};
use fastsyslog_testkit::syslog_ng::SyslogNg;

// === harness ===

/// `retry()` as in the support module: 30 tries, 100 ms apart; the last failure's message wins.
pub(crate) fn retry<T>(mut f: impl FnMut() -> Result<T, String>) -> T {
    retry_for(Duration::from_secs(3), &mut f)
}

/// Like [`retry`], with a longer bound for the bulk tests.
pub(crate) fn retry_for<T>(limit: Duration, f: &mut dyn FnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        match f() {
            Ok(t) => return t,
            Err(e) if start.elapsed() >= limit => panic!("gave up after {limit:?}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// The rsyslogd binary, or a panic with the install hint (never a silent skip).
pub(crate) fn rsyslogd() -> PathBuf {
    for p in [
        "/usr/sbin/rsyslogd",
        "/sbin/rsyslogd",
        "/usr/local/sbin/rsyslogd",
    ] {
        if Path::new(p).exists() {
            return p.into();
        }
    }
    panic!("{}", crate::support::rsyslogd::INSTALL_HINT);
}

/// A unique token for a test's messages: `{test}-{pid}-{n}`.
pub(crate) fn token(test: &str, n: usize) -> String {
    format!("{test}-{}-{n}", std::process::id())
}

/// A running daemon; killed (and its dir removed) on drop.
#[derive(Debug)]
pub(crate) struct Daemon {
    pub(crate) child: Child,
    pub(crate) dir: tempfile::TempDir,
    /// The command line, to restart it.
    cmd: Vec<std::ffi::OsString>,
    envs: Vec<(String, String)>,
}

impl Daemon {
    /// Runs `cmd` in the foreground and waits until every path in `ready` exists.
    pub(crate) fn spawn(
        dir: tempfile::TempDir,
        cmd: Vec<std::ffi::OsString>,
        envs: Vec<(String, String)>,
        ready: &[&Path],
    ) -> Daemon {
        let mut d = Daemon {
            child: spawn(&cmd, &envs, dir.path()),
            dir,
            cmd,
            envs,
        };
        d.wait_ready(ready);
        d
    }

    fn wait_ready(&mut self, ready: &[&Path]) {
        let start = Instant::now();
        loop {
            if ready.iter().all(|p| p.exists()) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let stderr = self.stderr();
                panic!(
                    "{:?} exited with {status} before it was ready; stderr: {stderr}",
                    self.cmd
                );
            }
            if start.elapsed() > Duration::from_secs(10) {
                panic!("{:?} not ready after 10 s: {ready:?} missing", self.cmd);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the daemon at once (SIGKILL: nothing is flushed, as in a crash).
    pub(crate) fn kill(&mut self) {
        // Already dead is fine: the point is that it is not running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the same command again and waits for `ready`.
    pub(crate) fn restart(&mut self, ready: &[&Path]) {
        self.child = spawn(&self.cmd, &self.envs, self.dir.path());
        self.wait_ready(ready);
    }

    fn stderr(&mut self) -> String {
        let mut s = String::new();
        if let Some(e) = self.child.stderr.as_mut() {
            // Best effort: this only decorates a panic message.
            let _ = e.read_to_string(&mut s);
        }
        s
    }
}

fn spawn(cmd: &[std::ffi::OsString], envs: &[(String, String)], dir: &Path) -> Child {
    Command::new(&cmd[0])
        .args(&cmd[1..])
        .envs(envs.iter().cloned())
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not run {:?}: {e}", cmd[0]))
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What an operator's main rsyslog.conf does, inside `dir`: the system socket is `dir/log.sock`.
pub(crate) fn rsyslog_prelude(dir: &Path) -> String {
    format!(
        "global(workDirectory=\"{d}\" processInternalMessages=\"on\")\n\
         module(load=\"imuxsock\" SysSock.Name=\"{d}/log.sock\" SysSock.RateLimit.Interval=\"0\")\n",
        d = dir.display()
    )
}

/// Writes `conf` to `dir/rsyslog.conf` and starts rsyslogd with it.
pub(crate) fn start_rsyslogd(dir: tempfile::TempDir, conf: &str, ready: &[&Path]) -> Daemon {
    let path = dir.path().join("rsyslog.conf");
    fs::write(&path, conf).unwrap();
    let cmd = vec![
        rsyslogd().into(),
        "-n".into(),
        "-f".into(),
        path.into(),
        "-i".into(),
        dir.path().join("rsyslogd.pid").into(),
    ];
    Daemon::spawn(dir, cmd, vec![], ready)
}

/// `rsyslogd -N1` on `conf`: Ok, or the daemon's complaint.
pub(crate) fn rsyslog_check(conf: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rsyslog.conf");
    fs::write(&path, conf).unwrap();
    let out = Command::new(rsyslogd())
        .arg("-N1")
        .arg("-f")
        .arg(&path)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    // -N1 exits 0 with warnings too; a warning here means the snippet is not clean.
    if out.status.success() && !text.contains("error") && !text.contains("warning") {
        Ok(())
    } else {
        Err(format!("{}\n--- config ---\n{conf}", text.trim()))
    }
}

/// The lines of `path` containing `needle`, once there are `n` of them.
pub(crate) fn lines_with(path: &Path, needle: &str, n: usize) -> Result<Vec<String>, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let lines: Vec<String> = crate::support::complete_lines(&text)
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect();
    if lines.len() >= n {
        Ok(lines)
    } else {
        Err(format!(
            "{}: {} of {n} lines with {needle:?}:\n{text}",
            path.display(),
            lines.len()
        ))
    }
}

/// The builders whose configs every daemon must accept.
fn variants(sock: &Path) -> Vec<(&'static str, Builder)> {
    vec![
        ("default", Builder::new().ident("app")),
        ("dedicated socket", Builder::new().socket(sock).ident("web")),
        (
            "stream socket",
            Builder::new().stream_socket(sock).ident("st"),
        ),
        (
            "json 64k",
            Builder::new()
                .socket(sock)
                .format(Format::Json)
                .max_message_size(64 * 1024),
        ),
        (
            "rfc5424",
            Builder::new().socket(sock).format(Format::Rfc5424),
        ),
        (
            "rfc5424 header, system socket, 128k",
            Builder::new()
                .socket("/dev/log")
                .header(Header::Rfc5424)
                .max_message_size(128 * 1024),
        ),
        (
            "json, system socket",
            Builder::new().format(Format::Json).ident("api"),
        ),
        (
            "three facilities",
            Builder::new()
                .route(Match::Level(log::Level::Warn), Facility::Local2)
                .route(Match::Target("audit".into()), Facility::SolarisCron),
        ),
    ]
}

// === rsyslog ===

#[test]
fn generated_rsyslog_configs_pass_rsyslogd_n1() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("app.sock");
    let mut failures = Vec::new();
    for (name, builder) in variants(&sock) {
        let conf =
            rsyslog_prelude(dir.path()) + &builder.rsyslog_config(dir.path().join("logs")).unwrap();
        if let Err(e) = rsyslog_check(&conf) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn rsyslog_check_can_fail() {
    // The check above would pass vacuously if -N1 accepted anything.
    let dir = tempfile::tempdir().unwrap();
    let conf = rsyslog_prelude(dir.path()) + "if prifilt(\"local0.*\") then {\n";
    assert!(rsyslog_check(&conf).is_err());
}

#[test]
fn shipped_example_configs_are_the_generated_ones() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let builder = Builder::new().ident("access_and_errors");
    let rsyslog = fs::read_to_string(root.join("examples/rsyslog.conf")).unwrap();
    assert_eq!(
        rsyslog,
        builder.rsyslog_config("/var/log/app").unwrap(),
        "regenerate: cargo run --example daemon_config -- rsyslog > examples/rsyslog.conf"
    );
    let syslog_ng = fs::read_to_string(root.join("examples/syslog-ng.conf")).unwrap();
    assert_eq!(
        syslog_ng,
        builder.syslog_ng_config("/var/log/app").unwrap(),
        "regenerate: cargo run --example daemon_config -- syslog-ng > examples/syslog-ng.conf"
    );
}

/// Sends `n` access and `n` error records through a real logger to `sock`.
pub(crate) fn log_through(builder: Builder, test: &str, n: usize) -> u32 {
    use log::Log as _;
    let (logger, _guard) = builder.mode(Mode::Sync).filter("info").build().unwrap();
    for i in 0..n {
        let t = token(test, i);
        logger.log(
            &log::Record::builder()
                .target("access")
                .level(log::Level::Info)
                .args(format_args!("GET /{t}"))
                .build(),
        );
        logger.log(
            &log::Record::builder()
                .target("app::db")
                .level(log::Level::Error)
                .args(format_args!("failed {t}"))
                .build(),
        );
    }
    logger.flush();
    std::process::id()
}

/// A private rsyslogd running the configuration that `builder`, given a socket of the daemon's own,
/// generates; the records it routes land under `logs`.
struct Routing {
    sock: PathBuf,
    logs: PathBuf,
    _daemon: Daemon,
}

fn rsyslog_routing(builder: &dyn Fn(&Path) -> Builder) -> Routing {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("app.sock");
    let logs = dir.path().join("logs");
    let conf = rsyslog_prelude(dir.path()) + &builder(&sock).rsyslog_config(&logs).unwrap();
    let daemon = start_rsyslogd(dir, &conf, &[&sock]);
    Routing {
        sock,
        logs,
        _daemon: daemon,
    }
}

/// The one line of `logs/file` that holds `t` (waiting for it); fails unless it ends with `want`.
fn line_ending_with(logs: &Path, file: &str, t: &str, want: &str) -> String {
    let line = retry(|| lines_with(&logs.join(file), t, 1)).remove(0);
    assert!(line.ends_with(want), "{line:?} should end with {want:?}");
    line
}

#[test]
fn rsyslog_dedicated_socket_routes_per_facility() {
    let builder = |sock: &Path| Builder::new().socket(sock).ident("e2e-web");
    let Routing { sock, logs, .. } = &rsyslog_routing(&builder);

    let test = "rsyslog_dedicated";
    let pid = log_through(builder(sock), test, 3);
    let access = retry(|| lines_with(&logs.join("access.log"), test, 3));
    let errors = retry(|| lines_with(&logs.join("app.log"), test, 3));
    for (i, line) in access.iter().enumerate() {
        let want = format!(" e2e-web[{pid}]: GET /{}", token(test, i));
        assert!(line.ends_with(&want), "{line:?} should end with {want:?}");
    }
    for (i, line) in errors.iter().enumerate() {
        let want = format!(" e2e-web[{pid}]: failed {}", token(test, i));
        assert!(line.ends_with(&want), "{line:?} should end with {want:?}");
    }
}

#[test]
fn rsyslog_system_socket_routes_per_facility_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let syssock = dir.path().join("log.sock");
    let logs = dir.path().join("logs");
    // The default builder (libc, /dev/log): its snippet routes the system socket by facility.
    // A catch-all after the snippet stands for Debian's `*.* /var/log/syslog`: `stop` must keep
    // the logger's records out of it.
    let conf = rsyslog_prelude(dir.path())
        + &Builder::new()
            .ident("e2e-sys")
            .rsyslog_config(&logs)
            .unwrap()
        + &format!(
            "action(type=\"omfile\" file=\"{}\")\n",
            dir.path().join("syslog").display()
        );
    let _daemon = start_rsyslogd(dir, &conf, &[&syssock]);

    let test = "rsyslog_system";
    let pid = log_through(Builder::new().socket(&syssock).ident("e2e-sys"), test, 2);
    let access = retry(|| lines_with(&logs.join("access.log"), test, 2));
    let errors = retry(|| lines_with(&logs.join("app.log"), test, 2));
    assert!(access[0].ends_with(&format!(" e2e-sys[{pid}]: GET /{}", token(test, 0))));
    assert!(errors[1].ends_with(&format!(" e2e-sys[{pid}]: failed {}", token(test, 1))));
    // The same records must not reach the catch-all.
    let syslog = fs::read_to_string(logs.parent().unwrap().join("syslog")).unwrap_or_default();
    assert!(!syslog.contains(test), "stop did not stop:\n{syslog}");
}

/// One datagram exactly as the logger's unix transport writes it (see the wire format notes);
/// used where the test is about the daemon's parsing, not the renderer.
pub(crate) fn send_raw(sock: &Path, datagram: &str) {
    let s = UnixDatagram::unbound().unwrap();
    s.send_to(datagram.as_bytes(), sock).unwrap();
}

/// Logs one record with key-values through a real logger built from `builder`.
fn log_kv(builder: Builder, target: &str, level: log::Level, msg: &str, kv: &[(&str, i64)]) {
    use log::Log as _;
    let (logger, _guard) = builder.mode(Mode::Sync).build().unwrap();
    logger.log(
        &log::Record::builder()
            .target(target)
            .level(level)
            .args(format_args!("{msg}"))
            .key_values(&kv)
            .build(),
    );
    logger.flush();
}

#[test]
fn rsyslog_json_from_the_logger_is_parsed() {
    let builder = |sock: &Path| Builder::new().socket(sock).ident("jl").format(Format::Json);
    let Routing { sock, logs, .. } = &rsyslog_routing(&builder);

    let t = token("rsyslog_json_logger", 0);
    log_kv(
        builder(sock),
        "access",
        log::Level::Info,
        &format!("GET {t}"),
        &[("status", 200)],
    );
    let want = format!(
        " jl[{}]: {{ \"msg\": \"GET {t}\", \"status\": 200 }}",
        std::process::id()
    );
    line_ending_with(logs, "access.log", &t, &want);
}

#[test]
fn rsyslog_rfc5424_from_the_logger_is_parsed() {
    let builder = |sock: &Path| {
        Builder::new()
            .socket(sock)
            .ident("sl")
            .format(Format::Rfc5424)
    };
    let Routing { sock, logs, .. } = &rsyslog_routing(&builder);

    let t = token("rsyslog_5424_logger", 0);
    log_kv(
        builder(sock),
        "app",
        log::Level::Error,
        &format!("failed {t}"),
        &[("status", 503)],
    );
    let want = format!(
        " sl[{}]: [fields@32473 status=\"503\"] failed {t}",
        std::process::id()
    );
    line_ending_with(logs, "app.log", &t, &want);
}

#[test]
fn rsyslog_json_body_is_parsed() {
    let Routing { sock, logs, .. } =
        &rsyslog_routing(&|sock| Builder::new().socket(sock).format(Format::Json));

    let t = token("rsyslog_json", 0);
    send_raw(
        sock,
        &format!("<134>Nov 22 20:00:00 api[77]: @cee: {{\"msg\":\"GET /{t}\",\"status\":200,\"path\":\"/a b\"}}"),
    );
    let want =
        format!(" api[77]: {{ \"msg\": \"GET \\/{t}\", \"status\": 200, \"path\": \"\\/a b\" }}");
    line_ending_with(logs, "access.log", &t, &want);
}

#[test]
fn rsyslog_rfc5424_header_and_sd_are_parsed() {
    let Routing { sock, logs, .. } =
        &rsyslog_routing(&|sock| Builder::new().socket(sock).format(Format::Rfc5424));

    let t = token("rsyslog_5424", 0);
    send_raw(
        sock,
        &format!("<139>1 2026-11-22T20:34:36.123456+01:00 host1 api 77 - [fields@32473 status=\"503\"] failed {t}"),
    );
    let want = format!(" host1 err api[77]: [fields@32473 status=\"503\"] failed {t}");
    let line = line_ending_with(logs, "app.log", &t, &want);
    assert!(
        line.starts_with("2026-11-22T20:34:36.123456+01:00 "),
        "{line:?}"
    );
}

#[test]
fn rsyslog_takes_messages_up_to_the_loggers_limit() {
    let limit = 64 * 1024;
    let builder = |sock: &Path| Builder::new().socket(sock).max_message_size(limit);
    let Routing { sock, logs, .. } = &rsyslog_routing(&builder);

    let t = token("rsyslog_size", 0);
    let head = format!("<134>Nov 22 20:00:00 big[1]: {t} ");
    let body = "x".repeat(limit - head.len() - 3) + "END";
    send_raw(sock, &(head + &body));
    let line = retry(|| lines_with(&logs.join("access.log"), &t, 1)).remove(0);
    assert!(line.ends_with("xEND"), "cut at {} bytes", line.len());

    // Through the logger: an oversized record is cut by the logger (marked), not by the daemon.
    let t = token("rsyslog_size", 1);
    let huge = format!("{t} {}", "y".repeat(2 * limit));
    log_kv(builder(sock), "access", log::Level::Info, &huge, &[]);
    let line = retry(|| lines_with(&logs.join("access.log"), &t, 1)).remove(0);
    assert!(
        line.ends_with("y [truncated]"),
        "{}",
        &line[line.len() - 40..]
    );
    assert!(line.len() > limit - 100, "cut at {} bytes", line.len());
}

// === the access_and_errors example against rsyslogd ===

/// Builds an example with this test binary's profile and features (so cargo has usually built it
/// already, and nothing is rebuilt) and returns its path.
pub(crate) fn example(name: &str) -> PathBuf {
    let features: Vec<&str> = [
        ("log", cfg!(feature = "log")),
        ("background", cfg!(feature = "background")),
        ("tracing", cfg!(feature = "tracing")),
        ("testing", cfg!(feature = "testing")),
        ("layer", cfg!(feature = "layer")),
    ]
    .iter()
    .filter(|(_, on)| *on)
    .map(|(f, _)| *f)
    .collect();
    let features = features.join(",");
    let what = [
        "--example",
        name,
        "--no-default-features",
        "--features",
        &features,
    ];
    built(&what).join("examples").join(name)
}

/// Runs `cargo build <what>` with this test binary's profile and returns the profile's target
/// dir (`target/debug`), where binaries land.
pub(crate) fn built(what: &[&str]) -> PathBuf {
    // Tests run from target/<profile dir>/deps/; examples live in target/<profile dir>/examples/.
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--profile", profile])
        .args(what)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(status.success(), "cargo build {what:?} failed");
    profile_dir.to_path_buf()
}

#[test]
fn access_and_errors_example_with_the_shipped_rsyslog_conf() {
    let start = Instant::now();
    let exe = example("access_and_errors");
    let built = start.elapsed();

    let dir = tempfile::tempdir().unwrap();
    let syssock = dir.path().join("log.sock");
    let logs = dir.path().join("logs");
    let shipped =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/rsyslog.conf"))
            .unwrap()
            .replace("/var/log/app", &logs.display().to_string());
    let conf = rsyslog_prelude(dir.path()) + &shipped;
    let _daemon = start_rsyslogd(dir, &conf, &[&syssock]);

    let child = Command::new(&exe)
        .args(["--count", "100"])
        .env("FASTSYSLOG_SOCKET", &syssock)
        .env_remove("FASTSYSLOG_IDENT")
        .env_remove("FASTSYSLOG_FORMAT")
        .env_remove("FASTSYSLOG_LOG")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let tag = format!(" access_and_errors[{pid}]: ");
    let access = retry(|| lines_with(&logs.join("access.log"), &tag, 100));
    let errors = retry(|| lines_with(&logs.join("app.log"), &tag, 20));
    assert_eq!(access.len(), 100);
    assert_eq!(errors.len(), 20, "10 warnings and 10 errors");
    assert!(
        access[0].contains(&format!("{tag}GET / method=GET path=/ status=200")),
        "{}",
        access[0]
    );
    assert!(errors
        .iter()
        .any(|l| l.contains(&format!("{tag}upstream timed out"))));
    assert!(errors
        .iter()
        .any(|l| l.contains(&format!("{tag}no route for"))));
    eprintln!(
        "access_and_errors --count 100: build check {built:?}, total {:?}",
        start.elapsed()
    );
}

// === syslog-ng ===

/// syslog-ng, from the machine or fetched from the Debian archive into the target dir (once per
/// test process; see `fastsyslog_testkit::syslog_ng`).
pub(crate) fn syslog_ng() -> &'static SyslogNg {
    fastsyslog_testkit::syslog_ng::shared(Path::new(env!("CARGO_TARGET_TMPDIR")))
}

/// Starts syslog-ng in the foreground with `conf`, everything in `dir`.
pub(crate) fn start_syslog_ng(
    ng: &SyslogNg,
    dir: tempfile::TempDir,
    conf: &str,
    ready: &[&Path],
) -> Daemon {
    let path = dir.path().join("syslog-ng.conf");
    fs::write(&path, conf).unwrap();
    let cmd = ng.foreground_command(dir.path(), &path);
    Daemon::spawn(dir, cmd, ng.env().to_vec(), ready)
}

/// What Debian's syslog-ng.conf does, inside `dir`: a system source `s_src` on `dir/log.sock`.
pub(crate) fn syslog_ng_prelude(dir: &Path) -> String {
    fastsyslog_testkit::syslog_ng::debian_prelude(&dir.join("log.sock"))
}

#[test]
fn generated_syslog_ng_configs_pass_syntax_only() {
    let ng = syslog_ng();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("app.sock");
    let mut failures = Vec::new();
    for (name, builder) in variants(&sock) {
        let conf = syslog_ng_prelude(dir.path())
            + &builder.syslog_ng_config(dir.path().join("logs")).unwrap();
        if let Err(e) = ng.check(&conf) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        ng.check("@version: 3.38\nlog { source(\n").is_err(),
        "--syntax-only must be able to fail"
    );
}

#[test]
fn syslog_ng_routes_per_facility() {
    let ng = syslog_ng();
    let dir = tempfile::tempdir().unwrap();
    let syssock = dir.path().join("log.sock");
    let sock = dir.path().join("app.sock");
    let logs = dir.path().join("logs");
    // Both inputs at once: the system-socket snippet (default builder) and a dedicated one.
    let conf = syslog_ng_prelude(dir.path())
        + &Builder::new()
            .ident("e2e-ng")
            .syslog_ng_config(&logs)
            .unwrap()
        + "\n"
        + &Builder::new()
            .socket(&sock)
            .ident("ded")
            .syslog_ng_config(logs.join("ded"))
            .unwrap();
    let _daemon = start_syslog_ng(ng, dir, &conf, &[&syssock, &sock]);

    let test = "syslog_ng_sys";
    let pid = log_through(Builder::new().socket(&syssock).ident("e2e-ng"), test, 2);
    let access = retry(|| lines_with(&logs.join("access.log"), test, 2));
    let errors = retry(|| lines_with(&logs.join("app.log"), test, 2));
    assert!(
        access[1].ends_with(&format!(" e2e-ng[{pid}]: GET /{}", token(test, 1))),
        "{}",
        access[1]
    );
    assert!(
        errors[0].ends_with(&format!(" e2e-ng[{pid}]: failed {}", token(test, 0))),
        "{}",
        errors[0]
    );

    let test = "syslog_ng_ded";
    log_through(Builder::new().socket(&sock).ident("ded"), test, 1);
    retry(|| lines_with(&logs.join("ded/access.log"), test, 1));
    retry(|| lines_with(&logs.join("ded/app.log"), test, 1));
}

#[test]
fn syslog_ng_json_and_rfc5424_are_parsed() {
    let ng = syslog_ng();
    let dir = tempfile::tempdir().unwrap();
    let json_sock = dir.path().join("json.sock");
    let sd_sock = dir.path().join("sd.sock");
    let logs = dir.path().join("logs");
    let conf = syslog_ng_prelude(dir.path())
        + &Builder::new()
            .socket(&json_sock)
            .ident("j")
            .format(Format::Json)
            .syslog_ng_config(logs.join("json"))
            .unwrap()
        + "\n"
        + &Builder::new()
            .socket(&sd_sock)
            .ident("s")
            .format(Format::Rfc5424)
            .syslog_ng_config(logs.join("sd"))
            .unwrap();
    let _daemon = start_syslog_ng(ng, dir, &conf, &[&json_sock, &sd_sock]);

    let t = token("syslog_ng_json", 0);
    send_raw(
        &json_sock,
        &format!("<134>Nov 22 20:00:00 api[77]: @cee: {{\"msg\":\"GET /{t}\",\"status\":200}}"),
    );
    let line = retry(|| lines_with(&logs.join("json/access.log"), &t, 1)).remove(0);
    let want = format!(" api[77]: {{\"msg\":\"GET /{t}\",\"status\":200}}");
    assert!(line.ends_with(&want), "{line:?} should end with {want:?}");

    let t = token("syslog_ng_5424", 0);
    send_raw(
        &sd_sock,
        &format!("<139>1 2026-11-22T20:34:36.123456+01:00 host1 api 77 - [fields@32473 status=\"503\"] failed {t}"),
    );
    let line = retry(|| lines_with(&logs.join("sd/app.log"), &t, 1)).remove(0);
    // syslog-ng writes its own host name for local sources; the sender's timestamp is kept.
    assert!(line.starts_with("2026-11-22T20:34:36+01:00 "), "{line:?}");
    // syslog-ng appends its own `[meta sequenceId="N"]` to ${SDATA} in file output.
    let want = format!(" api[77]: [fields@32473 status=\"503\"][meta sequenceId=\"1\"] failed {t}");
    assert!(line.ends_with(&want), "{line:?} should end with {want:?}");
}

/// The child side of [`access_and_errors_example_through_dev_log`]: inside the private mount
/// namespace, runs the example with `FASTSYSLOG_SOCKET` unset (the libc transport, `/dev/log`).
#[test]
fn access_and_errors_example_through_dev_log_child() {
    if crate::support::child_role(DEVLOG_CHILD).is_none() {
        return;
    }
    crate::support::devlog::assert_private_devlog();
    let exe = std::env::var_os("FLEET_EXAMPLE").expect("the parent passes the example's path");
    let child = Command::new(exe)
        .args(["--count", "100"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout.contains("through syslog(3)"),
        "the example must use the daemon on /dev/log, not the embedded receiver: {stdout}"
    );
    println!("example-pid={pid}");
}

const DEVLOG_CHILD: &str = "daemon_config::access_and_errors_example_through_dev_log_child";

#[test]
fn access_and_errors_example_through_dev_log() {
    use crate::support::{devlog, Rsyslogd};
    let exe = example("access_and_errors");
    let daemon = Rsyslogd::start();
    let child = devlog::run_child_with_devlog(
        DEVLOG_CHILD,
        &daemon.socket(),
        &daemon.dir().join("dev"),
        &crate::support::token("example_devlog"),
        &[("FLEET_EXAMPLE", exe.to_str().unwrap())],
    );
    let stdout = String::from_utf8_lossy(&child.output.stdout);
    // libtest prints the child's line after its own `test ... ` prefix, so search, not split lines.
    let pid: String = stdout
        .split("example-pid=")
        .nth(1)
        .unwrap_or_else(|| panic!("no pid in the child's output:\n{stdout}"))
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let ours = |lines: &[crate::support::Line]| -> Vec<crate::support::Line> {
        lines
            .iter()
            .filter(|l| l.procid == pid && l.programname == "access_and_errors")
            .cloned()
            .collect()
    };
    let access = ours(&daemon.wait_for(Rsyslogd::LOCAL0, |l| ours(l).len() >= 100));
    let errors = ours(&daemon.wait_for(Rsyslogd::LOCAL1, |l| ours(l).len() >= 20));
    assert_eq!(access.len(), 100);
    assert_eq!(errors.len(), 20, "10 warnings and 10 errors");
    assert!(access
        .iter()
        .all(|l| l.facility == "local0" && l.severity == "info"));
    assert_eq!(
        errors.iter().filter(|l| l.severity == "warning").count(),
        10
    );
    assert_eq!(errors.iter().filter(|l| l.severity == "err").count(), 10);
    assert!(
        access[0]
            .msg
            .starts_with("GET / method=GET path=/ status=200"),
        "{:?}",
        access[0]
    );
}

#[test]
fn access_and_errors_example_with_the_shipped_syslog_ng_conf() {
    let ng = syslog_ng();
    let exe = example("access_and_errors");
    let dir = tempfile::tempdir().unwrap();
    let syssock = dir.path().join("log.sock");
    let logs = dir.path().join("logs");
    let shipped =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/syslog-ng.conf"))
            .unwrap()
            .replace("/var/log/app", &logs.display().to_string());
    let conf = syslog_ng_prelude(dir.path()) + &shipped;
    let _daemon = start_syslog_ng(ng, dir, &conf, &[&syssock]);

    let child = Command::new(&exe)
        .args(["--count", "100"])
        .env("FASTSYSLOG_SOCKET", &syssock)
        .env_remove("FASTSYSLOG_IDENT")
        .env_remove("FASTSYSLOG_FORMAT")
        .env_remove("FASTSYSLOG_LOG")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let tag = format!(" access_and_errors[{pid}]: ");
    let access = retry(|| lines_with(&logs.join("access.log"), &tag, 100));
    let errors = retry(|| lines_with(&logs.join("app.log"), &tag, 20));
    assert_eq!((access.len(), errors.len()), (100, 20));
    assert!(
        access[0].contains(&format!("{tag}GET / method=GET path=/ status=200")),
        "{}",
        access[0]
    );
}
