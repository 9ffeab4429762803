//! A record captured on the caller's thread for the background writer to render: the message and
//! the key-values copied into the record's reused buffer as typed values, then read back on the
//! writer as the [`Fields`] and [`Spans`] the renderer takes, so the bytes on the wire are the
//! ones the caller would have rendered.
//!
//! What the caller does is only what needs the borrowed arguments: it copies strings and numbers
//! and formats `Display`/`Debug` values (where a panicking user impl must be caught, as before).
//! The writer does the rest: the header, escaping, the body layout and truncation.
//!
//! Layout (integers little-endian, lengths `u32`):
//! - time: `u64` seconds and `u32` microseconds since the Unix epoch (`u64::MAX` seconds: none);
//! - message: a kind byte ([`LITERAL`]: kept beside the buffer as a `&'static str`; [`STR`] or
//!   [`DISPLAY`]: a length and the text);
//! - spans: a byte (0: none, 1: a chain follows); a chain is a `u32` byte length, then per span
//!   its name (length, text), a `u32` byte length and its entries;
//! - fields: a `u32` byte length, then the entries.
//!
//! An entry is a tag byte, the key (length, text) and the value: text as a length and its bytes,
//! booleans in the tag, numbers in fixed width. Text formatted from a `Display`/`Debug` value
//! stops one character past the message size limit, as the renderer's own formatting does, and
//! key-values stop once there are more than could be rendered within it, since no more of them
//! could ever be sent.

use std::fmt;
use std::time::Duration;

use super::escape::Raw;
use super::record::{Fields, Message, Record, Spans, Value};

/// What a queued buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// The bytes to send, rendered already (a backtrace ring's records, the tests' own).
    Rendered,
    /// A capture for the writer to render; the message when it is a literal (`""` otherwise, when
    /// the buffer says so).
    Captured(&'static str),
}

// Message kinds and value tags.
const LITERAL: u8 = 0;
const STR: u8 = 1;
const DISPLAY: u8 = 2;
const DEBUG: u8 = 3;
const FALSE: u8 = 4;
const TRUE: u8 = 5;
const I64: u8 = 6;
const U64: u8 = 7;
const I128: u8 = 8;
const U128: u8 = 9;
const F64: u8 = 10;

/// The time field's seconds when the record carries no time (glibc writes the header).
const NO_TIME: u64 = u64::MAX;

/// Captures `rec` into `buf` (cleared first): `time` is when it was logged (`None` when the
/// header carries none), `max_len` the renderer's message size limit. May panic when a user
/// `Display`/`Debug` impl does: the caller catches that and counts the drop.
pub(crate) fn capture(
    buf: &mut Vec<u8>,
    rec: &Record<'_>,
    time: Option<Duration>,
    max_len: usize,
) -> Form {
    buf.clear();
    let (secs, micros) = time.map_or((NO_TIME, 0), |d| (d.as_secs(), d.subsec_micros()));
    buf.extend_from_slice(&secs.to_le_bytes());
    buf.extend_from_slice(&micros.to_le_bytes());
    // One character past what the renderer could keep of a text starting at the message's start.
    let cap = max_len.saturating_add(2);
    let form = match rec.message {
        Message::Args(args) => match args.as_str() {
            Some(literal) => {
                buf.push(LITERAL);
                Form::Captured(literal)
            }
            None => {
                buf.push(DISPLAY);
                formatted(buf, *args, cap);
                Form::Captured("")
            }
        },
        Message::Str(s) => {
            buf.push(STR);
            text(buf, s);
            Form::Captured("")
        }
        Message::Display(d) => {
            buf.push(DISPLAY);
            formatted(buf, format_args!("{d}"), cap);
            Form::Captured("")
        }
    };
    // Each key-value renders as at least two bytes (a key of one character or `_`, then `=` or
    // `:`), so past this many, counted in the order they render, the renderer has stopped: the
    // rest need not be copied.
    let mut left = max_len / 2 + 2;
    match rec.spans {
        None => buf.push(0),
        Some(spans) => {
            buf.push(1);
            let at = buf.len();
            len(buf, 0);
            let start = buf.len();
            spans.visit(&mut |name, fields| {
                text(buf, name);
                entries(buf, fields, cap, &mut left);
            });
            patch(buf, at, start);
        }
    }
    entries(buf, rec.fields, cap, &mut left);
    form
}

/// Appends `n` as a length.
fn len(buf: &mut Vec<u8>, n: usize) {
    // Nothing queued is near 4 GiB: the byte budget and the message size limit keep it far below.
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    buf.extend_from_slice(&n.to_le_bytes());
}

