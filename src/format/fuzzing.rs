//! The fuzz harness: the renderer behind a stable, allocation-friendly signature. The invariants
//! every output must meet are in `invariants`, which reads these types. Compiled only for the unit
//! tests and under `cfg(fuzzing)` (which cargo-fuzz passes), where `fastsyslog::fuzzing` and
//! `fastsyslog::invariants` are what `fuzz/fuzz_targets/format.rs` calls. Not in the published API.
// Public for the fuzz target; the unit tests reach it without that.
#![cfg_attr(not(fuzzing), allow(unreachable_pub))]

#[cfg(fuzzing)]
pub use super::decode;

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
    /// The same record rendered the way the background writer does (captured on the caller,
    /// rendered from the capture): must equal `bytes`.
    pub deferred: Vec<u8>,
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
    let (deferred, _) = super::captured::round_trip(&renderer, &record, PID, &now);
    Output {
        bytes,
        deferred,
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
