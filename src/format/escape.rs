//! Byte classes and escaping: which bytes each context must escape, replace or quote, and the
//! writers that put text and values into an [`Out`] escaped for their context.

use std::cell::RefCell;
use std::fmt;

use super::out::{with_thread_buffer, Out};
use super::record::{Message, Value};

// Byte classes for the escaping loop. One table lookup per byte decides whether the byte is
// plain (copied in bulk with its neighbours) or needs a closer look.
/// C0 controls and DEL.
pub(super) const C_CTRL: u8 = 1;
/// `"` and `\`: escaped in JSON strings, logfmt quoted values and PARAM-VALUEs.
pub(super) const C_QUOTE: u8 = 2;
/// `]`: escaped in PARAM-VALUEs.
pub(super) const C_BRACKET: u8 = 4;
/// Space and `=`: force quotes around a logfmt value.
pub(super) const C_SPACE: u8 = 8;
/// Lead bytes of C1 controls (`C2 80..9F`) and U+2028/U+2029 (`E2 80 A8/A9`).
pub(super) const C_LEAD: u8 = 16;

pub(super) const CLASS: [u8; 256] = {
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
pub(super) const fn table(mask: u8) -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = CLASS[i] & mask;
        i += 1;
    }
    t
}

pub(super) const TABLE_MSG: [u8; 256] = table(C_CTRL | C_LEAD);
pub(super) const TABLE_JSON: [u8; 256] = table(C_CTRL | C_QUOTE | C_LEAD);
pub(super) const TABLE_LOGFMT: [u8; 256] = table(C_CTRL | C_QUOTE | C_SPACE | C_LEAD);
pub(super) const TABLE_SD: [u8; 256] = table(C_CTRL | C_QUOTE | C_BRACKET | C_LEAD);
/// Bytes a logfmt key cannot keep as they are (`"` is in `C_QUOTE` together with `\`, which keys
/// keep, so it is added by hand).
pub(super) const TABLE_LOGFMT_KEY: [u8; 256] = {
    let mut t = table(C_CTRL | C_SPACE | C_LEAD);
    t[b'"' as usize] = C_QUOTE;
    t
};
/// Bytes outside printable US-ASCII (RFC 5424 names), plus `=`, `]`, `"` for PARAM-NAMEs.
pub(super) const TABLE_NOT_PRINT: [u8; 256] = {
    let mut t = [1u8; 256];
    let mut i = b'!' as usize;
    while i <= b'~' as usize {
        t[i] = 0;
        i += 1;
    }
    t
};
pub(super) const TABLE_PARAM_NAME: [u8; 256] = {
    let mut t = TABLE_NOT_PRINT;
    t[b'=' as usize] = 1;
    t[b']' as usize] = 1;
    t[b'"' as usize] = 1;
    t
};
/// Bytes the RFC 3164 ident cannot hold (C0, DEL, space, and lead bytes of C1/U+2028/U+2029).
pub(super) const TABLE_IDENT: [u8; 256] = table(C_CTRL | C_LEAD | C_SPACE);

// Word-at-a-time pre-checks for [`scan`]: each returns non-zero when an 8-byte word (read little
// endian) holds a byte its table may flag. They may over-report (every byte >= 0x80 counts, since
// the lead bytes the tables flag are among them; the table then decides), never under-report.
pub(super) const LO: u64 = 0x0101_0101_0101_0101;
pub(super) const HI: u64 = 0x8080_8080_8080_8080;

/// Non-zero when `w` holds the byte `b`.
#[inline(always)]
pub(super) const fn has_byte(w: u64, b: u8) -> u64 {
    let x = w ^ (LO * b as u64);
    x.wrapping_sub(LO) & !x & HI
}

/// Non-zero when `w` holds a byte below `n` (exact for `n <= 0x80`).
#[inline(always)]
pub(super) const fn has_below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(LO * n as u64) & !w & HI
}

/// C0 controls, DEL and anything outside ASCII: what the message table may flag.
#[inline(always)]
pub(super) const fn word_msg(w: u64) -> u64 {
    has_below(w, 0x20) | has_byte(w, 0x7f) | (w & HI)
}

/// Also `"` and `\`: JSON strings.
#[inline(always)]
pub(super) const fn word_json(w: u64) -> u64 {
    word_msg(w) | has_byte(w, b'"') | has_byte(w, b'\\')
}

/// Also space and `=`: logfmt values and keys.
#[inline(always)]
pub(super) const fn word_logfmt(w: u64) -> u64 {
    word_json(w) | has_byte(w, b' ') | has_byte(w, b'=')
}

/// Also `]`: PARAM-VALUEs.
#[inline(always)]
pub(super) const fn word_sd(w: u64) -> u64 {
    word_json(w) | has_byte(w, b']')
}

/// The RFC 3164 ident: controls, space, `=`, non-ASCII.
#[inline(always)]
pub(super) const fn word_ident(w: u64) -> u64 {
    word_msg(w) | has_byte(w, b' ') | has_byte(w, b'=')
}

/// Outside printable US-ASCII, plus `=`, `]`, `"` (RFC 5424 names).
#[inline(always)]
pub(super) const fn word_not_print(w: u64) -> u64 {
    has_below(w, 0x21) | has_byte(w, 0x7f) | (w & HI) | word_sd(w) | has_byte(w, b'=')
}

