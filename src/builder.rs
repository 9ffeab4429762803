//! [`Builder`]: every setting, its default, and the environment variables that set it.

use std::env;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::console::Console;
use crate::error::{Error, ErrorKind, ParseModeError};
use crate::filter::Gate;
use crate::format::{Format, Framing, Header, Renderer};
use crate::ident::Ident;
use crate::pipeline::{self, Pipeline, Sink};
use crate::route::{Match, Router, Rule};
use crate::stats::Counters;
use crate::sys;
use crate::transport::{self, StreamFraming};
use crate::{Facility, SeverityMapping};
use std::sync::atomic::AtomicBool;

/// The default largest message, header included: 8096 bytes, the most rsyslog 8.x keeps of a
/// datagram with its default settings (measured: an 8192-byte datagram is stored cut to 8096, with
/// no mark). A record the crate cuts to this size is stored whole, `[truncated]` marker included.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 8096;
/// The smallest accepted [`Builder::max_message_size`].
pub const MESSAGE_SIZE_MIN: usize = 64;
/// The largest accepted [`Builder::max_message_size`] (128 KiB; larger datagrams need raised
/// socket buffers on both ends).
pub const MESSAGE_SIZE_MAX: usize = 128 * 1024;
/// The default bound on one blocking send in sync mode with the unix transport.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_millis(100);
/// The default bound on `flush()` and on the guard's drop.
pub const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(2);
/// The default directives when neither `FASTSYSLOG_LOG` nor `RUST_LOG` is set and the application
/// gave no [`Builder::default_filter`].
pub const DEFAULT_FILTER: &str = "info";

/// What [`Builder::check`] found valid: the settings `build` and `daemon_config` go on with.
#[derive(Debug)]
pub(crate) struct Checked {
    /// The ident, its rules applied.
    pub(crate) ident: Ident,
    /// The parsed directives.
    pub(crate) filter: Gate,
    /// What the transport writes.
    pub(crate) framing: Framing,
}

/// Whether records are sent on the caller's thread or by a background writer.
///
/// # Examples
///
/// ```
/// use fastsyslog::Mode;
/// assert_eq!("background".parse::<Mode>(), Ok(Mode::Background));
/// assert_eq!("sync".parse::<Mode>(), Ok(Mode::Sync));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Render and send on the caller's thread. A slow daemon slows the caller, up to the send
    /// timeout per record.
    Sync,
    /// Render on the caller, then queue the bytes to one writer thread that owns the transport
    /// (needs the `background` feature).
    Background,
}

impl std::str::FromStr for Mode {
    type Err = ParseModeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sync" => Ok(Mode::Sync),
            "background" | "async" => Ok(Mode::Background),
            _ => Err(ParseModeError::new(s)),
        }
    }
}

impl Default for Mode {
    /// `Background` when the `background` feature is on (the default), else `Sync`.
    fn default() -> Self {
        if cfg!(feature = "background") {
            Mode::Background
        } else {
            Mode::Sync
        }
    }
}

/// Configures and builds a logger.
///
/// | setting | default | environment ([`Builder::from_env`]) |
/// |---|---|---|
/// | [`ident`](Builder::ident) | the program's file name | `FASTSYSLOG_IDENT` |
/// | transport | libc `syslog(3)`; unix datagrams when a [`socket`](Builder::socket) is set; a stream with [`stream_socket`](Builder::stream_socket) | `FASTSYSLOG_SOCKET` (`PATH` or `unix:PATH` for datagrams, `stream:PATH`) |
/// | [`format`](Builder::format) | [`Format::Logfmt`] | `FASTSYSLOG_FORMAT` (`logfmt`, `json`, `rfc5424`) |
/// | [`header`](Builder::header) | [`Header::Rfc3164`] (`Rfc5424` with `Format::Rfc5424`) | `FASTSYSLOG_HEADER` (`rfc3164`, `rfc5424`) |
/// | [`filter`](Builder::filter) | [`default_filter`](Builder::default_filter), `info` unless set | `FASTSYSLOG_LOG`, else `RUST_LOG` (not read by a [`Layer`](crate::Layer)) |
/// | [`mode`](Builder::mode) | [`Mode::Background`] (with the `background` feature) | `FASTSYSLOG_MODE` (`sync`, `background`) |
/// | routing rules ([`route`](Builder::route)) | target `access` → `local0` | `FASTSYSLOG_ROUTES` (`access=local0,warn=local2,*=local1`, see [`from_env`](Builder::from_env)) |
/// | [`access_facility`](Builder::access_facility) | `local0` | `FASTSYSLOG_ACCESS_FACILITY` |
/// | [`default_facility`](Builder::default_facility) | `local1` | `FASTSYSLOG_FACILITY` |
/// | [`severity_mapping`](Builder::severity_mapping) | [`SeverityMapping::new`] | — |
/// | [`max_message_size`](Builder::max_message_size) | 8096 bytes | `FASTSYSLOG_MAX_MESSAGE_SIZE` |
/// | [`send_timeout`](Builder::send_timeout) | 100 ms | — |
/// | [`flush_timeout`](Builder::flush_timeout) | 2 s | — |
/// | [`strict`](Builder::strict) | `false` | `FASTSYSLOG_STRICT` (`1`/`true`) |
/// | [`stderr`](Builder::stderr) | `false` | `FASTSYSLOG_STDERR` (`1`/`true`) |
/// | [`target_field`](Builder::target_field) | `false` | `FASTSYSLOG_TARGET_FIELD` (`true`, `false`) |
/// | [`rate_limit`](Builder::rate_limit) | none | `FASTSYSLOG_RATELIMIT` (`warn=100/1s,db::pool=10/1s`) |
/// | [`sample`](Builder::sample) | none | `FASTSYSLOG_SAMPLE` (`access=100`) |
/// | [`backtrace`](Builder::backtrace) | none | `FASTSYSLOG_BACKTRACE` (`db=debug:64`) |
/// | [`stats_dir`](Builder::stats_dir) | none (no stats file) | `FASTSYSLOG_STATS_DIR` (an absolute path) |
/// | `queue_capacity(lane, n)` (feature `background`) | 4096 (error lane), 65536 (bulk lane) | `FASTSYSLOG_ERROR_CAPACITY`, `FASTSYSLOG_BULK_CAPACITY` |
/// | `overflow(lane, policy)` (feature `background`) | `BlockFor(10 ms)` (error), `Drop` (bulk) | `FASTSYSLOG_ERROR_OVERFLOW`, `FASTSYSLOG_BULK_OVERFLOW` (`drop`, `block`, `block_for=10ms`) |
///
/// An empty variable counts as unset. [`from_env`](Builder::from_env) reads the environment first,
/// so setters called after it win; [`apply_env`](Builder::apply_env) reads it after the code's own
/// settings, so the environment wins.
///
/// # Examples
///
/// ```no_run
/// use fastsyslog::{Builder, Facility, Format};
///
/// let _guard = Builder::from_env()
///     .ident("my-server")
///     .access_facility(Facility::Local2)
///     .default_facility(Facility::Local3)
///     .format(Format::Json)
///     .init();
/// log::info!(target: "access", "GET /");
/// ```
#[derive(Debug)]
pub struct Builder {
    pub(crate) ident: Option<String>,
    pub(crate) socket: Option<PathBuf>,
    /// Whether `socket` is a stream socket ([`Builder::stream_socket`]).
    pub(crate) stream: bool,
    /// How a stream socket's records are framed.
    pub(crate) stream_framing: StreamFraming,
    pub(crate) format: Format,
    pub(crate) header: Option<Header>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) default_facility: Facility,
    pub(crate) mapping: SeverityMapping,
    /// Directives asked for: [`Builder::filter`] or `FASTSYSLOG_LOG`.
    pub(crate) filter: Option<String>,
    /// `RUST_LOG`, used when `filter` is unset (not by the layer).
    pub(crate) rust_log: Option<String>,
    /// The application's default, used when neither of the above is set.
    pub(crate) default_filter: String,
    pub(crate) stderr: bool,
    pub(crate) max_message_size: usize,
    pub(crate) send_timeout: Option<Duration>,
    pub(crate) flush_timeout: Duration,
    pub(crate) strict: bool,
    pub(crate) target_field: bool,
    pub(crate) mode: Mode,
    #[cfg(feature = "background")]
    pub(crate) worker: crate::worker::Config,
    pub(crate) volume: crate::volume::Config,
    /// Where the stats file goes ([`Builder::stats_dir`]); none by default.
    pub(crate) stats_dir: Option<PathBuf>,
    /// The first invalid environment value, reported by `build`.
    pub(crate) env_error: Option<Error>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

