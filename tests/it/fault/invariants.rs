//! What every rendered message must satisfy, whatever the input: shared by the property tests
//! (`tests/it/fault.rs`) and the fuzz target (`fuzz/fuzz_targets/format.rs`, which includes this
//! file by path), so both check exactly the same promises.
//!
//! - valid UTF-8, within the limit (for the libc body: the limit less glibc's header);
//! - one message: no raw control character, DEL, C1, U+2028/U+2029 (the libc body ends with
//!   exactly one NUL and has no other);
//! - the expected header;
//! - `truncated` exactly when marked (` [truncated]`, or `"truncated":true` in JSON);
//! - JSON bodies are exactly one object that round-trips the message, fields and spans when not
//!   cut; RFC 5424 STRUCTURED-DATA parses and round-trips every field value when not cut.
#![allow(dead_code)] // The fuzz target and the property tests use different parts.

use fastsyslog::__fuzz::{FuzzValue, Input, Output, PID};
use fastsyslog::{Format, Header};

/// What glibc puts in front of a libc body at most, besides the ident.
const LIBC_HEADER_OVERHEAD: usize = 35;

/// Checks `out`, rendered from `input`; the error says which promise broke.
pub(crate) fn check(input: &Input<'_>, out: &Output) -> Result<(), String> {
    let mut bytes = &out.bytes[..];
    if out.header.is_none() {
        bytes = bytes
            .strip_suffix(b"\0")
            .ok_or("a libc body must end with a NUL")?;
    }
    if bytes.contains(&0) {
        return Err("interior NUL".into());
    }
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    let limit = match out.header {
        Some(_) => out.max_len,
        None => out
            .max_len
            .saturating_sub(LIBC_HEADER_OVERHEAD + out.ident.len()),
    };
    if text.len() > limit {
        return Err(format!("{} bytes over the limit {limit}", text.len()));
    }
    if let Some(c) = text.chars().find(|&c| breaks_line(c)) {
        return Err(format!("raw {c:?}: not one message on one line"));
    }
    let Some(body) = strip_header(text, out)? else {
        // The limit is smaller than the header: only a cut header is left, which is allowed.
        return if out.truncated {
            Ok(())
        } else {
            Err("header cut without truncation".into())
        };
    };
    match out.format {
        Format::Json => check_json(body, input, out.truncated),
        Format::Rfc5424 => check_sd(body, input, out.truncated),
        _ => check_logfmt(body, input, out.truncated),
    }
}

fn breaks_line(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// The body after the expected header; `None` when the message is shorter than its header.
fn strip_header<'a>(text: &'a str, out: &Output) -> Result<Option<&'a str>, String> {
    let header = match out.header {
        None => return Ok(Some(text)),
        Some(Header::Rfc3164) => format!("<142>Nov 22 20:34:36 {}[{PID}]: ", out.ident),
        Some(_) => "<142>1 2026-11-22T20:34:36.123456+01:00 fuzzhost ".to_owned(),
    };
    if text.len() < header.len() {
        return if header.starts_with(text) {
            Ok(None)
        } else {
            Err(format!("bad header {text:?}, want {header:?}"))
        };
    }
    let rest = text
        .strip_prefix(header.as_str())
        .ok_or_else(|| format!("bad header, want {header:?}"))?;
    if out.header != Some(Header::Rfc5424) {
        return Ok(Some(rest));
    }
    // APP-NAME PROCID MSGID, then (for a logfmt or JSON body) the `-` of empty STRUCTURED-DATA.
    let tail = format!(" {PID} - ");
    let Some(app_end) = rest.find(' ') else {
        return Ok(None);
    };
    let app = &rest[..app_end];
    if app.is_empty() || !app.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!("APP-NAME {app:?} is not printable ASCII"));
    }
    let after_app = &rest[app_end..];
    let Some(after) = after_app.strip_prefix(tail.as_str()) else {
        return if tail.starts_with(after_app) {
            Ok(None)
        } else {
            Err(format!("bad PROCID/MSGID in {after_app:?}"))
        };
    };
    if out.format == Format::Rfc5424 {
        return Ok(Some(after));
    }
    match after.strip_prefix("- ") {
        Some(msg) => Ok(Some(msg)),
        None if after == "-" || after.is_empty() => Ok(Some("")),
        None => Err(format!(
            "no empty STRUCTURED-DATA before the body: {after:?}"
        )),
    }
}

