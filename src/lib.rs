//! A fast structured logging backend for [`log`] and `tracing` that sends every record to the local
//! syslog daemon.
//!
//! A Rust server installs fastsyslog as its global `log` logger or `tracing` subscriber. Every
//! record becomes one datagram to rsyslog, syslog-ng or journald's syslog socket; a record that is
//! not logged costs next to nothing; and access records and error/debug records land in different
//! `LOCAL0`–`LOCAL7` facilities, so the daemon can write them to different files.
//!
//! - **A record that is not logged costs nearly nothing.** The level gate is decided up front from
//!   data computed at start-up: the `log` macros compare the level with one atomic load, then
//!   per-target directives (`warn,my_crate::db=debug,access=info`) are checked without a lock, an
//!   allocation or any formatting.
//! - **One datagram per enabled record.** No file to write, flush or rotate on the request path: the
//!   daemon owns rotation, routing and shipping.
//! - **Access and errors apart.** By default records with target `access` go to `local0` and
//!   everything else to `local1`; [`Builder::rsyslog_config`] and [`Builder::syslog_ng_config`] turn
//!   that into `access.log` and `app.log`.
//! - **A stalled daemon never stalls the application.** In background mode (the default) the caller
//!   copies the record's values into its own thread's queue; one writer thread renders, owns the
//!   socket and sends, and anything lost is counted ([`stats()`]) and reported.
//! - **Eager and fork-safe.** The connection is made at start-up, not on the first request; forked
//!   children of pre-forking servers keep logging under their own pid, whatever lock another
//!   thread held at the fork. An [emergency path](emergency::Emergency) serves signal handlers.
//!
//! # Quick start with `log`
//!
//! ```toml
//! [dependencies]
//! fastsyslog = "0.1"
//! log = { version = "0.4", features = ["kv"] }
//! ```
//!
//! ```no_run
//! // At the start of `main`. Keep the guard for as long as the program logs: dropping it flushes
//! // what is queued and stops the background writer.
//! let _guard = fastsyslog::init();
//!
//! log::info!(target: "access", method = "GET", status = 200; "GET /index.html");
//! log::error!("database unreachable");
//! ```
//!
//! [`init()`] reads the environment (see [Configuration](#configuration)), installs the logger,
//! sets `log::max_level` from the directives and panics when it cannot. [`try_init()`] returns an
//! [`Error`] instead, and [`Builder`] configures everything else. **Keep the returned
//! [`WorkerGuard`]**: `let _ = fastsyslog::init();` drops it at once, which stops the background
//! writer; bind it to a name such as `_guard`.
//!
//! # Quick start with `tracing`
//!
//! ```toml
//! [dependencies]
//! fastsyslog = { version = "0.1", features = ["tracing"] }
//! tracing = "0.1"
//! ```
//!
//! ```no_run
//! # #[cfg(feature = "tracing")] {
//! // At the start of `main`. The same guard as with `log`: keep it alive.
//! let _guard = fastsyslog::init_tracing(); // panics if another subscriber is installed
//!
//! let span = tracing::info_span!("req", method = "GET", path = "/a");
//! let _entered = span.enter();
//! tracing::info!(target: "access", status = 200, bytes = 512, "GET /a");
//! tracing::warn!(retries = 3, "upstream slow");
//! # }
//! ```
//!
//! [`Subscriber`] implements `tracing_core::Subscriber` directly (no `tracing-subscriber` needed):
//! events take the same routing, severity mapping, body formats, hygiene, transports and background
//! writer as `log` records, and the gate is as cheap (`register_callsite` returns
//! `Interest::never()` for callsites the directives disable, and `max_level_hint` reports the most
//! verbose enabled level).
//!
//! - **Spans.** The fields of the event's span chain (outermost first) appear on every event:
//!   logfmt `req.method=GET req.path=/a`, JSON `"spans":[{"name":"req","method":"GET","path":"/a"}]`,
//!   RFC 5424 one SD-ELEMENT per span (`[span1@32473 name="req" method="GET"]`).
//! - **Routing by field.** `route(Match::Field("access".into()), Facility::Local0)` sends
//!   `info!(access = true, ...)` to `local0`, next to the target rule (`target: "access"`).
//! - **`log` records under tracing** (`tracing_log::LogTracer`) keep their original target, and are
//!   filtered and routed by it.
//! - **Composing** (feature `layer`): [`Builder::build_layer`] returns a [`Layer`] and its guard.
//!   The layer does not filter on its own: the stack's `EnvFilter`, `.with_filter(…)` or
//!   `reload::Layer` decide what reaches syslog.
//!
//! ```no_run
//! # #[cfg(feature = "layer")] {
//! use tracing_subscriber::prelude::*;
//!
//! let (layer, _guard) = fastsyslog::Builder::from_env().build_layer().expect("syslog layer");
//! tracing_subscriber::registry()
//!     .with(tracing_subscriber::EnvFilter::from_default_env())
//!     .with(layer)
//!     .init();
//! tracing::info!(target: "access", status = 200, "GET /");
//! # }
//! ```
//!
//! - **In tests**, build a subscriber without installing it and use it for one closure:
//!
//! ```
//! # #[cfg(all(feature = "tracing", feature = "testing", unix))] {
//! use std::time::Duration;
//! use fastsyslog::testing::Receiver;
//! use fastsyslog::{Builder, Mode};
//!
//! let receiver = Receiver::bind()?;
//! let (subscriber, _guard) = Builder::new()
//!     .socket(receiver.path())
//!     .ident("web")
//!     .mode(Mode::Sync)
//!     .build_subscriber()?;
//! tracing::subscriber::with_default(subscriber, || {
//!     let span = tracing::info_span!("req", path = "/a");
//!     let _entered = span.enter();
//!     tracing::info!(status = 200, "GET /a");
//! });
//!
//! let msg = receiver.recv_timeout(Duration::from_secs(5)).expect("the event arrives");
//! assert_eq!(msg.body, "GET /a req.path=/a status=200"); // span fields, then the event's
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Trying it without a syslog daemon
//!
//! With the `testing` feature, [`testing::Receiver`] is an embedded syslog receiver on a socket in
//! a temporary directory. Point a logger at it with [`Builder::socket`] and look at what arrived;
//! [`Builder::build`] makes a [`Logger`] without installing it:
//!
//! ```
//! # #[cfg(all(feature = "log", feature = "testing", unix))] {
//! use std::time::Duration;
//! use fastsyslog::testing::Receiver;
//! use fastsyslog::{Builder, Facility, Mode, Severity};
//! use log::Log;
//!
//! let receiver = Receiver::bind()?;
//! let (logger, _guard) = Builder::new()
//!     .socket(receiver.path())
//!     .ident("web")
//!     .mode(Mode::Sync)
//!     .build()?;
//! logger.log(
//!     &log::Record::builder()
//!         .target("access")
//!         .level(log::Level::Info)
//!         .args(format_args!("GET /index.html"))
//!         .build(),
//! );
//!
//! let msg = receiver.recv_timeout(Duration::from_secs(5)).expect("the record arrives");
//! assert_eq!(msg.facility, Some(Facility::Local0)); // target `access` -> local0
//! assert_eq!(msg.severity, Some(Severity::Informational));
//! assert_eq!(msg.ident.as_deref(), Some("web"));
//! assert_eq!(msg.body, "GET /index.html");
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Configuration
//!
//! Every setting has a [`Builder`] method; the ones an operator changes per deployment also have an
//! environment variable, read by [`init()`] and [`Builder::from_env`] (builder calls made after
//! `from_env` win), so one binary can be pointed at any daemon.
//!
//! | builder | environment | default | meaning |
//! |---|---|---|---|
//! | [`ident(s)`](Builder::ident) | `FASTSYSLOG_IDENT` | the program's file name | name in every message (`ident[pid]:`); only printable ASCII but space, `:`, `[`, `]` and `/` is kept (what rsyslog and syslog-ng both keep), anything else becomes `_`, cut to [`MAX_IDENT_LEN`] (48) characters; empty or with NUL is an error |
//! | [`socket(path)`](Builder::socket) | `FASTSYSLOG_SOCKET` | unset: libc `syslog(3)` | a path selects the unix datagram transport (e.g. `/dev/log` or an rsyslog `imuxsock` socket) |
//! | [`stream_socket(path)`](Builder::stream_socket) | `FASTSYSLOG_SOCKET=stream:PATH` (`stream-lf:PATH`: [`StreamFraming::NonTransparent`]) | unset | a unix stream socket (rsyslog `imptcp path=`, syslog-ng `unix-stream()`), octet-counted frames, many records per write |
//! | [`format(f)`](Builder::format) | `FASTSYSLOG_FORMAT` | `logfmt` | [`Format`]: `logfmt`, `json` (`@cee:` + one JSON object) or `rfc5424` (STRUCTURED-DATA; unix transport only) |
//! | [`header(h)`](Builder::header) | `FASTSYSLOG_HEADER` | `Rfc3164` | [`Header`] of the unix transport: `Rfc3164` (glibc-identical) or `Rfc5424` |
//! | [`filter(s)`](Builder::filter) / [`default_filter(s)`](Builder::default_filter) | `FASTSYSLOG_LOG`, else `RUST_LOG` (a [`Layer`] reads neither `RUST_LOG` nor a default) | `info` | directives in `RUST_LOG` syntax; `filter` overrides the environment, `default_filter` yields to it |
//! | [`mode(m)`](Builder::mode) | `FASTSYSLOG_MODE` | `background` | [`Mode`]: `sync` or `background` |
//! | [`access_facility(f)`](Builder::access_facility) | `FASTSYSLOG_ACCESS_FACILITY` | `local0` | facility of the built-in `access` target rule |
//! | [`default_facility(f)`](Builder::default_facility) | `FASTSYSLOG_FACILITY` | `local1` | facility of records no rule matches |
//! | [`route(m, f)`](Builder::route) / [`clear_routes()`](Builder::clear_routes) | `FASTSYSLOG_ROUTES` (`access=local0,warn=local2,*=local1`) | `access` → `local0` | routing rules, first match wins |
//! | [`severity_mapping(m)`](Builder::severity_mapping) | — | [`SeverityMapping::new()`] | level → severity |
//! | [`max_message_size(n)`](Builder::max_message_size) | `FASTSYSLOG_MAX_MESSAGE_SIZE` | 8096 (what rsyslog keeps by default) | most bytes per message, header included, from 64 to 131072 (`MESSAGE_SIZE_MIN` to `MESSAGE_SIZE_MAX`) |
//! | [`send_timeout(d)`](Builder::send_timeout) | — | 100 ms | bound on one blocking send (unix transport) |
//! | [`flush_timeout(d)`](Builder::flush_timeout) | — | 2 s | bound on `flush()` and on the guard's drop |
//! | [`strict(b)`](Builder::strict) | `FASTSYSLOG_STRICT` (`1`/`0`) | `false` | fail at start-up, naming the path, when the socket cannot be reached (otherwise one stderr line says so) |
//! | [`stderr(b)`](Builder::stderr) | `FASTSYSLOG_STDERR` (`1`/`0`) | `false` | also write each record to stderr as one human-readable line (time, level, target, message, fields), like `LOG_PERROR` |
//! | [`target_field(b)`](Builder::target_field) | `FASTSYSLOG_TARGET_FIELD` | `false` | put `target=<target>` first in every record's fields (opt-in: the file often says it already) |
//!
//! With the `background` feature, [`queue_capacity(lane, n)`](Builder::queue_capacity) (default
//! 4096 for [`Lane::Error`], 65536 for [`Lane::Bulk`]), [`queue_bytes(lane, n)`](Builder::queue_bytes)
//! (default 8 MiB and 64 MiB) and [`overflow(lane, policy)`](Builder::overflow)
//! (default [`Overflow::BlockFor`]`(10 ms)` and [`Overflow::Drop`]) shape the background writer;
//! `FASTSYSLOG_ERROR_CAPACITY`, `FASTSYSLOG_BULK_CAPACITY`, `FASTSYSLOG_ERROR_OVERFLOW` and
//! `FASTSYSLOG_BULK_OVERFLOW` set them from the environment. An empty variable counts as unset;
//! [`Builder::apply_env`] applies the environment over the code's own settings (the environment wins).
//!
//! An empty environment variable counts as unset. A directive the gate cannot use (an
//! `EnvFilter` span filter such as `[req{method=GET}]=debug`, a misspelt level) is skipped and
//! reported in one line on stderr, so a `RUST_LOG` that `env_logger` or `EnvFilter` accept never
//! fails start-up. At runtime, [`Handle::set_filter`] replaces the directives at once (the
//! `reload` example does it on SIGHUP); [`handle()`] reaches the global logger's.
//! [`Handle::set_rate_limits`], [`Handle::set_sampling`] and [`Handle::set_backtrace`] change the
//! log volume rules the same way, each in its variable's syntax (`FASTSYSLOG_RATELIMIT`,
//! `FASTSYSLOG_SAMPLE`, `FASTSYSLOG_BACKTRACE`); an invalid value is an error and changes nothing.
//!
//! Invalid values are reported by `build()`/`init()` as an [`Error`] that names the variable or
//! setting and the value (`invalid FASTSYSLOG_FORMAT: unknown format "yaml" (expected logfmt, json
//! or rfc5424)`). [`Format`], [`Mode`], `Overflow`, [`Facility`] and [`Severity`] parse from the
//! strings the table shows, each with its own error type (`ParseFormatError`, `ParseModeError`,
//! `ParseOverflowError`, [`ParseFacilityError`], [`ParseSeverityError`]).
//!
//! ```
//! use fastsyslog::{Builder, ErrorKind, Format, Mode};
//!
//! assert_eq!("json".parse::<Format>().ok(), Some(Format::Json));
//! assert_eq!("sync".parse::<Mode>().ok(), Some(Mode::Sync));
//!
//! # #[cfg(feature = "log")] {
//! std::env::set_var("FASTSYSLOG_FORMAT", "yaml");
//! let err = Builder::from_env().build().unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::InvalidConfig);
//! assert!(err.to_string().contains("FASTSYSLOG_FORMAT"), "{err}");
//! # }
//! ```
//!
//! # Levels and facilities
//!
//! | `log`/`tracing` level | default severity | [`SeverityMapping::journald()`] | default facility |
//! |---|---|---|---|
//! | `ERROR` | `err` (3) | `err` (3) | `local1` |
//! | `WARN` | `warning` (4) | `warning` (4) | `local1` |
//! | `INFO` | `info` (6) | `notice` (5) | `local1`, or `local0` for target `access` |
//! | `DEBUG` | `debug` (7) | `info` (6) | `local1` |
//! | `TRACE` | `debug` (7) | `debug` (7) | `local1` |
//!
//! Routing rules ([`Rule`]) are tried in order and the first match wins; a record that matches none
//! goes to the default facility. A rule matches ([`Match`]) on a target prefix (`access` matches
//! `access` and `access::http`, not `accessory`), on a level (`Match::Level(Warn)` matches `WARN` and
//! `ERROR`), or on a field (`Match::Field("access")` matches a record carrying `access = true`).
//! The facility is OR'd into every record's priority, so one process writes several facilities,
//! and nothing depends on the process-global facility of `openlog` (another library may call
//! `openlog` too).
//!
//! ```
//! # #[cfg(all(feature = "log", feature = "testing", unix))] {
//! use std::time::Duration;
//! use fastsyslog::testing::Receiver;
//! use fastsyslog::{Builder, Facility, Match, Mode, Severity, SeverityMapping};
//! use log::Log;
//!
//! let receiver = Receiver::bind()?;
//! let (logger, _guard) = Builder::new()
//!     .socket(receiver.path())
//!     .mode(Mode::Sync)
//!     .clear_routes()
//!     .route(Match::Level(log::Level::Warn), Facility::Local2) // warnings and errors first
//!     .route(Match::Target("access".into()), Facility::Local0)
//!     .default_facility(Facility::Local1)
//!     .severity_mapping(SeverityMapping { info: Severity::Notice, ..SeverityMapping::new() })
//!     .build()?;
//! let record = |target, level| {
//!     logger.log(&log::Record::builder().target(target).level(level).args(format_args!("x")).build())
//! };
//! record("access", log::Level::Error);
//! record("access", log::Level::Info);
//! record("db", log::Level::Info);
//!
//! let got: Vec<_> = receiver
//!     .collect(3, Duration::from_secs(5))
//!     .into_iter()
//!     .map(|m| (m.facility.unwrap(), m.severity.unwrap()))
//!     .collect();
//! assert_eq!(got, [
//!     (Facility::Local2, Severity::Error),  // the level rule comes first
//!     (Facility::Local0, Severity::Notice), // then the target rule
//!     (Facility::Local1, Severity::Notice), // then the default facility
//! ]);
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Routing recipes: the daemon's side
//!
//! The daemon's routing must match the application's exactly: every facility the logger sends to
//! needs a file, and the daemon must take the logger's largest message, parse the header it writes,
//! and must not throttle it. So the builder that configures the logger also writes the daemon's
//! configuration: [`Builder::rsyslog_config`], [`Builder::syslog_ng_config`], or
//! [`Builder::daemon_config`] for the [`DaemonConfig`] (its [`files()`](DaemonConfig::files) list
//! which facility lands in which file). Each facility gets one file: the `access` rule's facility →
//! `access.log`, the default facility → `app.log`, any further rule's facility → a file named for
//! the rule (`warn.log`, `audit.log`). On the system socket the snippets match the program name as
//! well as the facility, so several applications' snippets and foreign senders coexist.
//!
//! ```
//! use fastsyslog::{Builder, Facility, Match};
//!
//! let builder = Builder::new().ident("web").route(Match::Target("audit".into()), Facility::Local2);
//! let files: Vec<_> = builder
//!     .daemon_config("/var/log/web")?
//!     .files()
//!     .into_iter()
//!     .map(|(facility, path)| (facility, path.display().to_string()))
//!     .collect();
//! assert_eq!(files, [
//!     (Facility::Local0, "/var/log/web/access.log".to_owned()),
//!     (Facility::Local2, "/var/log/web/audit.log".to_owned()),
//!     (Facility::Local1, "/var/log/web/app.log".to_owned()),
//! ]);
//!
//! let rsyslog = builder.rsyslog_config("/var/log/web")?;
//! assert!(rsyslog.contains(r#"if $programname == "web" and prifilt("local0.*") then {"#));
//! assert!(builder.syslog_ng_config("/var/log/web")?.contains("facility(local0)"));
//! # Ok::<(), fastsyslog::Error>(())
//! ```
//!
//! The repository's `fastsyslog-config` command does the same from the command line, reading the
//! same environment variables as the application's logger (it builds without the test and bench
//! dependencies); an application with routes in its code prints its own config (the `print_config`
//! example, `--print-rsyslog-config`):
//!
//! ```text
//! cargo install --path fastsyslog-config
//! FASTSYSLOG_IDENT=web fastsyslog-config rsyslog   --dir /var/log/web > /etc/rsyslog.d/30-web.conf
//! FASTSYSLOG_IDENT=web fastsyslog-config syslog-ng --dir /var/log/web > /etc/syslog-ng/conf.d/web.conf
//! rsyslogd -N1                  # or: syslog-ng --syntax-only
//! ```
//!
//! For the defaults (libc transport through `/dev/log`, logfmt, 8096 bytes) and ident `app` the
//! rsyslog snippet is:
//!
//! ```text
//! template(name="fastsyslog_app" type="string"
//!          string="%timereported:::date-rfc3339% %hostname% %syslogseverity-text% %app-name%[%procid%]:%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%\n")
//!
//! if $programname == "app" and prifilt("local0.*") then {
//!     action(type="omfile" file="/var/log/app/access.log" template="fastsyslog_app")
//!     stop
//! }
//! if $programname == "app" and prifilt("local1.*") then {
//!     action(type="omfile" file="/var/log/app/app.log" template="fastsyslog_app")
//!     stop
//! }
//! ```
//!
//! and the syslog-ng one (`s_src` is the `system()` source of Debian's `syslog-ng.conf`; other
//! distributions call it `s_sys` or `src`):
//!
//! ```text
//! template t_fastsyslog_app { template("${ISODATE} ${HOST} ${LEVEL} ${PROGRAM}[${PID}]: ${MSG}\n"); };
//!
//! filter f_fastsyslog_app_local0 { facility(local0) and program("app" type(string)); };
//! destination d_fastsyslog_app_local0 { file("/var/log/app/access.log" create-dirs(yes) template(t_fastsyslog_app)); };
//! log { source(s_src); filter(f_fastsyslog_app_local0); destination(d_fastsyslog_app_local0); flags(final); };
//! # ... the same for local1 -> app.log
//! ```
//!
//! Both write `TIMESTAMP HOST SEVERITY ident[pid]: MESSAGE key=value ...` lines, and stop there (`stop`,
//! `flags(final)`) so the records are not also copied into `/var/log/syslog`. What else the
//! generated configuration says, depending on the builder:
//!
//! | builder | rsyslog | syslog-ng |
//! |---|---|---|
//! | `socket(path)` other than `/dev/log` | its own `imuxsock` input on `path`, bound to its own ruleset, `RateLimit.Interval="0"` | its own `unix-dgram(path)` source |
//! | `stream_socket(path)` | `module(load="imptcp")` and an `imptcp` input on `path` (`SupportOctetCountedFraming="on"`), bound to its own ruleset | its own `unix-stream(path)` source (one record per line: use [`StreamFraming::NonTransparent`]) |
//! | no socket / `/dev/log` | routes the system socket by facility and program name; keep `SysSock.RateLimit.Interval="0"` (rsyslog's default) in `rsyslog.conf` | reads `s_src` |
//! | `max_message_size` > 8096 | `global(maxMessageSize=…)` (rsyslog wants it before any input, and only once) | `log-msg-size(…)` (default 65536) |
//! | `Format::Rfc5424` / `Header::Rfc5424` | `UseSpecialParser="off"` (RFC 5424 parser) and `IgnoreTimestamp="off"`; STRUCTURED-DATA kept in the file | `flags(syslog-protocol)`; `${SDATA}` kept (syslog-ng appends its own `[meta sequenceId=…]`) |
//! | `Format::Json` | `mmjsonparse` (cookie `@cee:`); the file line ends with the parsed object | `json-parser(marker("@cee:"))`; the object written as the app sent it |
//!
//! A dedicated socket (`FASTSYSLOG_SOCKET=/run/web/log.sock`) is the better setup: the crate's
//! records get their own input and rate-limit setting, and nothing else on the host writes into
//! their files. For forwarding from many hosts to a central collector over RELP (what is lost and
//! what may be duplicated when a tier crashes), see `RELIABILITY.md` in the crate's repository.
//!
//! # Message formats
//!
//! One record is one syslog message. The body is the message followed by the record's key-values
//! (`log`'s kv API, or a `tracing` event's fields), in one of three [`Format`]s:
//!
//! | format | body |
//! |---|---|
//! | `logfmt` (default) | `GET /a status=200 agent="curl 8.1" path=/a` |
//! | `json` | `@cee: {"msg":"GET /a","status":200,"agent":"curl 8.1"}` — exactly one JSON object and nothing after it, for rsyslog `mmjsonparse` |
//! | `rfc5424` | `<134>1 2026-11-22T20:34:36.123456+00:00 host web 4242 - [fields@32473 status="200" agent="curl 8.1"] GET /a` |
//!
//! With the unix transport the crate writes the header itself: RFC 3164 byte-compatible with
//! glibc's (`<PRI>Mmm dd hh:mm:ss ident[pid]: `, local time) or RFC 5424 ([`Header`]). With the libc
//! transport glibc writes the RFC 3164 header. For RFC 3164 the seconds come from the coarse
//! real-time clock (`CLOCK_REALTIME_COARSE`, what `time(2)` reads), which stands still between
//! timer ticks, so a record logged in the first tick of a second may carry the second before. RFC
//! 5424 headers read the precise clock (they carry microseconds).
//!
//! Rules applied to every record (message hygiene; defaults, not options):
//!
//! - **CR, LF and other control characters are escaped** (`\n`, `\r`, `\t`, `\u001b` …), as are
//!   DEL, the C1 controls and U+2028/U+2029, so an attacker-controlled path cannot forge a second
//!   log line or send terminal escape sequences to whoever reads the file. The same rule holds in
//!   every format and place (a line feed is always `\n`).
//! - **Bidi controls and invisible characters are escaped** (U+061C, U+200B–U+200F,
//!   U+202A–U+202E, U+2066–U+2069, U+FEFF as `\u202e` …), so a viewer cannot show other text
//!   than the line holds; in keys and the ident they become `_`.
//! - **A logfmt message cannot pass for fields**: one that holds `=`, `"` or `\` is quoted and
//!   escaped like a value (`"retry x=1" status=500`), so a logfmt parser reads exactly the
//!   record's fields; any other message is written as it is.
//! - **An interior NUL never cuts the message**: it is written as `\u0000`.
//! - **`%` arrives verbatim**: the libc transport always calls `syslog(pri, "%s", msg)`.
//! - **Messages over the limit** (8096 bytes by default, what rsyslog keeps by default; header
//!   included) are cut on a UTF-8 character boundary, never inside an escape sequence, with the
//!   syntax kept valid, and marked: logfmt and RFC 5424 bodies end with ` [truncated]`, a JSON body
//!   gets `"truncated":true` as its last key. Each cut is counted in [`Stats::truncated`]. A
//!   string value too large for the room left keeps its key and is cut inside quotes right
//!   before the marker (`k="abc" [truncated]`); every other kept `key=value` pair is whole. With
//!   the libc transport the limit counts glibc's header exactly, so only a record over it is cut.
//! - logfmt values are written bare when they hold no space, `=`, `"`, `\` or control character,
//!   and quoted otherwise, with `\"` `\\` `\n` `\r` `\t` and `\uXXXX` escapes; keys have those
//!   characters replaced by `_`. JSON strings are escaped per RFC 8259; a user key named `msg`,
//!   `spans` or `truncated` is written as `_msg` (and so on). RFC 5424 PARAM-NAMEs are cut to 32
//!   printable ASCII characters and PARAM-VALUEs escape `"`, `\` and `]`.
//!
//! ```
//! # #[cfg(all(feature = "log", feature = "testing", unix))] {
//! use std::time::Duration;
//! use fastsyslog::testing::Receiver;
//! use fastsyslog::{Builder, Format, Mode};
//! use log::Log;
//!
//! let receiver = Receiver::bind()?;
//! let (logger, _guard) = Builder::new()
//!     .socket(receiver.path())
//!     .format(Format::Json)
//!     .mode(Mode::Sync)
//!     .build()?;
//! logger.log(
//!     &log::Record::builder()
//!         .level(log::Level::Warn)
//!         .args(format_args!("bad path /a\nforged line"))
//!         .build(),
//! );
//!
//! let msg = receiver.recv_timeout(Duration::from_secs(5)).expect("the record arrives");
//! assert_eq!(msg.body, r#"@cee: {"msg":"bad path /a\nforged line"}"#); // one line, escaped
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The background writer
//!
//! In [`Mode::Background`] (the default with the `background` feature) the caller copies a record's
//! message and key-values (formatting `Display`/`Debug` values) into a reused buffer and pushes it
//! onto its thread's own queue (the lane's bound holds for the whole process); one writer thread
//! renders it, with the bytes sync mode would send, and owns the transport. What users must know:
//!
//! - **Keep the guard.** Each built logger has one [`WorkerGuard`], returned by `init()` and the
//!   `build*()` methods; it must live as long as the program logs: dropping it flushes what is
//!   queued (bounded by the flush timeout) and stops the writer. Records logged after that are
//!   dropped and counted ([`DropReason::Shutdown`]), never blocked. For stats, flush and reload
//!   elsewhere take a [`Handle`]: dropping one never stops anything.
//! - **Exit.** A program that ends with `std::process::exit`, or returns from `main` without
//!   dropping the guard, still delivers what it queued: an `atexit` hook flushes every live
//!   logger within the flush timeout, in forked children too. `_exit(2)`, `abort` and fatal
//!   signals run no hook; records still queued then are lost.
//! - **Two lanes.** WARN and ERROR records travel in the error lane, everything else (access, info,
//!   debug) in the bulk lane, each a bounded queue with its own capacity, byte budget and overflow
//!   policy, so a flood of access records can never make an error record wait for room or be
//!   dropped.
//! - **Program order.** Records from one thread arrive in the order that thread logged them,
//!   whichever lanes they travel in: each thread queues into its own queues, numbers its
//!   records, and the writer merges its two lanes by that number. An error record waits only for
//!   the bulk records its own thread logged before it; it goes ahead of other threads' queued bulk
//!   records.
//! - **Daemon absent or restarting.** Records wait in their lane and go out once the daemon is
//!   back (the writer retries every 20 ms); a full lane meets its overflow policy as usual. A
//!   short restart loses nothing.
//! - **Overflow policies** ([`Overflow`]): `Block` (lossless: the caller waits for room, and the
//!   writer wakes the waiting callers once a quarter of the lane is free), `BlockFor(d)` (waits at
//!   most `d`, then drops), `Drop` (drops the newest record at once, before copying it, so a
//!   flooded lane costs its callers little). Every drop is counted per lane and reason.
//!
//!   | lane | default capacity | default byte budget | default policy | why |
//!   |---|---|---|---|---|
//!   | error | 4096 | 8 MiB | `BlockFor(10 ms)` | errors matter, but a hung daemon must not stall request threads for long |
//!   | bulk | 65536 | 64 MiB | `Drop` | access and debug records never stall a request; losses are counted and summarised |
//!
//!   A lane is full when either bound is reached ([`queue_bytes`](Builder::queue_bytes) sets the
//!   budget; buffers of the initial 512 bytes are bounded by the capacity alone), so the queued
//!   records hold at most about 106 MiB by default (8 + 2 MiB error, 64 + 32 MiB bulk), plus
//!   about 5 MiB of slots.
//!
//! - **Delivery latency.** The writer is not parked in a blocking `recv`, so the caller never pays
//!   for waking it: it drains what has accumulated, sends it as one batch (`sendmmsg(2)` on Linux
//!   with the unix transport), then polls with a backoff from 50 µs up to 1 ms. A record reaches the
//!   socket within about 1 ms while the writer polls. After a second without records the writer
//!   parks; the first record after that wakes it once. Callers only wake it when a lane is more than
//!   half full; a flush or shutdown wakes it too.
//! - **No allocation per record.** The caller copies into a buffer from a pool the writer hands
//!   back after each send (it keeps up to 1024 spare buffers), so a caller allocates only while
//!   the writer is further behind than that. A thread's first record allocates its queues (about
//!   9 KiB); a backlog beyond a thread's queue doubles it, and the thread keeps the larger one.
//! - **Drop summary.** After drops, once the writer has caught up, it sends one record to the error
//!   facility: `fastsyslog: dropped N records (lane, reason) since <time of the first drop>`.
//! - **Flush and shutdown.** `log::logger().flush()` and [`WorkerGuard::flush`] return once
//!   everything enqueued before them was handed to the transport, or after the flush timeout (2 s).
//!   A hung daemon never makes flush or shutdown hang past that bound; the guard prints to stderr
//!   how many records it could not deliver.
//! - **Fork.** A forked child (pre-fork servers) keeps logging with no user code: its records carry
//!   its own pid, it starts its own writer on its first record, and records queued in the parent
//!   before the fork are not sent twice. A child forked while another thread held a lock the crate
//!   needs (glibc's syslog or time-zone lock, the span table) does not deadlock: see "Fork" in
//!   `RELIABILITY.md` in the crate's repository.
//! - **Signal handlers.** The normal API is not async-signal-safe: it allocates and may take locks,
//!   so calling it from a signal handler can deadlock (the handler mallocs while the thread it
//!   interrupted holds the allocator's lock). Crash and signal handlers, and panic hooks that must
//!   get a last record out, use [`emergency::Emergency`]: a socket opened at start-up, a record
//!   built on the stack, one non-blocking `sendto(2)`.
//! - **Sync mode with the libc transport has no time bound.** glibc's `syslog(3)` blocks the caller
//!   for as long as the daemon does not read. Use the background mode, or the unix transport
//!   (`socket("/dev/log")`), which has [`send_timeout`](Builder::send_timeout).
//!
//! ```
//! # #[cfg(all(feature = "log", feature = "background", feature = "testing", unix))] {
//! use std::time::Duration;
//! use fastsyslog::testing::Receiver;
//! use fastsyslog::{Builder, Lane, Mode, Overflow};
//! use log::Log;
//!
//! let receiver = Receiver::bind()?;
//! let (logger, guard) = Builder::new()
//!     .socket(receiver.path())
//!     .mode(Mode::Background)
//!     .queue_capacity(Lane::Bulk, 1024)
//!     .overflow(Lane::Bulk, Overflow::Block) // lossless: the caller waits for room
//!     .build()?;
//! for i in 0..100 {
//!     logger.log(&log::Record::builder().level(log::Level::Info).args(format_args!("{i}")).build());
//! }
//! assert!(guard.flush()); // everything queued was handed to the socket
//! assert_eq!(guard.stats().written, 100);
//! assert_eq!(receiver.collect(100, Duration::from_secs(5)).len(), 100);
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Watching the logger itself
//!
//! The logger never logs about itself through `log`/`tracing`; it counts. [`stats()`] (or
//! [`Handle::stats`]) returns a [`Stats`] snapshot without taking a lock. Once flushed, every
//! record that passed the level gate is exactly one of `written` or `dropped_total()`.
//!
//! | field | meaning | alert when |
//! |---|---|---|
//! | `written` | records handed to the daemon's socket | it stops growing while the app serves |
//! | `dropped` / `dropped_total()` / `dropped_for(lane, reason)` | records lost, by [`Lane`] (`error`, `bulk`) and [`DropReason`] (`send_error`, `queue_full`, `timeout`, `panic`, `shutdown`) | above 0 on the `error` lane; a rising rate on `bulk` |
//! | `truncated` | records cut to `max_message_size` (marked `[truncated]`) | raise the limit (and the daemon's) if frequent |
//! | `send_errors` | records a failed send dropped, by errno ([`Stats::errno_name`]: `EPROTOTYPE` is a stream socket at the path); their sum is the `send_error` drops | any |
//! | `reconnects` | reconnections after a daemon restart | many per minute |
//! | `queue_depth`, `queue_depth_high_water` | background writer backlog | high water near the lane's capacity |
//! | `writer_blocked_ns`, `writer_stuck` | time the writer waited on the daemon; `true` once it has been trying to send for a second without a success (hung or absent daemon) | `writer_stuck` |
//!
//! Export them with your metrics (a gauge per field, scraped every few seconds) rather than logging
//! them through the same logger: when the daemon is down, a log line about it is dropped with the
//! rest. `grep 'fastsyslog: dropped' app.log` (or a daemon-side alert on that text) catches drops
//! even without metrics.
//!
//! ```no_run
//! let _guard = fastsyslog::init();
//! log::info!("hello");
//! let stats = fastsyslog::stats().expect("a logger is installed");
//! println!("written {} dropped {}", stats.written, stats.dropped_total());
//! ```
//!
//! A [`Stats`] prints as one line (`Display`) and renders as JSON ([`Stats::to_json`]) or in the
//! Prometheus text format ([`Stats::to_prometheus`]), so a health endpoint is one call. With
//! [`Builder::stats_dir`] (or `FASTSYSLOG_STATS_DIR=/dev/shm/<app>`) every process also publishes
//! its counters in a file on tmpfs that other processes read without touching it
//! ([`stats::read_dir`]): every worker of a pre-forked server, live or dead, from outside. The
//! file's format is documented in [`stats`](mod@crate::stats#the-stats-file-format).
//!
//! `written` counts records the kernel (or glibc) accepted; the daemon may still discard them (rate
//! limits, a full queue). What happens in each failure (daemon absent, restarting or hung, a bad
//! socket path, a panicking `Display` impl, fork, another library's `openlog`), and how to check
//! delivery end to end, is in `RELIABILITY.md` in the crate's repository.
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `log` | yes | [`Logger`] (`log::Log`), [`init()`], [`try_init()`], `Builder::{build, init, try_init}` |
//! | `background` | yes | the background writer ([`Mode::Background`]): per-thread queues on `crossbeam-queue`, a buffer pool on `crossbeam-channel` |
//! | `tracing` | no | [`Subscriber`] (`tracing_core::Subscriber`), [`init_tracing()`], via `tracing-core` |
//! | `layer` | no | [`Layer`] (`tracing_subscriber::Layer`), via `tracing-subscriber` |
//! | `testing` | no | [`testing::Receiver`], an embedded syslog receiver for your own tests |
//!
//! Besides those, the crate depends on `log` (with `kv`), `libc` (Unix only) and `env_filter`,
//! which parses `RUST_LOG`-style directives exactly as `env_logger` does, so the syntax users
//! already know works unchanged.
//!
//! # Platform support
//!
//! Linux with glibc is the tested platform. Other Unix systems build; `sendmmsg` batching is
//! Linux-only (elsewhere the writer sends one datagram at a time). On non-Unix platforms `build()`
//! returns [`ErrorKind::Unsupported`]; that build is not checked in CI.
//!
//! # Minimum supported Rust version
//!
//! The minimum supported Rust version is **1.74** (the `rust-version` in `Cargo.toml`; keep the
//! two in sync). It may be raised in a minor release, noted in the changelog.
//!
//! # Compared with other crates
//!
//! | | fastsyslog | `syslog` (rust-syslog) | `syslog-tracing` | `tracing-journald` | file logging (`env_logger`, `tracing-appender`) |
//! |---|---|---|---|---|---|
//! | API | `log` and `tracing` | `log` (via `BasicLogger`) and its own | `tracing` | `tracing` | `log` / `tracing` |
//! | goes to | local syslogd (unix datagram or glibc `syslog(3)`) | local or remote syslogd (unix, UDP, TCP) | glibc `syslog(3)` | journald | a file |
//! | facility per record (access/error split) | yes, routing rules | one per logger | one per subscriber | — | — |
//! | caller never waits on the daemon | background writer, bounded lanes, counted drops | no | no (glibc lock) | no | `tracing-appender` `non_blocking` |
//! | structured fields | logfmt, JSON (`@cee:`), RFC 5424 SD | no | no | journald fields | formatter-specific |
//! | drops, truncation, errors counted | yes ([`stats()`]) | no | no | no | `tracing-appender` counts drops |
#![cfg_attr(docsrs, feature(doc_cfg))]
// Without an adapter (`log` or `tracing`) nothing calls the pipeline; the types, the builder and the
// daemon-config generator still build, so this is not an error.
#![cfg_attr(not(any(feature = "log", feature = "tracing")), allow(dead_code))]

