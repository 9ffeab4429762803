//! Byte classes and escaping: which bytes each context must escape, replace or quote, and the
//! writers that put text and values into an [`Out`] escaped for their context.

use std::cell::RefCell;
use std::fmt;

use super::out::{with_thread_buffer, Out, TAIL_LOGFMT_QUOTED, TAIL_TEXT};
use super::record::{Message, Value};

// === byte classes ===
//
// Each class is written once, as a `Class::new(..)` spec: the ASCII bytes it flags and what it
// does with non-ASCII text. The 256-entry table (one load per byte in the escaping loop), the
// word-at-a-time pre-check of `scan` and the character predicate of `Out::sanitized` are all
// derived from that spec, the table at compile time.

/// What a flagged byte is, as the escaping loop reads it from a class table (0: a plain byte).
/// A byte to escape (or, in names, to replace).
pub(super) const ESCAPE: u8 = 1;
/// Space or `=`: kept as it is in a logfmt value, but forces quotes around it.
pub(super) const QUOTES: u8 = 2;
/// A lead byte (`C2`, `D8`, `E2`, `EF`) of a character that may need escaping: the character
/// decides ([`hidden_at`]).
pub(super) const LEAD: u8 = 3;

/// The non-ASCII characters text escapes and names replace, as inclusive ranges: the ones that
/// break a line or are controls, and the ones that reorder or hide text in a viewer (the "Trojan
/// Source" class). All are below U+10000, so their UTF-8 is 2 or 3 bytes.
const HIDDEN: [(u32, u32); 6] = [
    (0x80, 0x9f),     // C1 controls (`C2 80..C2 9F`)
    (0x61c, 0x61c),   // ARABIC LETTER MARK (`D8 9C`)
    (0x200b, 0x200f), // zero width space, non-joiner and joiner; LRM, RLM (`E2 80 8B..8F`)
    (0x2028, 0x202e), // line and paragraph separators; LRE, RLE, PDF, LRO, RLO (`E2 80 A8..AE`)
    (0x2066, 0x2069), // LRI, RLI, FSI, PDI (`E2 81 A6..A9`)
    (0xfeff, 0xfeff), // zero width no-break space, the byte order mark (`EF BB BF`)
];

/// Whether code point `c` is one of [`HIDDEN`].
#[inline]
pub(super) const fn hidden(c: u32) -> bool {
    let mut i = 0;
    while i < HIDDEN.len() {
        if c >= HIDDEN[i].0 && c <= HIDDEN[i].1 {
            return true;
        }
        i += 1;
    }
    false
}

/// The first byte of the UTF-8 encoding of `c` (2 or 3 bytes long).
const fn lead_byte(c: u32) -> u8 {
    if c < 0x800 {
        0xc0 | (c >> 6) as u8
    } else {
        0xe0 | (c >> 12) as u8
    }
}

/// The character whose 2- or 3-byte encoding starts at `bytes[i]`, a byte a class flags as
/// [`LEAD`] in valid UTF-8: its code point, its length, and whether it is [`hidden`].
#[inline]
pub(super) fn hidden_at(bytes: &[u8], i: usize) -> (u32, usize, bool) {
    let b = u32::from(bytes[i]);
    let (c, width) = if b < 0xe0 {
        ((b & 0x1f) << 6 | u32::from(bytes[i + 1] & 0x3f), 2)
    } else {
        (
            (b & 0x0f) << 12 | u32::from(bytes[i + 1] & 0x3f) << 6 | u32::from(bytes[i + 2] & 0x3f),
            3,
        )
    };
    (c, width, hidden(c))
}

/// Which non-ASCII characters a class flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NonAscii {
    /// The [`HIDDEN`] ones: controls, line breaks, bidi controls and invisible characters. The
    /// table flags their lead bytes (`C2`, `D8`, `E2`, `EF`) and [`hidden_at`] decides.
    Breaks,
    /// Every non-ASCII character (RFC 5424 names are printable US-ASCII).
    All,
}

/// The most single ASCII bytes a class lists (besides the range below `below`).
const MAX_BYTES: usize = 5;

