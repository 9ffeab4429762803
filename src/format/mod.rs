//! Pure rendering: a record becomes the bytes of one syslog message (header, body, hygiene,
//! truncation). No I/O and no FFI here.
//!
//! Everything is written straight into the caller's reused buffer: numbers through a stack buffer,
//! `Display`/`Debug` values through a [`fmt::Write`] adapter that escapes as it goes. Truncation is
//! decided while writing: the renderer remembers the latest *safe cut point* (a char boundary
//! outside any escape sequence, together with the bytes that close the syntax there and mark the
//! cut) that still fits, stops writing once the limit is passed, and then cuts back to that point.
//!
//! Rules beyond the wire-format notes, in one place for the README:
//! - Order: message, then span fields (outermost span first), then event fields, in every format
//!   (RFC 5424: `[span1@32473 ..][span2@32473 ..][fields@32473 ..] MSG`; JSON: `msg`, `spans`,
//!   then the event fields).
//! - `\uXXXX` escapes use lowercase hex (`\u001b`). JSON uses the short escapes `\"` `\\` `\n`
//!   `\r` `\t` and `\uXXXX` for every other control character (`\u0008`, not `\b`).
//! - RFC 5424 PARAM-VALUEs escape a newline as `\u000a` too (no `\n` there); a span field called
//!   `name` becomes `_name` in RFC 5424 as in JSON.
//! - A cut never splits a key, a number, a bare logfmt value or an escape sequence: a field whose
//!   key, number or bare value does not fit is left out whole, so every kept `key=value` pair is
//!   complete. A quoted value (logfmt, JSON, SD) may be cut inside (`k="abc" [truncated]`), but
//!   never right after its opening quote. A logfmt `Display`/`Debug` value is streamed before its
//!   quoting is known, so when cut it stays quoted even if its kept part would not need quotes.
//! - With nothing left of the message body, the marker stands alone (`ident[pid]: [truncated]`).
//! - If `max_len` cannot even hold the header and the shortest marked body (a tiny limit with a
//!   long ident or host name), the header alone is sent (RFC 5424: with `-` as STRUCTURED-DATA),
//!   or as much of it as fits; `render` still returns `true`.
//! - The RFC 3164 ident and the RFC 5424 APP-NAME/HOSTNAME are sanitized once more here (`_` for
//!   anything that could break the line or the header), APP-NAME cut to 48 and HOSTNAME to 255
//!   characters; an empty host name or ident is written as `-` in RFC 5424.
//!
//! The modules, from the inside out: [`record`] (what an adapter hands over), [`escape`] (byte
//! classes and escaped text), [`out`] (the budgeted output buffer and its cut points), [`header`]
//! (RFC 3164 and RFC 5424 headers), and one module per body format: [`logfmt`], [`json`], [`sd`].

mod escape;
mod header;
mod json;
mod logfmt;
mod out;
mod record;
mod sd;

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) use self::header::{write_rfc3164_header, LIBC_HEADER_OVERHEAD};
pub(crate) use self::out::with_thread_buffer;
pub(crate) use self::record::{Fields, Message, Record, Spans, Value};
// For the writer's own records and span-less tracing paths; unused in some feature sets.
#[allow(unused_imports)]
pub(crate) use self::record::NoFields;

use self::json::json_body;
use self::logfmt::logfmt_body;
use self::out::{is_boundary, Out};
use self::sd::sd_body;
use crate::clock::Timestamp;

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
    /// Tells this renderer's cached RFC 3164 headers apart from other renderers' ([`HEADER_3164`]).
    id: u64,
    pub(crate) format: Format,
    pub(crate) framing: Framing,
    /// Sanitized ident (no spaces, `:`, `[`, `]` or control characters; at most 48 bytes).
    pub(crate) ident: String,
    /// Host name for the RFC 5424 header (`-` when unknown).
    pub(crate) hostname: String,
    /// The most bytes one message may take on the wire, header included (NUL excluded).
    pub(crate) max_len: usize,
}

/// Gives each [`Renderer`] its own id.
static NEXT_RENDERER_ID: AtomicU64 = AtomicU64::new(1);

// === impl Renderer ===

