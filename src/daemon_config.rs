//! rsyslog and syslog-ng configuration generated from a builder's routing table: [`DaemonConfig`].
//!
//! The operator's side of the routing has to match the application's exactly: every facility the
//! logger can send to needs a file, the daemon must accept the logger's largest message, parse the
//! header it writes, and must not throttle it. Writing that by hand is where the two drift apart,
//! so the builder that configures the logger also writes the daemon's configuration.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::builder::Builder;
use crate::error::Error;
use crate::format::{Format, Framing, Header};
use crate::ident::Ident;
use crate::route::Match;
use crate::transport::{StreamFraming, DEFAULT_SOCKET};
use crate::Facility;

/// The most rsyslog 8.x keeps of a datagram without a `global(maxMessageSize=…)`: 8096 bytes
/// (measured with a raw datagram; its documentation says 8k). Longer ones are stored cut, unmarked.
const RSYSLOG_DEFAULT_MAX: usize = 8096;
/// syslog-ng's default `log-msg-size()` (measured the same way).
const SYSLOG_NG_DEFAULT_MAX: usize = 65536;

/// Daemon-side configuration matching a [`Builder`]: which facility goes to which file, and the
/// settings the logger's output needs.
///
/// Made by [`Builder::daemon_config`]; [`rsyslog`](DaemonConfig::rsyslog) and
/// [`syslog_ng`](DaemonConfig::syslog_ng) render it. Each facility the logger can send to gets its
/// own file in the log directory: the facility of the built-in `access` rule (a
/// [`Match::Target`] of `"access"`) goes to `access.log`, the default facility to `app.log`
/// (everything that is not an access record, at every severity), and every further rule's facility
/// to a file named for the rule: `warn.log` for [`Match::Level`] `Warn` (warnings and errors),
/// `audit.log` for a target or field `audit`, `db_pool.log` for target `db::pool`. The first name given to a facility wins. Every line names
/// its severity, so `grep -E ' (err|warning) ' app.log` finds the problems.
///
/// The output is a snippet for the daemon's include directory (`/etc/rsyslog.d/`,
/// `/etc/syslog-ng/conf.d/`), not a whole configuration:
///
/// - **Input.** With [`Builder::socket`] set to a path other than `/dev/log`, the snippet opens that
///   socket itself (rsyslog `imuxsock` input bound to its own ruleset, syslog-ng `unix-dgram()`
///   source), so the logger's records are kept apart from the rest of the system's. Otherwise the
///   records come through the system socket `/dev/log`, which the main configuration opens, and the
///   snippet routes by facility **and program name** (the ident, after the rules of
///   [`Builder::ident`]): another program's records on the same facility (an HAProxy on `local0`,
///   a second app's) are left alone for the rules that follow. Snippets of several applications
///   can be installed side by side.
/// - **Stream socket.** With [`Builder::stream_socket`], the rsyslog snippet loads `imptcp` and
///   listens on the path (`SupportOctetCountedFraming="on"`, which also reads one record per
///   line); the syslog-ng snippet opens a `unix-stream()` source, which reads one record per line
///   only, so the logger must use [`StreamFraming::NonTransparent`] there (the snippet says so
///   when it does not).
/// - **journald.** On a systemd host, journald owns `/dev/log` and forwards each record to rsyslog
///   or syslog-ng (through `/run/systemd/journal/syslog`, read by rsyslog's `imuxsock` or syslog-ng's
///   `system()` source). The facility, severity and program name survive the forwarding, so the
///   snippet routes as it does without journald. journald's own rate limit
///   (`RateLimitBurst=` in `journald.conf`) then applies before the daemon sees a record.
/// - **Message size.** The snippet states the logger's
///   [`max_message_size`](Builder::max_message_size) and raises the daemon's limit where the
///   daemon's default is smaller: rsyslog keeps 8096 bytes of a datagram by default, syslog-ng
///   65536. The crate's default of 8096 fits both, so a record the logger cuts is stored with its
///   `[truncated]` marker, never cut again by the daemon.
/// - **Lines.** Each line is `TIMESTAMP HOST SEVERITY ident[pid]: BODY`, the severity as syslog
///   names it (`err`, `warning`, `info`, …).
/// - **Header.** With [`Header::Rfc5424`] (or [`Format::Rfc5424`]) the daemon is told to parse
///   RFC 5424 (rsyslog `UseSpecialParser="off"`, syslog-ng `flags(syslog-protocol)`) and the
///   STRUCTURED-DATA is kept in the file.
/// - **JSON.** With [`Format::Json`] the `@cee:` body is parsed (rsyslog `mmjsonparse`, syslog-ng
///   `json-parser()`) and written as one JSON object per line.
/// - **Rate limiting.** The dedicated rsyslog input turns it off (`RateLimit.Interval="0"`); with
///   the system socket the snippet states what the main configuration must keep. syslog-ng does
///   not rate-limit unix sockets.
/// - **Stop.** Routed records stop there (rsyslog `stop`, syslog-ng `flags(final)`), so they are
///   not also written to `/var/log/syslog` by later rules.
/// - **Names.** Rulesets, templates, sources and filters are named after the builder's
///   [`ident`](Builder::ident) (`fastsyslog_web`), so the snippets of several applications can be
///   installed side by side; without an ident they are plain `fastsyslog`.
///
/// # Examples
///
/// ```
/// use fastsyslog::{Builder, Facility};
///
/// let config = Builder::new().ident("web").daemon_config("/var/log/web")?;
/// assert_eq!(
///     config.files(),
///     vec![
///         (Facility::Local0, "/var/log/web/access.log".into()),
///         (Facility::Local1, "/var/log/web/app.log".into()),
///     ]
/// );
/// let rsyslog = config.rsyslog();
/// assert!(rsyslog.contains(r#"if $programname == "web" and prifilt("local0.*") then {"#));
/// assert!(rsyslog.contains(r#"file="/var/log/web/access.log""#));
/// # Ok::<(), fastsyslog::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonConfig {
    /// Each facility the logger can send to, with its file's stem, in rule order.
    routes: Vec<(Facility, String)>,
    /// The body format.
    format: Format,
    /// The header as the daemon receives it (glibc always writes RFC 3164).
    header: Header,
    /// The logger's largest message, header included.
    max_message_size: usize,
    /// A dedicated socket to listen on; `None` for the system socket.
    socket: Option<PathBuf>,
    /// The framing of a dedicated stream socket; `None` for datagrams.
    stream: Option<StreamFraming>,
    /// Where the files go.
    log_dir: PathBuf,
    /// The suffix that keeps this snippet's names (rulesets, templates) apart from another app's.
    name: String,
    /// The program name the records carry (the checked ident), matched on the system socket.
    program: String,
}

