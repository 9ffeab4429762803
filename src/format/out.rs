//! The output buffer with its byte budget and its latest safe cut point, the closing sequences
//! ("tails") that end a cut message, and numbers written without `fmt`.

use std::cell::RefCell;

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

// Closing sequences ("tails"): what follows a cut at a given place so the syntax stays valid and the
// cut is visible. Each is named for where the cut happens.
/// Logfmt/5424: at the very start of an empty message.
pub(super) const TAIL_START: &str = marker!();
/// Logfmt/5424: after message text, a complete field, or a complete SD element.
pub(super) const TAIL_TEXT: &str = concat!(" ", marker!());
/// Logfmt: inside a quoted value.
pub(super) const TAIL_LOGFMT_QUOTED: &str = concat!("\" ", marker!());
/// 5424: before the first SD element (so STRUCTURED-DATA becomes `-`).
pub(super) const TAIL_SD_NONE: &str = concat!("- ", marker!());
/// 5424: inside an SD element, between params.
pub(super) const TAIL_SD_ELEMENT: &str = concat!("] ", marker!());
/// 5424: inside a PARAM-VALUE.
pub(super) const TAIL_SD_VALUE: &str = concat!("\"] ", marker!());
/// JSON: between top-level members.
pub(super) const TAIL_JSON_TOP: &str = ",\"truncated\":true}";
/// JSON: inside a top-level string value (or `msg`).
pub(super) const TAIL_JSON_STR: &str = "\",\"truncated\":true}";
/// JSON: inside the `spans` array, between span objects.
pub(super) const TAIL_JSON_SPANS: &str = "],\"truncated\":true}";
/// JSON: inside a span object, between members.
pub(super) const TAIL_JSON_SPAN: &str = "}],\"truncated\":true}";
/// JSON: inside a string value of a span object.
pub(super) const TAIL_JSON_SPAN_STR: &str = "\"}],\"truncated\":true}";

/// "00" to "99", for writing two digits per division.
pub(super) const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Writes `n` in decimal at the end of `digits`; returns where the digits start.
pub(super) fn u128_digits(mut n: u128, digits: &mut [u8; 39]) -> usize {
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
pub(super) fn u64_digits(mut m: u64, digits: &mut [u8]) -> usize {
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

/// Whether `b` starts a UTF-8 character (is not a continuation byte).
#[inline]
pub(super) fn is_boundary(b: u8) -> bool {
    (b as i8) >= -0x40
}

/// The output buffer with the byte budget and the latest safe cut point.
pub(super) struct Out<'b> {
    pub(super) buf: &'b mut Vec<u8>,
    /// The most bytes `buf` may hold in the end.
    pub(super) max: usize,
    /// Where the message would be cut, and what would close it there.
    pub(super) cut: Option<(usize, &'static str)>,
    /// Extra bytes `buf` may hold for a moment: the opening quote of a logfmt value that may be
    /// taken out again.
    pub(super) slack: usize,
    /// `buf` went past `max`: everything after this is thrown away, so nothing more is written.
    pub(super) full: bool,
}

impl Out<'_> {
    /// Appends bytes that must not be split (syntax, numbers, escape sequences).
    #[inline]
    pub(super) fn push(&mut self, bytes: &[u8]) {
        if self.full {
            return;
        }
        self.buf.extend_from_slice(bytes);
        self.full = self.buf.len() > self.max + self.slack;
    }

    /// Marks the current end as a place where the message may be cut and closed with `tail`.
    #[inline]
    pub(super) fn safe(&mut self, tail: &'static str) {
        let pos = self.buf.len();
        if pos + tail.len() <= self.max {
            self.cut = Some((pos, tail));
        }
    }

    /// Appends valid UTF-8 that needs no escaping, with a safe point after each character (when
    /// `tail` is set). Copies at most one byte past the budget, so a huge message costs no more
    /// than a message at the limit.
    #[inline]
    pub(super) fn run(&mut self, s: &[u8], tail: Option<&'static str>) {
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
    pub(super) fn ran(&mut self, start: usize, tail: Option<&'static str>) {
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

    /// Appends a number (atomic, never cut).
    pub(super) fn u128(&mut self, n: u128) {
        let mut digits = [0u8; 39];
        let i = u128_digits(n, &mut digits);
        self.push(&digits[i..]);
    }

    /// Appends a number (atomic, never cut).
    #[inline]
    pub(super) fn u64(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        let i = u64_digits(n, &mut digits);
        self.push(&digits[i..]);
    }

    #[inline]
    pub(super) fn i64(&mut self, n: i64) {
        if n < 0 {
            self.push(b"-");
        }
        self.u64(n.unsigned_abs());
    }

    #[inline]
    pub(super) fn i128(&mut self, n: i128) {
        if n < 0 {
            self.push(b"-");
        }
        self.u128(n.unsigned_abs());
    }

    /// A finite `f64` through `Display` (Rust never prints an exponent there, so it is also a
    /// valid JSON number).
    pub(super) fn f64_display(&mut self, v: f64) {
        if self.full {
            return;
        }
        use std::io::Write as _;
        // Writing into a Vec cannot fail.
        let _ = write!(self.buf, "{v}");
        self.full = self.buf.len() > self.max + self.slack;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::decode::Json;
    use crate::format::tests::*;
    use crate::format::*;
    use crate::severity::Priority;
    use crate::{Facility, Severity};

    // === truncation ===

    /// Untruncated length of a rendering, for limit tests.
    fn full_len(r: &Renderer, msg: &str, fields: &[(&str, Value<'_>)]) -> usize {
        let mut big = r.clone();
        big.max_len = 1 << 24;
        let (s, cut) = render(&big, msg, fields);
        assert!(!cut);
        match r.framing {
            Framing::LibcBody => s.len() + libc_header_len(PRI, &r.ident, PID),
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
    fn multibyte_character_straddling_the_cut() {
        let r = |n| renderer(Format::Logfmt, LIBC, libc_budget(n));
        // "aaaa" + "é" (2 bytes) + "日" (3 bytes) + 20 × "z"; the marker takes 12 bytes.
        let msg = format!("aaaaé日{}", "z".repeat(20));
        assert_eq!(render(&r(17), &msg, &[]).0, "aaaa [truncated]");
        assert_eq!(render(&r(18), &msg, &[]).0, "aaaaé [truncated]");
        assert_eq!(render(&r(20), &msg, &[]).0, "aaaaé [truncated]");
        assert_eq!(render(&r(21), &msg, &[]).0, "aaaaé日 [truncated]");
        let r = |n| renderer(Format::Json, LIBC, libc_budget(n));
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
        Json::parse_compact(s.split_once("@cee: ").unwrap().1).unwrap();
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
}
