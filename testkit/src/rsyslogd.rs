//! A private rsyslogd per test or bench: own temp dir, own `imuxsock` socket, output routed by
//! facility into files with a `|`-separated template that the tests parse.
//!
//! ```no_run
//! # use fastsyslog_testkit::rsyslogd::Rsyslogd;
//! # let token = "t";
//! let daemon = Rsyslogd::start();
//! // ... log to daemon.socket() ...
//! let lines = daemon.wait_for_token(Rsyslogd::LOCAL0, &token, 1);
//! assert_eq!(lines[0].severity, "info");
//! ```
//!
//! The tested config (see [`Builder::config`]): `SysSock.Use="off"` so the daemon never opens the
//! machine's `/dev/log`; `processInternalMessages="on"` so its own messages go to its own files and
//! never to a system logger; `UseSpecialParser="off"` so the normal parser chain runs and RFC 5424
//! messages parse (RFC 3164 ones still do, through the 3164 parser); `RateLimit.Interval="0"` so
//! bursts are not thinned; `IgnoreTimestamp="off"` so `%timereported%` is the header's time (imuxsock
//! replaces it with the receive time by default).
//!
//! rsyslogd keeps running when its config has errors (it only disables the broken parts), so
//! [`Builder::start`] fails the test when the daemon printed any error at start-up: a mistyped
//! variant never passes silently.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::retry::{retry, retry_n, RETRIES};

/// Where rsyslogd is looked for before `$PATH`.
const RSYSLOGD: &str = "/usr/sbin/rsyslogd";
/// The message every missing-daemon failure carries.
pub const INSTALL_HINT: &str = "rsyslogd not found: apt-get install -y rsyslog";

/// The template every file action writes. `%msg%` of an RFC 3164 message starts with the space
/// after `ident[pid]:`; [`Line::parse`] trims it.
pub const TEMPLATE: &str =
    "%pri%|%syslogfacility-text%|%syslogseverity-text%|%programname%|%procid%|%msg%\\n";

/// The complete lines of a daemon's output file: a last line without its newline is still being
/// written (a long record may take several writes), and taking its first part as the whole line
/// would look like a cut record.
pub fn complete_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive('\n')
        .filter_map(|l| l.strip_suffix('\n'))
}

/// One line of an output file, parsed from [`TEMPLATE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The PRI value (`facility * 8 + severity`).
    pub pri: u8,
    /// The facility name as rsyslog writes it (`local0`, `user`).
    pub facility: String,
    /// The severity name as rsyslog writes it (`info`, `err`, `warning`).
    pub severity: String,
    /// The ident (`APP-NAME` for RFC 5424).
    pub programname: String,
    /// The pid (`PROCID`), `-` when absent.
    pub procid: String,
    /// The message, without the leading space an RFC 3164 message carries.
    pub msg: String,
}

impl Line {
    /// Parses one line written with [`TEMPLATE`]; `None` when it has fewer than six fields.
    pub fn parse(line: &str) -> Option<Line> {
        let mut it = line.splitn(6, '|');
        let pri = it.next()?.parse().ok()?;
        let facility = it.next()?.to_owned();
        let severity = it.next()?.to_owned();
        let programname = it.next()?.to_owned();
        let procid = it.next()?.to_owned();
        let msg = it.next()?;
        let msg = msg.strip_prefix(' ').unwrap_or(msg).to_owned();
        Some(Line {
            pri,
            facility,
            severity,
            programname,
            procid,
            msg,
        })
    }

    /// The line in the daemon's file format, for assertions that compare whole lines.
    pub fn render(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}",
            self.pri, self.facility, self.severity, self.programname, self.procid, self.msg
        )
    }
}

/// Builds an [`Rsyslogd`] variant: extra config after the standard inputs and before the
/// standard actions (templates, modules, `mmjsonparse` actions, extra files).
///
/// In every snippet `{dir}` is replaced by the daemon's directory.
#[derive(Debug, Default, Clone)]
pub struct Builder {
    extra: Vec<String>,
    max_message_size: Option<String>,
    binary: Option<PathBuf>,
    socket: Option<PathBuf>,
    all_log_only: bool,
    stream: bool,
}

impl Builder {
    /// Adds a config snippet (RainerScript), placed after the input and before the standard file
    /// actions. `{dir}` becomes the daemon's directory.
    pub fn config(mut self, snippet: &str) -> Self {
        self.extra.push(snippet.to_owned());
        self
    }

