//! Decoders for what the renderer writes: JSON values, RFC 5424 STRUCTURED-DATA and logfmt
//! pairs. One copy, for the unit and property tests, the fuzz target's invariants and
//! [`fastsyslog::testing`](crate::testing); never on the logging path.
//!
//! # Examples
//!
//! ```
//! use fastsyslog::testing::decode::{self, Json};
//!
//! let body = r#"@cee: {"msg":"GET /a","status":200}"#;
//! let json = Json::parse(body.strip_prefix("@cee: ").unwrap())?;
//! assert_eq!(json.get("msg").and_then(Json::as_str), Some("GET /a"));
//! assert_eq!(json.get("status"), Some(&Json::Num("200".into())));
//!
//! let (elements, msg) = decode::structured_data(r#"[fields@32473 path="/a\]b"] done"#)?;
//! assert_eq!(elements[0].id, "fields@32473");
//! assert_eq!(elements[0].params, [("path".to_owned(), "/a]b".to_owned())]);
//! assert_eq!(msg, "done");
//!
//! let (key, value, rest) = decode::logfmt_pair(r#"agent="curl 8" ms=1.5"#)?;
//! assert_eq!((key.as_str(), value.as_str(), rest), ("agent", "curl 8", " ms=1.5"));
//! # Ok::<(), decode::DecodeError>(())
//! ```
// Public for `fastsyslog::testing`; the unit tests and the fuzz harness reach it without it.
#![cfg_attr(not(all(feature = "testing", unix)), allow(unreachable_pub, dead_code))]

use std::fmt;

/// Why a decoder rejected its input: what was wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    reason: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for DecodeError {}

impl From<String> for DecodeError {
    fn from(reason: String) -> DecodeError {
        DecodeError { reason }
    }
}

// === JSON ===

/// A JSON value; objects keep their members in order, duplicates included.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as its text (so no precision is lost).
    Num(String),
    /// A string, unescaped.
    Str(String),
    /// An array.
    Array(Vec<Json>),
    /// An object's members, in order.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Parses exactly one JSON value (RFC 8259), with nothing but whitespace around it.
    ///
    /// # Errors
    ///
    /// When `s` is not exactly one valid JSON value.
    pub fn parse(s: &str) -> Result<Json, DecodeError> {
        parse_json(s, false).map_err(DecodeError::from)
    }

    /// Like [`Json::parse`], but with no whitespace between tokens, as the renderer writes it.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn parse_compact(s: &str) -> Result<Json, DecodeError> {
        parse_json(s, true).map_err(DecodeError::from)
    }

    /// The members, when this is an object.
    pub fn as_object(&self) -> Option<&[(String, Json)]> {
        match self {
            Json::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The text, when this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value of the first member called `key`, when this is an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.as_object()?
            .iter()
            .find_map(|(k, v)| (k == key).then_some(v))
    }
}

