//! What every rendered message must satisfy, whatever the input: one set of promises, checked
//! by the property tests below and by the fuzz target (through `fastsyslog::invariants::check`).
//!
//! - valid UTF-8, within the limit (for the libc body: the limit less glibc's header);
//! - one message: no raw control character, DEL, C1, U+2028/U+2029, bidi control or invisible
//!   format character (the libc body ends with exactly one NUL and has no other);
//! - the expected header;
//! - `truncated` exactly when marked (` [truncated]`, or `"truncated":true` in JSON);
//! - logfmt bodies read back, with a logfmt parser, as exactly the record's message and fields
//!   when not cut; when cut, every kept pair is whole but for a last value cut inside quotes;
//! - JSON bodies are exactly one object that round-trips the message, fields and spans when not
//!   cut; RFC 5424 STRUCTURED-DATA parses and round-trips every field value when not cut.
// `check` is public for the fuzz target (`fastsyslog::invariants::check`); the tests need no more.
#![cfg_attr(not(fuzzing), allow(unreachable_pub))]

use super::decode::{self, Json};
use super::fuzzing::{FuzzValue, Input, Output, PID};
use crate::{Format, Header};

/// Checks `out`, rendered from `input`; the error says which promise broke.
pub fn check(input: &Input<'_>, out: &Output) -> Result<(), String> {
    if out.deferred != out.bytes {
        return Err(format!(
            "the background writer's render differs: {:?}",
            String::from_utf8_lossy(&out.deferred)
        ));
    }
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
        // What glibc writes in front of the body, spelled out here rather than taken from the
        // renderer: a record is cut only when it would not fit whole.
        None => out
            .max_len
            .saturating_sub(format!("<142>Nov 22 20:34:36 {}[{PID}]: ", out.ident).len()),
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

/// A character no output holds raw: controls, line breaks, and the bidi and invisible format
/// characters that make a viewer show other text than the line holds. Restated here rather than
/// imported, so that the renderer's own list has to agree with it.
fn breaks_line(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{61c}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
        )
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
fn escape_message(msg: &str) -> String {
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
    let want = logfmt_fields(input);
    if !truncated {
        // A logfmt parser gets exactly the record: its message, and its fields and no others.
        let (msg, pairs) = decode::logfmt_line(body).map_err(|e| format!("logfmt: {e}"))?;
        if msg != input.message {
            return Err(format!("message {msg:?} != {:?}", input.message));
        }
        if pairs != want {
            return Err(format!("pairs {pairs:?} != fields {want:?}"));
        }
        return Ok(());
    }
    if body.is_empty() || body == "[truncated]" {
        return Ok(());
    }
    let kept = body
        .strip_suffix(" [truncated]")
        .ok_or_else(|| format!("cut but not marked: ...{:?}", tail(body)))?;
    // Every kept pair is complete, but for the last, which may be cut inside its quotes.
    let (_, pairs) = decode::logfmt_line(kept).map_err(|e| format!("cut logfmt: {e}"))?;
    for (i, (k, v)) in pairs.iter().enumerate() {
        let (wk, wv) = want.get(i).ok_or("more pairs than fields")?;
        if k != wk {
            return Err(format!("key {k:?} for {wk:?}"));
        }
        let cut_last = i + 1 == pairs.len() && kept.ends_with('"') && wv.starts_with(v.as_str());
        if v != wv && !cut_last {
            return Err(format!("{k}={v:?} kept for {wv:?}, not cut in quotes"));
        }
    }
    Ok(())
}

/// The `(key, value)` pairs a logfmt body holds for `input`: span fields as `span.key`, then the
/// event fields, names sanitized.
fn logfmt_fields(input: &Input<'_>) -> Vec<(String, String)> {
    let name = |s: &str| -> String {
        if s.is_empty() {
            return "_".into();
        }
        s.chars()
            .map(|c| match c {
                ' ' | '=' | '"' => '_',
                c if breaks_line(c) => '_',
                c => c,
            })
            .collect()
    };
    let spans = input.spans.iter().flat_map(|(span, fields)| {
        fields
            .iter()
            .map(move |(k, v)| (format!("{}.{}", name(span), name(k)), scalar_text(v)))
    });
    let fields = input.fields.iter().map(|(k, v)| (name(k), scalar_text(v)));
    spans.chain(fields).collect()
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
    let value = Json::parse_compact(json).map_err(|e| format!("JSON: {e} in {json:?}"))?;
    let obj = value.as_object().ok_or("the JSON body is not an object")?;
    let key = |i: usize| obj.get(i).map(|(k, _)| k.as_str());
    if key(0) != Some("msg") {
        return Err("the first key is not msg".into());
    }
    if truncated {
        return match obj.last() {
            Some((k, Json::Bool(true))) if k == "truncated" => Ok(()),
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
        let Json::Array(spans) = &obj[1].1 else {
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
    got: &[(String, Json)],
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
            (FuzzValue::Str(s), Json::Str(g)) => g == s,
            (FuzzValue::Bool(b), Json::Bool(g)) => b == g,
            (FuzzValue::I64(n), Json::Num(g)) => *g == n.to_string(),
            (FuzzValue::U64(n), Json::Num(g)) => *g == n.to_string(),
            (FuzzValue::F64(n), Json::Num(g)) => n.is_finite() && g.parse::<f64>().ok() == Some(*n),
            (FuzzValue::F64(n), Json::Str(g)) => !n.is_finite() && *g == n.to_string(),
            _ => false,
        };
        if !ok {
            return Err(format!("{wk:?}: {gv:?} for {wv:?}"));
        }
    }
    Ok(())
}

// === RFC 5424 STRUCTURED-DATA ===

fn check_sd(body: &str, input: &Input<'_>, truncated: bool) -> Result<(), String> {
    if truncated {
        // `-` alone: the limit left no room for the marker, only for a header with empty
        // STRUCTURED-DATA (the renderer's documented fallback for tiny limits).
        if !ends_marked(body) && !body.is_empty() && body != "-" {
            return Err(format!("cut but not marked: ...{:?}", tail(body)));
        }
        return Ok(());
    }
    let (elements, msg) = decode::structured_data(body).map_err(|e| e.to_string())?;
    let mut it = elements.iter();
    for (n, (name, fields)) in input.spans.iter().enumerate() {
        let decode::SdElement { id, params } = it.next().ok_or("missing span element")?;
        if *id != format!("span{}@32473", n + 1) {
            return Err(format!("SD-ID {id:?} for span {n}"));
        }
        if params.first().map(|(k, v)| (k.as_str(), v.as_str())) != Some(("name", name)) {
            return Err(format!("span {n} name param {:?}", params.first()));
        }
        sd_params(&params[1..], fields)?;
    }
    if !input.fields.is_empty() {
        let decode::SdElement { id, params } = it.next().ok_or("missing fields element")?;
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

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::format::escape::KEY;
    use crate::format::fuzzing::render;
    use crate::format::out::TRUNCATION_MARKER;
    use crate::format::tests::*;
    use crate::format::*;

    // === property tests ===

    pub(crate) fn any_text() -> impl Strategy<Value = String> {
        prop_oneof![
            ".*",
            "[a-z =\"\\\\\n\r\t\0\u{1b}\u{7f}\u{85}\u{2028}\u{202e}\u{200b}\u{feff}\u{61c}é日🎉]{0,40}",
            "[a-z]{0,20}",
        ]
    }

    #[derive(Debug, Clone)]
    pub(crate) enum V {
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
        pub(crate) fn value(&self) -> Value<'_> {
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

    pub(crate) fn any_value() -> impl Strategy<Value = V> {
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

    pub(crate) fn any_framing() -> impl Strategy<Value = (Format, Framing)> {
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

    pub(crate) struct OwnedSpans<'a>(pub(crate) Vec<(&'a str, Vec<(&'a str, Value<'a>)>)>);

    impl Spans for OwnedSpans<'_> {
        fn visit(&self, visitor: &mut dyn FnMut(&str, &dyn Fields)) {
            for (name, fields) in &self.0 {
                visitor(name, &Kv(fields));
            }
        }
    }

    fn json_text(v: &Json) -> String {
        match v {
            Json::Str(s) | Json::Num(s) => s.clone(),
            Json::Bool(b) => b.to_string(),
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
                    let v = Json::parse_compact(obj.unwrap());
                    prop_assert!(v.is_ok(), "{:?}: {}", v, s);
                    let Json::Object(members) = v.unwrap() else { panic!() };
                    prop_assert_eq!(&members[0].0, "msg");
                    let Json::Str(m) = &members[0].1 else { panic!() };
                    if cut {
                        prop_assert!(msg.starts_with(m.as_str()));
                        prop_assert_eq!(members.last().unwrap(), &("truncated".to_owned(), Json::Bool(true)));
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
                    let key = |k: &str| -> String {
                        if k.is_empty() { "_".into() } else { k.chars().map(|c| if KEY.keeps(c) { c } else { '_' }).collect() }
                    };
                    let mut want: Vec<(String, String)> = Vec::new();
                    for (name, fs) in spans.iter().flatten() {
                        want.extend(fs.iter().map(|(k, v)| (format!("{}.{}", key(name), key(k)), v.text())));
                    }
                    want.extend(fields.iter().map(|(k, v)| (key(k), v.text())));
                    if cut {
                        prop_assert!(body.ends_with(TRUNCATION_MARKER), "{}", s);
                    } else {
                        // A logfmt parser gets exactly the message and the fields.
                        let p = decode::logfmt_line(body);
                        prop_assert!(p.is_ok(), "{:?} in {}", p, s);
                        let (m, pairs) = p.unwrap();
                        prop_assert_eq!(m, msg.clone());
                        prop_assert_eq!(pairs, want);
                    }
                }
                Format::Rfc5424 => {
                    let p = decode::structured_data(body);
                    prop_assert!(p.is_ok(), "{:?}: {}", p, s);
                    let (els, m) = p.unwrap();
                    if cut {
                        prop_assert!(m.ends_with(TRUNCATION_MARKER), "{}", s);
                    } else {
                        if !msg.contains('\\') {
                            prop_assert_eq!(decode::logfmt_unescape(m).unwrap(), msg.clone());
                        }
                        let mut want_els = 0;
                        if let Some(spans) = &spans {
                            want_els += spans.len();
                        }
                        if !fields.is_empty() {
                            want_els += 1;
                            let decode::SdElement { id, params } = els.last().unwrap();
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
            let (_, dv, rest) = decode::logfmt_pair(s).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(dv, v.text());
            prop_assert_eq!(rest, "");
        }
    }

    // === the fuzz harness's invariants, over generated inputs ===

    fn value() -> impl Strategy<Value = OwnedValue> {
        prop_oneof![
            any::<String>().prop_map(OwnedValue::Str),
            "[ -~\\n\\r\\t\\x00\\x1b\\u{85}\\u{2028}\\u{202e}\\u{2066}\\u{200f}é\"\\\\=\\]]{0,40}"
                .prop_map(OwnedValue::Str),
            any::<i64>().prop_map(OwnedValue::I64),
            any::<u64>().prop_map(OwnedValue::U64),
            any::<f64>().prop_map(OwnedValue::F64),
            any::<bool>().prop_map(OwnedValue::Bool),
        ]
    }

    #[derive(Debug, Clone)]
    enum OwnedValue {
        Str(String),
        I64(i64),
        U64(u64),
        F64(f64),
        Bool(bool),
    }

    impl OwnedValue {
        fn borrow(&self) -> FuzzValue<'_> {
            match self {
                OwnedValue::Str(s) => FuzzValue::Str(s),
                OwnedValue::I64(n) => FuzzValue::I64(*n),
                OwnedValue::U64(n) => FuzzValue::U64(*n),
                OwnedValue::F64(n) => FuzzValue::F64(*n),
                OwnedValue::Bool(b) => FuzzValue::Bool(*b),
            }
        }
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[ -~\\n\\r\\t\\x00\\x1b\\u{85}\\u{2028}\\u{202e}\\u{feff}\\u{61c}é€😀\"\\\\=\\]%]{0,300}",
        ]
    }

    type FieldList = Vec<(String, OwnedValue)>;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn every_render_is_one_valid_message(
            format in 0u8..3,
            framing in 0u8..3,
            max_len in prop_oneof![64usize..400, 400usize..9000],
            ident in text(),
            message in text(),
            fields in prop::collection::vec((text(), value()), 0..12),
            spans in prop::collection::vec((text(), prop::collection::vec((text(), value()), 0..4)), 0..3),
        ) {
            let fields_ref: Vec<(&str, FuzzValue<'_>)> =
                fields.iter().map(|(k, v)| (k.as_str(), v.borrow())).collect();
            let span_fields: Vec<Vec<(&str, FuzzValue<'_>)>> = spans
                .iter()
                .map(|(_, f): &(String, FieldList)| f.iter().map(|(k, v)| (k.as_str(), v.borrow())).collect())
                .collect();
            let spans_ref: Vec<(&str, &[(&str, FuzzValue<'_>)])> = spans
                .iter()
                .zip(&span_fields)
                .map(|((name, _), f)| (name.as_str(), f.as_slice()))
                .collect();
            let input = Input {
                format,
                framing,
                max_len,
                ident: &ident,
                message: &message,
                fields: &fields_ref,
                spans: &spans_ref,
            };
            let out = render(&input);
            if let Err(e) = check(&input, &out) {
                panic!("{e}\ninput: {input:?}\noutput: {:?}", String::from_utf8_lossy(&out.bytes));
            }
        }
    }
}