// === impl Builder (daemon config) ===

impl Builder {
    /// The rsyslog and syslog-ng configuration matching this builder's routing, writing files into
    /// `log_dir`. See [`DaemonConfig`].
    ///
    /// # Errors
    ///
    /// The errors [`build`](Builder::build) returns for the same settings (an invalid environment
    /// variable, ident, size, filter or transport), so a configuration is never written for a
    /// logger that would not start.
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::{Builder, Facility, Match};
    ///
    /// let config = Builder::new()
    ///     .route(Match::Target("audit".into()), Facility::Local2)
    ///     .daemon_config("/var/log/app")?;
    /// let files: Vec<_> = config.files().into_iter().map(|(f, p)| (f, p.display().to_string())).collect();
    /// assert_eq!(files, [
    ///     (Facility::Local0, "/var/log/app/access.log".to_owned()),
    ///     (Facility::Local2, "/var/log/app/audit.log".to_owned()),
    ///     (Facility::Local1, "/var/log/app/app.log".to_owned()),
    /// ]);
    /// assert!(Builder::new().max_message_size(10).daemon_config("/l").is_err(), "as build() refuses it");
    /// # Ok::<(), fastsyslog::Error>(())
    /// ```
    pub fn daemon_config(&self, log_dir: impl AsRef<Path>) -> Result<DaemonConfig, Error> {
        let checked = self.check(false)?;
        let mut routes: Vec<(Facility, String)> = Vec::new();
        let mut add = |facility: Facility, stem: String| {
            if !routes.iter().any(|(f, _)| *f == facility) {
                routes.push((facility, stem));
            }
        };
        for rule in &self.rules {
            // The file is named for what the rule sends there.
            let stem = match rule.matcher() {
                Match::Target(t) if t == "access" => "access".to_owned(),
                Match::Level(level) => level.as_str().to_ascii_lowercase(),
                Match::Target(name) | Match::Field(name) if !name.is_empty() => file_stem(name),
                _ => rule.facility().to_string(),
            };
            add(rule.facility(), stem);
        }
        add(self.default_facility, "app".to_owned());

        let socket = self
            .socket
            .clone()
            .filter(|p| self.stream || p.as_path() != Path::new(DEFAULT_SOCKET));
        // What the daemon receives, by `build`'s own rule; glibc writes RFC 3164.
        let header = match checked.framing {
            Framing::Header(header) => header,
            Framing::LibcBody => Header::Rfc3164,
        };
        let name = Ident::config_name(self.ident.as_deref());
        Ok(DaemonConfig {
            routes,
            format: self.format,
            header,
            max_message_size: self.max_message_size,
            socket,
            stream: self.stream.then_some(self.stream_framing),
            log_dir: log_dir.as_ref().to_owned(),
            name,
            program: checked.ident.as_str().to_owned(),
        })
    }