/// Appends `s` with its length.
fn text(buf: &mut Vec<u8>, s: &str) {
    len(buf, s.len());
    buf.extend_from_slice(s.as_bytes());
}

/// Appends `args` formatted, at most about `cap` bytes of it, with its length.
fn formatted(buf: &mut Vec<u8>, args: fmt::Arguments<'_>, cap: usize) {
    let at = buf.len();
    len(buf, 0);
    let start = buf.len();
    let mut raw = Raw::new(buf, start.saturating_add(cap));
    // An error is either the cap ("nothing more would be kept") or a broken user impl; what was
    // written so far is kept, as the renderer keeps it.
    let _ = fmt::write(&mut raw, args);
    patch(buf, at, start);
}

/// Writes the length of what follows `start` into the placeholder at `at`.
fn patch(buf: &mut [u8], at: usize, start: usize) {
    let n = u32::try_from(buf.len() - start).unwrap_or(u32::MAX);
    buf[at..at + 4].copy_from_slice(&n.to_le_bytes());
}

/// Appends the entries of `fields` with their byte length in front, at most `left` of them
/// (counted down).
fn entries(buf: &mut Vec<u8>, fields: &dyn Fields, cap: usize, left: &mut usize) {
    let at = buf.len();
    len(buf, 0);
    let start = buf.len();
    fields.visit(&mut |key, value| {
        if *left == 0 {
            return;
        }
        *left -= 1;
        let tag = match value {
            Value::Str(_) => STR,
            Value::Bool(false) => FALSE,
            Value::Bool(true) => TRUE,
            Value::I64(_) => I64,
            Value::U64(_) => U64,
            Value::I128(_) => I128,
            Value::U128(_) => U128,
            Value::F64(_) => F64,
            Value::Display(_) => DISPLAY,
            Value::Debug(_) => DEBUG,
        };
        buf.push(tag);
        text(buf, key);
        match value {
            Value::Str(s) => text(buf, s),
            Value::Bool(_) => {}
            Value::I64(n) => buf.extend_from_slice(&n.to_le_bytes()),
            Value::U64(n) => buf.extend_from_slice(&n.to_le_bytes()),
            Value::I128(n) => buf.extend_from_slice(&n.to_le_bytes()),
            Value::U128(n) => buf.extend_from_slice(&n.to_le_bytes()),
            Value::F64(n) => buf.extend_from_slice(&n.to_bits().to_le_bytes()),
            Value::Display(d) => formatted(buf, format_args!("{d}"), cap),
            Value::Debug(d) => formatted(buf, format_args!("{d:?}"), cap),
        }
    });
    patch(buf, at, start);
}

/// Renders `rec` the way the background writer does: captured, decoded, then rendered at `now`
/// (the golden-byte and property tests compare it with a direct render).
#[cfg(any(test, fuzzing))]
pub(crate) fn round_trip(
    renderer: &super::Renderer,
    rec: &Record<'_>,
    pid: u32,
    now: &crate::clock::Timestamp,
) -> (Vec<u8>, bool) {
    let mut buf = Vec::new();
    let form = capture(&mut buf, rec, Some(Duration::ZERO), renderer.max_len);
    let decoded = decode(&buf, form).expect("a capture decodes");
    let mut out = Vec::new();
    let cut = decoded.with_record(rec.priority, |r| renderer.render(&mut out, r, pid, now));
    (out, cut)
}

// === the writer's side ===

/// A capture read back: borrowed from the buffer, handed to the renderer as a [`Record`].
pub(crate) struct Decoded<'a> {
    /// When the record was logged; `None` when its header carries no time.
    pub(crate) time: Option<Duration>,
    message: (u8, &'a str),
    fields: Entries<'a>,
    spans: Option<Chain<'a>>,
}

/// Reads a capture made by [`capture`] (with `form`'s literal); `None` when `bytes` is not one.
pub(crate) fn decode(bytes: &[u8], form: Form) -> Option<Decoded<'_>> {
    let Form::Captured(literal) = form else {
        return None;
    };
    let mut r = Reader(bytes);
    let secs = r.u64()?;
    let micros = r.u32()?;
    let time = (secs != NO_TIME).then(|| Duration::new(secs, micros.saturating_mul(1000)));
    let message = match r.u8()? {
        LITERAL => (LITERAL, literal),
        kind @ (STR | DISPLAY) => (kind, r.str()?),
        _ => return None,
    };
    let spans = match r.u8()? {
        0 => None,
        _ => Some(Chain(r.block()?)),
    };
    let fields = Entries(r.block()?);
    Some(Decoded {
        time,
        message,
        fields,
        spans,
    })
}