fn parse_json(s: &str, compact: bool) -> Result<Json, String> {
    let mut p = Parser {
        b: s.as_bytes(),
        i: 0,
        depth: 0,
        compact,
    };
    p.ws();
    let v = p.value()?;
    p.ws();
    if p.i != p.b.len() {
        return Err(format!("trailing bytes at {}", p.i));
    }
    Ok(v)
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    depth: u32,
    /// Whitespace between tokens is an error: the renderer writes none.
    compact: bool,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while !self.compact && matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Result<(), String> {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {:?} at {}", c as char, self.i))
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.depth += 1;
        if self.depth > 64 {
            return Err("nested too deep".into());
        }
        let v = match self.b.get(self.i) {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => self.string().map(Json::Str),
            Some(b't') => self.word("true", Json::Bool(true)),
            Some(b'f') => self.word("false", Json::Bool(false)),
            Some(b'n') => self.word("null", Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(format!("unexpected input at {}", self.i)),
        };
        self.depth -= 1;
        v
    }

    fn word(&mut self, w: &str, v: Json) -> Result<Json, String> {
        if self.b[self.i..].starts_with(w.as_bytes()) {
            self.i += w.len();
            Ok(v)
        } else {
            Err(format!("bad literal at {}", self.i))
        }
    }

    fn object(&mut self) -> Result<Json, String> {
        self.eat(b'{')?;
        let mut members = Vec::new();
        self.ws();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Json::Object(members));
        }
        loop {
            self.ws();
            let k = self.string()?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            let v = self.value()?;
            members.push((k, v));
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Json::Object(members));
                }
                _ => return Err(format!("expected , or }} at {}", self.i)),
            }
        }
    }

    fn array(&mut self) -> Result<Json, String> {
        self.eat(b'[')?;
        let mut items = Vec::new();
        self.ws();
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(Json::Array(items));
        }
        loop {
            self.ws();
            items.push(self.value()?);
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Json::Array(items));
                }
                _ => return Err(format!("expected , or ] at {}", self.i)),
            }
        }
    }

    fn number(&mut self) -> Result<Json, String> {
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(format!("bad number at {start}")),
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                return Err(format!("bad fraction at {start}"));
            }
            self.digits();
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                return Err(format!("bad exponent at {start}"));
            }
            self.digits();
        }
        let text = std::str::from_utf8(&self.b[start..self.i]).map_err(|e| e.to_string())?;
        Ok(Json::Num(text.to_owned()))
    }

    fn digits(&mut self) {
        while matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
            self.i += 1;
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self
            .b
            .get(self.i..self.i + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| format!("bad \\u escape at {}", self.i))?;
        self.i += 4;
        Ok(h)
    }

    fn string(&mut self) -> Result<String, String> {
        self.eat(b'"')?;
        let mut out = String::new();
        loop {
            let start = self.i;
            while !matches!(self.b.get(self.i), Some(b'"' | b'\\') | None) {
                if self.b[self.i] < 0x20 {
                    return Err(format!("raw control byte in a string at {}", self.i));
                }
                self.i += 1;
            }
            out.push_str(std::str::from_utf8(&self.b[start..self.i]).map_err(|e| e.to_string())?);
            match self.b.get(self.i) {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = *self.b.get(self.i).ok_or("unterminated escape")?;
                    self.i += 1;
                    match c {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let c = if (0xd800..0xdc00).contains(&hi) {
                                self.eat(b'\\')?;
                                self.eat(b'u')?;
                                let lo = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&lo) {
                                    return Err("unpaired surrogate".into());
                                }
                                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                            } else {
                                hi
                            };
                            out.push(char::from_u32(c).ok_or("unpaired surrogate")?);
                        }
                        _ => return Err(format!("bad escape at {}", self.i)),
                    }
                }
                _ => return Err("unterminated string".into()),
            }
        }
    }
}

// === RFC 5424 STRUCTURED-DATA ===

/// One SD-ELEMENT: its SD-ID and its PARAMs, values unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdElement {
    /// The SD-ID (`fields@32473`).
    pub id: String,
    /// PARAM-NAME and unescaped PARAM-VALUE pairs, in order.
    pub params: Vec<(String, String)>,
}

/// Parses STRUCTURED-DATA (`-` or `[id k="v" ...]...`) and returns its elements and the MSG
/// after it (the text after one space; empty when nothing follows). SD-IDs and PARAM-NAMEs must
/// be 1 to 32 printable US-ASCII characters without `=`, `]`, `"` or space (an SD-ID with `@` may
/// be longer); a PARAM-VALUE may hold `]` only escaped.
///
/// # Errors
///
/// When `s` does not start with valid STRUCTURED-DATA, or the SD is not followed by nothing or
/// by a space.
pub fn structured_data(s: &str) -> Result<(Vec<SdElement>, &str), DecodeError> {
    parse_sd(s).map_err(DecodeError::from)
}