    /// The rsyslog (RainerScript) snippet for this builder's routing: shorthand for
    /// [`daemon_config(log_dir).rsyslog()`](DaemonConfig::rsyslog).
    ///
    /// # Errors
    ///
    /// As [`daemon_config`](Builder::daemon_config): the errors `build` returns.
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::Builder;
    ///
    /// let conf = Builder::new().ident("app").rsyslog_config("/var/log/app")?;
    /// assert!(conf.contains(r#"if $programname == "app" and prifilt("local1.*") then {"#));
    /// assert!(conf.contains(r#"file="/var/log/app/app.log""#));
    /// let err = Builder::new().ident("app").max_message_size(10).rsyslog_config("/l").unwrap_err();
    /// assert!(err.to_string().contains("max_message_size"), "{err}");
    /// # Ok::<(), fastsyslog::Error>(())
    /// ```
    pub fn rsyslog_config(&self, log_dir: impl AsRef<Path>) -> Result<String, Error> {
        Ok(self.daemon_config(log_dir)?.rsyslog())
    }

    /// The syslog-ng snippet for this builder's routing: shorthand for
    /// [`daemon_config(log_dir).syslog_ng()`](DaemonConfig::syslog_ng).
    ///
    /// # Errors
    ///
    /// As [`daemon_config`](Builder::daemon_config): the errors `build` returns.
    ///
    /// # Examples
    ///
    /// ```
    /// let conf = fastsyslog::Builder::new().ident("app").syslog_ng_config("/var/log/app")?;
    /// assert!(conf.contains(r#"filter f_fastsyslog_app_local0 { facility(local0) and program("app" type(string)); };"#));
    /// assert!(conf.contains(r#"file("/var/log/app/access.log""#));
    /// # Ok::<(), fastsyslog::Error>(())
    /// ```
    pub fn syslog_ng_config(&self, log_dir: impl AsRef<Path>) -> Result<String, Error> {
        Ok(self.daemon_config(log_dir)?.syslog_ng())
    }
}

// === impl DaemonConfig ===

impl DaemonConfig {
    /// Each facility the logger can send to and the file it is written to, in rule order with the
    /// default facility last.
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::{Builder, Facility};
    /// let files = Builder::new().default_facility(Facility::Local0).daemon_config("/l")?.files();
    /// assert_eq!(files, vec![(Facility::Local0, "/l/access.log".into())], "one facility, one file");
    /// # Ok::<(), fastsyslog::Error>(())
    /// ```
    pub fn files(&self) -> Vec<(Facility, PathBuf)> {
        self.routes
            .iter()
            .map(|(f, stem)| (*f, self.log_dir.join(format!("{stem}.log"))))
            .collect()
    }

