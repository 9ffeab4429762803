//! Pure rendering: a record becomes the bytes of one syslog message (header, body, hygiene,
//! truncation). No I/O and no `unsafe` here.
//!
//! Everything is written straight into the caller's reused buffer: numbers through a stack buffer,
//! `Display`/`Debug` values through a [`fmt::Write`] adapter that escapes as it goes. Truncation is
//! decided while writing: the renderer remembers the latest *safe cut point* (a char boundary
//! outside any escape sequence, together with the bytes that close the syntax there and mark the
//! cut) that still fits, stops writing once the limit is passed, and then cuts back to that point.

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

/// The marker literal, as a macro so the closing sequences below can be built with `concat!`.
macro_rules! marker {
    () => {
        "[truncated]"
    };
}

/// What a cut logfmt or RFC 5424 message ends with (after a space, unless the message is empty).
/// JSON bodies instead end with the key `"truncated":true`.
#[cfg_attr(not(test), allow(dead_code))] // For tests and docs; the tails spell it through `marker!`.
pub(crate) const TRUNCATION_MARKER: &str = marker!();

/// The RFC 5612 documentation enterprise number used in SD-IDs.
const SD_ENTERPRISE: &str = "@32473";

/// What glibc's `syslog(3)` puts in front of a body at most, besides the ident:
/// `<191>Mmm dd hh:mm:ss ` (21 bytes) plus `[` + ten pid digits + `]: ` (14 bytes).
pub(crate) const LIBC_HEADER_OVERHEAD: usize = 35;

/// Longest RFC 5424 APP-NAME and HOSTNAME.
const MAX_APP_NAME: usize = 48;
const MAX_HOSTNAME: usize = 255;
/// Longest RFC 5424 PARAM-NAME.
const MAX_PARAM_NAME: usize = 32;

// Closing sequences ("tails"): what follows a cut at a given place so the syntax stays valid and the
// cut is visible. Each is named for where the cut happens.
/// Logfmt/5424: at the very start of an empty message.
const TAIL_START: &str = marker!();
/// Logfmt/5424: after message text, a complete field, or a complete SD element.
const TAIL_TEXT: &str = concat!(" ", marker!());
/// Logfmt: inside a quoted value.
const TAIL_LOGFMT_QUOTED: &str = concat!("\" ", marker!());
/// 5424: before the first SD element (so STRUCTURED-DATA becomes `-`).
const TAIL_SD_NONE: &str = concat!("- ", marker!());
/// 5424: inside an SD element, between params.
const TAIL_SD_ELEMENT: &str = concat!("] ", marker!());
/// 5424: inside a PARAM-VALUE.
const TAIL_SD_VALUE: &str = concat!("\"] ", marker!());
/// JSON: between top-level members.
const TAIL_JSON_TOP: &str = ",\"truncated\":true}";
/// JSON: inside a top-level string value (or `msg`).
const TAIL_JSON_STR: &str = "\",\"truncated\":true}";
/// JSON: inside the `spans` array, between span objects.
const TAIL_JSON_SPANS: &str = "],\"truncated\":true}";
/// JSON: inside a span object, between members.
const TAIL_JSON_SPAN: &str = "}],\"truncated\":true}";
/// JSON: inside a string value of a span object.
const TAIL_JSON_SPAN_STR: &str = "\"}],\"truncated\":true}";

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

// Byte classes for the escaping loop. One table lookup per byte decides whether the byte is
// plain (copied in bulk with its neighbours) or needs a closer look.
/// C0 controls and DEL.
const C_CTRL: u8 = 1;
/// `"` and `\`: escaped in JSON strings, logfmt quoted values and PARAM-VALUEs.
const C_QUOTE: u8 = 2;
/// `]`: escaped in PARAM-VALUEs.
const C_BRACKET: u8 = 4;
/// Space and `=`: force quotes around a logfmt value.
const C_SPACE: u8 = 8;
/// Lead bytes of C1 controls (`C2 80..9F`) and U+2028/U+2029 (`E2 80 A8/A9`).
const C_LEAD: u8 = 16;

const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = C_CTRL;
        i += 1;
    }
    t[0x7f] = C_CTRL;
    t[b'"' as usize] = C_QUOTE;
    t[b'\\' as usize] = C_QUOTE;
    t[b']' as usize] = C_BRACKET;
    t[b' ' as usize] = C_SPACE;
    t[b'=' as usize] = C_SPACE;
    t[0xc2] = C_LEAD;
    t[0xe2] = C_LEAD;
    t
};