// === impl Builder ===

impl Builder {
    /// A builder with the defaults in the table above, ignoring the environment.
    ///
    /// # Examples
    ///
    /// ```
    /// let logger = fastsyslog::Builder::new().mode(fastsyslog::Mode::Sync).build();
    /// assert!(logger.is_ok());
    /// ```
    pub fn new() -> Self {
        Builder {
            ident: None,
            socket: None,
            stream: false,
            stream_framing: StreamFraming::OctetCounting,
            format: Format::Logfmt,
            header: None,
            rules: vec![Rule::new(Match::Target("access".into()), Facility::Local0)],
            default_facility: Facility::Local1,
            mapping: SeverityMapping::new(),
            filter: None,
            rust_log: None,
            default_filter: DEFAULT_FILTER.to_owned(),
            stderr: false,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            send_timeout: Some(DEFAULT_SEND_TIMEOUT),
            flush_timeout: DEFAULT_FLUSH_TIMEOUT,
            strict: false,
            target_field: false,
            mode: Mode::default(),
            #[cfg(feature = "background")]
            worker: crate::worker::Config::default(),
            volume: crate::volume::Config::default(),
            stats_dir: None,
            env_error: None,
        }
    }

    /// A builder with the defaults, then the environment applied: `FASTSYSLOG_SOCKET`,
    /// `FASTSYSLOG_FORMAT`, `FASTSYSLOG_IDENT`, `FASTSYSLOG_MODE`, `FASTSYSLOG_LOG` (falling back
    /// to `RUST_LOG`) for the directives, and the deployment settings in the table on [`Builder`].
    /// Setters called afterwards override the environment; to let the environment override the
    /// code's settings instead, call [`apply_env`](Builder::apply_env) last. An empty variable
    /// counts as unset.
    ///
    /// `FASTSYSLOG_ROUTES` replaces the routing rules: comma-separated `key=facility` pairs, tried
    /// in order. A key is a level (`error`, `warn`, `info`, `debug`, `trace`: that level or more
    /// severe, [`Match::Level`]), `field:NAME` ([`Match::Field`]), `target:NAME` or any other name
    /// (a target and its children, [`Match::Target`]), or `*` for the default facility.
    /// `FASTSYSLOG_ACCESS_FACILITY` and `FASTSYSLOG_FACILITY` are applied after it, so they win
    /// over its `access=` and `*=` entries.
    ///
    /// # Errors
    ///
    /// An invalid value is reported by [`build`](Builder::build) as [`ErrorKind::InvalidConfig`],
    /// naming the variable and the value.
    ///
    /// # Examples
    ///
    /// ```
    /// std::env::set_var("FASTSYSLOG_FORMAT", "yaml");
    /// let err = fastsyslog::Builder::from_env().build().unwrap_err();
    /// assert_eq!(err.kind(), fastsyslog::ErrorKind::InvalidConfig);
    /// assert!(err.to_string().contains("FASTSYSLOG_FORMAT"), "{err}");
    /// # std::env::remove_var("FASTSYSLOG_FORMAT");
    /// ```
    pub fn from_env() -> Self {
        Builder::new().apply_env()
    }

    /// Applies the environment on top of this builder's settings: a variable that is set wins over
    /// what the code set before; setters called afterwards win over the environment. This is how
    /// an application sets its own defaults (its routes, its ident) and still lets the operator
    /// change them per host. The variables are those of [`from_env`](Builder::from_env).
    ///
    /// # Errors
    ///
    /// As [`from_env`](Builder::from_env): an invalid value is reported by
    /// [`build`](Builder::build) (and by [`rsyslog_config`](Builder::rsyslog_config)), naming the
    /// variable and the value.
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::{Builder, Facility};
    ///
    /// std::env::set_var("FASTSYSLOG_FACILITY", "local3");
    /// let config = Builder::new()
    ///     .ident("web")
    ///     .default_facility(Facility::Local5) // the code's default ...
    ///     .apply_env()                        // ... which the operator's variable overrides
    ///     .daemon_config("/var/log/web")
    ///     .unwrap();
    /// # std::env::remove_var("FASTSYSLOG_FACILITY");
    /// assert_eq!(config.files()[1].0, Facility::Local3);
    /// ```
    pub fn apply_env(self) -> Self {
        self.with_env(|name| env::var_os(name))
    }

