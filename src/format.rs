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

use std::cell::RefCell;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

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
    // Built by the tracing adapter (`record_debug`); `log`'s key-values never need it.
    #[cfg_attr(not(test), allow(dead_code))]
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
#[cfg_attr(not(test), allow(dead_code))] // For adapters with nothing to add (tracing span-less paths).
pub(crate) struct NoFields;

impl Fields for NoFields {
    fn visit(&self, _visitor: &mut dyn FnMut(&str, Value<'_>)) {
        // Nothing to visit: this is the empty source.
    }
}

impl Fields for &[(&str, Value<'_>)] {
    fn visit(&self, visitor: &mut dyn FnMut(&str, Value<'_>)) {
        for (k, v) in self.iter() {
            visitor(k, *v);
        }
    }
}

/// The chain of spans an event happened in (tracing), outermost first.
pub(crate) trait Spans {
    /// Calls `visitor(span_name, span_fields)` for each span, outermost first.
    fn visit(&self, visitor: &mut dyn FnMut(&str, &dyn Fields));
}

/// A record's message as an adapter hands it over.
#[derive(Clone, Copy)]
pub(crate) enum Message<'a> {
    /// `log`'s format arguments: formatted without a `Display` level around them, and copied as
    /// they are when they are a plain string literal.
    #[cfg_attr(not(feature = "log"), allow(dead_code))] // Only the `log` adapter builds it.
    Args(&'a fmt::Arguments<'a>),
    /// Anything else that displays (`tracing`'s `message` field, the writer's own records).
    Display(&'a dyn fmt::Display),
}

/// What the renderer needs from one record.
pub(crate) struct Record<'a> {
    pub(crate) priority: Priority,
    pub(crate) message: Message<'a>,
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

/// An RFC 3339 time as [`Timestamp::rfc3339`] writes it, on the stack.
pub(crate) struct Rfc3339 {
    bytes: [u8; 32],
    len: usize,
}

impl Rfc3339 {
    fn put(&mut self, s: &[u8]) {
        self.bytes[self.len..self.len + s.len()].copy_from_slice(s);
        self.len += s.len();
    }

    /// `n` (at most 99) as two digits.
    fn two(&mut self, n: u32) {
        let n = n.min(99) as u8;
        self.put(&[b'0' + n / 10, b'0' + n % 10]);
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl Timestamp {
    /// `2026-11-22T20:34:36.123456+01:00` (`Z` for UTC; the fraction only with `micros`): the RFC
    /// 5424 header's time and the dropped-records summary's. The year is clamped to 0–9999 and the
    /// offset to 99 hours, so the text is always valid RFC 3339 and at most 32 bytes.
    pub(crate) fn rfc3339(&self, micros: bool) -> Rfc3339 {
        let mut t = Rfc3339 {
            bytes: [0; 32],
            len: 0,
        };
        let year = self.year.clamp(0, 9999) as u32;
        t.two(year / 100);
        t.two(year % 100);
        t.put(b"-");
        t.two(u32::from(self.month));
        t.put(b"-");
        t.two(u32::from(self.day));
        t.put(b"T");
        t.two(u32::from(self.hour));
        t.put(b":");
        t.two(u32::from(self.minute));
        t.put(b":");
        t.two(u32::from(self.second));
        if micros {
            let micros = self.micros.min(999_999);
            t.put(b".");
            t.two(micros / 10_000);
            t.two(micros / 100 % 100);
            t.two(micros % 100);
        }
        if self.utc_offset == 0 {
            t.put(b"Z");
        } else {
            t.put(if self.utc_offset < 0 { b"-" } else { b"+" });
            let off = self.utc_offset.unsigned_abs();
            t.two(off / 3600);
            t.put(b":");
            t.two(off % 3600 / 60);
        }
        t
    }
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

/// `CLASS` restricted to `mask`.
const fn table(mask: u8) -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = CLASS[i] & mask;
        i += 1;
    }
    t
}

const TABLE_MSG: [u8; 256] = table(C_CTRL | C_LEAD);
const TABLE_JSON: [u8; 256] = table(C_CTRL | C_QUOTE | C_LEAD);
const TABLE_LOGFMT: [u8; 256] = table(C_CTRL | C_QUOTE | C_SPACE | C_LEAD);
const TABLE_SD: [u8; 256] = table(C_CTRL | C_QUOTE | C_BRACKET | C_LEAD);
/// Bytes a logfmt key cannot keep as they are (`"` is in `C_QUOTE` together with `\`, which keys
/// keep, so it is added by hand).
const TABLE_LOGFMT_KEY: [u8; 256] = {
    let mut t = table(C_CTRL | C_SPACE | C_LEAD);
    t[b'"' as usize] = C_QUOTE;
    t
};
/// Bytes outside printable US-ASCII (RFC 5424 names), plus `=`, `]`, `"` for PARAM-NAMEs.
const TABLE_NOT_PRINT: [u8; 256] = {
    let mut t = [1u8; 256];
    let mut i = b'!' as usize;
    while i <= b'~' as usize {
        t[i] = 0;
        i += 1;
    }
    t
};
const TABLE_PARAM_NAME: [u8; 256] = {
    let mut t = TABLE_NOT_PRINT;
    t[b'=' as usize] = 1;
    t[b']' as usize] = 1;
    t[b'"' as usize] = 1;
    t
};
/// Bytes the RFC 3164 ident cannot hold (C0, DEL, space, and lead bytes of C1/U+2028/U+2029).
const TABLE_IDENT: [u8; 256] = table(C_CTRL | C_LEAD | C_SPACE);

// Word-at-a-time pre-checks for [`scan`]: each returns non-zero when an 8-byte word (read little
// endian) holds a byte its table may flag. They may over-report (every byte >= 0x80 counts, since
// the lead bytes the tables flag are among them; the table then decides), never under-report.
const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Non-zero when `w` holds the byte `b`.
#[inline(always)]
const fn has_byte(w: u64, b: u8) -> u64 {
    let x = w ^ (LO * b as u64);
    x.wrapping_sub(LO) & !x & HI
}

/// Non-zero when `w` holds a byte below `n` (exact for `n <= 0x80`).
#[inline(always)]
const fn has_below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(LO * n as u64) & !w & HI
}

/// C0 controls, DEL and anything outside ASCII: what the message table may flag.
#[inline(always)]
const fn word_msg(w: u64) -> u64 {
    has_below(w, 0x20) | has_byte(w, 0x7f) | (w & HI)
}

/// Also `"` and `\`: JSON strings.
#[inline(always)]
const fn word_json(w: u64) -> u64 {
    word_msg(w) | has_byte(w, b'"') | has_byte(w, b'\\')
}

/// Also space and `=`: logfmt values and keys.
#[inline(always)]
const fn word_logfmt(w: u64) -> u64 {
    word_json(w) | has_byte(w, b' ') | has_byte(w, b'=')
}

/// Also `]`: PARAM-VALUEs.
#[inline(always)]
const fn word_sd(w: u64) -> u64 {
    word_json(w) | has_byte(w, b']')
}

/// The RFC 3164 ident: controls, space, `=`, non-ASCII.
#[inline(always)]
const fn word_ident(w: u64) -> u64 {
    word_msg(w) | has_byte(w, b' ') | has_byte(w, b'=')
}

/// Outside printable US-ASCII, plus `=`, `]`, `"` (RFC 5424 names).
#[inline(always)]
const fn word_not_print(w: u64) -> u64 {
    has_below(w, 0x21) | has_byte(w, 0x7f) | (w & HI) | word_sd(w) | has_byte(w, b'=')
}

/// A byte table and its word-at-a-time pre-check, as [`Out::sanitized`] takes them.
type Class = (&'static [u8; 256], fn(u64) -> u64);

/// Logfmt keys and span names.
const CLASS_KEY: Class = (&TABLE_LOGFMT_KEY, word_logfmt);
/// The RFC 3164 ident.
const CLASS_IDENT: Class = (&TABLE_IDENT, word_ident);
/// RFC 5424 APP-NAME and HOSTNAME.
const CLASS_NOT_PRINT: Class = (&TABLE_NOT_PRINT, word_not_print);
/// RFC 5424 PARAM-NAMEs.
const CLASS_PARAM_NAME: Class = (&TABLE_PARAM_NAME, word_not_print);

/// Whether `class` flags no byte of `s` (so it can be written as it is).
#[inline]
fn plain(s: &str, (table, word): Class) -> bool {
    scan(s.as_bytes(), 0, table, word) == s.len()
}

/// The index of the first byte at or after `i` that `table` flags, or `bytes.len()`. `word` is the
/// table's word-at-a-time pre-check (one of the `word_*` functions above).
#[inline(always)]
fn scan(bytes: &[u8], mut i: usize, table: &[u8; 256], word: impl Fn(u64) -> u64) -> usize {
    loop {
        // Eight bytes per branch: plain text is the common case.
        while let Some(chunk) = bytes.get(i..i + 8) {
            let Ok(w) = <[u8; 8]>::try_from(chunk) else {
                break;
            };
            if word(u64::from_le_bytes(w)) != 0 {
                break;
            }
            i += 8;
        }
        if let Some(rest) = bytes.get(i..).filter(|rest| rest.len() < 8) {
            // The last few bytes as one word: short keys and pieces of text then take one test
            // instead of a loop.
            if rest.is_empty() || word(tail_word(bytes, rest)) == 0 {
                return bytes.len();
            }
        }
        // The word that stopped the loop (or the last few bytes), byte by byte.
        let end = bytes.len().min(i + 8);
        while i < end {
            if table[bytes[i] as usize] != 0 {
                return i;
            }
            i += 1;
        }
        if i >= bytes.len() {
            return i;
        }
    }
}

/// One word that holds every byte of `rest` (1 to 7 bytes at the end of `bytes`), built from
/// loads rather than byte stores so that it costs no store-forwarding stall. Bytes outside `rest`
/// are the eight before the end of `bytes` (already scanned, or flagged and then handled: a
/// flagged one only sends the caller to the byte loop), or, in a shorter `bytes`, repeats of
/// bytes of `rest` and `a`, which no table flags.
#[inline(always)]
fn tail_word(bytes: &[u8], rest: &[u8]) -> u64 {
    // (`first_chunk`/`last_chunk` would say this shorter, but need Rust 1.77; the MSRV is 1.74.)
    fn chunk<const N: usize>(bytes: &[u8], at: Option<usize>) -> Option<[u8; N]> {
        at.and_then(|at| bytes.get(at..at + N))
            .and_then(|s| <[u8; N]>::try_from(s).ok())
    }
    if let Some(last) = chunk::<8>(bytes, bytes.len().checked_sub(8)) {
        return u64::from_le_bytes(last);
    }
    if let (Some(lo), Some(hi)) = (
        chunk::<4>(rest, Some(0)),
        chunk::<4>(rest, rest.len().checked_sub(4)),
    ) {
        return u64::from(u32::from_le_bytes(lo)) | u64::from(u32::from_le_bytes(hi)) << 32;
    }
    match (rest.first(), rest.last()) {
        (Some(&first), Some(&last)) => {
            let mid = rest[rest.len() / 2];
            u64::from(first) | u64::from(mid) << 8 | u64::from(last) << 16 | (LO * 0x61) << 24
        }
        _ => LO * 0x61,
    }
}

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
    #[inline(always)]
    const fn from_code(code: u8) -> Esc {
        match code {
            0 => Esc::Msg,
            1 => Esc::Json,
            2 => Esc::Logfmt,
            _ => Esc::Sd,
        }
    }

    /// The bytes this mode stops at: `CLASS` masked, as a table of its own so the scanning loop
    /// is one load per byte.
    #[inline(always)]
    fn table(self) -> &'static [u8; 256] {
        match self {
            Esc::Msg => &TABLE_MSG,
            Esc::Json => &TABLE_JSON,
            Esc::Logfmt => &TABLE_LOGFMT,
            Esc::Sd => &TABLE_SD,
        }
    }

    /// This mode's word-at-a-time pre-check for [`scan`].
    #[inline(always)]
    fn word(self, w: u64) -> u64 {
        match self {
            Esc::Msg => word_msg(w),
            Esc::Json => word_json(w),
            Esc::Logfmt => word_logfmt(w),
            Esc::Sd => word_sd(w),
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

/// "00" to "99", for writing two digits per division.
const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Writes `n` in decimal at the end of `digits`; returns where the digits start.
fn u128_digits(mut n: u128, digits: &mut [u8; 39]) -> usize {
    let mut i = digits.len();
    // Divide in u64 once the value fits: 128-bit division is much slower.
    while n > u128::from(u64::MAX) {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    u64_digits(n as u64, &mut digits[..i])
}

/// Writes `m` in decimal at the end of `digits` (at least 20 bytes); returns where it starts.
#[inline]
fn u64_digits(mut m: u64, digits: &mut [u8]) -> usize {
    let mut i = digits.len();
    while m >= 100 {
        let pair = (m % 100) as usize * 2;
        m /= 100;
        i -= 2;
        digits[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if m >= 10 {
        i -= 2;
        let pair = m as usize * 2;
        digits[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        i -= 1;
        digits[i] = b'0' + m as u8;
    }
    i
}

/// Whether a logfmt string value can be written bare: non-empty, and nothing in it that would be
/// escaped or that forces quotes (space, `=`).
fn logfmt_bare(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut i = 0;
    loop {
        i = scan(bytes, i, &TABLE_LOGFMT, word_logfmt);
        if i >= bytes.len() {
            return !s.is_empty();
        }
        let b = bytes[i];
        match TABLE_LOGFMT[b as usize] {
            C_LEAD if b == 0xc2 && bytes[i + 1] >= 0xa0 => i += 2,
            C_LEAD
                if b == 0xe2
                    && (bytes[i + 1] != 0x80 || (bytes[i + 2] != 0xa8 && bytes[i + 2] != 0xa9)) =>
            {
                i += 3
            }
            _ => return false,
        }
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
    /// Extra bytes `buf` may hold for a moment: the opening quote of a logfmt value that may be
    /// taken out again.
    slack: usize,
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
        self.full = self.buf.len() > self.max + self.slack;
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
        let take = s.len().min(self.max + self.slack + 1 - start);
        self.buf.extend_from_slice(&s[..take]);
        self.ran(start, tail);
    }

    /// The bookkeeping of [`Out::run`] for text already appended at `start..`: the budget, and
    /// with `tail`, the last character boundary where the text could be cut and closed.
    #[inline]
    fn ran(&mut self, start: usize, tail: Option<&'static str>) {
        self.full = self.buf.len() > self.max + self.slack;
        if let Some(tail) = tail {
            if let Some(room) = self.max.checked_sub(start + tail.len()) {
                let len = self.buf.len() - start;
                let mut b = room.min(len);
                while b < len && !is_boundary(self.buf[start + b]) {
                    b -= 1;
                }
                if b > 0 {
                    self.cut = Some((start + b, tail));
                }
            }
        }
    }

    /// Appends `s` escaped for `esc`. Clears `*bare` when a logfmt value needs quotes.
    #[inline]
    fn escaped(&mut self, s: &str, esc: Esc, tail: Option<&'static str>, bare: &mut bool) {
        // One copy of the loop per mode, so the per-chunk test is specialised at compile time.
        match esc {
            Esc::Msg => self.escaped_as::<0>(s, tail, bare),
            Esc::Json => self.escaped_as::<1>(s, tail, bare),
            Esc::Logfmt => self.escaped_as::<2>(s, tail, bare),
            Esc::Sd => self.escaped_as::<3>(s, tail, bare),
        }
    }

    fn escaped_as<const E: u8>(&mut self, s: &str, tail: Option<&'static str>, bare: &mut bool) {
        let esc = Esc::from_code(E);
        let table = esc.table();
        let bytes = s.as_bytes();
        let mut start = 0;
        let mut i = 0;
        loop {
            i = scan(bytes, i, table, |w| esc.word(w));
            if i >= bytes.len() {
                break;
            }
            let b = bytes[i];
            let (c, width) = match table[b as usize] {
                C_SPACE => {
                    *bare = false;
                    i += 1;
                    continue;
                }
                C_LEAD if b == 0xc2 => {
                    // `s` is valid UTF-8, so a 2-byte lead is followed by a continuation byte.
                    let n = bytes[i + 1];
                    if n >= 0xa0 {
                        i += 2;
                        continue;
                    }
                    (u32::from(n), 2) // C1: U+0080..U+009F is encoded as C2 80..C2 9F.
                }
                C_LEAD => {
                    // 0xE2: a 3-byte sequence; only E2 80 A8 and E2 80 A9 are escaped.
                    if bytes[i + 1] != 0x80 || (bytes[i + 2] != 0xa8 && bytes[i + 2] != 0xa9) {
                        i += 3;
                        continue;
                    }
                    (0x2000 + u32::from(bytes[i + 2] - 0x80), 3)
                }
                _ => (u32::from(b), 1),
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
    /// `bad` flags every byte that may start a character `keep` rejects (the fast path).
    #[inline]
    fn sanitized(&mut self, s: &str, class: Class, keep: impl Fn(char) -> bool, max_chars: usize) {
        if s.is_empty() {
            self.push(b"_");
            return;
        }
        if s.len() <= max_chars && plain(s, class) {
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
    fn u128(&mut self, n: u128) {
        let mut digits = [0u8; 39];
        let i = u128_digits(n, &mut digits);
        self.push(&digits[i..]);
    }

    /// Appends a number (atomic, never cut).
    #[inline]
    fn u64(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        let i = u64_digits(n, &mut digits);
        self.push(&digits[i..]);
    }

    fn i64(&mut self, n: i64) {
        if n < 0 {
            self.push(b"-");
        }
        self.u64(n.unsigned_abs());
    }

    fn i128(&mut self, n: i128) {
        if n < 0 {
            self.push(b"-");
        }
        self.u128(n.unsigned_abs());
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
        self.full = self.buf.len() > self.max + self.slack;
    }
}

/// A [`fmt::Write`] that appends a `Display`/`Debug` value's text as it is, up to one character
/// past the budget, so it needs no intermediate `String`; [`formatted`] escapes it afterwards.
struct Raw<'o> {
    buf: &'o mut Vec<u8>,
    /// The length at which the budget is exceeded (`max + slack + 1`).
    limit: usize,
}

impl fmt::Write for Raw<'_> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.limit.saturating_sub(self.buf.len());
        if s.len() < room {
            self.buf.extend_from_slice(s.as_bytes());
            return Ok(());
        }
        // Past the budget: keep whole characters (the escaping pass reads whole sequences), and
        // stop the `Display` impl early, since nothing more would be kept.
        let mut end = room;
        while !s.is_char_boundary(end) {
            end += 1;
        }
        self.buf.extend_from_slice(&s.as_bytes()[..end]);
        Err(fmt::Error)
    }
}

thread_local! {
    /// Where [`formatted`] moves text that needs escaping while it escapes it back into place.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Writes a `Display`/`Debug` value escaped for `esc`; returns whether nothing in it would force
/// quotes around a logfmt value.
///
/// The value is formatted as it is into the output, then checked in one pass: plain text (the
/// common case) stays where it is, with the same budget and cut points [`Out::escaped`] would
/// have given it. From the first byte that needs escaping (or, for logfmt, quotes) on, the text
/// is moved aside and written back through [`Out::escaped`], so the bytes are the same either way.
fn formatted(
    out: &mut Out<'_>,
    args: fmt::Arguments<'_>,
    esc: Esc,
    tail: Option<&'static str>,
) -> bool {
    if out.full {
        return true;
    }
    let start = out.buf.len();
    let mut raw = Raw {
        limit: out.max + out.slack + 1,
        buf: &mut *out.buf,
    };
    // An error here is either our own "budget full" signal or a broken user impl; in both cases
    // what was written so far is kept and the cut logic decides.
    let _ = fmt::write(&mut raw, args);
    let clean = start + scan(&out.buf[start..], 0, esc.table(), |w| esc.word(w));
    if clean == out.buf.len() {
        out.ran(start, tail);
        return true;
    }
    let mut bare = true;
    let escape_rest = |rest: &mut Vec<u8>| {
        rest.clear();
        rest.extend_from_slice(&out.buf[clean..]);
        out.buf.truncate(clean);
        out.ran(start, tail);
        // `rest` holds whole characters cut from `&str`s, so this never fails; a prefix is
        // kept if it ever did.
        let text = match std::str::from_utf8(rest) {
            Ok(text) => text,
            Err(e) => std::str::from_utf8(&rest[..e.valid_up_to()]).unwrap_or_default(),
        };
        out.escaped(text, esc, tail, &mut bare);
    };
    with_thread_buffer(&SCRATCH, escape_rest);
    bare
}

/// Runs `f` with this thread's buffer in `key`, or with a fresh one (one allocation, this once)
/// when the buffer is already lent out (a `Display` impl that logs re-enters) or gone (thread
/// teardown).
#[inline]
pub(crate) fn with_thread_buffer<R>(
    key: &'static std::thread::LocalKey<RefCell<Vec<u8>>>,
    mut f: impl FnMut(&mut Vec<u8>) -> R,
) -> R {
    match key.try_with(|cell| cell.try_borrow_mut().ok().map(|mut buf| f(&mut buf))) {
        Ok(Some(r)) => r,
        _ => f(&mut Vec::new()),
    }
}

/// Writes a text-like value (a `&str`, or a `Display`/`Debug` value) escaped for `esc`; returns
/// whether nothing in it would force quotes around a logfmt value.
fn text(out: &mut Out<'_>, v: Value<'_>, esc: Esc, tail: Option<&'static str>) -> bool {
    let mut bare = true;
    match v {
        Value::Str(s) => out.escaped(s, esc, tail, &mut bare),
        Value::Display(d) => bare = formatted(out, format_args!("{d}"), esc, tail),
        Value::Debug(d) => bare = formatted(out, format_args!("{d:?}"), esc, tail),
        // Callers only pass text values.
        _ => {}
    }
    bare
}

/// Writes a message escaped for `esc`.
fn message(out: &mut Out<'_>, msg: Message<'_>, esc: Esc, tail: &'static str) {
    match msg {
        Message::Args(args) => match args.as_str() {
            Some(literal) => {
                text(out, Value::Str(literal), esc, Some(tail));
            }
            None => {
                formatted(out, *args, esc, Some(tail));
            }
        },
        Message::Display(d) => {
            text(out, Value::Display(d), esc, Some(tail));
        }
    }
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
#[inline]
fn is_logfmt_key_char(c: char) -> bool {
    if c.is_ascii() {
        // One table lookup for the common case.
        return CLASS[c as usize] & (C_CTRL | C_SPACE) == 0 && c != '"';
    }
    !matches!(c, '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}')
}

/// Characters the RFC 3164 ident keeps (the builder already sanitized it; this only guarantees a
/// single line whatever the input).
fn is_ident_char(c: char) -> bool {
    !c.is_control() && !matches!(c, ' ' | '\u{2028}' | '\u{2029}')
}

/// Appends the RFC 3164 header glibc's `syslog(3)` writes, `<PRI>Mmm dd hh:mm:ss ident[pid]: `,
/// to `out`. For the libc transport's fork fallback, which sends to `/dev/log` without glibc but
/// must look the same to the daemon.
pub(crate) fn write_rfc3164_header(
    out: &mut Vec<u8>,
    priority: Priority,
    ident: &str,
    pid: u32,
    now: &Timestamp,
) {
    // No budget: a header is never cut.
    let mut o = Out {
        buf: out,
        max: usize::MAX,
        cut: None,
        slack: 0,
        full: false,
    };
    header_3164(&mut o, priority, ident, pid, now);
}

/// `<PRI>Mmm dd hh:mm:ss ident[pid]: `, as glibc writes it.
fn header_3164(o: &mut Out<'_>, priority: Priority, ident: &str, pid: u32, now: &Timestamp) {
    // `<PRI>Mmm dd hh:mm:ss ` (glibc's `<%d>%h %e %T `) built on the stack, pushed at once.
    let mut head = [0u8; 26];
    let pri = u64_digits(u64::from(priority.value()), &mut head[..21]) - 1;
    head[pri] = b'<';
    let month = MONTHS[usize::from(now.month.clamp(1, 12) - 1)];
    let two = |n: u8, pad: u8| {
        let n = n.min(99);
        [if n < 10 { pad } else { b'0' + n / 10 }, b'0' + n % 10]
    };
    let [d0, d1] = two(now.day, b' ');
    let [h0, h1] = two(now.hour, b'0');
    let [m0, m1] = two(now.minute, b'0');
    let [s0, s1] = two(now.second, b'0');
    head[21..].copy_from_slice(&[b'>', month[0], month[1], month[2], b' ']);
    o.push(&head[pri..]);
    o.push(&[d0, d1, b' ', h0, h1, b':', m0, m1, b':', s0, s1, b' ']);
    o.sanitized(ident, CLASS_IDENT, is_ident_char, usize::MAX);
    // `[PID]: `
    let mut tail = [0u8; 23];
    tail[20..].copy_from_slice(b"]: ");
    let start = u64_digits(u64::from(pid), &mut tail[..20]) - 1;
    tail[start] = b'[';
    o.push(&tail[start..]);
}

/// Gives each [`Renderer`] its own id.
static NEXT_RENDERER_ID: AtomicU64 = AtomicU64::new(1);

/// The last RFC 3164 header a thread rendered, and what it was rendered from.
#[derive(Debug, Default)]
struct HeaderCache {
    /// Renderer id, pid, priority, and the local time to the second (month to second: the header
    /// shows no year); `None` before the first header.
    key: Option<(u64, u32, u8, u32)>,
    bytes: Vec<u8>,
}

thread_local! {
    /// A header changes once a second per priority, so most records copy it from here instead of
    /// formatting it again.
    static HEADER_3164: RefCell<HeaderCache> = RefCell::new(HeaderCache::default());
}

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

    /// [`header_3164`], copied from this thread's [`HEADER_3164`] when it was rendered for the same
    /// renderer, pid, priority and second.
    #[inline]
    fn cached_header_3164(&self, o: &mut Out<'_>, priority: Priority, pid: u32, now: &Timestamp) {
        let time = u32::from(now.month) << 24
            | u32::from(now.day) << 16
            | u32::from(now.hour) << 12
            | u32::from(now.minute) << 6
            | u32::from(now.second);
        let key = Some((self.id, pid, priority.value(), time));
        let cached = HEADER_3164.try_with(|cell| {
            let Ok(mut cache) = cell.try_borrow_mut() else {
                return false;
            };
            if cache.key == key {
                o.push(&cache.bytes);
                return true;
            }
            let start = o.buf.len();
            header_3164(o, priority, &self.ident, pid, now);
            // A header cut by a tiny size limit is not kept: the cache holds whole headers only.
            if !o.full {
                cache.bytes.clear();
                cache.bytes.extend_from_slice(&o.buf[start..]);
                cache.key = key;
            }
            true
        });
        if cached != Ok(true) {
            // The thread-local is gone (thread teardown) or borrowed: format it here instead.
            header_3164(o, priority, &self.ident, pid, now);
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

    /// `<PRI>1 2026-11-22T20:34:36.123456+01:00 HOST APP PID - ` (STRUCTURED-DATA follows).
    fn header_5424(&self, o: &mut Out<'_>, rec: &Record<'_>, pid: u32, now: &Timestamp) {
        o.push(b"<");
        o.u64(u64::from(rec.priority.value()));
        o.push(b">1 ");
        o.push(now.rfc3339(true).as_bytes());
        o.push(b" ");
        if self.hostname.is_empty() {
            o.push(b"-");
        } else {
            o.sanitized(
                &self.hostname,
                CLASS_NOT_PRINT,
                is_print_ascii,
                MAX_HOSTNAME,
            );
        }
        o.push(b" ");
        if self.ident.is_empty() {
            o.push(b"-");
        } else {
            o.sanitized(&self.ident, CLASS_NOT_PRINT, is_print_ascii, MAX_APP_NAME);
        }
        o.push(b" ");
        o.u64(u64::from(pid));
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
    if span.is_none() && logfmt_number_field(o, key, value) {
        return;
    }
    if let Some(span) = span {
        o.sanitized(span, CLASS_KEY, is_logfmt_key_char, usize::MAX);
        o.push(b".");
    }
    o.sanitized(key, CLASS_KEY, is_logfmt_key_char, usize::MAX);
    o.push(b"=");
    match value {
        // A bare value is never cut inside: what was kept would read as a complete value. When it
        // does not fit, the whole field goes.
        Value::Str(v) if logfmt_bare(v) => o.run(v.as_bytes(), None),
        Value::Str(v) => {
            o.push(b"\"");
            let mut bare = false;
            o.escaped(v, Esc::Logfmt, Some(TAIL_LOGFMT_QUOTED), &mut bare);
            o.push(b"\"");
        }
        Value::Display(_) | Value::Debug(_) => {
            // Written quoted; the quotes are taken out again when the value turns out not to
            // need them (the common case), which avoids formatting `Display` values twice.
            let quote = o.buf.len();
            o.push(b"\"");
            // The quote may go again: until then it must not count against the budget, or a
            // message exactly at the limit would be cut.
            o.slack = 1;
            let bare = text(o, value, Esc::Logfmt, Some(TAIL_LOGFMT_QUOTED));
            o.slack = 0;
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
            o.full = o.buf.len() > o.max;
        }
        _ => scalar(o, value),
    }
}

/// `key=value` for the most common field, a 64-bit integer under a key that needs no sanitizing,
/// when all of it fits the budget: the same bytes the general path writes, in three copies instead
/// of a budget check per piece. Returns `false` (having written nothing) in every other case.
#[inline]
fn logfmt_number_field(o: &mut Out<'_>, key: &str, value: Value<'_>) -> bool {
    let mut digits = [0u8; 21];
    let first = match value {
        Value::U64(n) => u64_digits(n, &mut digits[1..]) + 1,
        Value::I64(n) => {
            let at = u64_digits(n.unsigned_abs(), &mut digits[1..]) + 1;
            if n < 0 {
                digits[at - 1] = b'-';
                at - 1
            } else {
                at
            }
        }
        _ => return false,
    };
    let number = &digits[first..];
    if o.buf.len() + key.len() + 1 + number.len() > o.max + o.slack
        || key.is_empty()
        || !plain(key, CLASS_KEY)
    {
        return false;
    }
    o.buf.extend_from_slice(key.as_bytes());
    o.buf.push(b'=');
    o.buf.extend_from_slice(number);
    true
}

/// Numbers and booleans as their plain text (logfmt, JSON numbers, inside SD quotes).
fn scalar(o: &mut Out<'_>, value: Value<'_>) {
    match value {
        Value::Bool(true) => o.push(b"true"),
        Value::Bool(false) => o.push(b"false"),
        Value::I64(n) => o.i64(n),
        Value::U64(n) => o.u64(n),
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
            o.u64(u64::from(n));
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
    o.sanitized(key, CLASS_PARAM_NAME, is_param_name_char, MAX_PARAM_NAME);
    o.push(b"=\"");
    match value {
        Value::Str(_) | Value::Display(_) | Value::Debug(_) => {
            text(o, value, Esc::Sd, Some(TAIL_SD_VALUE));
        }
        _ => scalar(o, value),
    }
    o.push(b"\"");
}

/// The renderer behind a stable, allocation-friendly signature for the fuzz target
/// (`fuzz/fuzz_targets/format.rs`) and the property tests (`tests/it/fault.rs`). Not public API, no
/// semver promise.
#[doc(hidden)]
pub mod __fuzz {
    use super::{Fields, Framing, Message, Record, Renderer, Spans, Timestamp, Value};
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
            .clamp(crate::MESSAGE_SIZE_MIN, crate::MESSAGE_SIZE_MAX);
        let ident = crate::ident::Ident::new(input.ident)
            .map_or_else(|_| "fuzz".into(), |i| i.as_str().to_owned());
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
    use crate::{Facility, Severity};
    use proptest::prelude::*;

    const IDENT: &str = "web";
    const PID: u32 = 4242;
    /// local0.info
    const PRI: u8 = 134;

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

    fn renderer(format: Format, framing: Framing, max_len: usize) -> Renderer {
        Renderer::new(
            format,
            framing,
            IDENT.to_owned(),
            "host".to_owned(),
            max_len,
        )
    }

    const H3164: Framing = Framing::Header(Header::Rfc3164);
    const H5424: Framing = Framing::Header(Header::Rfc5424);
    const LIBC: Framing = Framing::LibcBody;

    /// A slice of key-values as `&dyn Fields` (a slice itself is unsized).
    struct Kv<'a>(&'a [(&'a str, Value<'a>)]);

    impl Fields for Kv<'_> {
        fn visit(&self, visitor: &mut dyn FnMut(&str, Value<'_>)) {
            self.0.visit(visitor);
        }
    }

    /// Test spans: `(name, fields)`, outermost first.
    struct TestSpans<'a>(&'a [(&'a str, &'a [(&'a str, Value<'a>)])]);

    impl Spans for TestSpans<'_> {
        fn visit(&self, visitor: &mut dyn FnMut(&str, &dyn Fields)) {
            for (name, fields) in self.0 {
                visitor(name, &Kv(fields));
            }
        }
    }

    /// Renders and checks the invariants every output must hold; returns the text (without the
    /// libc NUL) and whether it was cut.
    fn render_full(
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

    fn render(r: &Renderer, msg: &str, fields: &[(&str, Value<'_>)]) -> (String, bool) {
        render_full(r, &msg, fields, None, &now())
    }

    /// Body only, untruncated, for compact golden tests.
    fn body(format: Format, msg: &str, fields: &[(&str, Value<'_>)]) -> String {
        let (s, cut) = render(&renderer(format, LIBC, 1 << 20), msg, fields);
        assert!(!cut);
        s + "\0"
    }

    fn access_fields() -> [(&'static str, Value<'static>); 3] {
        [
            ("status", Value::U64(200)),
            ("agent", Value::Str("curl 8")),
            ("ms", Value::F64(1.5)),
        ]
    }

    // === golden bytes: framing × format ===

    #[test]
    fn word_checks_never_miss_a_flagged_byte() {
        let pairs: [Class; 8] = [
            (&TABLE_MSG, word_msg),
            (&TABLE_JSON, word_json),
            (&TABLE_LOGFMT, word_logfmt),
            (&TABLE_SD, word_sd),
            CLASS_KEY,
            CLASS_IDENT,
            CLASS_NOT_PRINT,
            CLASS_PARAM_NAME,
        ];
        for (t, (table, word)) in pairs.iter().enumerate() {
            // `scan` pads short tails with `a`: flagged, it would send them byte by byte.
            assert_eq!(table[b'a' as usize], 0, "table {t} flags the padding byte");
            assert_eq!(
                word(LO * u64::from(b'a')),
                0,
                "table {t}'s word check flags padding"
            );
            for b in 0..=255u8 {
                for pos in 0..8 {
                    // Every filler too, so a borrow from a neighbouring byte cannot hide `b`.
                    for filler in [b'a', 0x00, 0xff, b' ', b'~'] {
                        let mut bytes = [filler; 8];
                        bytes[pos] = b;
                        let w = u64::from_le_bytes(bytes);
                        let flagged = bytes.iter().any(|&x| table[x as usize] != 0);
                        assert!(
                            !flagged || word(w) != 0,
                            "table {t}: {bytes:02x?} has a flagged byte the word check missed"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn scan_finds_the_first_flagged_byte_at_every_offset() {
        for len in 0..40 {
            for at in 0..=len {
                let mut bytes = vec![b'x'; len];
                if at < len {
                    bytes[at] = b'\n';
                }
                for start in 0..=len.min(at) {
                    assert_eq!(
                        scan(&bytes, start, &TABLE_MSG, word_msg),
                        at,
                        "{len} {at} {start}"
                    );
                }
            }
        }
        // Non-ASCII that no table flags is skipped byte by byte, then scanning goes on by word.
        let s = "é".repeat(5) + "plain text, long enough for words\u{2028}";
        assert_eq!(scan(s.as_bytes(), 0, &TABLE_MSG, word_msg), s.len() - 3);
        // Short text, scanned as one word built from overlapping loads.
        for (text, at) in [
            ("é", 2),
            ("ab\u{2028}", 2),
            ("\u{85}x", 0),
            ("key=", 3),
            ("k y", 1),
        ] {
            assert_eq!(
                scan(text.as_bytes(), 0, &TABLE_LOGFMT, word_logfmt),
                at,
                "{text:?}"
            );
        }
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
    fn cached_headers_follow_renderer_pid_priority_and_second() {
        let header = |r: &Renderer, pri: Priority, pid: u32, now: &Timestamp| {
            let mut out = Vec::new();
            let rec = Record {
                priority: pri,
                message: Message::Display(&"m"),
                fields: &NoFields,
                spans: None,
            };
            r.render(&mut out, &rec, pid, now);
            String::from_utf8(out).unwrap()
        };
        let info = Priority::new(Facility::Local0, Severity::Informational);
        let err = Priority::new(Facility::Local1, Severity::Error);
        let a = renderer(Format::Logfmt, H3164, 8192);
        let b = Renderer::new(Format::Logfmt, H3164, "other".into(), "host".into(), 8192);
        let t = now();
        let later = Timestamp {
            second: t.second + 1,
            ..t
        };
        // Each variant differs from the base line in one input, and is rendered right after it,
        // when the cache holds the base line's header.
        let base = || header(&a, info, 7, &t);
        let variants: [(&dyn Fn() -> String, &str); 5] = [
            (&base, "<134>Nov  2 09:05:01 web[7]: m"),
            (
                &|| header(&b, info, 7, &t),
                "<134>Nov  2 09:05:01 other[7]: m",
            ),
            (
                &|| header(&a, info, 8, &t),
                "<134>Nov  2 09:05:01 web[8]: m",
            ),
            (&|| header(&a, err, 7, &t), "<139>Nov  2 09:05:01 web[7]: m"),
            (
                &|| header(&a, info, 7, &later),
                "<134>Nov  2 09:05:02 web[7]: m",
            ),
        ];
        for (variant, want) in variants {
            assert_eq!(base(), "<134>Nov  2 09:05:01 web[7]: m");
            assert_eq!(variant(), want);
            assert_eq!(variant(), want, "from the cache");
        }
        // A clone shares the id and the contents, so it shares cached headers correctly.
        assert_eq!(
            header(&a.clone(), info, 7, &t),
            "<134>Nov  2 09:05:01 web[7]: m"
        );
    }

    #[test]
    fn rfc3164_header_pads_day_with_space_and_time_with_zero() {
        let r = renderer(Format::Logfmt, H3164, 8192);
        let mut t = now();
        t.day = 28;
        t.month = 1;
        t.hour = 23;
        let (s, _) = render_full(&r, &"x", &[], None, &t);
        assert_eq!(s, "<134>Jan 28 23:05:01 web[4242]: x");
    }

    #[test]
    fn standalone_rfc3164_header_matches_the_renderer() {
        let priority = Priority::new(Facility::Local1, Severity::Warning);
        let mut out = b"kept ".to_vec();
        write_rfc3164_header(&mut out, priority, IDENT, PID, &now());
        assert_eq!(out, b"kept <140>Nov  2 09:05:01 web[4242]: ");
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
    fn rfc5424_timestamp_offsets() {
        let r = renderer(Format::Rfc5424, H5424, 8192);
        let mut t = now();
        t.utc_offset = 0;
        t.micros = 999_999;
        assert!(render_full(&r, &"x", &[], None, &t)
            .0
            .contains(" 2026-11-02T09:05:01.999999Z host "));
        t.utc_offset = -(5 * 3600 + 30 * 60);
        t.micros = 123_456;
        assert!(render_full(&r, &"x", &[], None, &t)
            .0
            .contains(" 2026-11-02T09:05:01.123456-05:30 host "));
    }

    #[test]
    fn rfc5424_header_sanitizes_hostname_and_app_name() {
        let mut r = renderer(Format::Rfc5424, H5424, 8192);
        r.hostname = "hôst name".to_owned();
        r.ident = "wéb".to_owned();
        assert!(render(&r, "x", &[]).0.contains(" h_st_name w_b 4242 - - x"));
        r.hostname = String::new();
        assert!(render(&r, "x", &[]).0.contains("+01:00 - w_b 4242 "));
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
    fn rfc3339_times_with_and_without_the_fraction() {
        let t = now();
        let text = |t: Timestamp, micros| String::from_utf8(t.rfc3339(micros).as_bytes().to_vec());
        assert_eq!(text(t, true).unwrap(), "2026-11-02T09:05:01.000042+01:00");
        assert_eq!(text(t, false).unwrap(), "2026-11-02T09:05:01+01:00");
        let west = Timestamp {
            utc_offset: -(9 * 3600 + 30 * 60),
            micros: 999_999,
            ..t
        };
        assert_eq!(
            text(west, true).unwrap(),
            "2026-11-02T09:05:01.999999-09:30"
        );
        let utc = Timestamp { utc_offset: 0, ..t };
        assert_eq!(text(utc, false).unwrap(), "2026-11-02T09:05:01Z");
        // Out-of-range parts are clamped, so the text stays RFC 3339 and fits its 32 bytes.
        let odd = Timestamp {
            year: 123_456,
            micros: u32::MAX,
            utc_offset: -i32::MAX,
            ..t
        };
        assert_eq!(text(odd, true).unwrap(), "9999-11-02T09:05:01.999999-99:14");
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

    // === message hygiene (journald's and issue 6's edge cases) ===

    #[test]
    fn message_hygiene_table() {
        // (message, logfmt/5424 message text, JSON msg string)
        let cases: &[(&str, &str, &str)] = &[
            ("line1\nline2", "line1\\nline2", "line1\\nline2"),
            ("trailing\n", "trailing\\n", "trailing\\n"),
            ("cr\r\nlf", "cr\\r\\nlf", "cr\\r\\nlf"),
            ("tab\there", "tab\\there", "tab\\there"),
            ("nul\0inside", "nul\\u0000inside", "nul\\u0000inside"),
            (
                "\x1b[31mred\x1b[0m",
                "\\u001b[31mred\\u001b[0m",
                "\\u001b[31mred\\u001b[0m",
            ),
            ("%s%n%%", "%s%n%%", "%s%n%%"),
            ("", "", ""),
            ("grüße 日本 🎉", "grüße 日本 🎉", "grüße 日本 🎉"),
            (
                "del\x7f c1\u{85} ls\u{2028}ps\u{2029}",
                "del\\u007f c1\\u0085 ls\\u2028ps\\u2029",
                "del\\u007f c1\\u0085 ls\\u2028ps\\u2029",
            ),
            (
                "nbsp\u{a0} \u{2027}\u{202a}",
                "nbsp\u{a0} \u{2027}\u{202a}",
                "nbsp\u{a0} \u{2027}\u{202a}",
            ),
            (
                "back\\slash \"q\"",
                "back\\slash \"q\"",
                "back\\\\slash \\\"q\\\"",
            ),
            (
                "bell\x07 bs\x08 ff\x0c",
                "bell\\u0007 bs\\u0008 ff\\u000c",
                "bell\\u0007 bs\\u0008 ff\\u000c",
            ),
        ];
        for (msg, text, json) in cases {
            assert_eq!(
                body(Format::Logfmt, msg, &[]),
                format!("{text}\0"),
                "{msg:?}"
            );
            assert_eq!(
                body(Format::Json, msg, &[]),
                format!("@cee: {{\"msg\":\"{json}\"}}\0"),
                "{msg:?}"
            );
            let r = renderer(Format::Rfc5424, H5424, 1 << 20);
            let prefix = "<134>1 2026-11-02T09:05:01.000042+01:00 host web 4242 - -";
            let expected = if text.is_empty() {
                prefix.to_owned()
            } else {
                format!("{prefix} {text}")
            };
            assert_eq!(render(&r, msg, &[]).0, expected, "{msg:?}");
        }
    }

    #[test]
    fn empty_message_has_no_leading_space() {
        assert_eq!(body(Format::Logfmt, "", &[("a", Value::I64(1))]), "a=1\0");
        assert_eq!(
            body(Format::Json, "", &[("a", Value::I64(1))]),
            "@cee: {\"msg\":\"\",\"a\":1}\0"
        );
        let r = renderer(Format::Logfmt, H3164, 8192);
        assert_eq!(render(&r, "", &[]).0, "<134>Nov  2 09:05:01 web[4242]: ");
    }

    #[test]
    fn display_message_is_streamed_and_escaped() {
        let r = renderer(Format::Logfmt, LIBC, 8192);
        let args = format!("{}", 1); // keep a runtime value in the arguments
        let (s, _) = render_full(
            &r,
            &format_args!("a\nb {args} {:?}", "q\""),
            &[],
            None,
            &now(),
        );
        assert_eq!(s, "a\\nb 1 \"q\\\"\"");
    }

    // === logfmt values and keys ===

    #[test]
    fn logfmt_value_table() {
        struct D;
        impl fmt::Display for D {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("two ")?;
                f.write_str("parts")
            }
        }
        let dbg = vec!["a"];
        let cases: Vec<(Value<'_>, &str)> = vec![
            (Value::Str("plain"), "plain"),
            (Value::Str(""), "\"\""),
            (Value::Str("with space"), "\"with space\""),
            (Value::Str("a=b"), "\"a=b\""),
            (Value::Str("q\"uote"), "\"q\\\"uote\""),
            (Value::Str("back\\slash"), "\"back\\\\slash\""),
            (Value::Str("nl\ncr\rtab\t"), "\"nl\\ncr\\rtab\\t\""),
            (Value::Str("nul\0esc\x1b"), "\"nul\\u0000esc\\u001b\""),
            (Value::Str("c1\u{9f}ls\u{2028}"), "\"c1\\u009fls\\u2028\""),
            (Value::Str("grüße/日本"), "grüße/日本"),
            (Value::Str("%s%n"), "%s%n"),
            (Value::Bool(true), "true"),
            (Value::Bool(false), "false"),
            (Value::I64(i64::MIN), "-9223372036854775808"),
            (Value::U64(u64::MAX), "18446744073709551615"),
            (
                Value::I128(i128::MIN),
                "-170141183460469231731687303715884105728",
            ),
            (
                Value::U128(u128::MAX),
                "340282366920938463463374607431768211455",
            ),
            (Value::U128(0), "0"),
            (Value::F64(f64::NAN), "NaN"),
            (Value::F64(f64::INFINITY), "inf"),
            (Value::F64(f64::NEG_INFINITY), "-inf"),
            (Value::F64(-0.25), "-0.25"),
            (Value::F64(1e21), "1000000000000000000000"),
            (Value::Display(&D), "\"two parts\""),
            (Value::Debug(&dbg), "\"[\\\"a\\\"]\""),
        ];
        for (v, expected) in cases {
            assert_eq!(
                body(Format::Logfmt, "m", &[("k", v)]),
                format!("m k={expected}\0"),
                "{v:?}"
            );
        }
    }

    #[test]
    fn logfmt_keys_are_sanitized() {
        let fields = [
            ("a b", Value::I64(1)),
            ("a=b", Value::I64(2)),
            ("a\"b", Value::I64(3)),
            ("a\nb\0", Value::I64(4)),
            ("", Value::I64(5)),
            ("ü.x\\", Value::I64(6)),
            ("c1\u{85}", Value::I64(7)),
        ];
        assert_eq!(
            body(Format::Logfmt, "m", &fields),
            "m a_b=1 a_b=2 a_b=3 a_b_=4 _=5 ü.x\\=6 c1_=7\0"
        );
    }

    #[test]
    fn empty_fields_render_message_only() {
        assert_eq!(body(Format::Logfmt, "m", &[]), "m\0");
        assert_eq!(body(Format::Json, "m", &[]), "@cee: {\"msg\":\"m\"}\0");
    }

    // === JSON ===

    #[test]
    fn json_value_table() {
        let cases: Vec<(Value<'_>, &str)> = vec![
            (
                Value::Str("s \"q\" \\ \n\u{7f}\u{80}\u{2029}é"),
                "\"s \\\"q\\\" \\\\ \\n\\u007f\\u0080\\u2029é\"",
            ),
            (Value::Bool(false), "false"),
            (Value::I64(-7), "-7"),
            (
                Value::I128(i128::MAX),
                "170141183460469231731687303715884105727",
            ),
            (
                Value::U128(u128::MAX),
                "340282366920938463463374607431768211455",
            ),
            (Value::F64(0.1), "0.1"),
            (Value::F64(f64::NAN), "\"NaN\""),
            (Value::F64(f64::INFINITY), "\"inf\""),
            (Value::F64(f64::NEG_INFINITY), "\"-inf\""),
            (Value::Display(&42u8), "\"42\""),
            (Value::Debug(&Some("x")), "\"Some(\\\"x\\\")\""),
        ];
        for (v, expected) in cases {
            assert_eq!(
                body(Format::Json, "m", &[("k", v)]),
                format!("@cee: {{\"msg\":\"m\",\"k\":{expected}}}\0"),
                "{v:?}"
            );
        }
    }

    #[test]
    fn json_reserved_and_odd_keys() {
        let fields = [
            ("msg", Value::I64(1)),
            ("spans", Value::I64(2)),
            ("truncated", Value::I64(3)),
            ("_msg", Value::I64(4)),
            ("we\"ird\nkey", Value::I64(5)),
            ("", Value::I64(6)),
        ];
        assert_eq!(
            body(Format::Json, "m", &fields),
            "@cee: {\"msg\":\"m\",\"_msg\":1,\"_spans\":2,\"_truncated\":3,\"_msg\":4,\"we\\\"ird\\nkey\":5,\"\":6}\0"
        );
    }

    // === RFC 5424 SD ===

    #[test]
    fn sd_params_escape_and_sanitize() {
        let r = renderer(Format::Rfc5424, H5424, 8192);
        let long = "k".repeat(40);
        let fields = [
            ("q", Value::Str("a\"b\\c]d")),
            ("ctl", Value::Str("x\ny\0\u{2028}")),
            ("bad key=]\"é", Value::I64(1)),
            (long.as_str(), Value::I64(2)),
            ("", Value::Str("")),
            ("f", Value::F64(f64::NAN)),
            ("u", Value::U128(u128::MAX)),
        ];
        let (s, _) = render(&r, "%s%n", &fields);
        assert_eq!(
            s.split_once(" - ").unwrap().1,
            format!(
                "[fields@32473 q=\"a\\\"b\\\\c\\]d\" ctl=\"x\\u000ay\\u0000\\u2028\" bad_key____=\"1\" {}=\"2\" _=\"\" f=\"NaN\" u=\"340282366920938463463374607431768211455\"] %s%n",
                "k".repeat(32)
            )
        );
    }

    // === spans ===

    fn spans_fixture() -> [(&'static str, &'static [(&'static str, Value<'static>)]); 3] {
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
    fn spans_in_logfmt() {
        let spans = spans_fixture();
        let r = renderer(Format::Logfmt, LIBC, 8192);
        let (s, _) = render_full(
            &r,
            &"q",
            &[("ok", Value::Bool(true))],
            Some(&TestSpans(&spans)),
            &now(),
        );
        assert_eq!(s, "q req.method=GET req.name=\"n 1\" db.rows=3 ok=true");
        let (s, _) = render_full(
            &r,
            &"",
            &[],
            Some(&TestSpans(&[("a b", &[("", Value::I64(1))])])),
            &now(),
        );
        assert_eq!(s, "a_b._=1");
    }

    #[test]
    fn spans_in_json() {
        let spans = spans_fixture();
        let r = renderer(Format::Json, LIBC, 8192);
        let (s, _) = render_full(
            &r,
            &"q",
            &[("ok", Value::Bool(true))],
            Some(&TestSpans(&spans)),
            &now(),
        );
        assert_eq!(
            s,
            "@cee: {\"msg\":\"q\",\"spans\":[{\"name\":\"req\",\"method\":\"GET\",\"_name\":\"n 1\"},{\"name\":\"empty\"},{\"name\":\"db\",\"rows\":3}],\"ok\":true}"
        );
        let (s, _) = render_full(&r, &"q", &[], Some(&TestSpans(&[])), &now());
        assert_eq!(s, "@cee: {\"msg\":\"q\"}");
    }

    #[test]
    fn spans_in_rfc5424() {
        let spans = spans_fixture();
        let r = renderer(Format::Rfc5424, H5424, 8192);
        let (s, _) = render_full(
            &r,
            &"q",
            &[("ok", Value::Bool(true))],
            Some(&TestSpans(&spans)),
            &now(),
        );
        assert_eq!(
            s.split_once(" 4242 - ").unwrap().1,
            "[span1@32473 name=\"req\" method=\"GET\" _name=\"n 1\"][span2@32473 name=\"empty\"][span3@32473 name=\"db\" rows=\"3\"][fields@32473 ok=\"true\"] q"
        );
        let (s, _) = render_full(&r, &"", &[], Some(&TestSpans(&spans[1..2])), &now());
        assert!(s.ends_with(" 4242 - [span1@32473 name=\"empty\"]"), "{s}");
    }

    // === truncation ===

    /// Untruncated length of a rendering, for limit tests.
    fn full_len(r: &Renderer, msg: &str, fields: &[(&str, Value<'_>)]) -> usize {
        let mut big = r.clone();
        big.max_len = 1 << 24;
        let (s, cut) = render(&big, msg, fields);
        assert!(!cut);
        match r.framing {
            Framing::LibcBody => s.len() + LIBC_HEADER_OVERHEAD + r.ident.len(),
            Framing::Header(_) => s.len(),
        }
    }

    #[test]
    fn limit_exactly_at_one_under_one_over() {
        let msg = "x".repeat(100);
        // A bare `Display` value last: its provisional opening quote must not count.
        let fields = [("k", Value::Str("value")), ("d", Value::Display(&"plain"))];
        for format in [Format::Logfmt, Format::Json, Format::Rfc5424] {
            for framing in [H3164, H5424, LIBC] {
                if format == Format::Rfc5424 && framing != H5424 {
                    continue;
                }
                let r = renderer(format, framing, 0);
                let n = full_len(&r, &msg, &fields);
                let at = render(&renderer(format, framing, n), &msg, &fields);
                let over = render(&renderer(format, framing, n + 1), &msg, &fields);
                let under = render(&renderer(format, framing, n - 1), &msg, &fields);
                assert!(!at.1 && !over.1, "{format} {framing:?}");
                assert_eq!(at.0, over.0);
                assert!(under.1, "{format} {framing:?}");
                let marker = if format == Format::Json {
                    ",\"truncated\":true}"
                } else {
                    " [truncated]"
                };
                assert!(under.0.ends_with(marker), "{}", under.0);
            }
        }
    }

    #[test]
    fn logfmt_cut_inside_message_and_values() {
        // Header-less for short expectations: the budget is `n`.
        let r = |n| renderer(Format::Logfmt, LIBC, n + LIBC_HEADER_OVERHEAD + IDENT.len());
        let fields = [("k", Value::Str("a b c d e f"))];
        assert_eq!(
            render(&r(20), "hello world", &fields),
            ("hello wo [truncated]".to_owned(), true)
        );
        // Inside a quoted value: the quote is closed.
        let fields = [("k", Value::Str("a b c d e f g h i j"))];
        assert_eq!(
            render(&r(25), "hi", &fields).0,
            "hi k=\"a b c \" [truncated]"
        );
        // A bare string value is never cut inside (the rest would pass for a whole value): the
        // field goes.
        let fields = [("k", Value::Str("abcdefghijklmnopqrstuvwxyz"))];
        assert_eq!(render(&r(30), "hi", &fields).0, "hi [truncated]");
        // A `Display` value is streamed before it is known whether it needs quotes: cut before
        // its end, it stays quoted, even if what is left would not need quotes.
        let fields = [("k", Value::Display(&"abcdefghijklmnopqrstuvwxyz"))];
        assert_eq!(
            render(&r(30), "hi", &fields).0,
            "hi k=\"abcdefghijk\" [truncated]"
        );
        // A number is never split: the whole field goes.
        let fields = [("a", Value::I64(1)), ("k", Value::U64(123_456_789_012))];
        assert_eq!(render(&r(20), "hi", &fields).0, "hi a=1 [truncated]");
        // Never inside an escape: `\n` is kept whole or dropped whole.
        let msg = "abcdefghijklmnop\nqrstuvwxyz0123456789";
        assert_eq!(render(&r(29), msg, &[]).0, "abcdefghijklmnop [truncated]");
        assert_eq!(
            render(&r(30), msg, &[]).0,
            "abcdefghijklmnop\\n [truncated]"
        );
    }

    #[test]
    fn multibyte_character_straddling_the_cut() {
        let r = |n| renderer(Format::Logfmt, LIBC, n + LIBC_HEADER_OVERHEAD + IDENT.len());
        // "aaaa" + "é" (2 bytes) + "日" (3 bytes) + 20 × "z"; the marker takes 12 bytes.
        let msg = format!("aaaaé日{}", "z".repeat(20));
        assert_eq!(render(&r(17), &msg, &[]).0, "aaaa [truncated]");
        assert_eq!(render(&r(18), &msg, &[]).0, "aaaaé [truncated]");
        assert_eq!(render(&r(20), &msg, &[]).0, "aaaaé [truncated]");
        assert_eq!(render(&r(21), &msg, &[]).0, "aaaaé日 [truncated]");
        let r = |n| renderer(Format::Json, LIBC, n + LIBC_HEADER_OVERHEAD + IDENT.len());
        // `@cee: {"msg":"` is 14 bytes, the tail 19.
        assert_eq!(
            render(&r(14 + 19 + 5), &msg, &[]).0,
            "@cee: {\"msg\":\"aaaa\",\"truncated\":true}"
        );
        assert_eq!(
            render(&r(14 + 19 + 6), &msg, &[]).0,
            "@cee: {\"msg\":\"aaaaé\",\"truncated\":true}"
        );
    }

    #[test]
    fn json_cut_closes_string_and_marks() {
        let r = |n| renderer(Format::Json, LIBC, n + LIBC_HEADER_OVERHEAD + IDENT.len());
        let fields = [
            ("a", Value::Str("xyz")),
            ("b", Value::I64(1_234_567_890_123_456_789)),
        ];
        let full = "@cee: {\"msg\":\"hello\",\"a\":\"xyz\",\"b\":1234567890123456789}";
        assert_eq!(
            render(&r(full.len()), "hello", &fields),
            (full.to_owned(), false)
        );
        // Cut in the last number: the field goes.
        assert_eq!(
            render(&r(full.len() - 1), "hello", &fields),
            (
                "@cee: {\"msg\":\"hello\",\"a\":\"xyz\",\"truncated\":true}".to_owned(),
                true
            )
        );
        // Cut in a string value (never right after its opening quote).
        assert_eq!(
            render(&r(45), "hello", &fields).0,
            "@cee: {\"msg\":\"hello\",\"truncated\":true}"
        );
        assert_eq!(
            render(&r(46), "hello", &fields).0,
            "@cee: {\"msg\":\"hello\",\"a\":\"x\",\"truncated\":true}"
        );
        // Cut in the message.
        assert_eq!(
            render(&r(36), "hello", &fields).0,
            "@cee: {\"msg\":\"hel\",\"truncated\":true}"
        );
        assert_eq!(
            render(&r(33), "hello", &fields).0,
            "@cee: {\"msg\":\"\",\"truncated\":true}"
        );
    }

    #[test]
    fn json_cut_inside_spans_keeps_brackets_balanced() {
        let spans = spans_fixture();
        let r = renderer(Format::Json, LIBC, 1 << 20);
        let (full, _) = render_full(
            &r,
            &"q",
            &[("ok", Value::Bool(true))],
            Some(&TestSpans(&spans)),
            &now(),
        );
        for n in 33..full.len() {
            let r = renderer(Format::Json, LIBC, n + LIBC_HEADER_OVERHEAD + IDENT.len());
            let (s, cut) = render_full(
                &r,
                &"q",
                &[("ok", Value::Bool(true))],
                Some(&TestSpans(&spans)),
                &now(),
            );
            assert!(cut, "{n}");
            let v = json::parse(s.strip_prefix("@cee: ").unwrap())
                .unwrap_or_else(|e| panic!("{n}: {e}: {s}"));
            let json::Json::Obj(members) = v else {
                panic!("{s}")
            };
            assert_eq!(
                members.last().unwrap(),
                &("truncated".to_owned(), json::Json::Bool(true))
            );
        }
    }

    #[test]
    fn rfc5424_cut_keeps_sd_valid() {
        let spans = spans_fixture();
        let fields = [("ok", Value::Str("y\"es]"))];
        let r = renderer(Format::Rfc5424, H5424, 1 << 20);
        let (full, _) = render_full(&r, &"msg text", &fields, Some(&TestSpans(&spans)), &now());
        let header = full.find(" 4242 - ").unwrap() + " 4242 - ".len();
        for n in header + TAIL_SD_NONE.len()..full.len() {
            let r = renderer(Format::Rfc5424, H5424, n);
            let (s, cut) = render_full(&r, &"msg text", &fields, Some(&TestSpans(&spans)), &now());
            assert!(cut, "{n}");
            let (sd, msg) = sd::parse(&s[header..]).unwrap_or_else(|e| panic!("{n}: {e}: {s}"));
            assert!(msg.ends_with(TRUNCATION_MARKER), "{n}: {s}");
            for (_, params) in sd {
                for (_, v) in params {
                    assert!(!v.contains('\u{fffd}'));
                }
            }
        }
    }

    #[test]
    fn huge_message_is_cut_to_the_limit() {
        let msg = "é".repeat(150 * 1024); // 300 KB
        for format in [Format::Logfmt, Format::Json] {
            let r = renderer(format, H3164, 8192);
            let mut out = Vec::new();
            let rec = Record {
                priority: Priority::new(Facility::Local0, Severity::Informational),
                message: Message::Display(&msg),
                fields: &Kv(&[("k", Value::I64(1))]),
                spans: None,
            };
            assert!(r.render(&mut out, &rec, PID, &now()));
            let s = String::from_utf8(out.clone()).unwrap();
            let marker = if format == Format::Json {
                "\",\"truncated\":true}"
            } else {
                "é [truncated]"
            };
            assert!(s.ends_with(marker), "{}", &s[s.len() - 40..]);
            assert!(s.len() <= 8192 && s.len() >= 8192 - 1 - 18, "{}", s.len());
            // The buffer never held much more than the limit.
            assert!(out.capacity() < 3 * 8192, "{}", out.capacity());
        }
    }

    #[test]
    fn ten_thousand_fields() {
        let keys: Vec<String> = (0..10_000).map(|i| format!("k{i}")).collect();
        let fields: Vec<(&str, Value<'_>)> =
            keys.iter().map(|k| (k.as_str(), Value::U64(7))).collect();
        let (s, cut) = render(&renderer(Format::Logfmt, H3164, 8192), "m", &fields);
        assert!(cut && s.ends_with(" [truncated]") && s.len() <= 8192);
        let (s, cut) = render(&renderer(Format::Json, H3164, 8192), "m", &fields);
        assert!(cut && s.ends_with(",\"truncated\":true}"));
        json::parse(s.split_once("@cee: ").unwrap().1).unwrap();
        let (s, cut) = render(&renderer(Format::Rfc5424, H5424, 8192), "m", &fields);
        assert!(
            cut && s.ends_with("\"] [truncated]"),
            "{}",
            &s[s.len() - 30..]
        );
        // Fits when the limit allows.
        let (s, cut) = render(&renderer(Format::Json, H3164, 1 << 20), "m", &fields);
        assert!(!cut && s.ends_with(",\"k9999\":7}"));
    }

    #[test]
    fn tiny_limit_never_exceeds_max_len() {
        let mut r = renderer(Format::Rfc5424, H5424, 64);
        r.hostname = "h".repeat(100);
        let (s, cut) = render(&r, "hello", &[]);
        assert!(cut && s.len() <= 64);
        let mut r = renderer(Format::Json, LIBC, 64);
        r.ident = "i".repeat(48);
        let (s, cut) = render(&r, "hello", &[]);
        assert!(cut && s.is_empty(), "{s}");
    }

    #[test]
    fn marker_matches_tails() {
        assert_eq!(TRUNCATION_MARKER, "[truncated]");
        for tail in [
            TAIL_START,
            TAIL_TEXT,
            TAIL_LOGFMT_QUOTED,
            TAIL_SD_NONE,
            TAIL_SD_ELEMENT,
            TAIL_SD_VALUE,
        ] {
            assert!(tail.ends_with(TRUNCATION_MARKER));
        }
    }

    // === decoders used by the property tests ===

    /// A small JSON decoder, strict enough to catch anything that is not exactly one JSON value.
    mod json {
        #[derive(Debug, Clone, PartialEq)]
        pub(super) enum Json {
            Null,
            Bool(bool),
            Num(String),
            Str(String),
            Arr(Vec<Json>),
            Obj(Vec<(String, Json)>),
        }

        pub(super) fn parse(s: &str) -> Result<Json, String> {
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
    fn unescape(s: &str, sd: bool) -> Result<String, String> {
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
    fn logfmt_pair(s: &str) -> Result<(String, String, &str), String> {
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
    mod sd {
        pub(super) type Element = (String, Vec<(String, String)>);

        pub(super) fn parse(s: &str) -> Result<(Vec<Element>, &str), String> {
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
                                k.chars().map(|c| if is_logfmt_key_char(c) { c } else { '_' }).collect()
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