    /// An extra output file `{dir}/<name>` written by `template` (a RainerScript `string=` value,
    /// without the quotes) for every message (`*.*`).
    pub fn file_with_template(self, name: &str, template: &str) -> Self {
        let snippet = format!(
            "template(name=\"t_{name}\" type=\"string\" string=\"{template}\")\n\
             *.* action(type=\"omfile\" file=\"{{dir}}/{name}\" template=\"t_{name}\")\n"
        );
        self.config(&snippet)
    }

    /// `global(maxMessageSize=…)`. Default `64k`.
    pub fn max_message_size(mut self, size: &str) -> Self {
        self.max_message_size = Some(size.to_owned());
        self
    }

    /// Runs this rsyslogd binary instead of looking for one (`/usr/sbin/rsyslogd`, then `$PATH`).
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    /// Binds the `imuxsock` socket at `path` instead of `{dir}/log.sock` (for a socket that must
    /// live elsewhere, such as the target of a private `/dev/log`; see [`crate::devlog`]).
    pub fn socket(mut self, path: impl Into<PathBuf>) -> Self {
        self.socket = Some(path.into());
        self
    }

    /// Also listens on a unix stream socket, [`Rsyslogd::stream_socket`] (`{dir}/stream.sock`),
    /// with `imptcp`: octet-counted frames, or one record per line. Its records go to the same
    /// files as the datagram socket's.
    pub fn stream(mut self) -> Self {
        self.stream = true;
        self
    }

    /// Writes only [`Rsyslogd::ALL`], not the per-facility files: one file action per record, the
    /// least work per record for the daemon (the benches' opt-in daemon mode).
    pub fn all_log_only(mut self) -> Self {
        self.all_log_only = true;
        self
    }

    /// Writes the config and starts the daemon; panics (with the install hint when the binary is
    /// missing, or with the daemon's output when it does not come up).
    pub fn start(self) -> Rsyslogd {
        let binary = match &self.binary {
            Some(path) => Some(path.clone()).filter(|p| p.is_file()),
            None => find_rsyslogd(),
        }
        .unwrap_or_else(|| panic!("{INSTALL_HINT}"));
        let dir = tempfile::Builder::new()
            .prefix("fastsyslog-it-")
            .tempdir()
            .expect("create a temp dir");
        let path = dir.path().to_owned();
        let socket = self.socket.clone().unwrap_or_else(|| path.join("log.sock"));
        let conf = path.join("rsyslog.conf");
        fs::write(&conf, self.render(&path, &socket)).expect("write rsyslog.conf");
        let mut daemon = Rsyslogd {
            _dir: dir,
            path,
            socket,
            conf,
            binary,
            stream: self.stream,
            child: None,
        };
        daemon.spawn();
        daemon
    }

    /// The full config text for a daemon in `dir`.
    fn render(&self, dir: &Path, socket: &Path) -> String {
        let d = dir.display();
        let s = socket.display();
        let max = self.max_message_size.as_deref().unwrap_or("64k");
        let mut c = String::new();
        let _ = writeln!(
            c,
            "global(processInternalMessages=\"on\" maxMessageSize=\"{max}\" workDirectory=\"{d}\")"
        );
        // SysSock.Use="off": never the machine's /dev/log. UseSpecialParser="off": run the parser
        // chain (RFC 5424, then RFC 3164) instead of imuxsock's 3164-only fast path.
        c.push_str("module(load=\"imuxsock\" SysSock.Use=\"off\")\n");
        let _ = writeln!(
            c,
            "input(type=\"imuxsock\" Socket=\"{s}\" CreatePath=\"off\" \
             RateLimit.Interval=\"0\" UseSpecialParser=\"off\" ParseHostname=\"off\" \
             UsePIDFromSystem=\"off\" IgnoreTimestamp=\"off\")"
        );
        if self.stream {
            let _ = writeln!(
                c,
                "module(load=\"imptcp\")\n\
                 input(type=\"imptcp\" path=\"{d}/{STREAM_SOCKET}\" unlink=\"on\" \
                 SupportOctetCountedFraming=\"on\" RateLimit.Interval=\"0\")"
            );
        }
        let _ = writeln!(
            c,
            "template(name=\"it\" type=\"string\" string=\"{TEMPLATE}\")"
        );
        for snippet in &self.extra {
            c.push_str(&snippet.replace("{dir}", &d.to_string()));
            c.push('\n');
        }
        if !self.all_log_only {
            let _ = writeln!(
                c,
                "local0.* action(type=\"omfile\" file=\"{d}/local0.log\" template=\"it\")"
            );
            let _ = writeln!(
                c,
                "local1.* action(type=\"omfile\" file=\"{d}/local1.log\" template=\"it\")"
            );
        }
        let _ = writeln!(
            c,
            "*.* action(type=\"omfile\" file=\"{d}/all.log\" template=\"it\")"
        );
        c
    }
}