impl Decoded<'_> {
    /// Calls `f` with the record the caller captured, at `priority`.
    pub(crate) fn with_record<R>(
        &self,
        priority: crate::severity::Priority,
        f: impl FnOnce(&Record<'_>) -> R,
    ) -> R {
        let shown = Text(self.message.1);
        let message = match self.message.0 {
            // The renderer takes a literal and formatted text by the paths it took on the caller.
            DISPLAY => Message::Display(&shown),
            _ => Message::Str(self.message.1),
        };
        f(&Record {
            priority,
            message,
            fields: &self.fields,
            spans: self.spans.as_ref().map(|c| c as &dyn Spans),
        })
    }
}

/// Text formatted on the caller, shown again as it was (`Display` and `Debug` alike).
struct Text<'a>(&'a str);

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Captured entries as [`Fields`].
struct Entries<'a>(&'a [u8]);

impl Fields for Entries<'_> {
    fn visit(&self, visitor: &mut dyn FnMut(&str, Value<'_>)) {
        let mut r = Reader(self.0);
        // Stops at the end, or at anything malformed (never written by `capture`).
        while let Some(()) = r.entry(visitor) {}
    }
}

/// A captured span chain as [`Spans`].
struct Chain<'a>(&'a [u8]);

impl Spans for Chain<'_> {
    fn visit(&self, visitor: &mut dyn FnMut(&str, &dyn Fields)) {
        let mut r = Reader(self.0);
        while !r.0.is_empty() {
            let Some((name, fields)) = r.str().zip(r.block()) else {
                return;
            };
            visitor(name, &Entries(fields));
        }
    }
}