    /// Applies settings from `lookup` (the environment in [`from_env`](Builder::from_env)).
    pub(crate) fn with_env(mut self, lookup: impl Fn(&str) -> Option<std::ffi::OsString>) -> Self {
        // An empty value counts as unset, for every variable (`RUST_LOG= cargo run`).
        let lookup = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let text = |name: &str, value: &OsStr| -> Result<String, Error> {
            value.to_str().map(str::to_owned).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidConfig,
                    format!("{name}={value:?} is not valid UTF-8"),
                )
            })
        };
        let flag = |name: &str, value: &OsStr| -> Result<bool, Error> {
            let value = text(name, value)?;
            match value.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(Error::new(
                    ErrorKind::InvalidConfig,
                    format!("invalid {name}: {value:?} is not 1/true/yes/on or 0/false/no/off"),
                )),
            }
        };
        let apply = |builder: &mut Builder, name: &str| -> Result<(), Error> {
            // An empty value counts as unset.
            let Some(value) = lookup(name).filter(|v| !v.is_empty()) else {
                return Ok(());
            };
            let invalid = |why: String| {
                Error::new(ErrorKind::InvalidConfig, format!("invalid {name}: {why}"))
            };
            match name {
                "FASTSYSLOG_SOCKET" => {
                    let (path, stream) = parse_socket(value).map_err(invalid)?;
                    builder.socket = Some(path);
                    builder.stream = stream.is_some();
                    if let Some(framing) = stream {
                        builder.stream_framing = framing;
                    }
                }
                "FASTSYSLOG_FORMAT" => {
                    builder.format = text(name, &value)?
                        .parse::<Format>()
                        .map_err(|e| invalid(e.to_string()))?
                }
                "FASTSYSLOG_IDENT" => builder.ident = Some(text(name, &value)?),
                "FASTSYSLOG_MODE" => {
                    builder.mode = text(name, &value)?
                        .parse()
                        .map_err(|e: ParseModeError| invalid(e.to_string()))?
                }
                "FASTSYSLOG_LOG" => builder.filter = Some(text(name, &value)?),
                "FASTSYSLOG_STATS_DIR" => {
                    let dir = PathBuf::from(&value);
                    if !dir.is_absolute() {
                        return Err(invalid(format!("{value:?}: expected an absolute path")));
                    }
                    builder.stats_dir = Some(dir);
                }
                "RUST_LOG" => builder.rust_log = Some(text(name, &value)?),
                "FASTSYSLOG_STRICT" => builder.strict = flag(name, &value)?,
                "FASTSYSLOG_STDERR" => builder.stderr = flag(name, &value)?,
                // The variable's name and the whole value are in the error already.
                "FASTSYSLOG_RATELIMIT" | "FASTSYSLOG_SAMPLE" | "FASTSYSLOG_BACKTRACE" => builder
                    .set_volume(name, &text(name, &value)?)
                    .map_err(|e| Error::new(ErrorKind::InvalidConfig, e))?,
                "FASTSYSLOG_ROUTES" => {
                    let (rules, default) = parse_routes(&text(name, &value)?).map_err(invalid)?;
                    builder.rules = rules;
                    if let Some(default) = default {
                        builder.default_facility = default;
                    }
                }
                "FASTSYSLOG_ACCESS_FACILITY" => {
                    let facility = text(name, &value)?
                        .parse::<Facility>()
                        .map_err(|e| invalid(e.to_string()))?;
                    *builder = std::mem::take(builder).access_facility(facility);
                }
                "FASTSYSLOG_FACILITY" => {
                    builder.default_facility = text(name, &value)?
                        .parse::<Facility>()
                        .map_err(|e| invalid(e.to_string()))?
                }
                "FASTSYSLOG_MAX_MESSAGE_SIZE" => {
                    let v = text(name, &value)?;
                    builder.max_message_size = v
                        .trim()
                        .parse()
                        .ok()
                        .filter(|n| (MESSAGE_SIZE_MIN..=MESSAGE_SIZE_MAX).contains(n))
                        .ok_or_else(|| {
                            invalid(format!(
                                "{v:?}: expected {MESSAGE_SIZE_MIN} to {MESSAGE_SIZE_MAX} bytes"
                            ))
                        })?
                }
                "FASTSYSLOG_HEADER" => {
                    let v = text(name, &value)?;
                    builder.header = Some(match v.trim().to_ascii_lowercase().as_str() {
                        "rfc3164" | "3164" => Header::Rfc3164,
                        "rfc5424" | "5424" => Header::Rfc5424,
                        _ => return Err(invalid(format!("{v:?}: expected rfc3164 or rfc5424"))),
                    })
                }
                "FASTSYSLOG_TARGET_FIELD" => {
                    let v = text(name, &value)?;
                    builder.target_field = match v.trim().to_ascii_lowercase().as_str() {
                        "1" | "true" | "yes" | "on" => true,
                        "0" | "false" | "no" | "off" => false,
                        _ => return Err(invalid(format!("{v:?}: expected true or false"))),
                    }
                }
                "FASTSYSLOG_ERROR_CAPACITY"
                | "FASTSYSLOG_BULK_CAPACITY"
                | "FASTSYSLOG_ERROR_OVERFLOW"
                | "FASTSYSLOG_BULK_OVERFLOW" => builder
                    .set_lane(name, &text(name, &value)?)
                    .map_err(invalid)?,
                _ => {}
            }
            Ok(())
        };
        let names = [
            "FASTSYSLOG_SOCKET",
            "FASTSYSLOG_FORMAT",
            "FASTSYSLOG_IDENT",
            "FASTSYSLOG_MODE",
            // Routes first: the two facility variables override its `access=` and `*=`.
            "FASTSYSLOG_ROUTES",
            "FASTSYSLOG_ACCESS_FACILITY",
            "FASTSYSLOG_FACILITY",
            "FASTSYSLOG_MAX_MESSAGE_SIZE",
            "FASTSYSLOG_HEADER",
            "FASTSYSLOG_TARGET_FIELD",
            "FASTSYSLOG_ERROR_CAPACITY",
            "FASTSYSLOG_BULK_CAPACITY",
            "FASTSYSLOG_ERROR_OVERFLOW",
            "FASTSYSLOG_BULK_OVERFLOW",
            "FASTSYSLOG_STRICT",
            "FASTSYSLOG_STDERR",
            "FASTSYSLOG_RATELIMIT",
            "FASTSYSLOG_SAMPLE",
            "FASTSYSLOG_BACKTRACE",
            "FASTSYSLOG_STATS_DIR",
            "FASTSYSLOG_LOG",
            "RUST_LOG",
        ];
        for name in names {
            if let Err(e) = apply(&mut self, name) {
                self.env_error.get_or_insert(e);
            }
        }
        self
    }

    /// The name every message carries (`ident[pid]:`). Default: the program's file name, as glibc
    /// and `logger` use.
    ///
    /// Only printable ASCII except space, `:`, `[`, `]` and `/` is kept (what rsyslog and syslog-ng
    /// both keep as the program name); each other character becomes `_`, and the ident is cut to
    /// [`MAX_IDENT_LEN`](crate::MAX_IDENT_LEN) characters.
    ///
    /// # Errors
    ///
    /// An empty ident, or one with a NUL byte, makes [`build`](Builder::build) return
    /// [`ErrorKind::InvalidIdent`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Mode};
    /// assert!(Builder::new().ident("web").mode(Mode::Sync).build().is_ok());
    /// assert!(Builder::new().ident("a\0b").build().is_err());
    /// ```
    pub fn ident(mut self, ident: impl Into<String>) -> Self {
        self.ident = Some(ident.into());
        self
    }

    /// Use the unix transport, sending datagrams to `path` (for example `/dev/log`, or an rsyslog
    /// `imuxsock` socket). Without this the libc `syslog(3)` transport is used.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Mode};
    /// let logger = Builder::new().socket("/nonexistent/log").mode(Mode::Sync).build();
    /// assert!(logger.is_ok(), "not strict: a missing socket is retried later");
    /// ```
    pub fn socket(mut self, path: impl AsRef<Path>) -> Self {
        self.socket = Some(path.as_ref().to_owned());
        self.stream = false;
        self
    }

    /// Use the stream transport: a unix stream socket at `path` (rsyslog's `imptcp` with `path=`,
    /// syslog-ng, Vector), records framed by octet counting (RFC 6587, `LEN SP MSG`), many of them
    /// per write. `FASTSYSLOG_SOCKET=stream:PATH` selects it from the environment.
    ///
    /// The records are the bytes the datagram transport sends, with the same header and the same
    /// [`max_message_size`](Builder::max_message_size) (cut and counted the same way). A stream
    /// has no per-record size limit in the kernel and no queue of 10 datagrams, so the background
    /// writer drains much faster. Delivery across a broken connection is at least once: a record
    /// cut by the break is sent again whole ([`Stats::frames_cut`](crate::Stats::frames_cut)).
    /// [`daemon_config`](Builder::daemon_config) writes the matching listener.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Mode};
    /// let logger = Builder::new().stream_socket("/nonexistent/log.sock").mode(Mode::Sync).build();
    /// assert!(logger.is_ok(), "not strict: a missing socket is retried later");
    /// let conf = Builder::new().stream_socket("/run/app/log.sock").rsyslog_config("/var/log/app")?;
    /// assert!(conf.contains(r#"input(type="imptcp" path="/run/app/log.sock""#));
    /// # Ok::<(), fastsyslog::Error>(())
    /// ```
    pub fn stream_socket(mut self, path: impl AsRef<Path>) -> Self {
        self.socket = Some(path.as_ref().to_owned());
        self.stream = true;
        self
    }

    /// How the stream transport frames records: [`StreamFraming::OctetCounting`] (the default,
    /// for rsyslog's `imptcp`) or [`StreamFraming::NonTransparent`] (one record per line, for
    /// syslog-ng's `unix-stream()`). Only a [`stream_socket`](Builder::stream_socket) reads it;
    /// `FASTSYSLOG_SOCKET=stream-lf:PATH` selects the second from the environment.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Mode, StreamFraming};
    /// let logger = Builder::new()
    ///     .stream_socket("/nonexistent/log.sock")
    ///     .stream_framing(StreamFraming::NonTransparent)
    ///     .mode(Mode::Sync)
    ///     .build();
    /// assert!(logger.is_ok());
    /// ```
    pub fn stream_framing(mut self, framing: StreamFraming) -> Self {
        self.stream_framing = framing;
        self
    }

    /// The body format. [`Format::Rfc5424`] also selects the RFC 5424 header and needs the unix
    /// transport.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Format, ErrorKind};
    /// let err = Builder::new().format(Format::Rfc5424).build().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidConfig, "rfc5424 needs a socket path");
    /// ```
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// The header the unix transport writes. Default [`Header::Rfc3164`], or [`Header::Rfc5424`]
    /// with [`Format::Rfc5424`]. The libc transport ignores it: glibc writes its own RFC 3164 header.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Header, Mode};
    /// let b = Builder::new().socket("/tmp/x.sock").header(Header::Rfc5424).mode(Mode::Sync);
    /// assert!(b.build().is_ok());
    /// ```
    pub fn header(mut self, header: Header) -> Self {
        self.header = Some(header);
        self
    }

    /// Where records with target `access` (and below, `access::*`) go. Default `local0`.
    ///
    /// This changes the built-in access rule; with [`clear_routes`](Builder::clear_routes) it has
    /// no effect.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Facility};
    /// let b = Builder::new().access_facility(Facility::Local4);
    /// # let _ = b;
    /// ```
    pub fn access_facility(mut self, facility: Facility) -> Self {
        for rule in &mut self.rules {
            if rule.matcher() == &Match::Target("access".into()) {
                *rule = Rule::new(Match::Target("access".into()), facility);
            }
        }
        self
    }

    /// Where records that match no rule go. Default `local1`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Facility};
    /// let b = Builder::new().default_facility(Facility::Local5);
    /// # let _ = b;
    /// ```
    pub fn default_facility(mut self, facility: Facility) -> Self {
        self.default_facility = facility;
        self
    }

    /// Adds a rule after the existing ones: records that match `matcher` go to `facility`. Rules
    /// are tried in order and the first match wins.
    ///
    /// # Examples
    ///
    /// Warnings and errors to `local2`, ahead of the access rule:
    ///
    /// ```
    /// use fastsyslog::{Builder, Facility, Match};
    /// let b = Builder::new()
    ///     .clear_routes()
    ///     .route(Match::Level(log::Level::Warn), Facility::Local2)
    ///     .route(Match::Target("access".into()), Facility::Local0)
    ///     .default_facility(Facility::Local1);
    /// # let _ = b;
    /// ```
    pub fn route(mut self, matcher: Match, facility: Facility) -> Self {
        self.rules.push(Rule::new(matcher, facility));
        self
    }

    /// Removes every rule, including the built-in `access` rule.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = fastsyslog::Builder::new().clear_routes();
    /// # let _ = b;
    /// ```
    pub fn clear_routes(mut self) -> Self {
        self.rules.clear();
        self
    }

    /// Which severity each level is sent with. Default [`SeverityMapping::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, SeverityMapping};
    /// let b = Builder::new().severity_mapping(SeverityMapping::journald());
    /// # let _ = b;
    /// ```
    pub fn severity_mapping(mut self, mapping: SeverityMapping) -> Self {
        self.mapping = mapping;
        self
    }

    /// Which records are enabled, in `RUST_LOG` syntax: `warn,my_crate::db=debug,access=info`.
    /// This overrides the environment; for a default the environment overrides, use
    /// [`default_filter`](Builder::default_filter). `log::set_max_level` gets the most verbose
    /// level named here. A [`Layer`](crate::Layer) filters only when given directives this way (or
    /// by `FASTSYSLOG_LOG`).
    ///
    /// A directive the gate cannot use (an `EnvFilter` span filter such as `[req{id=1}]=debug`, a
    /// misspelt level) is skipped and reported in one line on stderr; the others apply. Start-up
    /// never fails over directives.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Mode};
    /// let (logger, _guard) = Builder::new().filter("warn,access=info").mode(Mode::Sync).build().unwrap();
    /// # #[cfg(feature = "log")]
    /// assert_eq!(logger.max_level(), log::LevelFilter::Info);
    /// ```
    pub fn filter(mut self, directives: impl Into<String>) -> Self {
        self.filter = Some(directives.into());
        self
    }

    /// The application's default directives, used when neither `FASTSYSLOG_LOG` nor `RUST_LOG`
    /// is set (or set empty), like `env_logger`'s `default_filter_or`. Default `info`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Mode};
    /// let (logger, _guard) = Builder::new().default_filter("warn").mode(Mode::Sync).build().unwrap();
    /// # #[cfg(feature = "log")]
    /// assert_eq!(logger.max_level(), log::LevelFilter::Warn);
    /// ```
    pub fn default_filter(mut self, directives: impl Into<String>) -> Self {
        self.default_filter = directives.into();
        self
    }

    /// Also writes a human-readable line per record to stderr (time, level, target, message,
    /// fields), as `openlog`'s `LOG_PERROR` does: for local development. Default `false`, and then
    /// it costs nothing. `FASTSYSLOG_STDERR=1` sets it from the environment.
    ///
    /// The line is written on the logging thread, before the record is queued, so it shows records
    /// the daemon never receives too; a stderr that blocks (a full pipe) blocks the caller.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Mode};
    /// let b = Builder::new().stderr(true).mode(Mode::Sync);
    /// assert!(b.build().is_ok());
    /// ```
    pub fn stderr(mut self, on: bool) -> Self {
        self.stderr = on;
        self
    }

    /// The directives in force and where they came from: what was asked for, else `RUST_LOG`
    /// (unless `layer`: a layer leaves `RUST_LOG` to the stack's `EnvFilter`), else the default.
    /// `None` for a layer that was given no directives: it does not filter.
    pub(crate) fn directives(&self, layer: bool) -> Option<(&str, &'static str)> {
        match (&self.filter, &self.rust_log) {
            (Some(f), _) => Some((f, "the filter directives")),
            (None, _) if layer => None,
            (None, Some(r)) => Some((r, "RUST_LOG")),
            (None, None) => Some((&self.default_filter, "the default filter directives")),
        }
    }

    /// The most bytes one message may take, header included. Default 8096, the most rsyslog keeps
    /// of a datagram without a `maxMessageSize` setting, so a cut record is stored with its marker
    /// (the generated daemon configs raise the daemon's limit when this is larger). A longer message is cut on a UTF-8 boundary and marked (see [Message formats](crate#message-formats)).
    ///
    /// # Errors
    ///
    /// A size outside 64 to 131072 makes [`build`](Builder::build) return
    /// [`ErrorKind::InvalidConfig`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::Builder;
    /// assert!(Builder::new().max_message_size(10).build().is_err());
    /// ```
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Publishes the logger's counters in a stats file, `<dir>/<ident>.<pid>.fsstats`, which
    /// other processes read ([`stats::read_dir`](crate::stats::read_dir)): the counters live in
    /// the file's shared mapping, so the record path costs the same. Opt-in; the directory is
    /// created if missing and must be on tmpfs or ramfs (`/dev/shm`, `/run`): a mapping of a
    /// disk file can stall the writer on page write-back. A clean shutdown or exit removes the
    /// file; a forked child gets its own. See [the format](mod@crate::stats#the-stats-file-format).
    ///
    /// # Errors
    ///
    /// [`build`](Builder::build) fails with [`ErrorKind::InvalidConfig`] naming the path when the
    /// directory cannot be created, is not on tmpfs, or the file cannot be written.
    ///
    /// # Examples
    ///
    /// ```
    /// let dir = tempfile::tempdir_in("/dev/shm").unwrap();
    /// let (_logger, _guard) = fastsyslog::Builder::new()
    ///     .mode(fastsyslog::Mode::Sync)
    ///     .stats_dir(dir.path())
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(fastsyslog::stats::read_dir(dir.path()).unwrap().len(), 1);
    /// ```
    pub fn stats_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.stats_dir = Some(dir.into());
        self
    }

    /// The longest one blocking send may wait when the daemon's socket queue is full (unix
    /// transport). Default 100 ms; `None` waits without bound. A send that times out is counted as
    /// dropped. glibc's `syslog(3)` has no such bound.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// let b = fastsyslog::Builder::new().send_timeout(Some(Duration::from_millis(5)));
    /// # let _ = b;
    /// ```
    pub fn send_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.send_timeout = timeout;
        self
    }

    /// The longest `flush()` and the guard's drop wait for queued records. Default 2 s.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// let b = fastsyslog::Builder::new().flush_timeout(Duration::from_millis(500));
    /// # let _ = b;
    /// ```
    pub fn flush_timeout(mut self, timeout: Duration) -> Self {
        self.flush_timeout = timeout;
        self
    }

    /// Strict start-up: fail to build when the socket cannot be reached now. Default `false`: the
    /// logger starts anyway (saying so in one line on stderr, naming the path), counts records as
    /// dropped while the daemon is absent, and connects when it appears. `FASTSYSLOG_STRICT=1`
    /// sets it from the environment.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, ErrorKind};
    /// let err = Builder::new().socket("/nonexistent/log").strict(true).build().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Connect);
    /// assert!(err.to_string().contains("/nonexistent/log"));
    /// ```
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Whether every record carries its target as its first field: `target=db::pool` in logfmt, a
    /// `"target"` member in JSON, a `target` parameter in RFC 5424. Default `false`.
    ///
    /// Off by default because the target is usually known from the file a line lands in
    /// (`access.log`), and the line stays as the application wrote it; an operator who reads
    /// `app.log`, where every module's records meet, turns it on for that host with
    /// `FASTSYSLOG_TARGET_FIELD=true`, without a rebuild. A key-value the record itself calls
    /// `target` then follows it as a second `target` field.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Mode};
    /// assert!(Builder::new().target_field(true).mode(Mode::Sync).build().is_ok());
    /// ```
    pub fn target_field(mut self, on: bool) -> Self {
        self.target_field = on;
        self
    }

    /// Sync or background sending. Default [`Mode::Background`] with the `background` feature.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Mode};
    /// assert!(Builder::new().mode(Mode::Sync).build().is_ok());
    /// ```
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets a lane's capacity or overflow policy from the variable `name`
    /// (`FASTSYSLOG_{ERROR,BULK}_{CAPACITY,OVERFLOW}`).
    fn set_lane(&mut self, name: &str, value: &str) -> Result<(), String> {
        #[cfg(feature = "background")]
        {
            use crate::{Lane, Overflow};
            let lane = if name.contains("_ERROR_") {
                Lane::Error
            } else {
                Lane::Bulk
            };
            if name.ends_with("_CAPACITY") {
                let n = value
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_ENV_QUEUE_CAPACITY).contains(n))
                    .ok_or_else(|| {
                        format!("{value:?}: expected 1 to {MAX_ENV_QUEUE_CAPACITY} records")
                    })?;
                *self = std::mem::take(self).queue_capacity(lane, n);
            } else {
                let policy = value.parse::<Overflow>().map_err(|e| e.to_string())?;
                *self = std::mem::take(self).overflow(lane, policy);
            }
            Ok(())
        }
        #[cfg(not(feature = "background"))]
        {
            Err(format!(
                "{value:?}: {name} needs the `background` cargo feature"
            ))
        }
    }

    /// How records are framed for the transport: the one rule for the header the daemon receives,
    /// read by [`build`](Builder::build) and by [`daemon_config`](Builder::daemon_config).
    ///
    /// The unix transport writes the configured header (RFC 5424 whenever the format is); glibc's
    /// `syslog(3)` always writes RFC 3164 itself and cannot carry RFC 5424 bodies or `kern`.
    pub(crate) fn framing(&self) -> Result<Framing, Error> {
        if self.socket.is_some() {
            return Ok(Framing::Header(match (self.format, self.header) {
                (Format::Rfc5424, _) => Header::Rfc5424,
                (_, Some(h)) => h,
                (_, None) => Header::Rfc3164,
            }));
        }
        if self.format == Format::Rfc5424 {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "format rfc5424 needs the unix transport: set FASTSYSLOG_SOCKET or Builder::socket",
            ));
        }
        let router = Router::new(self.rules.clone(), self.default_facility);
        if router.facilities().contains(&Facility::Kern) {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "facility kern cannot be sent through syslog(3), which reads 0 as \"no facility\": use the unix transport",
            ));
        }
        Ok(Framing::LibcBody)
    }

    /// Every check [`build`](Builder::build) makes before it opens anything, in one place, so
    /// that [`daemon_config`](Builder::daemon_config) refuses exactly the settings `build` refuses.
    /// `layer`: the checks of [`build_layer`](Builder::build_layer), whose filter differs.
    pub(crate) fn check(&self, layer: bool) -> Result<Checked, Error> {
        if let Some(e) = &self.env_error {
            // `Error` is not `Clone` (it may hold an `io::Error`); an environment error never does.
            return Err(Error::new(e.kind(), e.to_string()));
        }
        let ident = match &self.ident {
            Some(ident) => Ident::new(ident)?,
            None => Ident::of_program()?,
        };
        if !(MESSAGE_SIZE_MIN..=MESSAGE_SIZE_MAX).contains(&self.max_message_size) {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "invalid max_message_size {}: expected {MESSAGE_SIZE_MIN} to {MESSAGE_SIZE_MAX} bytes",
                    self.max_message_size
                ),
            ));
        }
        // A layer given no directives lets every event the stack passes through.
        let filter = match self.directives(layer) {
            Some((spec, source)) => Gate::lenient(spec, source),
            None => Gate::lenient("trace", "the layer"),
        };
        let framing = self.framing()?;
        #[cfg(feature = "background")]
        self.worker.check()?;
        self.volume.check()?;
        Ok(Checked {
            ident,
            filter,
            framing,
        })
    }

    /// The shared part of building: everything but the adapter.
    pub(crate) fn build_pipeline(self, layer: bool) -> Result<Arc<Pipeline>, Error> {
        let Checked {
            ident,
            filter,
            framing,
        } = self.check(layer)?;
        let router = Router::new(self.rules, self.default_facility);
        let counters = Arc::new(match &self.stats_dir {
            Some(dir) => stats_counters(dir, ident.as_str(), self.mode)?,
            None => Counters::default(),
        });
        let hostname = sys::net::hostname().unwrap_or_else(|| "-".to_owned());

        let renderer = Renderer::new(
            self.format,
            framing,
            ident.as_str().to_owned(),
            hostname,
            self.max_message_size,
        );

        // One transport now, built where errors can still be reported (and, for strict start-up,
        // connected now); the factory makes the ones a forked child's writer needs.
        let target = transport::Target {
            socket: self.socket.clone(),
            stream: self.stream.then_some(self.stream_framing),
            ident: ident.as_str().to_owned(),
            facility: router.default_facility(),
            send_timeout: self.send_timeout,
            strict: self.strict,
        };
        let (first, make_transport) = transport::open(target, Arc::clone(&counters))?;
        let sink = match self.mode {
            Mode::Sync => Sink::Direct(first),
            #[cfg(feature = "background")]
            Mode::Background => Sink::Background(crate::worker::Handle::spawn(
                make_transport,
                first,
                crate::worker::summary_renderer(renderer.clone(), router.clone(), self.mapping),
                self.worker,
                Arc::clone(&counters),
            )?),
            #[cfg(not(feature = "background"))]
            Mode::Background => {
                let _ = make_transport;
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "background mode needs the `background` cargo feature",
                ));
            }
        };
        let pipeline = Arc::new(Pipeline {
            filter,
            router,
            mapping: self.mapping,
            renderer,
            sink,
            counters,
            flush_timeout: self.flush_timeout,
            target_field: self.target_field,
            volume: crate::volume::Volume::new(self.volume),
            console: self.stderr.then(Console::default),
            is_global_log: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        });
        pipeline::flush_at_exit(&pipeline);
        pipeline::set_global(&pipeline, false);
        Ok(pipeline)
    }
}