/// A running rsyslogd with its own directory; killed and removed on drop.
#[derive(Debug)]
pub struct Rsyslogd {
    /// Removes the directory on drop (after the child is killed: fields drop after `Drop::drop`).
    _dir: tempfile::TempDir,
    path: PathBuf,
    socket: PathBuf,
    conf: PathBuf,
    binary: PathBuf,
    /// Whether `imptcp` listens on [`Rsyslogd::stream_socket`].
    stream: bool,
    child: Option<Child>,
}

/// The stream socket's file name in the daemon's directory.
const STREAM_SOCKET: &str = "stream.sock";

impl Rsyslogd {
    /// `local0.*`.
    pub const LOCAL0: &'static str = "local0.log";
    /// `local1.*`.
    pub const LOCAL1: &'static str = "local1.log";
    /// `*.*`.
    pub const ALL: &'static str = "all.log";

    /// The standard daemon (see the module docs).
    pub fn start() -> Rsyslogd {
        Builder::default().start()
    }

    /// A builder for variants.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The daemon's directory.
    pub fn dir(&self) -> &Path {
        &self.path
    }

    /// The `imuxsock` socket to send to.
    pub fn socket(&self) -> PathBuf {
        self.socket.clone()
    }

    /// The `imptcp` stream socket of a daemon built with [`Builder::stream`].
    pub fn stream_socket(&self) -> PathBuf {
        self.path.join(STREAM_SOCKET)
    }

    /// The config file the daemon runs with.
    pub fn conf(&self) -> &Path {
        &self.conf
    }