    /// The rsyslog snippet, for `/etc/rsyslog.d/` (check it with `rsyslogd -N1`).
    ///
    /// It expects `imuxsock` to be loaded by the main configuration, as Debian's and Red Hat's
    /// `rsyslog.conf` do; it loads `mmjsonparse` itself for [`Format::Json`]. Each file line is
    /// `TIMESTAMP HOST SEVERITY ident[pid]: BODY` (for RFC 5424, the STRUCTURED-DATA comes before
    /// the message; for JSON, the body is the parsed object).
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::{Builder, Format};
    ///
    /// let conf = Builder::new()
    ///     .ident("web")
    ///     .socket("/run/web/log.sock")
    ///     .format(Format::Json)
    ///     .max_message_size(65536)
    ///     .rsyslog_config("/var/log/web")?;
    /// assert!(conf.contains(r#"global(maxMessageSize="65536")"#));
    /// assert!(conf.contains(r#"module(load="mmjsonparse")"#));
    /// assert!(conf.contains(
    ///     r#"input(type="imuxsock" Socket="/run/web/log.sock" CreatePath="on" RateLimit.Interval="0" UseSpecialParser="on" Ruleset="fastsyslog_web")"#
    /// ));
    /// assert!(conf.contains(r#"action(type="mmjsonparse" cookie="@cee:")"#));
    /// # Ok::<(), fastsyslog::Error>(())
    /// ```
    pub fn rsyslog(&self) -> String {
        let mut out = String::new();
        let name = &self.name;
        let program = &self.program;
        self.preamble(
            &mut out,
            "rsyslog",
            &format!("/etc/rsyslog.d/30-{name}.conf"),
            "rsyslogd -N1",
        );

        // Message size. rsyslog documents that maxMessageSize must be set before any input is
        // defined, so it comes first; setting it twice is an error, so only when needed.
        if self.max_message_size > RSYSLOG_DEFAULT_MAX {
            let _ = writeln!(
                out,
                "# Message size: the logger sends up to {} bytes per record, over rsyslog's default\n\
                 # of {RSYSLOG_DEFAULT_MAX}. rsyslog wants this before any input is defined (put it at the top of\n\
                 # rsyslog.conf if that already sets maxMessageSize: setting it twice is an error).\n\
                 global(maxMessageSize=\"{}\")\n",
                self.max_message_size, self.max_message_size
            );
        } else {
            let _ = writeln!(
                out,
                "# Message size: the logger sends up to {} bytes per record, within the {RSYSLOG_DEFAULT_MAX} bytes\n\
                 # rsyslog keeps of a datagram by default: nothing to set.\n",
                self.max_message_size
            );
        }

        if self.format == Format::Json {
            let _ = writeln!(
                out,
                "# JSON body (`@cee: {{...}}`): mmjsonparse turns it into $! properties.\n\
                 module(load=\"mmjsonparse\")\n"
            );
        }

        // One template for every file: timestamp, host, severity, ident[pid], then the body.
        let body = match (self.format, self.header) {
            (Format::Json, _) => "%$!all-json%",
            (_, Header::Rfc5424) => "%structured-data%%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%",
            _ => "%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%",
        };
        let _ = writeln!(
            out,
            "template(name=\"{name}\" type=\"string\"\n         \
             string=\"%timereported:::date-rfc3339% %hostname% %syslogseverity-text% %app-name%[%procid%]:{sep}{body}\\n\")\n",
            sep = if self.format == Format::Json || self.header == Header::Rfc5424 {
                " "
            } else {
                ""
            },
        );

        let special_parser = match self.header {
            Header::Rfc3164 => "on",
            Header::Rfc5424 => "off",
        };
        let indent = match &self.socket {
            Some(path) if self.stream.is_some() => {
                let _ = writeln!(
                    out,
                    "# Input: the logger's own stream socket (Builder::stream_socket / FASTSYSLOG_SOCKET=stream:PATH),\n\
                     # read by imptcp: octet-counted frames (and, without a count, one record per line). Bound to\n\
                     # its own ruleset so nothing else is mixed in; rate limiting is off. imptcp is loaded here: if\n\
                     # rsyslog.conf or another snippet loads it already, drop this module() line.\n\
                     module(load=\"imptcp\")\n\
                     input(type=\"imptcp\" path=\"{}\" unlink=\"on\" SupportOctetCountedFraming=\"on\" RateLimit.Interval=\"0\" Ruleset=\"{name}\")\n\n\
                     ruleset(name=\"{name}\") {{",
                    rs_escape(&path.display().to_string()),
                );
                "    "
            }
            Some(path) => {
                let _ = writeln!(
                    out,
                    "# Input: the logger's own socket (Builder::socket / FASTSYSLOG_SOCKET), bound to its own\n\
                     # ruleset so nothing else is mixed in. Rate limiting is off: every record the logger\n\
                     # counts as written is kept. UseSpecialParser=\"{special_parser}\": {why}.\n\
                     input(type=\"imuxsock\" Socket=\"{}\" CreatePath=\"on\" RateLimit.Interval=\"0\" UseSpecialParser=\"{special_parser}\"{ts} Ruleset=\"{name}\")\n\n\
                     ruleset(name=\"{name}\") {{",
                    rs_escape(&path.display().to_string()),
                    // An RFC 5424 timestamp has the year, microseconds and the offset, and is when
                    // the record was made, not when the daemon read it: keep it.
                    ts = match self.header {
                        Header::Rfc3164 => "",
                        Header::Rfc5424 => " IgnoreTimestamp=\"off\"",
                    },
                    why = match self.header {
                        Header::Rfc3164 => "the syslog(3) header the logger writes",
                        Header::Rfc5424 => "the logger writes RFC 5424 headers, parsed by the regular parser chain",
                    },
                );
                "    "
            }
            None => {
                let _ = writeln!(
                    out,
                    "# Input: the system socket /dev/log, opened by module(load=\"imuxsock\") in rsyslog.conf.\n\
                     # Only records from the program {program:?} are routed and stopped here; other programs'\n\
                     # records on the same facilities go on to the rules that follow.\n\
                     # Keep its rate limit off (SysSock.RateLimit.Interval=\"0\", rsyslog's default): a limited\n\
                     # socket discards records after the burst, where the logger cannot count them.{}\n",
                    match self.header {
                        Header::Rfc3164 => "",
                        Header::Rfc5424 => {
                            "\n# The logger writes RFC 5424 headers: set SysSock.UseSpecialParser=\"off\" on that line."
                        }
                    }
                );
                ""
            }
        };
        for (facility, path) in self.files() {
            let filter = match &self.socket {
                Some(_) => rsyslog_filter(facility),
                None => format!(
                    "$programname == \"{}\" and {}",
                    rs_escape(program),
                    rsyslog_filter(facility)
                ),
            };
            let _ = writeln!(out, "{indent}if {filter} then {{");
            if self.format == Format::Json {
                let _ = writeln!(
                    out,
                    "{indent}    action(type=\"mmjsonparse\" cookie=\"@cee:\")"
                );
            }
            let _ = writeln!(
                out,
                "{indent}    action(type=\"omfile\" file=\"{}\" template=\"{name}\")\n{indent}    stop\n{indent}}}",
                rs_escape(&path.display().to_string())
            );
        }
        if self.socket.is_some() {
            out.push_str("}\n");
        }
        out
    }