/// Which escaping rules a piece of text follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Esc {
    /// The free-text message of logfmt and 5424 bodies: controls only; `\`, `"` verbatim.
    Msg,
    /// A JSON string.
    Json,
    /// A logfmt value (written quoted; unquoted afterwards when it turns out not to need quotes).
    Logfmt,
    /// An RFC 5424 PARAM-VALUE.
    Sd,
}

impl Esc {
    const fn mask(self) -> u8 {
        match self {
            Esc::Msg => C_CTRL | C_LEAD,
            Esc::Json => C_CTRL | C_QUOTE | C_LEAD,
            Esc::Logfmt => C_CTRL | C_QUOTE | C_SPACE | C_LEAD,
            Esc::Sd => C_CTRL | C_QUOTE | C_BRACKET | C_LEAD,
        }
    }

    /// The escape sequence for code point `c` (one the class table flagged) into `seq`; returns
    /// its length.
    fn sequence(self, c: u32, seq: &mut [u8; 6]) -> usize {
        let short = match (self, c) {
            (Esc::Sd, 0x22 | 0x5c | 0x5d) => Some(c as u8),
            (Esc::Sd, _) => None,
            (_, 0x0a) => Some(b'n'),
            (_, 0x0d) => Some(b'r'),
            (_, 0x09) => Some(b't'),
            (Esc::Json | Esc::Logfmt, 0x22 | 0x5c) => Some(c as u8),
            _ => None,
        };
        seq[0] = b'\\';
        if let Some(s) = short {
            seq[1] = s;
            return 2;
        }
        const HEX: &[u8; 16] = b"0123456789abcdef";
        seq[1] = b'u';
        seq[2] = HEX[((c >> 12) & 0xf) as usize];
        seq[3] = HEX[((c >> 8) & 0xf) as usize];
        seq[4] = HEX[((c >> 4) & 0xf) as usize];
        seq[5] = HEX[(c & 0xf) as usize];
        6
    }
}

/// Whether `b` starts a UTF-8 character (is not a continuation byte).
#[inline]
fn is_boundary(b: u8) -> bool {
    (b as i8) >= -0x40
}

/// The output buffer with the byte budget and the latest safe cut point.
struct Out<'b> {
    buf: &'b mut Vec<u8>,
    /// The most bytes `buf` may hold in the end.
    max: usize,
    /// Where the message would be cut, and what would close it there.
    cut: Option<(usize, &'static str)>,
    /// `buf` went past `max`: everything after this is thrown away, so nothing more is written.
    full: bool,
}