/// A byte table and its word-at-a-time pre-check, as [`Out::sanitized`] takes them.
pub(super) type Class = (&'static [u8; 256], fn(u64) -> u64);

/// Logfmt keys and span names.
pub(super) const CLASS_KEY: Class = (&TABLE_LOGFMT_KEY, word_logfmt);
/// The RFC 3164 ident.
pub(super) const CLASS_IDENT: Class = (&TABLE_IDENT, word_ident);
/// RFC 5424 APP-NAME and HOSTNAME.
pub(super) const CLASS_NOT_PRINT: Class = (&TABLE_NOT_PRINT, word_not_print);
/// RFC 5424 PARAM-NAMEs.
pub(super) const CLASS_PARAM_NAME: Class = (&TABLE_PARAM_NAME, word_not_print);

/// Whether `class` flags no byte of `s` (so it can be written as it is).
#[inline]
pub(super) fn plain(s: &str, (table, word): Class) -> bool {
    scan(s.as_bytes(), 0, table, word) == s.len()
}

/// The index of the first byte at or after `i` that `table` flags, or `bytes.len()`. `word` is the
/// table's word-at-a-time pre-check (one of the `word_*` functions above).
#[inline(always)]
pub(super) fn scan(
    bytes: &[u8],
    mut i: usize,
    table: &[u8; 256],
    word: impl Fn(u64) -> u64,
) -> usize {
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
pub(super) fn tail_word(bytes: &[u8], rest: &[u8]) -> u64 {
    // (`first_chunk`/`last_chunk` would say this shorter, but need Rust 1.77; the MSRV is 1.74.)
    pub(super) fn chunk<const N: usize>(bytes: &[u8], at: Option<usize>) -> Option<[u8; N]> {
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
pub(super) enum Esc {
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
    pub(super) const fn from_code(code: u8) -> Esc {
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
    pub(super) fn table(self) -> &'static [u8; 256] {
        match self {
            Esc::Msg => &TABLE_MSG,
            Esc::Json => &TABLE_JSON,
            Esc::Logfmt => &TABLE_LOGFMT,
            Esc::Sd => &TABLE_SD,
        }
    }

    /// This mode's word-at-a-time pre-check for [`scan`].
    #[inline(always)]
    pub(super) fn word(self, w: u64) -> u64 {
        match self {
            Esc::Msg => word_msg(w),
            Esc::Json => word_json(w),
            Esc::Logfmt => word_logfmt(w),
            Esc::Sd => word_sd(w),
        }
    }

    /// The escape sequence for code point `c` (one the class table flagged) into `seq`; returns
    /// its length.
    pub(super) fn sequence(self, c: u32, seq: &mut [u8; 6]) -> usize {
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

/// Printable US-ASCII except the characters RFC 5424 forbids in a PARAM-NAME.
pub(super) fn is_param_name_char(c: char) -> bool {
    matches!(c, '!'..='~') && !matches!(c, '=' | ']' | '"')
}

/// Printable US-ASCII (RFC 5424 APP-NAME, HOSTNAME).
pub(super) fn is_print_ascii(c: char) -> bool {
    matches!(c, '!'..='~')
}

/// Characters a logfmt key keeps: not space, `=`, `"`, nor anything the message would escape.
#[inline]
pub(super) fn is_logfmt_key_char(c: char) -> bool {
    if c.is_ascii() {
        // One table lookup for the common case.
        return CLASS[c as usize] & (C_CTRL | C_SPACE) == 0 && c != '"';
    }
    !matches!(c, '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}')
}

/// Characters the RFC 3164 ident keeps (the builder already sanitized it; this only guarantees a
/// single line whatever the input).
pub(super) fn is_ident_char(c: char) -> bool {
    !c.is_control() && !matches!(c, ' ' | '\u{2028}' | '\u{2029}')
}

// === impl Out ===

impl Out<'_> {
    /// Appends `s` escaped for `esc`. Clears `*bare` when a logfmt value needs quotes.
    #[inline]
    pub(super) fn escaped(
        &mut self,
        s: &str,
        esc: Esc,
        tail: Option<&'static str>,
        bare: &mut bool,
    ) {
        // One copy of the loop per mode, so the per-chunk test is specialised at compile time.
        match esc {
            Esc::Msg => self.escaped_as::<0>(s, tail, bare),
            Esc::Json => self.escaped_as::<1>(s, tail, bare),
            Esc::Logfmt => self.escaped_as::<2>(s, tail, bare),
            Esc::Sd => self.escaped_as::<3>(s, tail, bare),
        }
    }

    pub(super) fn escaped_as<const E: u8>(
        &mut self,
        s: &str,
        tail: Option<&'static str>,
        bare: &mut bool,
    ) {
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
    pub(super) fn sanitized(
        &mut self,
        s: &str,
        class: Class,
        keep: impl Fn(char) -> bool,
        max_chars: usize,
    ) {
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
}

/// A [`fmt::Write`] that appends a `Display`/`Debug` value's text as it is, up to one character
/// past the budget, so it needs no intermediate `String`; [`formatted`] escapes it afterwards.
pub(super) struct Raw<'o> {
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
pub(super) fn formatted(
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

/// Writes a text-like value (a `&str`, or a `Display`/`Debug` value) escaped for `esc`; returns
/// whether nothing in it would force quotes around a logfmt value.
pub(super) fn text(out: &mut Out<'_>, v: Value<'_>, esc: Esc, tail: Option<&'static str>) -> bool {
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
pub(super) fn message(out: &mut Out<'_>, msg: Message<'_>, esc: Esc, tail: &'static str) {
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

/// Numbers and booleans as their plain text (logfmt, JSON numbers, inside SD quotes).
pub(super) fn scalar(o: &mut Out<'_>, value: Value<'_>) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::tests::*;
    use crate::format::*;

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
}
