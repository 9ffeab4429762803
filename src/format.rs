//! Pure rendering: a record becomes the bytes of one syslog message (header, body, hygiene,
//! truncation). No I/O and no `unsafe` here.
//!
//! HELPER-OWNED: the full implementation (escaping rules, truncation, golden tests) lands here.

use std::fmt;
use std::str::FromStr;

use crate::severity::Priority;

/// How a record's message and key-values are laid out in the syslog message body.
///
/// # Examples
///
/// ```
/// use fastsyslog::Format;
/// assert_eq!("json".parse::<Format>(), Ok(Format::Json));
/// assert_eq!(Format::default(), Format::Logfmt);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// The message, then `key=value` pairs (`GET /a status=200 agent="curl 8"`).
    #[default]
    Logfmt,
    /// `@cee: ` then exactly one JSON object (`{"msg":"GET /a","status":200}`), for rsyslog `mmjsonparse`.
    Json,
    /// An RFC 5424 header with the key-values as STRUCTURED-DATA; needs the unix transport.
    Rfc5424,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "logfmt" => Ok(Format::Logfmt),
            "json" | "cee" => Ok(Format::Json),
            "rfc5424" | "5424" => Ok(Format::Rfc5424),
            _ => Err(format!(
                "unknown format {s:?} (expected logfmt, json or rfc5424)"
            )),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Logfmt => "logfmt",
            Format::Json => "json",
            Format::Rfc5424 => "rfc5424",
        })
    }
}

/// The header the unix transport puts in front of each body.
///
/// # Examples
///
/// ```
/// assert_eq!(fastsyslog::Header::default(), fastsyslog::Header::Rfc3164);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Header {
    /// `<PRI>Mmm dd hh:mm:ss ident[pid]: `, byte-compatible with glibc's `syslog(3)` (local time).
    #[default]
    Rfc3164,
    /// `<PRI>1 2026-11-22T20:34:36.123456+00:00 host ident pid - SD `.
    Rfc5424,
}

/// One structured value.
#[derive(Clone, Copy)]
pub(crate) enum Value<'a> {
    Str(&'a str),
    Bool(bool),
    I64(i64),
    U64(u64),
    I128(i128),
    U128(u128),
    F64(f64),
    Display(&'a dyn fmt::Display),
    Debug(&'a dyn fmt::Debug),
}

impl fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => write!(f, "Str({s:?})"),
            Value::Bool(v) => write!(f, "Bool({v})"),
            Value::I64(v) => write!(f, "I64({v})"),
            Value::U64(v) => write!(f, "U64({v})"),
            Value::I128(v) => write!(f, "I128({v})"),
            Value::U128(v) => write!(f, "U128({v})"),
            Value::F64(v) => write!(f, "F64({v})"),
            Value::Display(v) => write!(f, "Display({v})"),
            Value::Debug(v) => write!(f, "Debug({v:?})"),
        }
    }
}

/// A source of key-values: `log`'s kv source, a tracing event's fields, or a span's recorded fields.
pub(crate) trait Fields {
    /// Calls `visitor` once per key-value, in order.
    fn visit(&self, visitor: &mut dyn FnMut(&str, Value<'_>));
}

/// No key-values.
#[derive(Debug)]
pub(crate) struct NoFields;

impl Fields for NoFields {
    fn visit(&self, _visitor: &mut dyn FnMut(&str, Value<'_>)) {
        // Nothing to visit: this is the empty source.
    }
}

impl Fields for [(&str, Value<'_>)] {
    fn visit(&self, visitor: &mut dyn FnMut(&str, Value<'_>)) {
        for (k, v) in self {
            visitor(k, *v);
        }
    }
}

/// The chain of spans an event happened in (tracing), outermost first.
pub(crate) trait Spans {
    /// Calls `visitor(span_name, span_fields)` for each span, outermost first.
    fn visit(&self, visitor: &mut dyn FnMut(&str, &dyn Fields));
}

/// What the renderer needs from one record.
pub(crate) struct Record<'a> {
    pub(crate) priority: Priority,
    pub(crate) message: &'a dyn fmt::Display,
    pub(crate) fields: &'a dyn Fields,
    pub(crate) spans: Option<&'a dyn Spans>,
}

/// A wall-clock time broken down in the local time zone, as headers print it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timestamp {
    pub(crate) year: i32,
    /// 1 to 12.
    pub(crate) month: u8,
    /// 1 to 31.
    pub(crate) day: u8,
    pub(crate) hour: u8,
    pub(crate) minute: u8,
    pub(crate) second: u8,
    pub(crate) micros: u32,
    /// Seconds east of UTC.
    pub(crate) utc_offset: i32,
}

/// What goes around the body on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// Header written by us (unix transport).
    Header(Header),
    /// No header, body NUL-terminated: glibc's `syslog(3)` writes the header (libc transport).
    LibcBody,
}

/// Renders records; built once per logger.
#[derive(Debug, Clone)]
pub(crate) struct Renderer {
    pub(crate) format: Format,
    pub(crate) framing: Framing,
    /// Sanitized ident (no spaces, `:`, `[`, `]` or control characters; at most 48 bytes).
    pub(crate) ident: String,
    /// Host name for the RFC 5424 header (`-` when unknown).
    pub(crate) hostname: String,
    /// The most bytes one message may take on the wire, header included (NUL excluded).
    pub(crate) max_len: usize,
}

impl Renderer {
    /// Renders one message into `out` (cleared first). Returns `true` when it was truncated.
    ///
    /// With [`Framing::LibcBody`] `out` ends with exactly one NUL and has no other NUL.
    pub(crate) fn render(
        &self,
        out: &mut Vec<u8>,
        rec: &Record<'_>,
        pid: u32,
        now: &Timestamp,
    ) -> bool {
        use std::io::Write as _;
        out.clear();
        if let Framing::Header(_) = self.framing {
            let _ = write!(
                out,
                "<{}>Jan  1 00:00:00 {}[{}]: ",
                rec.priority.value(),
                self.ident,
                pid
            );
        }
        let _ = (now, &self.hostname);
        let _ = write!(out, "{}", rec.message);
        rec.fields.visit(&mut |k, v| {
            let _ = write!(out, " {k}={v:?}");
        });
        if self.framing == Framing::LibcBody {
            out.retain(|&b| b != 0);
            out.push(0);
        }
        false
    }
}