impl Out<'_> {
    /// Appends bytes that must not be split (syntax, numbers, escape sequences).
    #[inline]
    fn push(&mut self, bytes: &[u8]) {
        if self.full {
            return;
        }
        self.buf.extend_from_slice(bytes);
        self.full = self.buf.len() > self.max;
    }

    /// Marks the current end as a place where the message may be cut and closed with `tail`.
    #[inline]
    fn safe(&mut self, tail: &'static str) {
        let pos = self.buf.len();
        if pos + tail.len() <= self.max {
            self.cut = Some((pos, tail));
        }
    }

    /// Appends valid UTF-8 that needs no escaping, with a safe point after each character (when
    /// `tail` is set). Copies at most one byte past the budget, so a huge message costs no more
    /// than a message at the limit.
    #[inline]
    fn run(&mut self, s: &[u8], tail: Option<&'static str>) {
        if self.full || s.is_empty() {
            return;
        }
        let start = self.buf.len();
        let take = s.len().min(self.max + 1 - start);
        self.buf.extend_from_slice(&s[..take]);
        self.full = self.buf.len() > self.max;
        if let Some(tail) = tail {
            if let Some(room) = self.max.checked_sub(start + tail.len()) {
                let mut b = room.min(s.len());
                while b < s.len() && !is_boundary(s[b]) {
                    b -= 1;
                }
                if b > 0 {
                    self.cut = Some((start + b, tail));
                }
            }
        }
    }

    /// Appends `s` escaped for `esc`. Clears `*bare` when a logfmt value needs quotes.
    fn escaped(&mut self, s: &str, esc: Esc, tail: Option<&'static str>, bare: &mut bool) {
        let bytes = s.as_bytes();
        let mask = esc.mask();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            let class = CLASS[b as usize] & mask;
            if class == 0 {
                i += 1;
                continue;
            }
            let (c, width) = if class == C_SPACE {
                *bare = false;
                i += 1;
                continue;
            } else if b < 0x80 {
                (u32::from(b), 1)
            } else if b == 0xc2 {
                // `s` is valid UTF-8, so a 2-byte lead is followed by a continuation byte.
                let n = bytes[i + 1];
                if n >= 0xa0 {
                    i += 2;
                    continue;
                }
                (u32::from(n), 2) // C1: U+0080..U+009F is encoded as C2 80..C2 9F.
            } else {
                // 0xE2: a 3-byte sequence; only E2 80 A8 and E2 80 A9 are escaped.
                if bytes[i + 1] != 0x80 || (bytes[i + 2] != 0xa8 && bytes[i + 2] != 0xa9) {
                    i += 3;
                    continue;
                }
                (0x2000 + u32::from(bytes[i + 2] - 0x80), 3)
            };
            *bare = false;
            self.run(&bytes[start..i], tail);
            let mut seq = [0u8; 6];
            let n = esc.sequence(c, &mut seq);
            self.push(&seq[..n]);
            if self.full {
                return;
            }
            if let Some(tail) = tail {
                self.safe(tail);
            }
            i += width;
            start = i;
        }
        self.run(&bytes[start..], tail);
    }

    /// Appends `s` with every character outside `keep` replaced by `_`, at most `max_chars`
    /// characters, `_` when `s` is empty. For keys and header fields, which are never cut.
    fn sanitized(&mut self, s: &str, keep: fn(char) -> bool, max_chars: usize) {
        if s.is_empty() {
            self.push(b"_");
            return;
        }
        // Fast path: already clean and short enough.
        if s.len() <= max_chars && s.bytes().all(|b| b < 0x80 && keep(char::from(b))) {
            self.push(s.as_bytes());
            return;
        }
        let mut utf8 = [0u8; 4];
        for c in s.chars().take(max_chars) {
            let c = if keep(c) { c } else { '_' };
            self.push(c.encode_utf8(&mut utf8).as_bytes());
        }
    }

    /// Appends a number (atomic, never cut).
    fn u128(&mut self, mut n: u128) {
        let mut digits = [0u8; 39];
        let mut i = digits.len();
        // Divide in u64 once the value fits: 128-bit division is much slower.
        while n > u128::from(u64::MAX) {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        let mut m = n as u64;
        loop {
            i -= 1;
            digits[i] = b'0' + (m % 10) as u8;
            m /= 10;
            if m == 0 {
                break;
            }
        }
        self.push(&digits[i..]);
    }

    fn i128(&mut self, n: i128) {
        if n < 0 {
            self.push(b"-");
        }
        self.u128(n.unsigned_abs());
    }

    /// `n` as two digits (header fields).
    #[inline]
    fn two(&mut self, n: u8, pad: u8) {
        let n = n.min(99);
        let tens = if n < 10 { pad } else { b'0' + n / 10 };
        self.push(&[tens, b'0' + n % 10]);
    }

    /// A finite `f64` through `Display` (Rust never prints an exponent there, so it is also a
    /// valid JSON number).
    fn f64_display(&mut self, v: f64) {
        if self.full {
            return;
        }
        use std::io::Write as _;
        // Writing into a Vec cannot fail.
        let _ = write!(self.buf, "{v}");
        self.full = self.buf.len() > self.max;
    }
}

/// A [`fmt::Write`] that escapes as it writes into [`Out`], so `Display`/`Debug` values need no
/// intermediate `String`.
struct Escaper<'o, 'b> {
    out: &'o mut Out<'b>,
    esc: Esc,
    tail: Option<&'static str>,
    /// Stays true while a logfmt value could be written without quotes.
    bare: bool,
}

impl fmt::Write for Escaper<'_, '_> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.out.escaped(s, self.esc, self.tail, &mut self.bare);
        if self.out.full {
            // Stop the `Display` impl early: nothing more would be kept.
            Err(fmt::Error)
        } else {
            Ok(())
        }
    }
}