/// The message hygiene rules: what the free-text message becomes.
pub(crate) fn escape_message(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    for c in msg.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if breaks_line(c) => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

fn ends_marked(body: &str) -> bool {
    body.ends_with(" [truncated]") || body == "[truncated]"
}

fn check_logfmt(body: &str, input: &Input<'_>, truncated: bool) -> Result<(), String> {
    if truncated {
        if !ends_marked(body) && !body.is_empty() {
            return Err(format!("cut but not marked: ...{:?}", tail(body)));
        }
        return Ok(());
    }
    let msg = escape_message(input.message);
    if !body.starts_with(msg.as_str()) {
        return Err(format!(
            "body does not start with the escaped message {msg:?}"
        ));
    }
    Ok(())
}

fn tail(s: &str) -> &str {
    let mut i = s.len().saturating_sub(40);
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

/// How a non-string value is spelled as text (logfmt, SD, JSON's non-finite floats).
fn scalar_text(v: &FuzzValue<'_>) -> String {
    match v {
        FuzzValue::Str(s) => (*s).to_owned(),
        FuzzValue::I64(n) => n.to_string(),
        FuzzValue::U64(n) => n.to_string(),
        FuzzValue::F64(n) => n.to_string(),
        FuzzValue::Bool(b) => b.to_string(),
    }
}

// === JSON ===

fn check_json(body: &str, input: &Input<'_>, truncated: bool) -> Result<(), String> {
    let Some(json) = body.strip_prefix("@cee: ") else {
        return if truncated && "@cee: ".starts_with(body) {
            Ok(())
        } else {
            Err(format!("no @cee: cookie: {:.40?}", body))
        };
    };
    let value = json::parse(json).map_err(|e| format!("JSON: {e} in {json:?}"))?;
    let obj = value.as_object().ok_or("the JSON body is not an object")?;
    let key = |i: usize| obj.get(i).map(|(k, _)| k.as_str());
    if key(0) != Some("msg") {
        return Err("the first key is not msg".into());
    }
    if truncated {
        return match obj.last() {
            Some((k, json::Value::Bool(true))) if k == "truncated" => Ok(()),
            _ => Err("cut JSON without \"truncated\":true as its last key".into()),
        };
    }
    if obj[0].1.as_str() != Some(input.message) {
        return Err(format!("msg {:?} != {:?}", obj[0].1, input.message));
    }
    let mut i = 1;
    if !input.spans.is_empty() {
        if key(1) != Some("spans") {
            return Err("no spans key".into());
        }
        let json::Value::Array(spans) = &obj[1].1 else {
            return Err("spans is not an array".into());
        };
        if spans.len() != input.spans.len() {
            return Err("span count".into());
        }
        for ((name, fields), span) in input.spans.iter().zip(spans) {
            let members = span.as_object().ok_or("a span is not an object")?;
            if members.first().map(|(k, v)| (k.as_str(), v.as_str())) != Some(("name", Some(name)))
            {
                return Err(format!("span name {name:?}"));
            }
            json_fields(
                &members[1..],
                fields,
                |k| if k == "name" { "_name" } else { k },
            )?;
        }
        i = 2;
    }
    json_fields(&obj[i..], input.fields, |k| match k {
        "msg" => "_msg",
        "spans" => "_spans",
        "truncated" => "_truncated",
        k => k,
    })
}

fn json_fields(
    got: &[(String, json::Value)],
    want: &[(&str, FuzzValue<'_>)],
    rename: impl Fn(&str) -> &str,
) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("{} members for {} fields", got.len(), want.len()));
    }
    for ((gk, gv), (wk, wv)) in got.iter().zip(want) {
        if gk != rename(wk) {
            return Err(format!("key {gk:?} for {wk:?}"));
        }
        let ok = match (wv, gv) {
            (FuzzValue::Str(s), json::Value::Str(g)) => g == s,
            (FuzzValue::Bool(b), json::Value::Bool(g)) => b == g,
            (FuzzValue::I64(n), json::Value::Num(g)) => *g == n.to_string(),
            (FuzzValue::U64(n), json::Value::Num(g)) => *g == n.to_string(),
            (FuzzValue::F64(n), json::Value::Num(g)) => {
                n.is_finite() && g.parse::<f64>().ok() == Some(*n)
            }
            (FuzzValue::F64(n), json::Value::Str(g)) => !n.is_finite() && *g == n.to_string(),
            _ => false,
        };
        if !ok {
            return Err(format!("{wk:?}: {gv:?} for {wv:?}"));
        }
    }
    Ok(())
}

/// A small strict RFC 8259 parser (no dependency, so the crate's dev-dependencies stay as they are).
pub(crate) mod json {
    /// A parsed value; objects keep their members in order, duplicates included.
    #[derive(Debug, Clone, PartialEq)]
    pub(crate) enum Value {
        Null,
        Bool(bool),
        /// The number's text, as written.
        Num(String),
        Str(String),
        Array(Vec<Value>),
        Object(Vec<(String, Value)>),
    }

    impl Value {
        pub(crate) fn as_object(&self) -> Option<&[(String, Value)]> {
            match self {
                Value::Object(m) => Some(m),
                _ => None,
            }
        }

        pub(crate) fn as_str(&self) -> Option<&str> {
            match self {
                Value::Str(s) => Some(s),
                _ => None,
            }
        }
    }

    /// Parses exactly one JSON value with nothing but whitespace after it.
    pub(crate) fn parse(s: &str) -> Result<Value, String> {
        let mut p = Parser {
            b: s.as_bytes(),
            i: 0,
            depth: 0,
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
    }

    impl Parser<'_> {
        fn ws(&mut self) {
            while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
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

        fn value(&mut self) -> Result<Value, String> {
            self.depth += 1;
            if self.depth > 64 {
                return Err("nested too deep".into());
            }
            let v = match self.b.get(self.i) {
                Some(b'{') => self.object(),
                Some(b'[') => self.array(),
                Some(b'"') => self.string().map(Value::Str),
                Some(b't') => self.word("true", Value::Bool(true)),
                Some(b'f') => self.word("false", Value::Bool(false)),
                Some(b'n') => self.word("null", Value::Null),
                Some(b'-' | b'0'..=b'9') => self.number(),
                _ => Err(format!("unexpected input at {}", self.i)),
            };
            self.depth -= 1;
            v
        }

        fn word(&mut self, w: &str, v: Value) -> Result<Value, String> {
            if self.b[self.i..].starts_with(w.as_bytes()) {
                self.i += w.len();
                Ok(v)
            } else {
                Err(format!("bad literal at {}", self.i))
            }
        }

        fn object(&mut self) -> Result<Value, String> {
            self.eat(b'{')?;
            let mut members = Vec::new();
            self.ws();
            if self.b.get(self.i) == Some(&b'}') {
                self.i += 1;
                return Ok(Value::Object(members));
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
                        return Ok(Value::Object(members));
                    }
                    _ => return Err(format!("expected , or }} at {}", self.i)),
                }
            }
        }

        fn array(&mut self) -> Result<Value, String> {
            self.eat(b'[')?;
            let mut items = Vec::new();
            self.ws();
            if self.b.get(self.i) == Some(&b']') {
                self.i += 1;
                return Ok(Value::Array(items));
            }
            loop {
                self.ws();
                items.push(self.value()?);
                self.ws();
                match self.b.get(self.i) {
                    Some(b',') => self.i += 1,
                    Some(b']') => {
                        self.i += 1;
                        return Ok(Value::Array(items));
                    }
                    _ => return Err(format!("expected , or ] at {}", self.i)),
                }
            }
        }

        fn number(&mut self) -> Result<Value, String> {
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
            Ok(Value::Num(text.to_owned()))
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
                out.push_str(
                    std::str::from_utf8(&self.b[start..self.i]).map_err(|e| e.to_string())?,
                );
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
}

// === RFC 5424 STRUCTURED-DATA ===

/// One SD-ELEMENT: its SD-ID and PARAMs (values unescaped).
type Element = (String, Vec<(String, String)>);

fn check_sd(body: &str, input: &Input<'_>, truncated: bool) -> Result<(), String> {
    if truncated {
        // `-` alone: the limit left no room for the marker, only for a header with empty
        // STRUCTURED-DATA (the renderer's documented fallback for tiny limits).
        if !ends_marked(body) && !body.is_empty() && body != "-" {
            return Err(format!("cut but not marked: ...{:?}", tail(body)));
        }
        return Ok(());
    }
    let (elements, msg) = parse_sd(body)?;
    let mut it = elements.iter();
    for (n, (name, fields)) in input.spans.iter().enumerate() {
        let (id, params) = it.next().ok_or("missing span element")?;
        if *id != format!("span{}@32473", n + 1) {
            return Err(format!("SD-ID {id:?} for span {n}"));
        }
        if params.first().map(|(k, v)| (k.as_str(), v.as_str())) != Some(("name", name)) {
            return Err(format!("span {n} name param {:?}", params.first()));
        }
        sd_params(&params[1..], fields)?;
    }
    if !input.fields.is_empty() {
        let (id, params) = it.next().ok_or("missing fields element")?;
        if id != "fields@32473" {
            return Err(format!("SD-ID {id:?} for fields"));
        }
        sd_params(params, input.fields)?;
    }
    if it.next().is_some() {
        return Err("extra SD elements".into());
    }
    let want = escape_message(input.message);
    if msg != want {
        return Err(format!("MSG {msg:?} != {want:?}"));
    }
    Ok(())
}

fn sd_params(got: &[(String, String)], want: &[(&str, FuzzValue<'_>)]) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("{} params for {} fields", got.len(), want.len()));
    }
    for ((gk, gv), (wk, wv)) in got.iter().zip(want) {
        let name_ok = !gk.is_empty()
            && gk.len() <= 32
            && gk
                .bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b'=' | b']' | b'"'));
        if !name_ok {
            return Err(format!("PARAM-NAME {gk:?} for {wk:?}"));
        }
        let want = scalar_text(wv);
        if *gv != want {
            return Err(format!("PARAM-VALUE {gv:?} != {want:?}"));
        }
    }
    Ok(())
}

/// `-` or `[id k="v" ...]...`, then an optional ` MSG`.
fn parse_sd(s: &str) -> Result<(Vec<Element>, String), String> {
    let msg_of = |rest: &str| -> Result<String, String> {
        match rest.strip_prefix(' ') {
            Some(m) => Ok(m.to_owned()),
            None if rest.is_empty() => Ok(String::new()),
            None => Err(format!("junk after SD: {rest:?}")),
        }
    };
    if let Some(rest) = s.strip_prefix('-') {
        return Ok((Vec::new(), msg_of(rest)?));
    }
    let mut elements = Vec::new();
    let mut rest = s;
    while let Some(r) = rest.strip_prefix('[') {
        let id_end = r.find([' ', ']']).ok_or("unterminated SD-ELEMENT")?;
        let id = r[..id_end].to_owned();
        let mut r = &r[id_end..];
        let mut params = Vec::new();
        while let Some(p) = r.strip_prefix(' ') {
            let eq = p.find('=').ok_or("PARAM without =")?;
            let name = p[..eq].to_owned();
            let mut chars = p[eq + 1..].char_indices();
            if chars.next().map(|(_, c)| c) != Some('"') {
                return Err("PARAM-VALUE not quoted".into());
            }
            let mut value = String::new();
            let vs = &p[eq + 1..];
            let end = loop {
                match chars.next() {
                    Some((i, '"')) => break i,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, c @ ('"' | '\\' | ']'))) => value.push(c),
                        Some((i, 'u')) => {
                            let hex = vs.get(i + 1..i + 5).ok_or("short \\u")?;
                            let c = u32::from_str_radix(hex, 16)
                                .ok()
                                .and_then(char::from_u32)
                                .ok_or("bad \\u")?;
                            value.push(c);
                            for _ in 0..4 {
                                chars.next();
                            }
                        }
                        other => return Err(format!("bad escape {other:?} in PARAM-VALUE")),
                    },
                    Some((_, ']')) => return Err("unescaped ] in PARAM-VALUE".into()),
                    Some((_, c)) => value.push(c),
                    None => return Err("unterminated PARAM-VALUE".into()),
                }
            };
            params.push((name, value));
            r = &vs[end + 1..];
        }
        rest = r.strip_prefix(']').ok_or("SD-ELEMENT not closed")?;
        elements.push((id, params));
    }
    if elements.is_empty() {
        return Err(format!("no STRUCTURED-DATA: {:.40?}", s));
    }
    Ok((elements, msg_of(rest)?))
}