    /// The daemon's pid, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Starts the child and waits (bounded, 10 s) until its socket accepts datagrams.
    fn spawn(&mut self) {
        let out = fs::File::create(self.path.join("rsyslogd.out")).expect("create rsyslogd.out");
        let err = out.try_clone().expect("dup rsyslogd.out");
        let child = Command::new(&self.binary)
            .arg("-n")
            .arg("-f")
            .arg(&self.conf)
            .arg("-i")
            .arg(self.path.join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("{INSTALL_HINT} (spawning {}: {e})", self.binary.display()));
        self.child = Some(child);
        let socket = self.socket();
        let probe = std::os::unix::net::UnixDatagram::unbound().expect("unbound datagram socket");
        // Under a loaded machine the daemon can take a while; 10 s bounds a broken one.
        let up = retry_n(200, Duration::from_millis(50), || {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "rsyslogd exited at start ({status}):\n{}\n--- config\n{}",
                    self.daemon_output(),
                    fs::read_to_string(&self.conf).unwrap_or_default()
                );
            }
            probe.connect(&socket).ok()?;
            // imptcp listens a little after imuxsock binds.
            if self.stream {
                std::os::unix::net::UnixStream::connect(self.stream_socket()).ok()?;
            }
            Some(())
        });
        // Config errors are printed before the socket is created.
        let out = self.daemon_output();
        assert!(
            !out.contains("error") && !out.contains("rsyslogd-"),
            "rsyslogd reported errors at start-up:\n{out}\n--- config\n{}",
            fs::read_to_string(&self.conf).unwrap_or_default()
        );
        if up.is_none() {
            panic!(
                "rsyslogd did not create {} within 10 s:\n{}",
                socket.display(),
                self.daemon_output()
            );
        }
    }

    /// What the daemon printed (startup errors).
    pub fn daemon_output(&self) -> String {
        fs::read_to_string(self.path.join("rsyslogd.out")).unwrap_or_default()
    }

    /// Kills the daemon (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // It may have exited already; either way it is gone after `wait`.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the daemon, removes its socket and pid file, and starts it again with the same config
    /// at the same socket path (the "daemon restarts" case: the socket file is re-created).
    pub fn restart(&mut self) {
        self.kill();
        // Absent files are fine: the point is that they are gone.
        let _ = fs::remove_file(self.socket());
        let _ = fs::remove_file(self.stream_socket());
        let _ = fs::remove_file(self.path.join("rsyslogd.pid"));
        self.spawn();
    }

    /// Kills the daemon and removes its socket, leaving it absent (`restart` brings it back).
    pub fn stop_and_remove(&mut self) {
        self.kill();
        // Absent is the goal.
        let _ = fs::remove_file(self.socket());
        let _ = fs::remove_file(self.stream_socket());
    }

    /// SIGSTOP: the daemon keeps its socket bound but reads nothing (a hung daemon). Returns once
    /// every thread of the daemon is stopped (bounded, 5 s): the signal is delivered
    /// asynchronously, and a thread inside a `recvmmsg(2)` may go on taking datagrams until it
    /// returns.
    pub fn stop(&self) {
        self.signal("-STOP");
        let pid = self.pid().expect("the daemon is running");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !crate::process::all_threads_stopped(pid) {
            assert!(
                std::time::Instant::now() < deadline,
                "rsyslogd {pid} did not stop within 5 s"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// SIGCONT: undoes [`stop`](Rsyslogd::stop).
    pub fn cont(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        let pid = self.pid().expect("the daemon is running");
        let status = crate::process::kill(sig, pid);
        assert!(status, "kill {sig} {pid} failed");
    }

    /// The path of an output file in the daemon's directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The raw lines of an output file (empty when it does not exist yet).
    pub fn raw_lines(&self, file: &str) -> Vec<String> {
        match fs::read(self.file(file)) {
            Ok(bytes) => complete_lines(&String::from_utf8_lossy(&bytes))
                .map(str::to_owned)
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The parsed lines of an output file written with [`TEMPLATE`]; unparsable lines are skipped.
    pub fn lines(&self, file: &str) -> Vec<Line> {
        self.raw_lines(file)
            .iter()
            .filter_map(|l| Line::parse(l))
            .collect()
    }

    /// Waits with [`retry`] until `pred` holds for the parsed lines of `file`, and returns them;
    /// panics with the file's content otherwise.
    pub fn wait_for(&self, file: &str, mut pred: impl FnMut(&[Line]) -> bool) -> Vec<Line> {
        retry(|| {
            let lines = self.lines(file);
            pred(&lines).then_some(lines)
        })
        .unwrap_or_else(|| self.fail(file, "condition never held"))
    }

    /// Waits until `file` has at least `n` lines whose message contains `token`; returns exactly
    /// those lines, and panics if there are more than `n`.
    pub fn wait_for_token(&self, file: &str, token: &str, n: usize) -> Vec<Line> {
        let lines = self.wait_for(file, |lines| {
            lines.iter().filter(|l| l.msg.contains(token)).count() >= n
        });
        let found: Vec<Line> = lines
            .into_iter()
            .filter(|l| l.msg.contains(token))
            .collect();
        assert_eq!(
            found.len(),
            n,
            "{file}: expected {n} lines with {token}, got {found:#?}"
        );
        found
    }

    /// The lines of `file` containing `token`, without waiting (for "never arrives" checks made
    /// after a later record has arrived).
    pub fn lines_with(&self, file: &str, token: &str) -> Vec<Line> {
        self.lines(file)
            .into_iter()
            .filter(|l| l.msg.contains(token))
            .collect()
    }

    /// Waits until `file` has a raw line containing `token` (for files with custom templates).
    pub fn wait_for_raw(&self, file: &str, token: &str) -> Vec<String> {
        retry(|| {
            let lines: Vec<String> = self
                .raw_lines(file)
                .into_iter()
                .filter(|l| l.contains(token))
                .collect();
            (!lines.is_empty()).then_some(lines)
        })
        .unwrap_or_else(|| self.fail(file, &format!("no line with {token}")))
    }

    fn fail(&self, file: &str, why: &str) -> ! {
        let mut dump = String::new();
        for name in [Self::LOCAL0, Self::LOCAL1, Self::ALL, file] {
            let _ = writeln!(dump, "--- {name}");
            for l in self.raw_lines(name) {
                let _ = writeln!(dump, "{l}");
            }
        }
        panic!(
            "{file}: {why} after {} tries:\n{dump}--- rsyslogd output\n{}",
            RETRIES,
            self.daemon_output()
        )
    }
}

impl Drop for Rsyslogd {
    fn drop(&mut self) {
        // A stopped daemon ignores SIGTERM but not SIGKILL; `kill` sends SIGKILL.
        self.kill();
    }
}

/// `/usr/sbin/rsyslogd`, else the first `rsyslogd` on `$PATH`.
fn find_rsyslogd() -> Option<PathBuf> {
    let fixed = Path::new(RSYSLOGD);
    if fixed.is_file() {
        return Some(fixed.to_owned());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("rsyslogd"))
            .find(|p| p.is_file())
    })
}