/// Writes a text-like value (a `&str`, or a `Display`/`Debug` value) through an [`Escaper`];
/// returns whether it could stay a bare logfmt value and whether it wrote anything.
fn text(out: &mut Out<'_>, v: Value<'_>, esc: Esc, tail: Option<&'static str>) -> bool {
    let mut w = Escaper {
        out,
        esc,
        tail,
        bare: true,
    };
    // An error here is either our own "budget full" signal or a broken user impl; in both cases
    // what was written so far is kept and the cut logic decides.
    let _ = match v {
        Value::Str(s) => fmt::Write::write_str(&mut w, s),
        Value::Display(d) => fmt::write(&mut w, format_args!("{d}")),
        Value::Debug(d) => fmt::write(&mut w, format_args!("{d:?}")),
        // Callers only pass text values.
        _ => Ok(()),
    };
    w.bare
}

/// Writes a message (`&dyn Display`) escaped for `esc`.
fn message(out: &mut Out<'_>, msg: &dyn fmt::Display, esc: Esc, tail: &'static str) {
    text(out, Value::Display(msg), esc, Some(tail));
}

/// Printable US-ASCII except the characters RFC 5424 forbids in a PARAM-NAME.
fn is_param_name_char(c: char) -> bool {
    matches!(c, '!'..='~') && !matches!(c, '=' | ']' | '"')
}

/// Printable US-ASCII (RFC 5424 APP-NAME, HOSTNAME).
fn is_print_ascii(c: char) -> bool {
    matches!(c, '!'..='~')
}

/// Characters a logfmt key keeps: not space, `=`, `"`, nor anything the message would escape.
fn is_logfmt_key_char(c: char) -> bool {
    !matches!(c, '\0'..=' ' | '=' | '"' | '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}')
}

/// Characters the RFC 3164 ident keeps (the builder already sanitized it; this only guarantees a
/// single line whatever the input).
fn is_ident_char(c: char) -> bool {
    !c.is_control() && c != ' '
}