impl Renderer {
    /// A renderer with its own id (for the per-thread header cache).
    pub(crate) fn new(
        format: Format,
        framing: Framing,
        ident: String,
        hostname: String,
        max_len: usize,
    ) -> Renderer {
        Renderer {
            id: NEXT_RENDERER_ID.fetch_add(1, Ordering::Relaxed),
            format,
            framing,
            ident,
            hostname,
            max_len,
        }
    }

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
        out.clear();
        let max = match self.framing {
            Framing::Header(_) => self.max_len,
            Framing::LibcBody => self
                .max_len
                .saturating_sub(LIBC_HEADER_OVERHEAD + self.ident.len()),
        };
        let mut o = Out {
            buf: out,
            max,
            cut: None,
            slack: 0,
            full: false,
        };
        match self.framing {
            Framing::Header(Header::Rfc3164) => {
                self.cached_header_3164(&mut o, rec.priority, pid, now);
            }
            Framing::Header(Header::Rfc5424) => self.header_5424(&mut o, rec, pid, now),
            Framing::LibcBody => {}
        }
        let body_start = o.buf.len();
        match (self.format, self.framing) {
            (Format::Rfc5424, _) => sd_body(&mut o, rec),
            (_, Framing::Header(Header::Rfc5424)) => {
                // A logfmt or JSON body under a 5424 header: no STRUCTURED-DATA, the body is MSG.
                o.push(b"-");
                let space = o.buf.len();
                o.push(b" ");
                self.text_body(&mut o, rec);
                if !o.full && o.buf.len() == space + 1 {
                    o.buf.truncate(space);
                }
            }
            _ => self.text_body(&mut o, rec),
        }
        let Out { buf, cut, full, .. } = o;
        let truncated = full || buf.len() > max;
        if truncated {
            match cut {
                Some((pos, tail)) => {
                    buf.truncate(pos);
                    buf.extend_from_slice(tail.as_bytes());
                }
                None if body_start < max => {
                    // The limit is smaller than the header plus the shortest marked body (a tiny
                    // `max_len` with a long ident or host name): the header alone, and for RFC
                    // 5424 the nil STRUCTURED-DATA that makes it a complete message.
                    buf.truncate(body_start);
                    if self.framing == Framing::Header(Header::Rfc5424) {
                        buf.push(b'-');
                    }
                }
                None => {
                    // Not even the header fits: as much of it as does, on a char boundary.
                    let mut pos = max;
                    while pos > 0 && !is_boundary(buf[pos]) {
                        pos -= 1;
                    }
                    buf.truncate(pos);
                }
            }
        }
        if self.framing == Framing::LibcBody {
            buf.push(0);
        }
        truncated
    }

    /// A logfmt or JSON body.
    fn text_body(&self, o: &mut Out<'_>, rec: &Record<'_>) {
        match self.format {
            Format::Json => json_body(o, rec),
            _ => logfmt_body(o, rec),
        }
    }
}

/// The renderer behind a stable, allocation-friendly signature for the fuzz target
/// (`fuzz/fuzz_targets/format.rs`) and the property tests (`tests/it/fault.rs`). Not public API, no
/// semver promise.
#[doc(hidden)]
pub mod __fuzz {
    use super::{Fields, Framing, Message, Record, Renderer, Spans, Value};
    use crate::clock::Timestamp;
    use crate::severity::Priority;
    use crate::{Facility, Format, Header, Severity};

    /// One key-value's value.
    #[derive(Debug, Clone, Copy)]
    pub enum FuzzValue<'a> {
        /// A string (rendered after escaping).
        Str(&'a str),
        /// A signed integer.
        I64(i64),
        /// An unsigned integer.
        U64(u64),
        /// A float, including NaN and infinities.
        F64(f64),
        /// A boolean.
        Bool(bool),
    }

