//! Pure rendering: a record becomes the bytes of one syslog message (header, body, hygiene,
//! truncation). No I/O and no FFI here.
//!
//! Everything is written straight into the caller's reused buffer: numbers through a stack buffer,
//! `Display`/`Debug` values through a [`fmt::Write`] adapter that escapes as it goes. Truncation is
//! decided while writing: the renderer remembers the latest *safe cut point* (a char boundary
//! outside any escape sequence, together with the bytes that close the syntax there and mark the
//! cut) that still fits, stops writing once the limit is passed, and then cuts back to that point.
//!
//! Rules beyond the wire-format notes, in one place for the crate docs' "Message format":
//! - Order: message, then span fields (outermost span first), then event fields, in every format
//!   (RFC 5424: `[span1@32473 ..][span2@32473 ..][fields@32473 ..] MSG`; JSON: `msg`, `spans`,
//!   then the event fields).
//! - One escape rule in every format and every place (message, value, PARAM-VALUE): a line feed
//!   is `\n`, a carriage return `\r`, a tab `\t`, and every other control character, DEL, C1,
//!   U+2028/U+2029 and the bidi and invisible format characters (U+061C, U+200B–U+200F,
//!   U+202A–U+202E, U+2066–U+2069, U+FEFF) are `\uXXXX` in lowercase hex (`\u001b`, `\u202e`;
//!   `\u0008`, not `\b`). Quotes and backslashes are escaped where the syntax needs it (JSON
//!   strings, quoted logfmt values and messages, PARAM-VALUEs, which also escape `]`).
//! - A span field called `name` becomes `_name` in RFC 5424 as in JSON.
//! - A logfmt message that holds a `=`, `"` or `\` is written quoted and escaped as a logfmt
//!   value (`"retry x=1" status=500`), so a logfmt parser reads no pair in it, and exactly the
//!   record's fields after it (`decode::logfmt_line` is that parser); any other message is
//!   written as it is, controls escaped. RFC 5424 MSG and the JSON `msg` cannot be mistaken for
//!   fields, so they are never quoted.
//! - A cut never splits a key, a number, a bare logfmt value or an escape sequence: a field whose
//!   key or number does not fit is left out whole, so every kept `key=value` pair is complete.
//! - A string value (`&str`, `Display` or `Debug`) too large for the room left keeps its key and
//!   is cut inside quotes, directly before the marker (`k="abc" [truncated]`, as JSON and SD cut
//!   their strings), but never right after its opening quote; in logfmt such a value is quoted
//!   even when it would be bare whole. A value that fits whole and is bare in logfmt is never cut
//!   by what comes after it: a later overflow cuts before its field instead.
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
//!
//! Not on the logging path: `decode` (one decoder for JSON, STRUCTURED-DATA and logfmt, for the
//! tests, the fuzz target and `fastsyslog::testing`), `invariants` (what every output must meet)
//! and `fuzzing` (the fuzz harness, only under `cfg(test)` and `cfg(fuzzing)`).

#[cfg(any(test, fuzzing, feature = "background"))]
pub(crate) mod captured;
mod escape;
mod header;
mod json;
mod logfmt;
mod out;
mod record;
mod sd;

#[cfg(any(test, fuzzing, feature = "testing"))]
pub mod decode;
#[cfg(any(test, fuzzing))]
pub mod fuzzing;
#[cfg(any(test, fuzzing))]
pub mod invariants;

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(test)]
pub(crate) use self::header::libc_header_len;
pub(crate) use self::header::write_rfc3164_header;
#[cfg(unix)]
pub(crate) use self::header::Stamp3164;
#[cfg(feature = "testing")]
pub(crate) use self::header::MONTHS;
pub(crate) use self::out::with_thread_buffer;
pub(crate) use self::record::{Event, Fields, Message, Record, Value};
// Only the tracing adapter and the fuzz harness name the trait here (`Event` and `Record` use it
// inside `record`).
#[cfg(any(feature = "tracing", fuzzing))]
pub(crate) use self::record::Spans;
// For the writer's own records and span-less tracing paths; unused in some feature sets.
#[allow(unused_imports)]
pub(crate) use self::record::NoFields;

use self::json::json_body;
use self::logfmt::logfmt_body;
use self::out::{is_boundary, Out};
use self::sd::sd_body;
use crate::clock::Timestamp;
use crate::error::ParseFormatError;

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
    type Err = ParseFormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "logfmt" => Ok(Format::Logfmt),
            "json" | "cee" => Ok(Format::Json),
            "rfc5424" | "5424" => Ok(Format::Rfc5424),
            _ => Err(ParseFormatError::new(s)),
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
            // glibc writes the header: exactly this many bytes, for this priority and pid.
            Framing::LibcBody => self.max_len.saturating_sub(header::libc_header_len(
                rec.priority.value(),
                &self.ident,
                pid,
            )),
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::severity::Priority;
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

    /// The `max_len` that leaves `n` bytes for a libc body under [`renderer`]'s header.
    pub(crate) fn libc_budget(n: usize) -> usize {
        n + libc_header_len(PRI, IDENT, PID)
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
        assert_eq!(
            captured::round_trip(r, &rec, PID, now),
            (out.clone(), cut),
            "the background writer renders the capture the same"
        );
        if r.framing == Framing::LibcBody {
            assert_eq!(out.pop(), Some(0), "libc body ends with NUL");
            let header = libc_header_len(PRI, &r.ident, PID);
            assert!(
                out.len() + header <= r.max_len.max(header),
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
    fn format_names_parse_and_unknown_names_are_errors() {
        for (text, want) in [
            ("logfmt", Format::Logfmt),
            (" JSON ", Format::Json),
            ("cee", Format::Json),
            ("rfc5424", Format::Rfc5424),
            ("5424", Format::Rfc5424),
        ] {
            assert_eq!(text.parse::<Format>(), Ok(want), "{text:?}");
            assert_eq!(want.to_string().parse::<Format>(), Ok(want));
        }
        let err = "yaml".parse::<Format>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown format \"yaml\" (expected logfmt, json or rfc5424)"
        );
        let _: &dyn std::error::Error = &err;
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
    fn libc_body_is_cut_only_when_the_datagram_is_over_the_limit() {
        // glibc's datagram is its header, exact for the priority and pid, then the body.
        for pid in [7, 4242, 4_000_000_000] {
            let header = libc_header_len(PRI, IDENT, pid);
            let r = renderer(Format::Logfmt, LIBC, 1024);
            for wire in [1000, 1023, 1024, 1025, 1100] {
                let msg = "x".repeat(wire - header);
                let mut out = Vec::new();
                let rec = Record {
                    priority: Priority::new(Facility::Local0, Severity::Informational),
                    message: Message::Display(&msg),
                    fields: &NoFields,
                    spans: None,
                };
                let cut = r.render(&mut out, &rec, pid, &now());
                assert_eq!(cut, wire > 1024, "pid {pid}, {wire} bytes");
                let sent = header + out.len() - 1; // without the NUL
                if cut {
                    assert!(sent <= 1024 && sent > 1024 - 2, "pid {pid}: {sent}");
                } else {
                    assert_eq!(sent, wire, "pid {pid}");
                }
            }
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
        assert_eq!(
            captured::round_trip(r, &rec, PID, &now()),
            (out.clone(), cut)
        );
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
}