// === impl Renderer ===

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
            full: false,
        };
        match self.framing {
            Framing::Header(Header::Rfc3164) => self.header_3164(&mut o, rec, pid, now),
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
                None => {
                    // The limit is smaller than the header plus the shortest marked body (a tiny
                    // `max_len` with a long ident or host name): keep what fits of the header.
                    let mut pos = body_start.min(max);
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

    /// `<PRI>Mmm dd hh:mm:ss ident[pid]: `, as glibc writes it.
    fn header_3164(&self, o: &mut Out<'_>, rec: &Record<'_>, pid: u32, now: &Timestamp) {
        o.push(b"<");
        o.u128(u128::from(rec.priority.value()));
        o.push(b">");
        let month = usize::from(now.month.clamp(1, 12) - 1);
        o.push(MONTHS[month]);
        o.push(b" ");
        o.two(now.day, b' ');
        o.push(b" ");
        o.two(now.hour, b'0');
        o.push(b":");
        o.two(now.minute, b'0');
        o.push(b":");
        o.two(now.second, b'0');
        o.push(b" ");
        o.sanitized(&self.ident, is_ident_char, usize::MAX);
        o.push(b"[");
        o.u128(u128::from(pid));
        o.push(b"]: ");
    }

    /// `<PRI>1 2026-11-22T20:34:36.123456+01:00 HOST APP PID - ` (STRUCTURED-DATA follows).
    fn header_5424(&self, o: &mut Out<'_>, rec: &Record<'_>, pid: u32, now: &Timestamp) {
        o.push(b"<");
        o.u128(u128::from(rec.priority.value()));
        o.push(b">1 ");
        let year = now.year.clamp(0, 9999) as u16;
        o.two((year / 100) as u8, b'0');
        o.two((year % 100) as u8, b'0');
        o.push(b"-");
        o.two(now.month, b'0');
        o.push(b"-");
        o.two(now.day, b'0');
        o.push(b"T");
        o.two(now.hour, b'0');
        o.push(b":");
        o.two(now.minute, b'0');
        o.push(b":");
        o.two(now.second, b'0');
        o.push(b".");
        let micros = now.micros.min(999_999);
        o.two((micros / 10_000) as u8, b'0');
        o.two((micros / 100 % 100) as u8, b'0');
        o.two((micros % 100) as u8, b'0');
        if now.utc_offset == 0 {
            o.push(b"Z");
        } else {
            o.push(if now.utc_offset < 0 { b"-" } else { b"+" });
            let off = now.utc_offset.unsigned_abs();
            o.two((off / 3600).min(99) as u8, b'0');
            o.push(b":");
            o.two((off % 3600 / 60) as u8, b'0');
        }
        o.push(b" ");
        if self.hostname.is_empty() {
            o.push(b"-");
        } else {
            o.sanitized(&self.hostname, is_print_ascii, MAX_HOSTNAME);
        }
        o.push(b" ");
        if self.ident.is_empty() {
            o.push(b"-");
        } else {
            o.sanitized(&self.ident, is_print_ascii, MAX_APP_NAME);
        }
        o.push(b" ");
        o.u128(u128::from(pid));
        o.push(b" - ");
    }

    /// A logfmt or JSON body.
    fn text_body(&self, o: &mut Out<'_>, rec: &Record<'_>) {
        match self.format {
            Format::Json => json_body(o, rec),
            _ => logfmt_body(o, rec),
        }
    }
}

// === logfmt ===

/// `MESSAGE span.k=v key=value k2="with space"`.
fn logfmt_body(o: &mut Out<'_>, rec: &Record<'_>) {
    let start = o.buf.len();
    o.safe(TAIL_START);
    message(o, rec.message, Esc::Msg, TAIL_TEXT);
    if let Some(spans) = rec.spans {
        spans.visit(&mut |name, fields| {
            fields.visit(&mut |key, value| {
                logfmt_field(o, start, Some(name), key, value);
            });
        });
    }
    rec.fields.visit(&mut |key, value| {
        logfmt_field(o, start, None, key, value);
    });
}

/// ` key=value` (no space when it is the first thing in the body).
fn logfmt_field(o: &mut Out<'_>, start: usize, span: Option<&str>, key: &str, value: Value<'_>) {
    if o.full {
        return;
    }
    if o.buf.len() == start {
        o.safe(TAIL_START);
    } else {
        o.safe(TAIL_TEXT);
        o.push(b" ");
    }
    if let Some(span) = span {
        o.sanitized(span, is_logfmt_key_char, usize::MAX);
        o.push(b".");
    }
    o.sanitized(key, is_logfmt_key_char, usize::MAX);
    o.push(b"=");
    match value {
        Value::Str(_) | Value::Display(_) | Value::Debug(_) => {
            // Written quoted; the quotes are taken out again when the value turns out not to
            // need them (the common case), which avoids formatting `Display` values twice.
            let quote = o.buf.len();
            o.push(b"\"");
            let bare = text(o, value, Esc::Logfmt, Some(TAIL_LOGFMT_QUOTED));
            if o.full {
                return;
            }
            if bare && o.buf.len() > quote + 1 {
                o.buf.remove(quote);
                if let Some((pos, _)) = o.cut {
                    if pos > quote {
                        o.cut = Some((pos - 1, TAIL_TEXT));
                    }
                }
            } else {
                o.push(b"\"");
            }
        }
        _ => scalar(o, value),
    }
}

/// Numbers and booleans as their plain text (logfmt, JSON numbers, inside SD quotes).
fn scalar(o: &mut Out<'_>, value: Value<'_>) {
    match value {
        Value::Bool(true) => o.push(b"true"),
        Value::Bool(false) => o.push(b"false"),
        Value::I64(n) => o.i128(i128::from(n)),
        Value::U64(n) => o.u128(u128::from(n)),
        Value::I128(n) => o.i128(n),
        Value::U128(n) => o.u128(n),
        Value::F64(v) if v.is_nan() => o.push(b"NaN"),
        Value::F64(v) if v.is_infinite() => o.push(if v > 0.0 { b"inf" } else { b"-inf" }),
        Value::F64(v) => o.f64_display(v),
        Value::Str(_) | Value::Display(_) | Value::Debug(_) => {
            text(o, value, Esc::Sd, None);
        }
    }
}

// === JSON ===

/// `@cee: {"msg":"...","spans":[{"name":"req",...}],"key":value,...}`.
fn json_body(o: &mut Out<'_>, rec: &Record<'_>) {
    o.push(b"@cee: {\"msg\":\"");
    o.safe(TAIL_JSON_STR);
    message(o, rec.message, Esc::Json, TAIL_JSON_STR);
    o.push(b"\"");
    if let Some(spans) = rec.spans {
        let mut first = true;
        spans.visit(&mut |name, fields| {
            if o.full {
                return;
            }
            if first {
                o.safe(TAIL_JSON_TOP);
                o.push(b",\"spans\":[{\"name\":\"");
                first = false;
            } else {
                o.safe(TAIL_JSON_SPANS);
                o.push(b",{\"name\":\"");
            }
            text(o, Value::Str(name), Esc::Json, None);
            o.push(b"\"");
            fields.visit(&mut |key, value| {
                let key = if key == "name" { "_name" } else { key };
                json_member(o, key, value, TAIL_JSON_SPAN, TAIL_JSON_SPAN_STR);
            });
            o.push(b"}");
        });
        if !first {
            o.push(b"]");
        }
    }
    rec.fields.visit(&mut |key, value| {
        let key = match key {
            "msg" => "_msg",
            "spans" => "_spans",
            "truncated" => "_truncated",
            _ => key,
        };
        json_member(o, key, value, TAIL_JSON_TOP, TAIL_JSON_STR);
    });
    o.push(b"}");
}

/// `,"key":value`.
fn json_member(
    o: &mut Out<'_>,
    key: &str,
    value: Value<'_>,
    tail: &'static str,
    str_tail: &'static str,
) {
    if o.full {
        return;
    }
    o.safe(tail);
    o.push(b",\"");
    text(o, Value::Str(key), Esc::Json, None);
    o.push(b"\":");
    match value {
        Value::Str(_) | Value::Display(_) | Value::Debug(_) => {
            o.push(b"\"");
            text(o, value, Esc::Json, Some(str_tail));
            o.push(b"\"");
        }
        // Not representable as JSON numbers: strings, spelled as logfmt and Display spell them.
        Value::F64(v) if !v.is_finite() => {
            o.push(b"\"");
            scalar(o, value);
            o.push(b"\"");
        }
        _ => scalar(o, value),
    }
}

// === RFC 5424 STRUCTURED-DATA ===

/// `[span1@32473 name="req" k="v"][fields@32473 key="value"] MESSAGE`, or `- MESSAGE`.
fn sd_body(o: &mut Out<'_>, rec: &Record<'_>) {
    let start = o.buf.len();
    if let Some(spans) = rec.spans {
        let mut n = 0u32;
        spans.visit(&mut |name, fields| {
            if o.full {
                return;
            }
            n += 1;
            o.safe(if n == 1 { TAIL_SD_NONE } else { TAIL_TEXT });
            o.push(b"[span");
            o.u128(u128::from(n));
            o.push(SD_ENTERPRISE.as_bytes());
            o.push(b" name=\"");
            text(o, Value::Str(name), Esc::Sd, None);
            o.push(b"\"");
            fields.visit(&mut |key, value| {
                let key = if key == "name" { "_name" } else { key };
                sd_param(o, key, value);
            });
            o.push(b"]");
        });
    }
    let mut open = false;
    rec.fields.visit(&mut |key, value| {
        if o.full {
            return;
        }
        if !open {
            o.safe(if o.buf.len() == start {
                TAIL_SD_NONE
            } else {
                TAIL_TEXT
            });
            o.push(b"[fields");
            o.push(SD_ENTERPRISE.as_bytes());
            open = true;
        }
        sd_param(o, key, value);
    });
    if open {
        o.push(b"]");
    }
    if o.buf.len() == start {
        o.push(b"-");
    }
    let space = o.buf.len();
    o.push(b" ");
    o.safe(TAIL_START);
    message(o, rec.message, Esc::Msg, TAIL_TEXT);
    if !o.full && o.buf.len() == space + 1 {
        // ` MSG` is omitted when the message is empty.
        o.buf.truncate(space);
    }
}

/// ` name="value"`.
fn sd_param(o: &mut Out<'_>, key: &str, value: Value<'_>) {
    if o.full {
        return;
    }
    o.safe(TAIL_SD_ELEMENT);
    o.push(b" ");
    o.sanitized(key, is_param_name_char, MAX_PARAM_NAME);
    o.push(b"=\"");
    match value {
        Value::Str(_) | Value::Display(_) | Value::Debug(_) => {
            text(o, value, Esc::Sd, Some(TAIL_SD_VALUE));
        }
        _ => scalar(o, value),
    }
    o.push(b"\"");
}