    /// The syslog-ng snippet, for `/etc/syslog-ng/conf.d/` (check it with
    /// `syslog-ng --syntax-only`).
    ///
    /// With the system socket it reads from `s_src`, the `system()` source of Debian's
    /// `syslog-ng.conf` (other distributions name it `s_sys` or `src`: change the `source()`
    /// lines). Each file line is `ISODATE HOST SEVERITY ident[pid]: BODY`, as from
    /// [`rsyslog`](Self::rsyslog).
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::{Builder, Format};
    ///
    /// let conf = Builder::new()
    ///     .socket("/run/web/log.sock")
    ///     .format(Format::Rfc5424)
    ///     .syslog_ng_config("/var/log/web")?;
    /// assert!(conf.contains(
    ///     r#"source s_fastsyslog { unix-dgram("/run/web/log.sock" create-dirs(yes) log-msg-size(65536) flags(syslog-protocol)); };"#
    /// ));
    /// assert!(conf.contains("${SDATA}"));
    /// # Ok::<(), fastsyslog::Error>(())
    /// ```
    pub fn syslog_ng(&self) -> String {
        let mut out = String::new();
        let name = &self.name;
        self.preamble(
            &mut out,
            "syslog-ng",
            &format!("/etc/syslog-ng/conf.d/{name}.conf"),
            "syslog-ng --syntax-only",
        );
        let size = self.max_message_size.max(SYSLOG_NG_DEFAULT_MAX);
        let source = match &self.socket {
            Some(path) if self.stream.is_some() => {
                let _ = writeln!(
                    out,
                    "# Input: the logger's own stream socket (Builder::stream_socket). unix-stream() reads one record\n\
                     # per line (FASTSYSLOG_SOCKET=stream-lf:PATH, StreamFraming::NonTransparent). log-msg-size({size})\n\
                     # covers the logger's {} bytes per record.{}\n\
                     source s_{name} {{ unix-stream(\"{}\" create-dirs(yes) log-msg-size({size}){}); }};\n",
                    self.max_message_size,
                    if self.stream == Some(StreamFraming::OctetCounting) {
                        "\n# WARNING: this logger frames records by octet counting, which syslog-ng's unix-stream()\n\
                         # does not read: set StreamFraming::NonTransparent (or stream-lf:) in the application."
                    } else {
                        ""
                    },
                    ng_escape(&path.display().to_string()),
                    match self.header {
                        Header::Rfc3164 => "",
                        Header::Rfc5424 => " flags(syslog-protocol)",
                    },
                );
                format!("s_{name}")
            }
            Some(path) => {
                let _ = writeln!(
                    out,
                    "# Input: the logger's own socket (Builder::socket / FASTSYSLOG_SOCKET). log-msg-size({size})\n\
                     # covers the logger's {} bytes per record. syslog-ng does not rate-limit unix sockets.\n\
                     source s_{name} {{ unix-dgram(\"{}\" create-dirs(yes) log-msg-size({size}){}); }};\n",
                    self.max_message_size,
                    ng_escape(&path.display().to_string()),
                    match self.header {
                        Header::Rfc3164 => "",
                        Header::Rfc5424 => " flags(syslog-protocol)",
                    },
                );
                format!("s_{name}")
            }
            None => {
                let _ = writeln!(
                    out,
                    "# Input: the system socket /dev/log, read by the system() source that Debian's\n\
                     # syslog-ng.conf calls s_src. syslog-ng does not rate-limit unix sockets.\n\
                     # Only records from the program {:?} are routed here (flags(final)); other\n\
                     # programs' records on the same facilities go on to the log paths that follow.{}{}\n",
                    self.program,
                    if self.max_message_size > SYSLOG_NG_DEFAULT_MAX {
                        format!(
                            "\n# The logger sends up to {} bytes per record: set log-msg-size({}) in the global\n\
                             # options {{}} of syslog-ng.conf (the default is {SYSLOG_NG_DEFAULT_MAX}).",
                            self.max_message_size, self.max_message_size
                        )
                    } else {
                        String::new()
                    },
                    match self.header {
                        Header::Rfc3164 => "",
                        Header::Rfc5424 => {
                            "\n# The logger writes RFC 5424 headers: give it its own socket (Builder::socket) so the\n\
                             # source can say flags(syslog-protocol)."
                        }
                    }
                );
                "s_src".to_owned()
            }
        };

        if self.format == Format::Json {
            let _ = writeln!(
                out,
                "# JSON body (`@cee: {{...}}`): parsed into .json.* and written back as one object.\n\
                 parser p_{name} {{ json-parser(prefix(\".json.\") marker(\"@cee:\")); }};\n"
            );
        }
        if self.format != Format::Json && self.header == Header::Rfc5424 {
            let _ = writeln!(
                out,
                "# RFC 5424: ${{SDATA}} is the logger's STRUCTURED-DATA; syslog-ng appends its own\n\
                 # [meta sequenceId=\"N\"] (the file's line counter).\n"
            );
        }
        let body = match (self.format, self.header) {
            // The object exactly as the logger wrote it, without the cookie: syslog-ng 3.x's
            // format-json would turn every number into a string.
            (Format::Json, _) => "$(substr ${MSG} 6)",
            (_, Header::Rfc5424) => "${SDATA} ${MSG}",
            _ => "${MSG}",
        };
        let _ = writeln!(
            out,
            "template t_{name} {{ template(\"${{ISODATE}} ${{HOST}} ${{LEVEL}} ${{PROGRAM}}[${{PID}}]: {body}\\n\"); }};\n"
        );
        for (facility, path) in self.files() {
            let _ = writeln!(
                out,
                "filter f_{name}_{id} {{ facility({}){program}; }};\n\
                 destination d_{name}_{id} {{ file(\"{}\" create-dirs(yes) template(t_{name})); }};\n\
                 log {{ source({source}); filter(f_{name}_{id});{parser} destination(d_{name}_{id}); flags(final); }};\n",
                syslog_ng_facility(facility),
                ng_escape(&path.display().to_string()),
                id = facility_id(facility),
                program = match &self.socket {
                    Some(_) => String::new(),
                    None => format!(" and program(\"{}\" type(string))", ng_escape(&self.program)),
                },
                parser = if self.format == Format::Json {
                    format!(" parser(p_{name});")
                } else {
                    String::new()
                },
            );
        }
        // One trailing newline, not two.
        out.pop();
        out
    }