/// A set of bytes that a context cannot take as they are, defined once.
#[derive(Debug)]
pub(super) struct Class {
    /// Every byte below this one is flagged (`0x20`: the C0 controls; `0x21`: also space).
    below: u8,
    /// Further ASCII bytes that are flagged, padded to `MAX_BYTES` with repeats of the first,
    /// so the word test is the same straight-line code for every class (no loop to unroll).
    bytes: [u8; MAX_BYTES],
    /// Which non-ASCII characters are flagged.
    non_ascii: NonAscii,
    /// Derived: for each byte, 0 when plain, else `ESCAPE`, `QUOTES` or `LEAD`.
    table: [u8; 256],
}

impl Class {
    /// The class that flags every byte below `below`, the ASCII `bytes`, and `non_ascii`.
    const fn new(below: u8, bytes: &'static [u8], non_ascii: NonAscii) -> Class {
        let mut table = [0u8; 256];
        let mut b = 0;
        while b < below as usize {
            table[b] = ESCAPE;
            b += 1;
        }
        assert!(!bytes.is_empty() && bytes.len() <= MAX_BYTES);
        let mut padded = [bytes[0]; MAX_BYTES];
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            padded[i] = b;
            assert!(b < 0x80, "a class lists ASCII bytes only");
            table[b as usize] = if b == b' ' || b == b'=' {
                QUOTES
            } else {
                ESCAPE
            };
            i += 1;
        }
        let mut b = 0x80;
        while b < 256 {
            table[b] = match non_ascii {
                NonAscii::Breaks => 0,
                NonAscii::All => ESCAPE,
            };
            b += 1;
        }
        let mut r = 0;
        while r < HIDDEN.len() {
            table[lead_byte(HIDDEN[r].0) as usize] = LEAD;
            table[lead_byte(HIDDEN[r].1) as usize] = LEAD;
            r += 1;
        }
        Class {
            below,
            bytes: padded,
            non_ascii,
            table,
        }
    }

    /// What byte `b` is in this class (0: plain).
    #[inline(always)]
    pub(super) fn of(&self, b: u8) -> u8 {
        self.table[b as usize]
    }

    /// Non-zero when the 8-byte word `w` (read little endian) holds a byte this class may flag.
    /// Exact for ASCII; every byte >= 0x80 counts (the lead bytes the table flags are among
    /// them, and the table then decides), so it may over-report but never under-reports.
    #[inline(always)]
    pub(super) fn word(&self, w: u64) -> u64 {
        let [a, b, c, d, e] = self.bytes;
        // A repeated byte costs nothing where the class is known (the same test twice).
        has_below(w, self.below)
            | (w & HI)
            | has_byte(w, a)
            | has_byte(w, b)
            | has_byte(w, c)
            | has_byte(w, d)
            | has_byte(w, e)
    }

    /// Whether a name in this class keeps the character `c` (else it becomes `_`).
    #[inline]
    pub(super) fn keeps(&self, c: char) -> bool {
        if c.is_ascii() {
            return self.table[c as usize] == 0;
        }
        match self.non_ascii {
            NonAscii::Breaks => !hidden(u32::from(c)),
            NonAscii::All => false,
        }
    }
}

/// The free-text message of logfmt and RFC 5424 bodies: controls only.
pub(super) static MSG: Class = Class::new(0x20, &[0x7f], NonAscii::Breaks);
/// JSON strings: also `"` and `\`.
pub(super) static JSON: Class = Class::new(0x20, &[0x7f, b'"', b'\\'], NonAscii::Breaks);
/// Logfmt values: also space and `=`, which force quotes.
pub(super) static LOGFMT: Class =
    Class::new(0x20, &[0x7f, b'"', b'\\', b' ', b'='], NonAscii::Breaks);
/// RFC 5424 PARAM-VALUEs: also `"`, `\` and `]`.
pub(super) static SD: Class = Class::new(0x20, &[0x7f, b'"', b'\\', b']'], NonAscii::Breaks);
/// What makes a logfmt message other than plain: controls (escaped), and `"`, `\` and `=` (quoted).
pub(super) static LOGFMT_MSG: Class =
    Class::new(0x20, &[0x7f, b'"', b'\\', b'='], NonAscii::Breaks);