// The README's code blocks run as doc tests too. `cfg(doctest)` keeps this out of the real docs.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

mod builder;
mod clock;
mod console;
mod daemon_config;
#[cfg(unix)]
pub mod emergency;
mod error;
mod facility;
mod filter;
mod format;
mod ident;
mod logger;
mod pipeline;
mod reload;
mod route;
mod severity;
pub mod stats;
mod sys;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod tracing;
mod transport;
mod volume;
mod worker;

pub use crate::builder::{
    Builder, Mode, DEFAULT_FILTER, DEFAULT_FLUSH_TIMEOUT, DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_SEND_TIMEOUT, MESSAGE_SIZE_MAX, MESSAGE_SIZE_MIN,
};
pub use crate::daemon_config::DaemonConfig;
#[cfg(feature = "background")]
#[cfg_attr(docsrs, doc(cfg(feature = "background")))]
pub use crate::error::ParseOverflowError;
pub use crate::error::{
    Error, ErrorKind, ParseFacilityError, ParseFormatError, ParseModeError, ParseSeverityError,
};
pub use crate::facility::Facility;
pub use crate::format::{Format, Header};
pub use crate::ident::MAX_IDENT_LEN;
#[cfg(feature = "log")]
#[cfg_attr(docsrs, doc(cfg(feature = "log")))]
pub use crate::logger::{init, try_init, Logger};
pub use crate::pipeline::{handle, stats, Handle, WorkerGuard};
pub use crate::route::{Match, Rule};
pub use crate::severity::{Severity, SeverityMapping};
pub use crate::stats::{DropReason, Lane, Stats};
#[cfg(feature = "layer")]
#[cfg_attr(docsrs, doc(cfg(feature = "layer")))]
pub use crate::tracing::Layer;
#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub use crate::tracing::{init_tracing, try_init_tracing, Subscriber};
pub use crate::transport::{StreamFraming, DEFAULT_SOCKET};
#[cfg(feature = "background")]
#[cfg_attr(docsrs, doc(cfg(feature = "background")))]
pub use crate::worker::{
    Overflow, DEFAULT_BULK_OVERFLOW, DEFAULT_BULK_QUEUE_CAPACITY, DEFAULT_ERROR_OVERFLOW,
    DEFAULT_ERROR_QUEUE_CAPACITY,
};
#[cfg(feature = "background")]
#[cfg_attr(docsrs, doc(cfg(feature = "background")))]
pub use crate::worker::{DEFAULT_BULK_QUEUE_BYTES, DEFAULT_ERROR_QUEUE_BYTES, MAX_QUEUE_CAPACITY};

// The fuzz harness, only under `--cfg fuzzing` (cargo-fuzz), never in the published API.
#[cfg(fuzzing)]
pub use crate::format::{fuzzing, invariants};
