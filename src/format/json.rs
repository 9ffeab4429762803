//! The JSON body for rsyslog's `mmjsonparse`: `@cee: {"msg":"...","spans":[...],"key":value}`.

use super::escape::{message, scalar, text, Esc};
use super::out::{
    Out, TAIL_JSON_SPAN, TAIL_JSON_SPANS, TAIL_JSON_SPAN_STR, TAIL_JSON_STR, TAIL_JSON_TOP,
};
use super::record::{Record, Value};

// === JSON ===

/// `@cee: {"msg":"...","spans":[{"name":"req",...}],"key":value,...}`.
pub(super) fn json_body(o: &mut Out<'_>, rec: &Record<'_>) {
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
pub(super) fn json_member(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::decode::Json;
    use crate::format::tests::*;
    use crate::format::*;

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
    fn json_cut_closes_string_and_marks() {
        let r = |n| renderer(Format::Json, LIBC, libc_budget(n));
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
            let r = renderer(Format::Json, LIBC, libc_budget(n));
            let (s, cut) = render_full(
                &r,
                &"q",
                &[("ok", Value::Bool(true))],
                Some(&TestSpans(&spans)),
                &now(),
            );
            assert!(cut, "{n}");
            let v = Json::parse_compact(s.strip_prefix("@cee: ").unwrap())
                .unwrap_or_else(|e| panic!("{n}: {e}: {s}"));
            let Json::Object(members) = v else {
                panic!("{s}")
            };
            assert_eq!(
                members.last().unwrap(),
                &("truncated".to_owned(), Json::Bool(true))
            );
        }
    }
}
