//! What the renderer reads from one record: the message, the key-values and the spans, and the
//! broken-down time.

use std::fmt;

use crate::severity::Priority;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::tests::now;

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
}