/// Reads a capture front to back; every read is checked.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        if self.0.len() < N {
            return None;
        }
        let (head, rest) = self.0.split_at(N);
        self.0 = rest;
        head.try_into().ok()
    }

    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }

    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }

    fn block(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.u32()?).ok()?;
        if n > self.0.len() {
            return None;
        }
        let (block, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(block)
    }

    fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.block()?).ok()
    }

    /// Reads one entry and hands it to `visitor`; `None` at the end.
    fn entry(&mut self, visitor: &mut dyn FnMut(&str, Value<'_>)) -> Option<()> {
        let tag = self.u8()?;
        let key = self.str()?;
        match tag {
            STR => visitor(key, Value::Str(self.str()?)),
            DISPLAY => visitor(key, Value::Display(&Text(self.str()?))),
            DEBUG => visitor(key, Value::Debug(&Text(self.str()?))),
            FALSE => visitor(key, Value::Bool(false)),
            TRUE => visitor(key, Value::Bool(true)),
            I64 => visitor(key, Value::I64(i64::from_le_bytes(self.take()?))),
            U64 => visitor(key, Value::U64(u64::from_le_bytes(self.take()?))),
            I128 => visitor(key, Value::I128(i128::from_le_bytes(self.take()?))),
            U128 => visitor(key, Value::U128(u128::from_le_bytes(self.take()?))),
            F64 => visitor(
                key,
                Value::F64(f64::from_bits(u64::from_le_bytes(self.take()?))),
            ),
            _ => return None,
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use std::panic::{catch_unwind, AssertUnwindSafe};

    use proptest::prelude::*;

    use super::*;
    use crate::format::invariants::tests::{
        any_framing, any_text as plain_text, any_value as plain_value, OwnedSpans, V as Plain,
    };
    use crate::format::tests::{now, renderer, Kv, H3164, H5424, LIBC, PID};
    use crate::format::Format;
    use crate::severity::Priority;
    use crate::{Facility, Severity};

    /// A user value: its text, shown through `Display` or `Debug`, or written in part and then
    /// panicking.
    #[derive(Debug, Clone)]
    enum User {
        Display(String),
        Debug(String),
        Panics(String),
    }

    impl fmt::Display for User {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                User::Display(s) | User::Debug(s) => f.write_str(s),
                User::Panics(s) => {
                    f.write_str(s)?;
                    panic!("user Display impl panicked")
                }
            }
        }
    }

    impl fmt::Debug for Shown<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            fmt::Display::fmt(self.0, f)
        }
    }

    /// A [`User`] lent to the renderer as `Debug`.
    struct Shown<'a>(&'a User);

    /// A value as the renderer's own property tests make them, or a user value.
    #[derive(Debug, Clone)]
    enum V {
        Plain(Plain),
        User(User),
    }

    /// Text, some of it longer than the limits below: cut on the caller and again by the renderer.
    fn any_text() -> impl Strategy<Value = String> {
        prop_oneof![3 => plain_text(), 1 => "[a-zé =]{300,900}"]
    }

    fn any_user() -> impl Strategy<Value = User> {
        prop_oneof![
            4 => any_text().prop_map(User::Display),
            4 => any_text().prop_map(User::Debug),
            1 => any_text().prop_map(User::Panics),
        ]
    }

    fn any_value() -> impl Strategy<Value = V> {
        prop_oneof![
            3 => plain_value().prop_map(V::Plain),
            1 => any_user().prop_map(V::User),
        ]
    }

    /// The message as each adapter hands it over: a literal, formatted arguments, a `Display`.
    #[derive(Debug, Clone)]
    enum M {
        Literal(usize),
        Args(String, u64),
        User(User),
    }

    const LITERALS: [&str; 3] = ["GET /a HTTP/1.1", "", "retry x=1 \"q\"\n\u{202e}"];

    fn any_message() -> impl Strategy<Value = M> {
        prop_oneof![
            (0..LITERALS.len()).prop_map(M::Literal),
            (any_text(), any::<u64>()).prop_map(|(s, n)| M::Args(s, n)),
            any_user().prop_map(M::User),
        ]
    }

    fn value(v: &V) -> Value<'_> {
        match v {
            V::Plain(p) => p.value(),
            V::User(u) => Value::Display(u),
        }
    }

    /// Calls `f` with `message` as the adapters hand it over.
    fn with_message(message: &M, f: &mut dyn FnMut(Message<'_>)) {
        match message {
            M::Literal(i) => match i {
                0 => f(Message::Args(&format_args!("GET /a HTTP/1.1"))),
                1 => f(Message::Args(&format_args!(""))),
                _ => f(Message::Args(&format_args!("retry x=1 \"q\"\n\u{202e}"))),
            },
            M::Args(s, n) => f(Message::Args(&format_args!("{s} {n}"))),
            M::User(u) => f(Message::Display(u)),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// What the background writer renders from a capture is what the caller would have
        /// rendered, byte for byte; a panicking user value panics the capture (on the caller,
        /// which counts the drop) whenever it would have panicked the render.
        #[test]
        fn the_writers_render_of_a_capture_is_the_callers_render(
            message in any_message(),
            fields in prop::collection::vec(("[a-z_ =]{0,8}", any_value()), 0..6),
            spans in prop::option::of(prop::collection::vec(
                ("[a-z_ ]{0,8}", prop::collection::vec(("[a-z]{1,6}", any_value()), 0..3)),
                0..3,
            )),
            (format, framing) in any_framing(),
            max_len in 64usize..700,
        ) {
            prop_assert!(LITERALS.len() == 3);
            let r = renderer(format, framing, max_len);
            // `Debug` values go through their own wrapper, so `User::Debug` is shown raw.
            let shown: Vec<Shown<'_>> = fields.iter().filter_map(|(_, v)| match v {
                V::User(u) => Some(Shown(u)),
                _ => None,
            }).collect();
            let mut users = shown.iter();
            let fv: Vec<(&str, Value<'_>)> = fields.iter().map(|(k, v)| {
                let v = match v {
                    V::User(User::Debug(_)) => Value::Debug(users.next().unwrap()),
                    V::User(_) => { users.next(); value(v) }
                    _ => value(v),
                };
                (k.as_str(), v)
            }).collect();
            let chain = spans.as_ref().map(|s| OwnedSpans(
                s.iter().map(|(n, f)| (n.as_str(), f.iter().map(|(k, v)| (k.as_str(), value(v))).collect())).collect()
            ));
            let quiet = std::panic::take_hook();
            std::panic::set_hook(Box::new(|_| {}));
            let mut outcome = Ok(());
            with_message(&message, &mut |message| {
                let rec = Record {
                    priority: Priority::new(Facility::Local0, Severity::Informational),
                    message,
                    fields: &Kv(&fv),
                    spans: chain.as_ref().map(|c| c as &dyn Spans),
                };
                let mut direct = Vec::new();
                let direct = catch_unwind(AssertUnwindSafe(|| {
                    let cut = r.render(&mut direct, &rec, PID, &now());
                    (direct, cut)
                }));
                let deferred = catch_unwind(AssertUnwindSafe(|| captured_render(&r, &rec)));
                outcome = match (direct, deferred) {
                    (Ok(direct), Ok(deferred)) if direct == deferred => Ok(()),
                    (Ok(direct), Ok(deferred)) => Err(format!(
                        "direct {:?}\nwriter {:?}",
                        String::from_utf8_lossy(&direct.0),
                        String::from_utf8_lossy(&deferred.0)
                    )),
                    (Err(_), Err(_)) => Ok(()),
                    // The renderer stops formatting a value once the message is full, so a value
                    // that panics past that point panics only the capture: still counted.
                    (Ok((_, true)), Err(_)) => Ok(()),
                    (Ok(direct), Err(_)) => Err(format!(
                        "only the capture panicked: {:?}",
                        String::from_utf8_lossy(&direct.0)
                    )),
                    (Err(_), Ok(_)) => Err("a panicking value was not caught on the caller".into()),
                };
            });
            std::panic::set_hook(quiet);
            prop_assert!(outcome.is_ok(), "{}", outcome.unwrap_err());
        }
    }

    /// Capture (may panic, as on the caller), then the writer's decode and render.
    fn captured_render(r: &crate::format::Renderer, rec: &Record<'_>) -> (Vec<u8>, bool) {
        let mut buf = Vec::new();
        let form = capture(&mut buf, rec, Some(Duration::from_secs(1)), r.max_len);
        let decoded = decode(&buf, form).expect("a capture decodes");
        assert_eq!(decoded.time, Some(Duration::from_secs(1)));
        let mut out = Vec::new();
        let cut = decoded.with_record(rec.priority, |rec| r.render(&mut out, rec, PID, &now()));
        (out, cut)
    }

    #[test]
    fn a_literal_message_stays_beside_the_buffer() {
        let mut buf = Vec::new();
        let rec = Record {
            priority: Priority::new(Facility::Local0, Severity::Informational),
            message: Message::Args(&format_args!("GET /a")),
            fields: &crate::format::NoFields,
            spans: None,
        };
        assert_eq!(
            capture(&mut buf, &rec, None, 1024),
            Form::Captured("GET /a")
        );
        assert!(!buf.windows(6).any(|w| w == b"GET /a"), "not copied");
        assert_eq!(decode(&buf, Form::Rendered).map(|d| d.time), None);
        assert_eq!(
            decode(&buf, Form::Captured("GET /a")).map(|d| d.time),
            Some(None)
        );
    }

    #[test]
    fn a_flood_of_key_values_is_copied_only_as_far_as_it_can_render() {
        // The shortest entries there are: ` _=0` in logfmt.
        let fields = vec![("", Value::U64(0)); 10_000];
        let spans = OwnedSpans(vec![("s", vec![("", Value::Bool(false)); 40])]);
        for (format, framing) in [
            (Format::Logfmt, H3164),
            (Format::Logfmt, LIBC),
            (Format::Json, H3164),
            (Format::Rfc5424, H5424),
        ] {
            for max_len in [64, 100, 1024] {
                let r = renderer(format, framing, max_len);
                let rec = Record {
                    priority: Priority::new(Facility::Local0, Severity::Informational),
                    message: Message::Args(&format_args!("")),
                    fields: &Kv(&fields),
                    spans: Some(&spans),
                };
                let mut direct = Vec::new();
                let cut = r.render(&mut direct, &rec, PID, &now());
                assert!(cut);
                assert_eq!(
                    captured_render(&r, &rec),
                    (direct, cut),
                    "{format:?} {max_len}"
                );
                let mut buf = Vec::new();
                capture(&mut buf, &rec, None, max_len);
                assert!(buf.len() < 16 * max_len, "{} bytes captured", buf.len());
            }
        }
    }

    #[test]
    fn a_truncated_capture_decodes_to_nothing_or_fewer_fields() {
        let fields = [("a", Value::U64(1)), ("b", Value::Str("two"))];
        let rec = Record {
            priority: Priority::new(Facility::Local0, Severity::Informational),
            message: Message::Display(&"m"),
            fields: &Kv(&fields),
            spans: None,
        };
        let mut buf = Vec::new();
        let form = capture(&mut buf, &rec, None, 1024);
        for end in 0..buf.len() {
            // Never panics: a short buffer is no capture, or its fields stop early.
            if let Some(d) = decode(&buf[..end], form) {
                let mut n = 0;
                d.fields.visit(&mut |_, _| n += 1);
                assert!(n <= 2);
            }
        }
    }
}