    /// Everything one render takes.
    #[derive(Debug, Clone, Copy)]
    pub struct Input<'a> {
        /// [`Format::Logfmt`], [`Format::Json`] or [`Format::Rfc5424`]: `format % 3`.
        pub format: u8,
        /// RFC 3164 header, RFC 5424 header or libc body: `framing % 3` (`Format::Rfc5424` always
        /// gets the RFC 5424 header, as the builder does).
        pub framing: u8,
        /// `Renderer::max_len`, clamped to the builder's accepted range.
        pub max_len: usize,
        /// The ident, sanitized as the builder does (`fuzz` when the builder would reject it).
        pub ident: &'a str,
        /// The free-text message.
        pub message: &'a str,
        /// The record's key-values.
        pub fields: &'a [(&'a str, FuzzValue<'a>)],
        /// The spans (tracing), outermost first, each with its fields.
        pub spans: &'a [(&'a str, &'a [(&'a str, FuzzValue<'a>)])],
    }

    /// What one render produced.
    #[derive(Debug, Clone)]
    pub struct Output {
        /// The message bytes as the transport would send them.
        pub bytes: Vec<u8>,
        /// What `Renderer::render` returned: whether it cut the message.
        pub truncated: bool,
        /// The format used.
        pub format: Format,
        /// The header written, `None` for the libc body (glibc writes the header).
        pub header: Option<Header>,
        /// The effective `max_len` after clamping.
        pub max_len: usize,
        /// The ident after sanitizing.
        pub ident: String,
    }

    /// The pid every fuzz render uses (4 digits, like a typical server's).
    pub const PID: u32 = 4242;

    fn convert<'a>(v: &FuzzValue<'a>) -> Value<'a> {
        match *v {
            FuzzValue::Str(s) => Value::Str(s),
            FuzzValue::I64(n) => Value::I64(n),
            FuzzValue::U64(n) => Value::U64(n),
            FuzzValue::F64(n) => Value::F64(n),
            FuzzValue::Bool(b) => Value::Bool(b),
        }
    }

    struct FieldList<'a>(&'a [(&'a str, FuzzValue<'a>)]);

    impl Fields for FieldList<'_> {
        fn visit(&self, visitor: &mut dyn FnMut(&str, Value<'_>)) {
            for (k, v) in self.0 {
                visitor(k, convert(v));
            }
        }
    }

    struct SpanList<'a>(&'a [(&'a str, &'a [(&'a str, FuzzValue<'a>)])]);

    impl Spans for SpanList<'_> {
        fn visit(&self, visitor: &mut dyn FnMut(&str, &dyn Fields)) {
            for (name, fields) in self.0 {
                visitor(name, &FieldList(fields));
            }
        }
    }

    /// Renders `input` through `format::Renderer` exactly as a built logger would (fixed pid,
    /// time `2026-11-22 20:34:36.123456 +01:00`, host `fuzzhost`, priority local1.info).
    pub fn render(input: &Input<'_>) -> Output {
        let format = [Format::Logfmt, Format::Json, Format::Rfc5424][usize::from(input.format % 3)];
        let framing = if format == Format::Rfc5424 {
            Framing::Header(Header::Rfc5424)
        } else {
            [
                Framing::Header(Header::Rfc3164),
                Framing::Header(Header::Rfc5424),
                Framing::LibcBody,
            ][usize::from(input.framing % 3)]
        };
        let max_len = input
            .max_len
            .clamp(crate::MIN_MAX_MESSAGE_SIZE, crate::MAX_MAX_MESSAGE_SIZE);
        let ident = crate::builder::sanitize_ident(input.ident).unwrap_or_else(|_| "fuzz".into());
        let renderer = Renderer::new(format, framing, ident.clone(), "fuzzhost".into(), max_len);
        let now = Timestamp {
            year: 2026,
            month: 11,
            day: 22,
            hour: 20,
            minute: 34,
            second: 36,
            micros: 123_456,
            utc_offset: 3600,
        };
        let fields = FieldList(input.fields);
        let spans = SpanList(input.spans);
        let record = Record {
            priority: Priority::new(Facility::Local1, Severity::Informational),
            message: Message::Display(&input.message),
            fields: &fields,
            spans: (!input.spans.is_empty()).then_some(&spans as &dyn Spans),
        };
        let mut bytes = Vec::new();
        let truncated = renderer.render(&mut bytes, &record, PID, &now);
        Output {
            bytes,
            truncated,
            format,
            header: match framing {
                Framing::Header(h) => Some(h),
                Framing::LibcBody => None,
            },
            max_len,
            ident,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::severity::Priority;
    use proptest::prelude::*;

    use super::escape::KEY;
    use super::out::TRUNCATION_MARKER;
    use crate::{Facility, Severity};

    pub(crate) const IDENT: &str = "web";
    pub(crate) const PID: u32 = 4242;
    /// local0.info
    pub(crate) const PRI: u8 = 134;

    /// A fixed local time, 2026-11-02 09:05:01.000042 at UTC+1, for tests that print one.
    pub(crate) fn now() -> Timestamp {
        Timestamp {
            year: 2026,
            month: 11,
            day: 2,
            hour: 9,
            minute: 5,
            second: 1,
            micros: 42,
            utc_offset: 3600,
        }
    }

    pub(crate) fn renderer(format: Format, framing: Framing, max_len: usize) -> Renderer {
        Renderer::new(
            format,
            framing,
            IDENT.to_owned(),
            "host".to_owned(),
            max_len,
        )
    }

    pub(crate) const H3164: Framing = Framing::Header(Header::Rfc3164);
    pub(crate) const H5424: Framing = Framing::Header(Header::Rfc5424);
    pub(crate) const LIBC: Framing = Framing::LibcBody;

    /// A slice of key-values as `&dyn Fields` (a slice itself is unsized).
    pub(crate) struct Kv<'a>(pub(crate) &'a [(&'a str, Value<'a>)]);

    impl Fields for Kv<'_> {
        fn visit(&self, visitor: &mut dyn FnMut(&str, Value<'_>)) {
            self.0.visit(visitor);
        }
    }

    /// Test spans: `(name, fields)`, outermost first.
    pub(crate) struct TestSpans<'a>(pub(crate) &'a [(&'a str, &'a [(&'a str, Value<'a>)])]);

    impl Spans for TestSpans<'_> {
        fn visit(&self, visitor: &mut dyn FnMut(&str, &dyn Fields)) {
            for (name, fields) in self.0 {
                visitor(name, &Kv(fields));
            }
        }
    }

    /// Renders and checks the invariants every output must hold; returns the text (without the
    /// libc NUL) and whether it was cut.
    pub(crate) fn render_full(
        r: &Renderer,
        msg: &dyn fmt::Display,
        fields: &[(&str, Value<'_>)],
        spans: Option<&dyn Spans>,
        now: &Timestamp,
    ) -> (String, bool) {
        let mut out = Vec::new();
        let rec = Record {
            priority: Priority::new(Facility::Local0, Severity::Informational),
            message: Message::Display(msg),
            fields: &Kv(fields),
            spans,
        };
        assert_eq!(rec.priority.value(), PRI);
        let cut = r.render(&mut out, &rec, PID, now);
        if r.framing == Framing::LibcBody {
            assert_eq!(out.pop(), Some(0), "libc body ends with NUL");
            assert!(
                out.len() + LIBC_HEADER_OVERHEAD + r.ident.len()
                    <= r.max_len.max(r.ident.len() + LIBC_HEADER_OVERHEAD),
                "libc body {} bytes over budget",
                out.len()
            );
        } else {
            assert!(out.len() <= r.max_len, "{} > {}", out.len(), r.max_len);
        }
        assert!(!out.contains(&0), "interior NUL");
        assert!(!out.contains(&b'\n') && !out.contains(&b'\r'), "line break");
        (String::from_utf8(out).expect("valid UTF-8"), cut)
    }

    pub(crate) fn render(r: &Renderer, msg: &str, fields: &[(&str, Value<'_>)]) -> (String, bool) {
        render_full(r, &msg, fields, None, &now())
    }

    /// Body only, untruncated, for compact golden tests.
    pub(crate) fn body(format: Format, msg: &str, fields: &[(&str, Value<'_>)]) -> String {
        let (s, cut) = render(&renderer(format, LIBC, 1 << 20), msg, fields);
        assert!(!cut);
        s + "\0"
    }

    pub(crate) fn access_fields() -> [(&'static str, Value<'static>); 3] {
        [
            ("status", Value::U64(200)),
            ("agent", Value::Str("curl 8")),
            ("ms", Value::F64(1.5)),
        ]
    }

    // === spans ===

    pub(crate) fn spans_fixture() -> [(&'static str, &'static [(&'static str, Value<'static>)]); 3]
    {
        [
            (
                "req",
                &[("method", Value::Str("GET")), ("name", Value::Str("n 1"))],
            ),
            ("empty", &[]),
            ("db", &[("rows", Value::U64(3))]),
        ]
    }

    #[test]
    fn rfc3164_logfmt_matches_glibc_header() {
        let r = renderer(Format::Logfmt, H3164, 8192);
        assert_eq!(
            render(&r, "GET /a", &access_fields()),
            (
                "<134>Nov  2 09:05:01 web[4242]: GET /a status=200 agent=\"curl 8\" ms=1.5"
                    .to_owned(),
                false
            )
        );
    }

    #[test]
    fn rfc3164_json() {
        let r = renderer(Format::Json, H3164, 8192);
        assert_eq!(
            render(&r, "GET /a", &access_fields()).0,
            "<134>Nov  2 09:05:01 web[4242]: @cee: {\"msg\":\"GET /a\",\"status\":200,\"agent\":\"curl 8\",\"ms\":1.5}"
        );
    }

    #[test]
    fn rfc5424_structured_data() {
        let r = renderer(Format::Rfc5424, H5424, 8192);
        assert_eq!(
            render(&r, "GET /a", &access_fields()).0,
            "<134>1 2026-11-02T09:05:01.000042+01:00 host web 4242 - [fields@32473 status=\"200\" agent=\"curl 8\" ms=\"1.5\"] GET /a"
        );
    }

    #[test]
    fn rfc5424_without_fields_has_nil_sd_and_no_empty_msg() {
        let r = renderer(Format::Rfc5424, H5424, 8192);
        assert_eq!(
            render(&r, "hi", &[]).0,
            "<134>1 2026-11-02T09:05:01.000042+01:00 host web 4242 - - hi"
        );
        assert_eq!(
            render(&r, "", &[]).0,
            "<134>1 2026-11-02T09:05:01.000042+01:00 host web 4242 - -"
        );
        assert_eq!(
            render(&r, "", &[("a", Value::Bool(true))]).0,
            "<134>1 2026-11-02T09:05:01.000042+01:00 host web 4242 - [fields@32473 a=\"true\"]"
        );
    }

    #[test]
    fn rfc5424_header_with_logfmt_and_json_bodies() {
        let r = renderer(Format::Logfmt, H5424, 8192);
        assert_eq!(
            render(&r, "GET /a", &access_fields()).0,
            "<134>1 2026-11-02T09:05:01.000042+01:00 host web 4242 - - GET /a status=200 agent=\"curl 8\" ms=1.5"
        );
        assert_eq!(
            render(&r, "", &[]).0,
            "<134>1 2026-11-02T09:05:01.000042+01:00 host web 4242 - -"
        );
        let r = renderer(Format::Json, H5424, 8192);
        assert_eq!(
            render(&r, "GET /a", &[("status", Value::I64(-1))]).0,
            "<134>1 2026-11-02T09:05:01.000042+01:00 host web 4242 - - @cee: {\"msg\":\"GET /a\",\"status\":-1}"
        );
    }

    #[test]
    fn libc_body_is_body_and_one_nul() {
        for (format, expected) in [
            (
                Format::Logfmt,
                "GET /a status=200 agent=\"curl 8\" ms=1.5\0".to_owned(),
            ),
            (
                Format::Json,
                "@cee: {\"msg\":\"GET /a\",\"status\":200,\"agent\":\"curl 8\",\"ms\":1.5}\0"
                    .to_owned(),
            ),
        ] {
            let r = renderer(format, LIBC, 8192);
            let mut out = Vec::new();
            let fields = access_fields();
            let rec = Record {
                priority: Priority::new(Facility::Local0, Severity::Informational),
                message: Message::Display(&"GET /a"),
                fields: &Kv(&fields),
                spans: None,
            };
            assert!(!r.render(&mut out, &rec, PID, &now()));
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
    }

    #[test]
    fn render_clears_the_reused_buffer() {
        let r = renderer(Format::Logfmt, LIBC, 8192);
        let mut out = b"stale bytes".to_vec();
        let rec = Record {
            priority: Priority::new(Facility::Local0, Severity::Informational),
            message: Message::Display(&"x"),
            fields: &NoFields,
            spans: None,
        };
        r.render(&mut out, &rec, PID, &now());
        assert_eq!(out, b"x\0");
    }

    /// Renders `msg` as the `log` adapter hands it over, next to the same text as a `Display`.
    fn render_message(r: &Renderer, msg: Message<'_>) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        let rec = Record {
            priority: Priority::new(Facility::Local0, Severity::Informational),
            message: msg,
            fields: &Kv(&[("n", Value::U64(7))]),
            spans: None,
        };
        let cut = r.render(&mut out, &rec, PID, &now());
        (out, cut)
    }

    #[test]
    fn format_arguments_render_as_their_display_text() {
        let long = "x".repeat(300);
        for format in [Format::Logfmt, Format::Json, Format::Rfc5424] {
            for max in [64, 90, 8192] {
                let r = renderer(format, H3164, max);
                let same = |args: fmt::Arguments<'_>| {
                    let text = args.to_string();
                    assert_eq!(
                        render_message(&r, Message::Args(&args)),
                        render_message(&r, Message::Display(&text)),
                        "{format:?} {max}: {text:?}"
                    );
                };
                // Literals, which are copied as they are...
                same(format_args!("GET /a HTTP/1.1"));
                same(format_args!("line\nbreak \u{2028} tab\t \u{85} \"q\" 100%"));
                same(format_args!(""));
                // ...and arguments, formatted without a `Display` level around them.
                same(format_args!("{} {} {}", "GET", "/a\r\n", 200));
                same(format_args!("{long}"));
                same(format_args!("{}é{}", "a".repeat(40), "ü".repeat(30)));
            }
        }
    }

    // === decoders used by the property tests ===

    /// A small JSON decoder, strict enough to catch anything that is not exactly one JSON value.
    pub(crate) mod json {
        #[derive(Debug, Clone, PartialEq)]
        pub(crate) enum Json {
            Null,
            Bool(bool),
            Num(String),
            Str(String),
            Arr(Vec<Json>),
            Obj(Vec<(String, Json)>),
        }

        pub(crate) fn parse(s: &str) -> Result<Json, String> {
            let mut p = P {
                s: s.as_bytes(),
                i: 0,
            };
            let v = p.value()?;
            if p.i != p.s.len() {
                return Err(format!("trailing bytes at {}", p.i));
            }
            Ok(v)
        }

        struct P<'a> {
            s: &'a [u8],
            i: usize,
        }

        impl P<'_> {
            fn peek(&self) -> Option<u8> {
                self.s.get(self.i).copied()
            }
            fn eat(&mut self, b: u8) -> Result<(), String> {
                if self.peek() == Some(b) {
                    self.i += 1;
                    Ok(())
                } else {
                    Err(format!("expected {:?} at {}", b as char, self.i))
                }
            }
            fn lit(&mut self, l: &str, v: Json) -> Result<Json, String> {
                if self.s[self.i..].starts_with(l.as_bytes()) {
                    self.i += l.len();
                    Ok(v)
                } else {
                    Err(format!("bad literal at {}", self.i))
                }
            }
            fn value(&mut self) -> Result<Json, String> {
                match self.peek().ok_or("eof")? {
                    b'{' => {
                        self.i += 1;
                        let mut m = Vec::new();
                        if self.peek() == Some(b'}') {
                            self.i += 1;
                            return Ok(Json::Obj(m));
                        }
                        loop {
                            let k = self.string()?;
                            self.eat(b':')?;
                            m.push((k, self.value()?));
                            match self.peek() {
                                Some(b',') => self.i += 1,
                                Some(b'}') => {
                                    self.i += 1;
                                    return Ok(Json::Obj(m));
                                }
                                _ => return Err(format!("bad object at {}", self.i)),
                            }
                        }
                    }
                    b'[' => {
                        self.i += 1;
                        let mut a = Vec::new();
                        if self.peek() == Some(b']') {
                            self.i += 1;
                            return Ok(Json::Arr(a));
                        }
                        loop {
                            a.push(self.value()?);
                            match self.peek() {
                                Some(b',') => self.i += 1,
                                Some(b']') => {
                                    self.i += 1;
                                    return Ok(Json::Arr(a));
                                }
                                _ => return Err(format!("bad array at {}", self.i)),
                            }
                        }
                    }
                    b'"' => Ok(Json::Str(self.string()?)),
                    b't' => self.lit("true", Json::Bool(true)),
                    b'f' => self.lit("false", Json::Bool(false)),
                    b'n' => self.lit("null", Json::Null),
                    _ => self.number(),
                }
            }
            fn number(&mut self) -> Result<Json, String> {
                let start = self.i;
                if self.peek() == Some(b'-') {
                    self.i += 1;
                }
                let digits = |p: &mut Self| {
                    let s = p.i;
                    while p.peek().is_some_and(|b| b.is_ascii_digit()) {
                        p.i += 1;
                    }
                    p.i > s
                };
                if self.peek() == Some(b'0') {
                    self.i += 1;
                } else if !digits(self) {
                    return Err(format!("bad number at {start}"));
                }
                if self.peek() == Some(b'.') {
                    self.i += 1;
                    if !digits(self) {
                        return Err(format!("bad fraction at {start}"));
                    }
                }
                if matches!(self.peek(), Some(b'e' | b'E')) {
                    self.i += 1;
                    if matches!(self.peek(), Some(b'+' | b'-')) {
                        self.i += 1;
                    }
                    if !digits(self) {
                        return Err(format!("bad exponent at {start}"));
                    }
                }
                Ok(Json::Num(
                    String::from_utf8(self.s[start..self.i].to_vec()).unwrap(),
                ))
            }
            fn hex4(&mut self) -> Result<u32, String> {
                let h = self.s.get(self.i..self.i + 4).ok_or("short \\u")?;
                self.i += 4;
                u32::from_str_radix(std::str::from_utf8(h).unwrap(), 16).map_err(|e| e.to_string())
            }
            fn string(&mut self) -> Result<String, String> {
                self.eat(b'"')?;
                let mut out = Vec::new();
                loop {
                    let b = self.peek().ok_or("unterminated string")?;
                    self.i += 1;
                    match b {
                        b'"' => return String::from_utf8(out).map_err(|e| e.to_string()),
                        b'\\' => {
                            let e = self.peek().ok_or("eof in escape")?;
                            self.i += 1;
                            let c = match e {
                                b'"' => '"',
                                b'\\' => '\\',
                                b'/' => '/',
                                b'n' => '\n',
                                b'r' => '\r',
                                b't' => '\t',
                                b'b' => '\u{8}',
                                b'f' => '\u{c}',
                                b'u' => {
                                    let c = self.hex4()?;
                                    char::from_u32(c).ok_or("surrogate")?
                                }
                                _ => return Err(format!("bad escape at {}", self.i)),
                            };
                            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                        }
                        0..=0x1f => return Err(format!("raw control at {}", self.i)),
                        _ => out.push(b),
                    }
                }
            }
        }
    }

    /// Decoders for the logfmt and SD escapes.
    pub(crate) fn unescape(s: &str, sd: bool) -> Result<String, String> {
        let mut out = String::new();
        let mut it = s.chars();
        while let Some(c) = it.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match it.next().ok_or("dangling backslash")? {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                ']' if sd => out.push(']'),
                'n' if !sd => out.push('\n'),
                'r' if !sd => out.push('\r'),
                't' if !sd => out.push('\t'),
                'u' => {
                    let h: String = it.by_ref().take(4).collect();
                    let c = u32::from_str_radix(&h, 16).map_err(|e| e.to_string())?;
                    out.push(char::from_u32(c).ok_or("bad \\u")?);
                }
                e => return Err(format!("bad escape \\{e}")),
            }
        }
        Ok(out)
    }

    /// Splits one logfmt `key=value` (value bare or quoted) off the front of `s`.
    pub(crate) fn logfmt_pair(s: &str) -> Result<(String, String, &str), String> {
        let (key, rest) = s.split_once('=').ok_or("no =")?;
        if let Some(q) = rest.strip_prefix('"') {
            let mut end = None;
            let mut esc = false;
            for (i, c) in q.char_indices() {
                match (esc, c) {
                    (true, _) => esc = false,
                    (false, '\\') => esc = true,
                    (false, '"') => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            let end = end.ok_or("unterminated quote")?;
            Ok((key.to_owned(), unescape(&q[..end], false)?, &q[end + 1..]))
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            let v = &rest[..end];
            if v.is_empty() || v.contains(['"', '=', '\\']) || v.chars().any(char::is_control) {
                return Err(format!("bad bare value {v:?}"));
            }
            Ok((key.to_owned(), v.to_owned(), &rest[end..]))
        }
    }

    /// A small RFC 5424 STRUCTURED-DATA parser: returns the elements and the MSG after them.
    pub(crate) mod sd {
        pub(crate) type Element = (String, Vec<(String, String)>);

        pub(crate) fn parse(s: &str) -> Result<(Vec<Element>, &str), String> {
            let mut els = Vec::new();
            let mut rest = s;
            if let Some(r) = rest.strip_prefix('-') {
                rest = r;
            } else {
                while let Some(r) = rest.strip_prefix('[') {
                    let id_end = r.find([' ', ']']).ok_or("unterminated element")?;
                    let id = &r[..id_end];
                    check_name(id)?;
                    rest = &r[id_end..];
                    let mut params = Vec::new();
                    while let Some(r) = rest.strip_prefix(' ') {
                        let eq = r.find('=').ok_or("param without =")?;
                        let name = &r[..eq];
                        check_name(name)?;
                        let r = r[eq + 1..].strip_prefix('"').ok_or("unquoted value")?;
                        let mut end = None;
                        let mut esc = false;
                        for (i, c) in r.char_indices() {
                            match (esc, c) {
                                (true, _) => esc = false,
                                (false, '\\') => esc = true,
                                (false, '"') => {
                                    end = Some(i);
                                    break;
                                }
                                (false, ']') => return Err("raw ] in value".into()),
                                _ => {}
                            }
                        }
                        let end = end.ok_or("unterminated value")?;
                        params.push((name.to_owned(), super::unescape(&r[..end], true)?));
                        rest = &r[end + 1..];
                    }
                    rest = rest.strip_prefix(']').ok_or("element not closed")?;
                    els.push((id.to_owned(), params));
                }
                if els.is_empty() {
                    return Err("no SD".into());
                }
            }
            if rest.is_empty() {
                return Ok((els, rest));
            }
            let msg = rest.strip_prefix(' ').ok_or("no space before MSG")?;
            Ok((els, msg))
        }

        fn check_name(n: &str) -> Result<(), String> {
            if n.is_empty() || n.len() > 32 && !n.contains('@') {
                return Err(format!("bad name length {n:?}"));
            }
            if n.bytes()
                .any(|b| !(33..=126).contains(&b) || b"=]\" ".contains(&b))
            {
                return Err(format!("bad name {n:?}"));
            }
            Ok(())
        }
    }

    // === property tests ===

    fn any_text() -> impl Strategy<Value = String> {
        prop_oneof![
            ".*",
            "[a-z =\"\\\\\n\r\t\0\u{1b}\u{7f}\u{85}\u{2028}é日🎉]{0,40}",
            "[a-z]{0,20}",
        ]
    }

    #[derive(Debug, Clone)]
    enum V {
        S(String),
        B(bool),
        I(i64),
        U(u64),
        I128(i128),
        U128(u128),
        F(f64),
        D(String),
    }

    impl V {
        fn value(&self) -> Value<'_> {
            match self {
                V::S(s) => Value::Str(s),
                V::B(b) => Value::Bool(*b),
                V::I(n) => Value::I64(*n),
                V::U(n) => Value::U64(*n),
                V::I128(n) => Value::I128(*n),
                V::U128(n) => Value::U128(*n),
                V::F(f) => Value::F64(*f),
                V::D(s) => Value::Display(s),
            }
        }

        /// The text a decoder should get back.
        fn text(&self) -> String {
            match self {
                V::S(s) | V::D(s) => s.clone(),
                V::B(b) => b.to_string(),
                V::I(n) => n.to_string(),
                V::U(n) => n.to_string(),
                V::I128(n) => n.to_string(),
                V::U128(n) => n.to_string(),
                V::F(f) => f.to_string(),
            }
        }
    }

    fn any_value() -> impl Strategy<Value = V> {
        prop_oneof![
            any_text().prop_map(V::S),
            any_text().prop_map(V::D),
            any::<bool>().prop_map(V::B),
            any::<i64>().prop_map(V::I),
            any::<u64>().prop_map(V::U),
            any::<i128>().prop_map(V::I128),
            any::<u128>().prop_map(V::U128),
            prop_oneof![
                any::<f64>(),
                Just(f64::NAN),
                Just(f64::INFINITY),
                Just(f64::NEG_INFINITY)
            ]
            .prop_map(V::F),
        ]
    }

    fn any_fields() -> impl Strategy<Value = OwnedFields> {
        prop::collection::vec((any_text(), any_value()), 0..6)
    }

    type OwnedFields = Vec<(String, V)>;

    fn any_spans() -> impl Strategy<Value = Option<Vec<(String, OwnedFields)>>> {
        prop::option::of(prop::collection::vec(
            (
                "[a-z_ ]{0,8}",
                prop::collection::vec((any_text(), any_value()), 0..3),
            ),
            0..3,
        ))
    }

    fn any_framing() -> impl Strategy<Value = (Format, Framing)> {
        prop_oneof![
            Just((Format::Logfmt, H3164)),
            Just((Format::Logfmt, H5424)),
            Just((Format::Logfmt, LIBC)),
            Just((Format::Json, H3164)),
            Just((Format::Json, H5424)),
            Just((Format::Json, LIBC)),
            Just((Format::Rfc5424, H5424)),
        ]
    }

    struct OwnedSpans<'a>(Vec<(&'a str, Vec<(&'a str, Value<'a>)>)>);

    impl Spans for OwnedSpans<'_> {
        fn visit(&self, visitor: &mut dyn FnMut(&str, &dyn Fields)) {
            for (name, fields) in &self.0 {
                visitor(name, &Kv(fields));
            }
        }
    }

    fn json_text(v: &json::Json) -> String {
        match v {
            json::Json::Str(s) | json::Json::Num(s) => s.clone(),
            json::Json::Bool(b) => b.to_string(),
            other => panic!("unexpected {other:?}"),
        }
    }

    proptest! {
        #[test]
        fn every_output_is_one_valid_message_within_the_limit(
            msg in any_text(),
            fields in any_fields(),
            spans in any_spans(),
            (format, framing) in any_framing(),
            max_len in 64usize..700,
        ) {
            let r = renderer(format, framing, max_len);
            let fv: Vec<(&str, Value<'_>)> = fields.iter().map(|(k, v)| (k.as_str(), v.value())).collect();
            let sv = spans.as_ref().map(|s| OwnedSpans(
                s.iter().map(|(n, f)| (n.as_str(), f.iter().map(|(k, v)| (k.as_str(), v.value())).collect())).collect()
            ));
            // Invariants (limit, UTF-8, no line break, NUL policy) are asserted inside.
            let (s, cut) = render_full(&r, &msg.as_str(), &fv, sv.as_ref().map(|s| s as &dyn Spans), &now());
            let body = match framing {
                Framing::LibcBody => s.as_str(),
                Framing::Header(Header::Rfc3164) => s.split_once("[4242]: ").unwrap().1,
                Framing::Header(Header::Rfc5424) => s.split_once(" 4242 - ").unwrap().1,
            };
            let body = if format != Format::Rfc5424 && framing == H5424 {
                match body.strip_prefix("- ") { Some(b) => b, None => { prop_assert_eq!(body, "-"); "" } }
            } else { body };
            if cut && (body.is_empty() || (format == Format::Rfc5424 && body == "-")) {
                // Only a tiny limit leaves no room for a marked body; then the header is all.
                prop_assert!(max_len < 64 + 35, "{}", s);
                return Ok(());
            }
            match format {
                Format::Json => {
                    let obj = body.strip_prefix("@cee: ");
                    prop_assert!(obj.is_some(), "{}", s);
                    let v = json::parse(obj.unwrap());
                    prop_assert!(v.is_ok(), "{:?}: {}", v, s);
                    let json::Json::Obj(members) = v.unwrap() else { panic!() };
                    prop_assert_eq!(&members[0].0, "msg");
                    let json::Json::Str(m) = &members[0].1 else { panic!() };
                    if cut {
                        prop_assert!(msg.starts_with(m.as_str()));
                        prop_assert_eq!(members.last().unwrap(), &("truncated".to_owned(), json::Json::Bool(true)));
                    } else {
                        prop_assert_eq!(m, &msg);
                        let top: Vec<_> = members.iter().filter(|(k, _)| k != "spans").skip(1).collect();
                        prop_assert_eq!(top.len(), fields.len());
                        for ((k, v), (ok, ov)) in top.iter().zip(&fields) {
                            let want = if ["msg", "spans", "truncated"].contains(&ok.as_str()) { format!("_{ok}") } else { ok.clone() };
                            prop_assert_eq!(k, &want);
                            prop_assert_eq!(json_text(v), ov.text());
                        }
                    }
                }
                Format::Logfmt => {
                    let plain_msg = !msg.contains('\\') && !msg.contains('=') && !msg.contains('"');
                    if !cut && spans.is_none() && plain_msg && !msg.is_empty() {
                        // Decode the message (it has no backslash of its own) and every field.
                        let mut rest = body;
                        let text_end = fields.first().map(|_| {
                            // The message ends before the first ` key=`; the message itself has no `=`.
                            let eq = body.find('=').unwrap();
                            body[..eq].rfind(' ').unwrap_or(0)
                        }).unwrap_or(body.len());
                        prop_assert_eq!(unescape(&body[..text_end], false).unwrap(), msg.clone());
                        rest = &rest[text_end..];
                        for (k, v) in &fields {
                            let r2 = rest.strip_prefix(' ').unwrap_or(rest);
                            let p = logfmt_pair(r2);
                            prop_assert!(p.is_ok(), "{:?} in {}", p, s);
                            let (dk, dv, r3) = p.unwrap();
                            let want: String = if k.is_empty() { "_".into() } else {
                                k.chars().map(|c| if KEY.keeps(c) { c } else { '_' }).collect()
                            };
                            prop_assert_eq!(dk, want);
                            prop_assert_eq!(dv, v.text());
                            rest = r3;
                        }
                        prop_assert_eq!(rest, "");
                    }
                    if cut {
                        prop_assert!(body.ends_with(TRUNCATION_MARKER), "{}", s);
                    }
                }
                Format::Rfc5424 => {
                    let p = sd::parse(body);
                    prop_assert!(p.is_ok(), "{:?}: {}", p, s);
                    let (els, m) = p.unwrap();
                    if cut {
                        prop_assert!(m.ends_with(TRUNCATION_MARKER), "{}", s);
                    } else {
                        if !msg.contains('\\') {
                            prop_assert_eq!(unescape(m, false).unwrap(), msg.clone());
                        }
                        let mut want_els = 0;
                        if let Some(spans) = &spans {
                            want_els += spans.len();
                        }
                        if !fields.is_empty() {
                            want_els += 1;
                            let (id, params) = els.last().unwrap();
                            prop_assert_eq!(id, "fields@32473");
                            for ((_, pv), (_, v)) in params.iter().zip(&fields) {
                                prop_assert_eq!(pv, &v.text());
                            }
                        }
                        prop_assert_eq!(els.len(), want_els);
                    }
                }
            }
        }

        #[test]
        fn logfmt_single_value_round_trips(key in any_text(), v in any_value()) {
            let fields = [(key.as_str(), v.value())];
            let s = body(Format::Logfmt, "", &fields);
            let s = s.strip_suffix('\0').unwrap();
            prop_assert!(!s.starts_with(' '));
            let (_, dv, rest) = logfmt_pair(s).map_err(TestCaseError::fail)?;
            prop_assert_eq!(dv, v.text());
            prop_assert_eq!(rest, "");
        }
    }
}