/// The largest lane capacity `FASTSYSLOG_{ERROR,BULK}_CAPACITY` accepts: 16 Mi records.
#[cfg(feature = "background")]
const MAX_ENV_QUEUE_CAPACITY: usize = 1 << 24;

/// Parses `FASTSYSLOG_SOCKET`: a path (datagrams), `unix:PATH` (datagrams), `stream:PATH`
/// (octet counting) or `stream-lf:PATH` (non-transparent framing). Returns the path and, for a
/// stream, its framing. A path that starts with `/` or `.` is a path even with a `:` in it; any
/// other `NAME:` prefix is an error.
fn parse_socket(value: OsString) -> Result<(PathBuf, Option<StreamFraming>), String> {
    let bytes = value.as_encoded_bytes();
    let has_prefix = bytes.iter().position(|&b| b == b':').is_some_and(|i| {
        i > 0
            && bytes[..i]
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
    });
    if !has_prefix {
        return Ok((PathBuf::from(value), None));
    }
    let text = value
        .to_str()
        .ok_or_else(|| format!("{value:?} is not valid UTF-8"))?;
    let (prefix, path) = text.split_once(':').unwrap_or_default();
    let stream = match prefix {
        "unix" => None,
        "stream" => Some(StreamFraming::OctetCounting),
        "stream-lf" => Some(StreamFraming::NonTransparent),
        _ => {
            return Err(format!(
                "{text:?}: expected a socket path, unix:PATH (datagrams), stream:PATH or \
                 stream-lf:PATH"
            ))
        }
    };
    if path.is_empty() {
        return Err(format!("{text:?}: no path after the prefix"));
    }
    Ok((PathBuf::from(path), stream))
}