    /// The comment block that opens both snippets: what is routed where, and how to install it.
    fn preamble(&self, out: &mut String, daemon: &str, install: &str, check: &str) {
        let _ = writeln!(
            out,
            "# {daemon} configuration for fastsyslog {} (generated from the logger's routing table).\n\
             # Body format {}, header {}, records up to {} bytes.",
            env!("CARGO_PKG_VERSION"),
            self.format,
            match self.header {
                Header::Rfc3164 => "RFC 3164",
                Header::Rfc5424 => "RFC 5424",
            },
            self.max_message_size,
        );
        for (facility, path) in self.files() {
            let _ = writeln!(out, "#   {facility:<7} -> {}", path.display());
        }
        let _ = writeln!(
            out,
            "# Install as {install}, check with `{check}`, then restart the daemon.\n"
        );
    }
}

/// Facilities 12 to 15 have different names in each daemon (and none in rsyslog's `prifilt`), so
/// they are matched by code.
fn by_code(facility: Facility) -> bool {
    (12..=15).contains(&facility.code())
}

/// The RainerScript condition for one facility.
fn rsyslog_filter(facility: Facility) -> String {
    if by_code(facility) {
        format!("$syslogfacility == {}", facility.code())
    } else {
        format!("prifilt(\"{facility}.*\")")
    }
}