fn parse_sd(s: &str) -> Result<(Vec<SdElement>, &str), String> {
    let mut els = Vec::new();
    let mut rest = s;
    if let Some(r) = rest.strip_prefix('-') {
        rest = r;
    } else {
        while let Some(r) = rest.strip_prefix('[') {
            let id_end = r.find([' ', ']']).ok_or("unterminated SD-ELEMENT")?;
            let id = &r[..id_end];
            check_name(id)?;
            rest = &r[id_end..];
            let mut params = Vec::new();
            while let Some(r) = rest.strip_prefix(' ') {
                let eq = r.find('=').ok_or("PARAM without =")?;
                let name = &r[..eq];
                check_name(name)?;
                let r = r[eq + 1..]
                    .strip_prefix('"')
                    .ok_or("PARAM-VALUE not quoted")?;
                let end = closing_quote(r, true)?.ok_or("unterminated PARAM-VALUE")?;
                params.push((name.to_owned(), unescape(&r[..end], true)?));
                rest = &r[end + 1..];
            }
            rest = rest.strip_prefix(']').ok_or("SD-ELEMENT not closed")?;
            els.push(SdElement {
                id: id.to_owned(),
                params,
            });
        }
        if els.is_empty() {
            return Err(format!("no STRUCTURED-DATA: {s:.40?}"));
        }
    }
    if rest.is_empty() {
        return Ok((els, rest));
    }
    let msg = rest
        .strip_prefix(' ')
        .ok_or_else(|| format!("junk after SD: {rest:.40?}"))?;
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

/// The index of the `"` that closes a quoted value starting at `s` (after its opening quote),
/// skipping escapes; `None` when there is none. In a PARAM-VALUE (`sd`), a raw `]` is an error.
fn closing_quote(s: &str, sd: bool) -> Result<Option<usize>, String> {
    let mut esc = false;
    for (i, c) in s.char_indices() {
        match (esc, c) {
            (true, _) => esc = false,
            (false, '\\') => esc = true,
            (false, '"') => return Ok(Some(i)),
            (false, ']') if sd => return Err("unescaped ] in PARAM-VALUE".into()),
            _ => {}
        }
    }
    Ok(None)
}

/// Undoes the logfmt (`\"`, `\\`, `\n`, `\r`, `\t`, `\uXXXX`) or PARAM-VALUE (also `\]`)
/// escapes.
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
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
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

// === logfmt ===

/// Splits one `key=value` (the value bare or quoted) off the front of `s`; returns the key, the
/// unescaped value and what follows the pair.
///
/// # Errors
///
/// When `s` does not start with a pair, a quoted value is not closed or holds a bad escape, or a
/// bare value is empty or holds `"`, `=`, `\` or a control character.
pub fn logfmt_pair(s: &str) -> Result<(String, String, &str), DecodeError> {
    parse_logfmt_pair(s).map_err(DecodeError::from)
}

fn parse_logfmt_pair(s: &str) -> Result<(String, String, &str), String> {
    let (key, rest) = s.split_once('=').ok_or("no =")?;
    if let Some(q) = rest.strip_prefix('"') {
        let end = closing_quote(q, false)?.ok_or("unterminated quote")?;
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

/// Splits a whole logfmt body into its message and its pairs, as the renderer writes it: the
/// message first, quoted when it holds `=`, `"` or `\\` (else everything before the first
/// `key=value` token), then `key=value` pairs separated by one space.
///
/// # Examples
///
/// ```
/// use fastsyslog::testing::decode;
///
/// let (msg, pairs) = decode::logfmt_line(r#""x=1 done" status=200 agent="curl 8""#)?;
/// assert_eq!(msg, "x=1 done");
/// assert_eq!(pairs, [("status".into(), "200".into()), ("agent".into(), "curl 8".into())]);
/// # Ok::<(), decode::DecodeError>(())
/// ```
///
/// # Errors
///
/// When the message or a pair is malformed (see [`logfmt_pair`]), or something other than one
/// space separates two pairs.
pub fn logfmt_line(body: &str) -> Result<(String, Vec<(String, String)>), DecodeError> {
    parse_logfmt_line(body).map_err(DecodeError::from)
}

fn parse_logfmt_line(body: &str) -> Result<(String, Vec<(String, String)>), String> {
    let (msg, mut rest) = if let Some(q) = body.strip_prefix('"') {
        let end = closing_quote(q, false)?.ok_or("unterminated quoted message")?;
        let rest = &q[end + 1..];
        if !rest.is_empty() && !rest.starts_with(' ') {
            return Err(format!("no space after the quoted message: {rest:?}"));
        }
        (
            unescape(&q[..end], false)?,
            rest.strip_prefix(' ').unwrap_or(rest),
        )
    } else {
        // The first token with a `=` starts the pairs; a plain message has none.
        let mut at = 0;
        let first_pair = loop {
            let end = body[at..].find(' ').map_or(body.len(), |i| at + i);
            if body[at..end].contains('=') {
                break Some(at);
            }
            if end == body.len() {
                break None;
            }
            at = end + 1;
        };
        let (msg, rest) = match first_pair {
            None => (body, ""),
            Some(0) => ("", body),
            Some(at) => (&body[..at - 1], &body[at..]),
        };
        (unescape(msg, false)?, rest)
    };
    let mut pairs = Vec::new();
    while !rest.is_empty() {
        let (k, v, after) = parse_logfmt_pair(rest)?;
        pairs.push((k, v));
        rest = match after.strip_prefix(' ') {
            Some(next) if !next.is_empty() => next,
            None if after.is_empty() => after,
            _ => return Err(format!("bad separator before {after:?}")),
        };
    }
    Ok((msg, pairs))
}

/// Splits a logfmt body into its message and its pairs, leniently, for tests: [`logfmt_line`] on
/// the body without a trailing ` [truncated]` marker, or the whole body as the message (and no
/// pairs) when that does not decode.
///
/// # Examples
///
/// ```
/// use fastsyslog::testing::decode;
///
/// let (msg, pairs) = decode::logfmt_body(r#"GET /a b path="/a b" status=200"#);
/// assert_eq!(msg, "GET /a b");
/// assert_eq!(pairs, [("path".to_owned(), "/a b".to_owned()), ("status".to_owned(), "200".to_owned())]);
/// ```
pub fn logfmt_body(body: &str) -> (String, Vec<(String, String)>) {
    let body = body.strip_suffix(" [truncated]").unwrap_or(body);
    parse_logfmt_line(body).unwrap_or_else(|_| (body.to_owned(), Vec::new()))
}

/// The key/value pairs of a record in any of the three body formats: the members of a JSON
/// (`@cee:`) body but `msg`, the `fields@32473` PARAMs of RFC 5424 `structured_data`, or the pairs
/// of a logfmt body. Span fields come first, as `span.key` (span `name` for JSON and SD spans).
/// JSON values are given as text: strings unescaped, numbers, `true`/`false`/`null` and nested
/// values as written. Anything that does not decode gives no pairs.
pub fn body_fields(body: &str, structured_data: Option<&str>) -> Vec<(String, String)> {
    if let Some(sd) = structured_data {
        let Ok((elements, _)) = parse_sd(sd) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in elements {
            if e.id.starts_with("span") {
                let name = e
                    .params
                    .iter()
                    .find(|(k, _)| k == "name")
                    .map(|(_, v)| v.clone());
                let name = name.unwrap_or_default();
                for (k, v) in e.params.into_iter().filter(|(k, _)| k != "name") {
                    out.push((format!("{name}.{}", unrenamed(&k, &["name"])), v));
                }
            } else if e.id.starts_with("fields") {
                out.extend(e.params);
            }
        }
        return out;
    }
    if let Some(json) = body.strip_prefix("@cee: ") {
        let Ok(Json::Object(members)) = Json::parse(json.trim_end_matches(['\0', '\n'])) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in members {
            match (k.as_str(), v) {
                ("msg", _) | ("truncated", Json::Bool(true)) => {}
                ("spans", Json::Array(spans)) => {
                    for span in spans {
                        let Json::Object(fields) = span else { continue };
                        let name = fields
                            .iter()
                            .find(|(k, _)| k == "name")
                            .and_then(|(_, v)| v.as_str())
                            .unwrap_or_default()
                            .to_owned();
                        for (k, v) in fields.into_iter().filter(|(k, _)| k != "name") {
                            let k = unrenamed(&k, &["name"]);
                            out.push((format!("{name}.{k}"), json_text(v)));
                        }
                    }
                }
                (_, v) => {
                    let k = unrenamed(&k, &["msg", "spans", "truncated"]);
                    out.push((k.to_owned(), json_text(v)));
                }
            }
        }
        return out;
    }
    logfmt_body(body.trim_end_matches(['\0', '\n'])).1
}

/// A user key as it was logged: the renderer writes a key that collides with one of its own
/// (`reserved`) with a leading `_`.
fn unrenamed<'k>(key: &'k str, reserved: &[&str]) -> &'k str {
    match key.strip_prefix('_') {
        Some(rest) if reserved.contains(&rest) => rest,
        _ => key,
    }
}

/// A JSON value as the text a logfmt or SD field would carry.
fn json_text(v: Json) -> String {
    match v {
        Json::Null => "null".to_owned(),
        Json::Bool(b) => b.to_string(),
        Json::Num(n) | Json::Str(n) => n,
        other => format!("{other:?}"),
    }
}

/// Undoes the logfmt escapes of a message or quoted value (`\"`, `\\`, `\n`, `\r`, `\t`,
/// `\uXXXX`).
///
/// # Errors
///
/// On a dangling backslash or an unknown or malformed escape.
pub fn logfmt_unescape(s: &str) -> Result<String, DecodeError> {
    unescape(s, false).map_err(DecodeError::from)
}