/// Parses `FASTSYSLOG_ROUTES` (`access=local0,warn=local2,*=local1`): the rules, in order, and
/// the default facility if a `*` entry names one.
fn parse_routes(spec: &str) -> Result<(Vec<Rule>, Option<Facility>), String> {
    let mut rules = Vec::new();
    let mut default = None;
    for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (key, facility) = entry
            .split_once('=')
            .ok_or_else(|| format!("{entry:?} in {spec:?}: expected key=facility"))?;
        let facility = facility
            .parse::<Facility>()
            .map_err(|e| format!("{entry:?} in {spec:?}: {e}"))?;
        let key = key.trim();
        let matcher = match key {
            "*" => {
                default = Some(facility);
                continue;
            }
            "" => return Err(format!("{entry:?} in {spec:?}: empty key")),
            _ => {
                if let Some(field) = key.strip_prefix("field:") {
                    Match::Field(field.to_owned())
                } else if let Some(target) = key.strip_prefix("target:") {
                    Match::Target(target.to_owned())
                } else {
                    match key.to_ascii_lowercase().as_str() {
                        "error" => Match::Level(log::Level::Error),
                        "warn" | "warning" => Match::Level(log::Level::Warn),
                        "info" => Match::Level(log::Level::Info),
                        "debug" => Match::Level(log::Level::Debug),
                        "trace" => Match::Level(log::Level::Trace),
                        _ => Match::Target(key.to_owned()),
                    }
                }
            }
        };
        rules.push(Rule::new(matcher, facility));
    }
    Ok((rules, default))
}