/// The syslog-ng `facility()` argument for one facility.
fn syslog_ng_facility(facility: Facility) -> String {
    if by_code(facility) {
        facility.code().to_string()
    } else {
        facility.to_string()
    }
}

/// A facility as part of a config object name (`solaris-cron` has a dash).
fn facility_id(facility: Facility) -> String {
    facility.to_string().replace('-', "_")
}

/// A rule's target or field name as a file name: `db::pool` → `db_pool`.
fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .replace("__", "_")
}

/// A string for a RainerScript `"..."` parameter.
fn rs_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A string for a syslog-ng `"..."` literal.
fn ng_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_builder_routes_access_and_error() {
        let config = Builder::new().daemon_config("/var/log/app").unwrap();
        assert_eq!(
            config.routes,
            vec![
                (Facility::Local0, "access".to_owned()),
                (Facility::Local1, "app".to_owned())
            ]
        );
        assert_eq!(config.socket, None, "libc transport: the system socket");
        assert_eq!(config.header, Header::Rfc3164);
        let conf = config.rsyslog();
        assert!(!conf.contains("input("), "{conf}");
        assert!(
            !conf.contains("global("),
            "8096 is within rsyslog's default: {conf}"
        );
        assert!(!conf.contains("mmjsonparse"), "{conf}");
    }

    #[test]
    fn dev_log_socket_counts_as_the_system_socket() {
        let config = Builder::new()
            .socket("/dev/log")
            .daemon_config("/l")
            .unwrap();
        assert_eq!(config.socket, None);
        assert!(config.syslog_ng().contains("source(s_src)"));
    }

    #[test]
    fn a_facility_gets_one_file_under_its_first_name() {
        let config = Builder::new()
            .clear_routes()
            .route(Match::Level(log::Level::Warn), Facility::Local2)
            .route(Match::Target("access".into()), Facility::Local0)
            .route(Match::Field("audit".into()), Facility::Local2)
            .default_facility(Facility::Local0)
            .daemon_config("/l")
            .unwrap();
        assert_eq!(
            config.routes,
            vec![
                (Facility::Local2, "warn".to_owned()),
                (Facility::Local0, "access".to_owned())
            ]
        );
    }

    #[test]
    fn header_follows_the_transport() {
        let table = [
            (Builder::new().header(Header::Rfc5424), Header::Rfc3164),
            (
                Builder::new().socket("/s").header(Header::Rfc5424),
                Header::Rfc5424,
            ),
            (
                Builder::new().socket("/s").format(Format::Rfc5424),
                Header::Rfc5424,
            ),
            (Builder::new().socket("/s"), Header::Rfc3164),
        ];
        for (builder, want) in table {
            assert_eq!(
                builder.daemon_config("/l").unwrap().header,
                want,
                "{builder:?}"
            );
        }
    }

    #[test]
    fn rfc5424_turns_off_the_special_parser_and_keeps_sd() {
        let conf = Builder::new()
            .socket("/run/a.sock")
            .format(Format::Rfc5424)
            .rsyslog_config("/l")
            .unwrap();
        assert!(conf.contains("UseSpecialParser=\"off\""), "{conf}");
        assert!(conf.contains("%structured-data%"), "{conf}");
        let conf = Builder::new()
            .format(Format::Logfmt)
            .header(Header::Rfc5424)
            .socket("/dev/log")
            .rsyslog_config("/l")
            .unwrap();
        assert!(conf.contains("SysSock.UseSpecialParser=\"off\""), "{conf}");
    }

    #[test]
    fn large_messages_raise_the_daemon_limits() {
        let b = Builder::new()
            .socket("/run/a.sock")
            .max_message_size(128 * 1024);
        assert!(b
            .rsyslog_config("/l")
            .unwrap()
            .contains("global(maxMessageSize=\"131072\")"));
        assert!(b
            .syslog_ng_config("/l")
            .unwrap()
            .contains("log-msg-size(131072)"));
        let b = Builder::new().ident("a").max_message_size(100_000);
        assert!(b
            .syslog_ng_config("/l")
            .unwrap()
            .contains("set log-msg-size(100000)"));
    }

    #[test]
    fn names_carry_the_ident_and_quotes_are_escaped() {
        let conf = Builder::new()
            .ident("my-app.v2")
            .socket("/run/we\"ird/log.sock")
            .rsyslog_config("/var/log/x")
            .unwrap();
        assert!(conf.contains("Ruleset=\"fastsyslog_my_app_v2\""), "{conf}");
        assert!(conf.contains(r#"Socket="/run/we\"ird/log.sock""#), "{conf}");
    }

    #[test]
    fn system_socket_snippets_match_the_program() {
        let b = Builder::new().ident("web app");
        let rs = b.rsyslog_config("/l").unwrap();
        assert!(
            rs.contains(r#"if $programname == "web_app" and prifilt("local0.*") then {"#),
            "the sanitised ident: {rs}"
        );
        let ng = b.syslog_ng_config("/l").unwrap();
        assert!(
            ng.contains(r#"facility(local1) and program("web_app" type(string));"#),
            "{ng}"
        );
        // A dedicated socket carries only this program: no program match there.
        let rs = Builder::new()
            .ident("web app")
            .socket("/run/a.sock")
            .rsyslog_config("/l")
            .unwrap();
        assert!(rs.contains(r#"    if prifilt("local0.*") then {"#), "{rs}");
    }

    #[test]
    fn lines_carry_the_severity() {
        let b = Builder::new().ident("a");
        assert!(b
            .rsyslog_config("/l")
            .unwrap()
            .contains("%hostname% %syslogseverity-text% %app-name%"));
        assert!(b
            .syslog_ng_config("/l")
            .unwrap()
            .contains("${HOST} ${LEVEL} ${PROGRAM}"));
    }

    #[test]
    fn configs_refuse_what_build_refuses() {
        let table = [
            (Builder::new().ident("a").format(Format::Rfc5424), "rfc5424"),
            (
                Builder::new().ident("a").max_message_size(10),
                "max_message_size",
            ),
            (Builder::new().ident("a\0b"), "NUL"),
            // Bad filter directives are skipped and reported at start-up, not refused.
            (
                Builder::new().ident("a").default_facility(Facility::Kern),
                "kern",
            ),
        ];
        for (builder, want) in table {
            let err = builder.rsyslog_config("/l").unwrap_err();
            assert!(err.to_string().contains(want), "{err}");
            assert!(builder.syslog_ng_config("/l").is_err());
            assert!(
                builder.build_pipeline(false).is_err(),
                "build() refuses it too"
            );
        }
    }

    #[test]
    fn message_size_is_stated_and_raised_over_rsyslogs_8096() {
        let conf = Builder::new().ident("a").rsyslog_config("/l").unwrap();
        assert!(conf.contains("records up to 8096 bytes"), "{conf}");
        assert!(!conf.contains("global("), "{conf}");
        let conf = Builder::new()
            .ident("a")
            .max_message_size(8192)
            .rsyslog_config("/l")
            .unwrap();
        assert!(conf.contains(r#"global(maxMessageSize="8192")"#), "{conf}");
    }

    #[test]
    fn stream_socket_gets_a_stream_listener() {
        let b = Builder::new()
            .ident("web")
            .stream_socket("/run/web/log.sock");
        let rsyslog = b.rsyslog_config("/l").unwrap();
        assert!(rsyslog.contains("module(load=\"imptcp\")"), "{rsyslog}");
        assert!(rsyslog.contains(
            r#"input(type="imptcp" path="/run/web/log.sock" unlink="on" SupportOctetCountedFraming="on" RateLimit.Interval="0" Ruleset="fastsyslog_web")"#
        ), "{rsyslog}");
        assert!(!rsyslog.contains("imuxsock\" Socket"), "{rsyslog}");
        let ng = b.syslog_ng_config("/l").unwrap();
        assert!(ng.contains(
            r#"source s_fastsyslog_web { unix-stream("/run/web/log.sock" create-dirs(yes) log-msg-size(65536)); };"#
        ), "{ng}");
        assert!(
            ng.contains("WARNING"),
            "octet counting is not read by unix-stream(): {ng}"
        );
        let ng = b
            .stream_framing(StreamFraming::NonTransparent)
            .syslog_ng_config("/l")
            .unwrap();
        assert!(!ng.contains("WARNING"), "{ng}");
        // A stream at /dev/log is still a stream socket of the logger's own.
        let conf = Builder::new()
            .stream_socket(DEFAULT_SOCKET)
            .rsyslog_config("/l")
            .unwrap();
        assert!(conf.contains(r#"path="/dev/log""#), "{conf}");
    }
}