/// Logfmt keys and span names: controls, space, `=` and `"` (a `\` is kept).
pub(super) static KEY: Class = Class::new(0x20, &[0x7f, b' ', b'=', b'"'], NonAscii::Breaks);
/// The RFC 3164 ident: what an ident never holds (the builder already sanitized it; this only
/// guarantees a header daemons parse whatever the input).
pub(super) static IDENT: Class = Class::new(0x21, &crate::ident::REPLACED, NonAscii::All);
/// RFC 5424 APP-NAME and HOSTNAME: printable US-ASCII only.
pub(super) static PRINT: Class = Class::new(0x21, &[0x7f], NonAscii::All);
/// RFC 5424 PARAM-NAMEs: printable US-ASCII except `=`, `]` and `"`.
pub(super) static PARAM_NAME: Class = Class::new(0x21, &[0x7f, b'=', b']', b'"'], NonAscii::All);

// Word-at-a-time helpers for `Class::word`.
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

/// Whether `class` flags no byte of `s` (so it can be written as it is).
#[inline]
pub(super) fn plain(s: &str, class: &Class) -> bool {
    scan(s.as_bytes(), 0, class) == s.len()
}

/// The index of the first byte at or after `i` that `class` flags, or `bytes.len()`.
#[inline(always)]
pub(super) fn scan(bytes: &[u8], mut i: usize, class: &Class) -> usize {
    loop {
        // Eight bytes per branch: plain text is the common case.
        while let Some(chunk) = bytes.get(i..i + 8) {
            let Ok(w) = <[u8; 8]>::try_from(chunk) else {
                break;
            };
            if class.word(u64::from_le_bytes(w)) != 0 {
                break;
            }
            i += 8;
        }
        if let Some(rest) = bytes.get(i..).filter(|rest| rest.len() < 8) {
            // The last few bytes as one word: short keys and pieces of text then take one test
            // instead of a loop.
            if rest.is_empty() || class.word(tail_word(bytes, rest)) == 0 {
                return bytes.len();
            }
        }
        // The word that stopped the loop (or the last few bytes), byte by byte.
        let end = bytes.len().min(i + 8);
        while i < end {
            if class.of(bytes[i]) != 0 {
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

    /// [`scan`] with this mode's class, one copy per mode so that each scans with a known class
    /// (as `Out::escaped` does), also where the mode is only known at run time.
    #[inline]
    pub(super) fn scan(self, bytes: &[u8], i: usize) -> usize {
        match self {
            Esc::Msg => scan(bytes, i, &MSG),
            Esc::Json => scan(bytes, i, &JSON),
            Esc::Logfmt => scan(bytes, i, &LOGFMT),
            Esc::Sd => scan(bytes, i, &SD),
        }
    }

    /// The bytes this mode escapes (or, for logfmt, quotes).
    #[inline(always)]
    pub(super) fn class(self) -> &'static Class {
        match self {
            Esc::Msg => &MSG,
            Esc::Json => &JSON,
            Esc::Logfmt => &LOGFMT,
            Esc::Sd => &SD,
        }
    }

    /// The escape sequence for code point `c` (one the class table flagged) into `seq`; returns
    /// its length.
    pub(super) fn sequence(self, c: u32, seq: &mut [u8; 6]) -> usize {
        let short = match (self, c) {
            (Esc::Sd, 0x22 | 0x5c | 0x5d) => Some(c as u8),
            // One rule for every format and place: `\n`, `\r`, `\t`, else `\uXXXX`.
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
        let class = esc.class();
        let bytes = s.as_bytes();
        let mut start = 0;
        let mut i = 0;
        loop {
            i = scan(bytes, i, class);
            if i >= bytes.len() {
                break;
            }
            let b = bytes[i];
            let (c, width) = match class.of(b) {
                QUOTES => {
                    *bare = false;
                    i += 1;
                    continue;
                }
                LEAD => {
                    // `s` is valid UTF-8, so the lead is followed by its continuation bytes.
                    let (c, width, hidden) = hidden_at(bytes, i);
                    if !hidden {
                        i += width;
                        continue;
                    }
                    (c, width)
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

    /// Appends `s` with every character `class` does not keep replaced by `_`, at most
    /// `max_chars` characters, `_` when `s` is empty. For keys and header fields, which are never
    /// cut. Text with no byte the class flags is copied as it is (the fast path).
    #[inline]
    pub(super) fn sanitized(&mut self, s: &str, class: &Class, max_chars: usize) {
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
            let c = if class.keeps(c) { c } else { '_' };
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

impl<'o> Raw<'o> {
    /// Appends to `buf` until it is `limit` bytes long, then one character more at most.
    pub(super) fn new(buf: &'o mut Vec<u8>, limit: usize) -> Self {
        Raw { buf, limit }
    }
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
    write_raw(out, args);
    let clean = start + esc.scan(&out.buf[start..], 0);
    if clean == out.buf.len() {
        out.ran(start, tail);
        return true;
    }
    escape_from(out, start, clean, esc, tail)
}

/// Appends `args` as it is, up to one character past the budget ([`Raw`]).
fn write_raw(out: &mut Out<'_>, args: fmt::Arguments<'_>) {
    let mut raw = Raw::new(&mut *out.buf, out.max + out.slack + 1);
    // An error here is either our own "budget full" signal or a broken user impl; in both cases
    // what was written so far is kept and the cut logic decides.
    let _ = fmt::write(&mut raw, args);
}

/// For raw text at `start..` whose bytes before `clean` need nothing: keeps those (with their cut
/// points), moves the rest aside and writes it back through [`Out::escaped`]. Returns whether
/// nothing in it would force quotes around a logfmt value.
fn escape_from(
    out: &mut Out<'_>,
    start: usize,
    clean: usize,
    esc: Esc,
    tail: Option<&'static str>,
) -> bool {
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

/// Whether a logfmt message must be quoted: a `=` could make a parser read a pair in it, a `"`
/// could make it misread the pairs after it, and a `\` would read as an escape.
fn ambiguous(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| matches!(b, b'=' | b'"' | b'\\'))
}

/// Writes the free-text message of a logfmt body: as it is (controls escaped as [`Esc::Msg`]
/// does) unless it holds a `=`, `"` or `\`; then quoted and escaped as a logfmt value, so a
/// logfmt parser reads no pair in it and exactly the record's fields after it.
pub(super) fn logfmt_message(out: &mut Out<'_>, msg: Message<'_>) {
    match msg {
        Message::Args(args) => match args.as_str() {
            Some(literal) => logfmt_message_str(out, literal),
            None => logfmt_message_fmt(out, *args),
        },
        Message::Str(s) => logfmt_message_str(out, s),
        Message::Display(d) => logfmt_message_fmt(out, format_args!("{d}")),
    }
}

/// [`logfmt_message`] for formatted text: written as it is, then checked.
fn logfmt_message_fmt(out: &mut Out<'_>, args: fmt::Arguments<'_>) {
    if out.full {
        return;
    }
    let start = out.buf.len();
    write_raw(out, args);
    let clean = start + scan(&out.buf[start..], 0, &LOGFMT_MSG);
    if clean == out.buf.len() {
        out.ran(start, Some(TAIL_TEXT));
    } else if !ambiguous(&out.buf[clean..]) {
        escape_from(out, start, clean, Esc::Msg, Some(TAIL_TEXT));
    } else {
        // Rare: the quote goes in front of what was written, and all of it is escaped again.
        out.buf.insert(start, b'"');
        escape_from(
            out,
            start + 1,
            start + 1,
            Esc::Logfmt,
            Some(TAIL_LOGFMT_QUOTED),
        );
        out.push(b"\"");
    }
}

/// [`logfmt_message`] for a string: scanned first, so the common case is one copy.
fn logfmt_message_str(out: &mut Out<'_>, s: &str) {
    let bytes = s.as_bytes();
    let clean = scan(bytes, 0, &LOGFMT_MSG);
    let mut bare = true;
    if clean == bytes.len() {
        out.run(bytes, Some(TAIL_TEXT));
    } else if !ambiguous(&bytes[clean..]) {
        out.escaped(s, Esc::Msg, Some(TAIL_TEXT), &mut bare);
    } else {
        out.push(b"\"");
        out.escaped(s, Esc::Logfmt, Some(TAIL_LOGFMT_QUOTED), &mut bare);
        out.push(b"\"");
    }
}

/// Writes a text-like value (a `&str`, or a `Display`/`Debug` value) escaped for `esc`; returns
/// whether nothing in it would force quotes around a logfmt value.
#[inline]
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
#[inline]
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
        Message::Str(s) => {
            text(out, Value::Str(s), esc, Some(tail));
        }
        Message::Display(d) => {
            text(out, Value::Display(d), esc, Some(tail));
        }
    }
}

/// Numbers and booleans as their plain text (logfmt, JSON numbers, inside SD quotes).
#[inline]
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
    use crate::format::decode;
    use crate::format::tests::*;
    use crate::format::*;
    // The class, not the test ident `web`.
    use super::IDENT;

    /// Every class, named for failure messages.
    const CLASSES: [(&str, &Class); 9] = [
        ("MSG", &MSG),
        ("LOGFMT_MSG", &LOGFMT_MSG),
        ("JSON", &JSON),
        ("LOGFMT", &LOGFMT),
        ("SD", &SD),
        ("KEY", &KEY),
        ("IDENT", &IDENT),
        ("PRINT", &PRINT),
        ("PARAM_NAME", &PARAM_NAME),
    ];

    #[test]
    fn class_tables_hold_the_specified_ascii_bytes() {
        // (class, its flagged printable ASCII bytes); every class also flags C0 and DEL.
        let cases: [(&Class, &str); 9] = [
            (&MSG, ""),
            (&LOGFMT_MSG, "\"=\\"),
            (&JSON, "\"\\"),
            (&LOGFMT, " \"=\\"),
            (&SD, "\"\\]"),
            (&KEY, " \"="),
            (&IDENT, " /:[]"),
            (&PRINT, " "),
            (&PARAM_NAME, " \"=]"),
        ];
        for (class, printable) in cases {
            let flagged: String = (0x20..0x7f_u8)
                .filter(|&b| class.of(b) != 0)
                .map(char::from)
                .collect();
            assert_eq!(flagged, printable);
            assert!((0..0x20).chain([0x7f]).all(|b| class.of(b) != 0));
        }
        assert_eq!(LOGFMT.of(b' '), QUOTES);
        assert_eq!(LOGFMT.of(b'='), QUOTES);
        assert_eq!(LOGFMT.of(b'"'), ESCAPE);
        assert_eq!((MSG.of(0xc2), MSG.of(0xe2), MSG.of(0xc3)), (LEAD, LEAD, 0));
        assert_eq!((PRINT.of(0xc2), PRINT.of(0xc3)), (LEAD, ESCAPE));
    }

    #[test]
    fn word_test_agrees_with_the_table_for_every_byte_in_every_lane() {
        for (name, class) in CLASSES {
            // `scan` pads short tails with `a`: flagged, it would send them byte by byte.
            assert_eq!(class.of(b'a'), 0, "{name} flags the padding byte");
            assert_eq!(class.word(LO * u64::from(b'a')), 0, "{name}: padding");
            for b in 0..=255u8 {
                for lane in 0..8 {
                    // Every filler too, so a borrow from a neighbouring byte cannot hide `b`.
                    for filler in [b'a', 0x00, 0xff, b' ', b'~'] {
                        let mut bytes = [filler; 8];
                        bytes[lane] = b;
                        let hit = class.word(u64::from_le_bytes(bytes)) != 0;
                        let flagged = bytes.iter().any(|&x| class.of(x) != 0);
                        // Never under-reports...
                        assert!(!flagged || hit, "{name}: {bytes:02x?} missed");
                        // ...and is exact for ASCII.
                        if bytes.iter().all(u8::is_ascii) {
                            assert_eq!(hit, flagged, "{name}: {bytes:02x?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn kept_characters_agree_with_the_table() {
        for (name, class) in CLASSES {
            for c in (0..=0x10ffff_u32).filter_map(char::from_u32) {
                let mut utf8 = [0u8; 4];
                let lead = c.encode_utf8(&mut utf8).as_bytes()[0];
                if c.is_ascii() {
                    assert_eq!(class.keeps(c), class.of(lead) == 0, "{name}: {c:?}");
                } else if !class.keeps(c) {
                    // The fast path copies text the table passes: it must not pass a character
                    // the class replaces.
                    assert_ne!(class.of(lead), 0, "{name}: {c:?}");
                }
            }
        }
        // What each class keeps outside ASCII.
        for c in ['\u{85}', '\u{2028}', '\u{2029}'] {
            assert!(!MSG.keeps(c) && !KEY.keeps(c) && !IDENT.keeps(c), "{c:?}");
        }
        for c in ['\u{a0}', 'é', '日', '\u{2027}'] {
            assert!(KEY.keeps(c) && !IDENT.keeps(c) && !PRINT.keeps(c), "{c:?}");
        }
        assert!(IDENT.keeps('=') && !KEY.keeps('=') && KEY.keeps('\\'));
        // The header's check on the ident is the ident's own rule.
        for c in (0..=0x10ffff_u32).filter_map(char::from_u32) {
            assert_eq!(IDENT.keeps(c), crate::ident::keeps(c), "{c:?}");
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
                    assert_eq!(scan(&bytes, start, &MSG), at, "{len} {at} {start}");
                }
            }
        }
        // Non-ASCII that no table flags is skipped byte by byte, then scanning goes on by word.
        let s = "é".repeat(5) + "plain text, long enough for words\u{2028}";
        assert_eq!(scan(s.as_bytes(), 0, &MSG), s.len() - 3);
        // Short text, scanned as one word built from overlapping loads.
        for (text, at) in [
            ("é", 2),
            ("ab\u{2028}", 2),
            ("\u{85}x", 0),
            ("key=", 3),
            ("k y", 1),
        ] {
            assert_eq!(scan(text.as_bytes(), 0, &LOGFMT), at, "{text:?}");
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
                "nbsp\u{a0} \u{2027}\\u202a",
                "nbsp\u{a0} \u{2027}\\u202a",
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
    fn bidi_and_invisible_characters_are_escaped_in_every_format() {
        // Every listed character, and its neighbours that stay as they are.
        let hidden = [
            '\u{61c}', '\u{200b}', '\u{200c}', '\u{200d}', '\u{200e}', '\u{200f}', '\u{202a}',
            '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}', '\u{2068}',
            '\u{2069}', '\u{feff}',
        ];
        for c in hidden {
            let esc = format!("\\u{:04x}", u32::from(c));
            let raw = format!("{c}toor");
            let fields = [("user", Value::Str(&raw)), ("d", Value::Display(&raw))];
            assert_eq!(
                body(Format::Logfmt, &raw, &fields),
                format!("{esc}toor user=\"{esc}toor\" d=\"{esc}toor\"\0"),
                "{c:?}"
            );
            assert_eq!(
                body(Format::Json, &raw, &fields),
                format!(
                    "@cee: {{\"msg\":\"{esc}toor\",\"user\":\"{esc}toor\",\"d\":\"{esc}toor\"}}\0"
                ),
                "{c:?}"
            );
            let r = renderer(Format::Rfc5424, H5424, 8192);
            assert!(render(&r, &raw, &fields).0.ends_with(&format!(
                "[fields@32473 user=\"{esc}toor\" d=\"{esc}toor\"] {esc}toor"
            )));
            // Keys and span names are names: the character becomes `_`.
            let key = format!("k{c}");
            assert_eq!(
                body(Format::Logfmt, "m", &[(&key, Value::I64(1))]),
                "m k_=1\0"
            );
            assert!(!KEY.keeps(c) && !MSG.keeps(c) && !IDENT.keeps(c), "{c:?}");
            // The ident, whatever reaches the renderer.
            let mut r = renderer(Format::Logfmt, H3164, 8192);
            r.ident = format!("web{c}");
            assert_eq!(render(&r, "m", &[]).0, "<134>Nov  2 09:05:01 web_[4242]: m");
        }
        for c in [
            '\u{61b}', '\u{61d}', '\u{200a}', '\u{2010}', '\u{2065}', '\u{206a}', '\u{fefe}',
            '\u{ff01}',
        ] {
            let raw = format!("{c}x");
            assert_eq!(body(Format::Logfmt, &raw, &[]), format!("{raw}\0"), "{c:?}");
            assert_eq!(
                body(Format::Logfmt, "m", &[("k", Value::Str(&raw))]),
                format!("m k={raw}\0"),
                "{c:?}"
            );
        }
    }

    #[test]
    fn line_feed_is_backslash_n_in_every_format_and_place() {
        let raw = "a\nb\rc\td";
        let esc = "a\\nb\\rc\\td";
        let fields = [("k", Value::Str(raw)), ("d", Value::Display(&raw))];
        assert_eq!(
            body(Format::Logfmt, raw, &fields),
            format!("{esc} k=\"{esc}\" d=\"{esc}\"\0")
        );
        assert_eq!(
            body(Format::Json, raw, &fields),
            format!("@cee: {{\"msg\":\"{esc}\",\"k\":\"{esc}\",\"d\":\"{esc}\"}}\0")
        );
        let r = renderer(Format::Rfc5424, H5424, 8192);
        let (s, _) = render(&r, raw, &fields);
        assert!(
            s.ends_with(&format!("[fields@32473 k=\"{esc}\" d=\"{esc}\"] {esc}")),
            "{s}"
        );
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
            &format_args!("a\nb {args} {:?}", 'q'),
            &[],
            None,
            &now(),
        );
        assert_eq!(s, "a\\nb 1 'q'");
        // A `"` makes it a quoted logfmt message (see `logfmt_message_cannot_forge_fields`).
        let (s, _) = render_full(
            &r,
            &format_args!("a\nb {args} {:?}", "q"),
            &[],
            None,
            &now(),
        );
        assert_eq!(s, "\"a\\nb 1 \\\"q\\\"\"");
    }

    #[test]
    fn logfmt_message_cannot_forge_fields() {
        // (message, logfmt body with one field `status=200`); the RFC 5424 MSG and JSON `msg`
        // stay as they were: there the message cannot be mistaken for fields.
        let cases = [
            (
                " status=500 user=admin",
                "\" status=500 user=admin\" status=200",
            ),
            ("x=1", "\"x=1\" status=200"),
            ("say \"hi\"", "\"say \\\"hi\\\"\" status=200"),
            ("\" a=\"", "\"\\\" a=\\\"\" status=200"),
            ("back\\slash", "\"back\\\\slash\" status=200"),
            ("a=b\nc", "\"a=b\\nc\" status=200"),
            ("plain text", "plain text status=200"),
            ("line\nbreak", "line\\nbreak status=200"),
            ("", "status=200"),
        ];
        let fields = [("status", Value::U64(200))];
        for (msg, want) in cases {
            let (s, _) = render(&renderer(Format::Logfmt, LIBC, 8192), msg, &fields);
            assert_eq!(s, want, "{msg:?}");
            // The same through a `Display` that is formatted, not copied.
            let (d, _) = render_full(
                &renderer(Format::Logfmt, LIBC, 8192),
                &format_args!("{msg}{}", ""),
                &fields,
                None,
                &now(),
            );
            assert_eq!(d, want, "{msg:?}");
            let (got, pairs) = decode::logfmt_line(&s).unwrap();
            assert_eq!(got, msg);
            assert_eq!(pairs, [("status".to_owned(), "200".to_owned())], "{s}");
        }
        let r = renderer(Format::Rfc5424, H5424, 8192);
        assert!(render(&r, "x=1 \\ \"", &[]).0.ends_with(" - - x=1 \\ \""));
        // Cut inside a quoted message: the quote is closed before the marker.
        let r = renderer(Format::Logfmt, LIBC, libc_budget(30));
        let (s, cut) = render(&r, &format!("a=b {}", "c".repeat(40)), &fields);
        assert_eq!(
            (s.as_str(), cut),
            ("\"a=b cccccccccccc\" [truncated]", true)
        );
    }
}