/// Counters published in a stats file in `dir` ([`Builder::stats_dir`]); errors name the path.
fn stats_counters(dir: &std::path::Path, ident: &str, mode: Mode) -> Result<Counters, Error> {
    let fail = |why: String| {
        Error::new(
            ErrorKind::InvalidConfig,
            format!("invalid stats_dir {}: {why}", dir.display()),
        )
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create it: {e}")))?;
    match sys::shm::on_tmpfs(dir) {
        Ok(true) => {}
        Ok(false) => {
            return Err(fail(
                "not on tmpfs (a mapped disk file can stall the writer on write-back): use \
                 a directory under /dev/shm or /run"
                    .to_owned(),
            ))
        }
        Err(e) => return Err(fail(format!("cannot inspect it: {e}"))),
    }
    if !sys::shm::page_size_ok() {
        return Err(fail("stats files need 4 KiB pages".to_owned()));
    }
    let background = !matches!(mode, Mode::Sync);
    Counters::published(dir, ident, background)
        .map_err(|e| fail(format!("cannot write a stats file there: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn environment_sets_each_setting() {
        let b = Builder::new().with_env(env(&[
            ("FASTSYSLOG_SOCKET", "/run/x.sock"),
            ("FASTSYSLOG_FORMAT", "json"),
            ("FASTSYSLOG_IDENT", "svc"),
            ("FASTSYSLOG_MODE", "sync"),
            ("FASTSYSLOG_LOG", "debug"),
            ("RUST_LOG", "trace"),
        ]));
        assert!(b.env_error.is_none());
        assert_eq!(b.socket.as_deref(), Some(Path::new("/run/x.sock")));
        assert_eq!(b.format, Format::Json);
        assert_eq!(b.ident.as_deref(), Some("svc"));
        assert_eq!(b.mode, Mode::Sync);
        assert_eq!(
            b.directives(false),
            Some(("debug", "the filter directives")),
            "FASTSYSLOG_LOG wins over RUST_LOG"
        );
    }

    #[test]
    fn rust_log_is_the_fallback() {
        let b = Builder::new().with_env(env(&[("RUST_LOG", "warn")]));
        assert_eq!(b.directives(false), Some(("warn", "RUST_LOG")));
        assert_eq!(
            b.directives(true),
            None,
            "a layer leaves RUST_LOG to EnvFilter"
        );
        let b = Builder::new().with_env(env(&[]));
        assert_eq!(b.directives(false).unwrap().0, DEFAULT_FILTER);
        assert_eq!(b.socket, None);
    }

    #[test]
    fn bad_environment_values_name_the_variable() {
        let err = Builder::new()
            .with_env(env(&[("FASTSYSLOG_MODE", "turbo")]))
            .build_pipeline(false)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert!(
            err.to_string().contains("FASTSYSLOG_MODE") && err.to_string().contains("turbo"),
            "{err}"
        );
    }

    #[test]
    fn bad_directives_are_skipped_not_an_error() {
        let p = Builder::new()
            .mode(Mode::Sync)
            .filter("debug,x=loud,[req{method=GET}]=trace")
            .build_pipeline(false)
            .expect("start-up never fails over directives");
        assert_eq!(p.max_level(), log::LevelFilter::Debug);
    }

    #[test]
    fn empty_values_count_as_unset_and_the_default_yields_to_the_environment() {
        let b = Builder::new().default_filter("warn").with_env(env(&[
            ("FASTSYSLOG_LOG", ""),
            ("RUST_LOG", "debug"),
            ("FASTSYSLOG_FORMAT", ""),
        ]));
        assert!(b.env_error.is_none(), "{:?}", b.env_error);
        assert_eq!(b.directives(false), Some(("debug", "RUST_LOG")));
        let b = Builder::new()
            .default_filter("warn")
            .with_env(env(&[("RUST_LOG", "")]));
        assert_eq!(b.directives(false).unwrap().0, "warn");
    }

    #[test]
    fn strict_and_stderr_come_from_the_environment() {
        let b = Builder::new().with_env(env(&[
            ("FASTSYSLOG_STRICT", "1"),
            ("FASTSYSLOG_STDERR", "true"),
        ]));
        assert!(b.strict && b.stderr);
        let b = Builder::new().with_env(env(&[("FASTSYSLOG_STRICT", "maybe")]));
        let err = b.env_error.expect("an invalid flag");
        assert!(
            err.to_string().contains("FASTSYSLOG_STRICT") && err.to_string().contains("maybe"),
            "{err}"
        );
    }

    #[test]
    fn max_level_is_the_most_verbose_directive() {
        let p = Builder::new()
            .mode(Mode::Sync)
            .filter("warn,my_crate::db=debug,access=info")
            .build_pipeline(false)
            .unwrap();
        assert_eq!(p.max_level(), log::LevelFilter::Debug);
        let meta = |target: &'static str, level| {
            log::Metadata::builder().target(target).level(level).build()
        };
        assert!(p.enabled(&meta("my_crate::db", log::Level::Debug)));
        assert!(!p.enabled(&meta("my_crate::web", log::Level::Info)));
        assert!(p.enabled(&meta("access", log::Level::Info)));
        assert!(!p.enabled(&meta("access", log::Level::Debug)));
    }

    #[test]
    fn rfc5424_and_kern_need_the_unix_transport() {
        let err = Builder::new()
            .format(Format::Rfc5424)
            .build_pipeline(false)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        let err = Builder::new()
            .default_facility(Facility::Kern)
            .build_pipeline(false)
            .unwrap_err();
        assert!(err.to_string().contains("kern"), "{err}");
    }

    #[test]
    fn strict_names_the_unreachable_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.sock");
        let err = Builder::new()
            .socket(&path)
            .strict(true)
            .mode(Mode::Sync)
            .build_pipeline(false)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Connect);
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn environment_sets_the_deployment_settings() {
        let b = Builder::new().with_env(env(&[
            (
                "FASTSYSLOG_ROUTES",
                "access=local0, warn=local2, field:audit=local4, *=local1",
            ),
            ("FASTSYSLOG_ACCESS_FACILITY", "local5"),
            ("FASTSYSLOG_FACILITY", "local3"),
            ("FASTSYSLOG_MAX_MESSAGE_SIZE", "65536"),
            ("FASTSYSLOG_HEADER", "rfc5424"),
            ("FASTSYSLOG_TARGET_FIELD", "true"),
        ]));
        assert!(b.env_error.is_none(), "{:?}", b.env_error);
        assert_eq!(
            b.rules,
            [
                Rule::new(Match::Target("access".into()), Facility::Local5),
                Rule::new(Match::Level(log::Level::Warn), Facility::Local2),
                Rule::new(Match::Field("audit".into()), Facility::Local4),
            ],
            "FASTSYSLOG_ACCESS_FACILITY wins over the routes' access="
        );
        assert_eq!(
            b.default_facility,
            Facility::Local3,
            "FASTSYSLOG_FACILITY wins over *="
        );
        assert_eq!(b.max_message_size, 65536);
        assert_eq!(b.header, Some(Header::Rfc5424));
        assert!(b.target_field);
    }

    #[test]
    fn routes_syntax() {
        let table: [(&str, Vec<Rule>, Option<Facility>); 4] = [
            ("", vec![], None),
            ("*=local7", vec![], Some(Facility::Local7)),
            (
                "error=local2,target:warn=local3,db::pool=local4",
                vec![
                    Rule::new(Match::Level(log::Level::Error), Facility::Local2),
                    Rule::new(Match::Target("warn".into()), Facility::Local3),
                    Rule::new(Match::Target("db::pool".into()), Facility::Local4),
                ],
                None,
            ),
            (
                "debug=20",
                vec![Rule::new(Match::Level(log::Level::Debug), Facility::Local4)],
                None,
            ),
        ];
        for (spec, rules, default) in table {
            assert_eq!(parse_routes(spec), Ok((rules, default)), "{spec:?}");
        }
    }

    #[cfg(feature = "background")]
    #[test]
    fn environment_sets_the_lanes() {
        use crate::{Lane, Overflow};
        let b = Builder::new().with_env(env(&[
            ("FASTSYSLOG_ERROR_CAPACITY", "100"),
            ("FASTSYSLOG_BULK_CAPACITY", "200"),
            ("FASTSYSLOG_ERROR_OVERFLOW", "block"),
            ("FASTSYSLOG_BULK_OVERFLOW", "block_for=5ms"),
        ]));
        assert!(b.env_error.is_none(), "{:?}", b.env_error);
        assert_eq!(b.worker.capacity, [100, 200]);
        assert_eq!(b.worker.overflow[Lane::Error as usize], Overflow::Block);
        assert_eq!(
            b.worker.overflow[Lane::Bulk as usize],
            Overflow::BlockFor(Duration::from_millis(5))
        );
    }

    #[test]
    fn each_bad_variable_is_named_with_its_value() {
        let table = [
            ("FASTSYSLOG_ROUTES", "access:local0"),
            ("FASTSYSLOG_ROUTES", "access=local9"),
            ("FASTSYSLOG_ROUTES", "=local1"),
            ("FASTSYSLOG_ACCESS_FACILITY", "local8"),
            ("FASTSYSLOG_FACILITY", "locall"),
            ("FASTSYSLOG_MAX_MESSAGE_SIZE", "10"),
            ("FASTSYSLOG_MAX_MESSAGE_SIZE", "8k"),
            ("FASTSYSLOG_HEADER", "rfc9999"),
            ("FASTSYSLOG_TARGET_FIELD", "maybe"),
            ("FASTSYSLOG_ERROR_CAPACITY", "lots"),
            ("FASTSYSLOG_BULK_CAPACITY", "0"),
            ("FASTSYSLOG_ERROR_OVERFLOW", "sometimes"),
            ("FASTSYSLOG_BULK_OVERFLOW", "block_for=soon"),
            ("FASTSYSLOG_FORMAT", "yaml"),
            ("FASTSYSLOG_MODE", "turbo"),
            ("FASTSYSLOG_SOCKET", "tcp:/run/x.sock"),
            ("FASTSYSLOG_SOCKET", "stream:"),
        ];
        for (name, value) in table {
            let b = Builder::new().ident("t").with_env(env(&[(name, value)]));
            let err = b.check(false).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{name}={value}");
            let msg = err.to_string();
            assert!(
                msg.contains(name) && msg.contains(value),
                "{name}={value}: {msg}"
            );
            assert!(
                b.rsyslog_config("/l").is_err(),
                "the generator refuses it too"
            );
        }
    }

    #[test]
    fn empty_values_count_as_unset() {
        let names = [
            "FASTSYSLOG_ROUTES",
            "FASTSYSLOG_ACCESS_FACILITY",
            "FASTSYSLOG_FACILITY",
            "FASTSYSLOG_MAX_MESSAGE_SIZE",
            "FASTSYSLOG_HEADER",
            "FASTSYSLOG_ERROR_CAPACITY",
            "FASTSYSLOG_BULK_OVERFLOW",
            "FASTSYSLOG_FORMAT",
            "FASTSYSLOG_MODE",
            "FASTSYSLOG_IDENT",
        ];
        let pairs: Vec<(&str, &str)> = names.iter().map(|n| (*n, "")).collect();
        let b = Builder::new().with_env(env(&pairs));
        assert!(b.env_error.is_none(), "{:?}", b.env_error);
        assert_eq!(b.ident, None);
        assert_eq!(b.rules, Builder::new().rules);
        assert_eq!(b.max_message_size, DEFAULT_MAX_MESSAGE_SIZE);
        let b = Builder::new().with_env(env(&[("FASTSYSLOG_LOG", ""), ("RUST_LOG", "warn")]));
        assert_eq!(
            b.directives(false).map(|(spec, _)| spec),
            Some("warn"),
            "an empty FASTSYSLOG_LOG falls back to RUST_LOG"
        );
    }

    #[test]
    fn socket_variable_selects_datagrams_or_a_stream() {
        let table = [
            ("/run/x.sock", "/run/x.sock", false),
            ("unix:/run/x.sock", "/run/x.sock", false),
            ("stream:/run/x.sock", "/run/x.sock", true),
            ("stream:rel/x.sock", "rel/x.sock", true),
            ("stream-lf:/run/x.sock", "/run/x.sock", true),
            // A path with a colon is a path when it starts like one.
            ("/run/a:b.sock", "/run/a:b.sock", false),
            ("./a:b.sock", "./a:b.sock", false),
        ];
        for (value, path, stream) in table {
            let b = Builder::new().with_env(env(&[("FASTSYSLOG_SOCKET", value)]));
            assert!(b.env_error.is_none(), "{value}: {:?}", b.env_error);
            assert_eq!(b.socket.as_deref(), Some(Path::new(path)), "{value}");
            assert_eq!(b.stream, stream, "{value}");
        }
        let b = Builder::new().with_env(env(&[("FASTSYSLOG_SOCKET", "stream-lf:/s")]));
        assert_eq!(b.stream_framing, StreamFraming::NonTransparent);
        let b = Builder::new().with_env(env(&[("FASTSYSLOG_SOCKET", "stream:/s")]));
        assert_eq!(b.stream_framing, StreamFraming::OctetCounting);
        // The setters choose too, the last one winning.
        assert!(Builder::new().socket("/a").stream_socket("/b").stream);
        assert!(!Builder::new().stream_socket("/b").socket("/a").stream);
    }

    #[test]
    fn environment_after_the_code_wins_and_setters_after_it_win() {
        let vars = env(&[("FASTSYSLOG_FACILITY", "local3")]);
        let b = Builder::new()
            .default_facility(Facility::Local5)
            .with_env(&vars);
        assert_eq!(b.default_facility, Facility::Local3);
        let b = Builder::new()
            .with_env(&vars)
            .default_facility(Facility::Local5);
        assert_eq!(b.default_facility, Facility::Local5);
    }
}
