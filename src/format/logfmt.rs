//! The logfmt body: `MESSAGE span.k=v key=value k2="with space"`.

use super::escape::{hidden_at, logfmt_message, plain, scalar, scan, text, Esc, KEY, LEAD, LOGFMT};
use super::out::{u64_digits, Out, TAIL_LOGFMT_QUOTED, TAIL_START, TAIL_TEXT};
use super::record::{Record, Value};

/// Whether a logfmt string value can be written bare: non-empty, and nothing in it that would be
/// escaped or that forces quotes (space, `=`).
pub(super) fn logfmt_bare(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut i = 0;
    loop {
        i = scan(bytes, i, &LOGFMT);
        if i >= bytes.len() {
            return !s.is_empty();
        }
        match LOGFMT.of(bytes[i]) {
            LEAD => match hidden_at(bytes, i) {
                (_, width, false) => i += width,
                _ => return false,
            },
            _ => return false,
        }
    }
}

// === logfmt ===

/// `MESSAGE span.k=v key=value k2="with space"`.
pub(super) fn logfmt_body(o: &mut Out<'_>, rec: &Record<'_>) {
    let start = o.buf.len();
    o.safe(TAIL_START);
    logfmt_message(o, rec.message);
    if let Some(spans) = rec.spans {
        spans.visit(&mut |name, fields| {
            fields.visit(&mut |key, value| {
                logfmt_field(o, start, Some(name), key, value);
            });
        });
    }
    rec.fields.visit(&mut |key, value| {
        logfmt_field(o, start, None, key, value);
    });
}

/// ` key=value` (no space when it is the first thing in the body).
pub(super) fn logfmt_field(
    o: &mut Out<'_>,
    start: usize,
    span: Option<&str>,
    key: &str,
    value: Value<'_>,
) {
    if o.full {
        return;
    }
    if o.buf.len() == start {
        o.safe(TAIL_START);
    } else {
        o.safe(TAIL_TEXT);
        o.push(b" ");
    }
    if span.is_none() && logfmt_number_field(o, key, value) {
        return;
    }
    if let Some(span) = span {
        o.sanitized(span, &KEY, usize::MAX);
        o.push(b".");
    }
    o.sanitized(key, &KEY, usize::MAX);
    o.push(b"=");
    match value {
        // A bare value is never cut inside: what was kept would read as a complete value. One
        // too large for what is left is quoted instead, so it can be cut and marked.
        Value::Str(v) if logfmt_bare(v) && o.buf.len() + v.len() <= o.max => {
            o.run(v.as_bytes(), None);
        }
        Value::Str(v) => {
            o.push(b"\"");
            let mut bare = false;
            o.escaped(v, Esc::Logfmt, Some(TAIL_LOGFMT_QUOTED), &mut bare);
            o.push(b"\"");
        }
        Value::Display(_) | Value::Debug(_) => {
            // Written quoted; the quotes are taken out again when the value turns out not to
            // need them (the common case), which avoids formatting `Display` values twice.
            let quote = o.buf.len();
            let before = o.cut;
            o.push(b"\"");
            // The quote may go again: until then it must not count against the budget, or a
            // message exactly at the limit would be cut.
            o.slack = 1;
            let bare = text(o, value, Esc::Logfmt, Some(TAIL_LOGFMT_QUOTED));
            o.slack = 0;
            if o.full {
                return;
            }
            if bare && o.buf.len() > quote + 1 {
                // Bare after all, and whole: its cut points were for its quoted form, and a bare
                // value is never cut inside, so a later overflow cuts before it.
                o.buf.remove(quote);
                o.cut = before;
            } else {
                o.push(b"\"");
            }
            o.full = o.buf.len() > o.max;
        }
        _ => scalar(o, value),
    }
}

/// `key=value` for the most common field, a 64-bit integer under a key that needs no sanitizing,
/// when all of it fits the budget: the same bytes the general path writes, in three copies instead
/// of a budget check per piece. Returns `false` (having written nothing) in every other case.
#[inline]
pub(super) fn logfmt_number_field(o: &mut Out<'_>, key: &str, value: Value<'_>) -> bool {
    let mut digits = [0u8; 21];
    let first = match value {
        Value::U64(n) => u64_digits(n, &mut digits[1..]) + 1,
        Value::I64(n) => {
            let at = u64_digits(n.unsigned_abs(), &mut digits[1..]) + 1;
            if n < 0 {
                digits[at - 1] = b'-';
                at - 1
            } else {
                at
            }
        }
        _ => return false,
    };
    let number = &digits[first..];
    if o.buf.len() + key.len() + 1 + number.len() > o.max + o.slack
        || key.is_empty()
        || !plain(key, &KEY)
    {
        return false;
    }
    o.buf.extend_from_slice(key.as_bytes());
    o.buf.push(b'=');
    o.buf.extend_from_slice(number);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::decode;
    use crate::format::tests::*;
    use crate::format::*;
    use std::fmt;

    // === logfmt values and keys ===

    #[test]
    fn logfmt_value_table() {
        struct D;
        impl fmt::Display for D {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("two ")?;
                f.write_str("parts")
            }
        }
        let dbg = vec!["a"];
        let cases: Vec<(Value<'_>, &str)> = vec![
            (Value::Str("plain"), "plain"),
            (Value::Str(""), "\"\""),
            (Value::Str("with space"), "\"with space\""),
            (Value::Str("a=b"), "\"a=b\""),
            (Value::Str("q\"uote"), "\"q\\\"uote\""),
            (Value::Str("back\\slash"), "\"back\\\\slash\""),
            (Value::Str("nl\ncr\rtab\t"), "\"nl\\ncr\\rtab\\t\""),
            (Value::Str("nul\0esc\x1b"), "\"nul\\u0000esc\\u001b\""),
            (Value::Str("c1\u{9f}ls\u{2028}"), "\"c1\\u009fls\\u2028\""),
            (Value::Str("grüße/日本"), "grüße/日本"),
            (Value::Str("%s%n"), "%s%n"),
            (Value::Bool(true), "true"),
            (Value::Bool(false), "false"),
            (Value::I64(i64::MIN), "-9223372036854775808"),
            (Value::U64(u64::MAX), "18446744073709551615"),
            (
                Value::I128(i128::MIN),
                "-170141183460469231731687303715884105728",
            ),
            (
                Value::U128(u128::MAX),
                "340282366920938463463374607431768211455",
            ),
            (Value::U128(0), "0"),
            (Value::F64(f64::NAN), "NaN"),
            (Value::F64(f64::INFINITY), "inf"),
            (Value::F64(f64::NEG_INFINITY), "-inf"),
            (Value::F64(-0.25), "-0.25"),
            (Value::F64(1e21), "1000000000000000000000"),
            (Value::Display(&D), "\"two parts\""),
            (Value::Debug(&dbg), "\"[\\\"a\\\"]\""),
        ];
        for (v, expected) in cases {
            assert_eq!(
                body(Format::Logfmt, "m", &[("k", v)]),
                format!("m k={expected}\0"),
                "{v:?}"
            );
        }
    }

    #[test]
    fn logfmt_keys_are_sanitized() {
        let fields = [
            ("a b", Value::I64(1)),
            ("a=b", Value::I64(2)),
            ("a\"b", Value::I64(3)),
            ("a\nb\0", Value::I64(4)),
            ("", Value::I64(5)),
            ("ü.x\\", Value::I64(6)),
            ("c1\u{85}", Value::I64(7)),
        ];
        assert_eq!(
            body(Format::Logfmt, "m", &fields),
            "m a_b=1 a_b=2 a_b=3 a_b_=4 _=5 ü.x\\=6 c1_=7\0"
        );
    }

    #[test]
    fn empty_fields_render_message_only() {
        assert_eq!(body(Format::Logfmt, "m", &[]), "m\0");
        assert_eq!(body(Format::Json, "m", &[]), "@cee: {\"msg\":\"m\"}\0");
    }

    #[test]
    fn spans_in_logfmt() {
        let spans = spans_fixture();
        let r = renderer(Format::Logfmt, LIBC, 8192);
        let (s, _) = render_full(
            &r,
            &"q",
            &[("ok", Value::Bool(true))],
            Some(&TestSpans(&spans)),
            &now(),
        );
        assert_eq!(s, "q req.method=GET req.name=\"n 1\" db.rows=3 ok=true");
        let (s, _) = render_full(
            &r,
            &"",
            &[],
            Some(&TestSpans(&[("a b", &[("", Value::I64(1))])])),
            &now(),
        );
        assert_eq!(s, "a_b._=1");
    }

    #[test]
    fn logfmt_bare_display_value_is_never_cut_by_a_later_field() {
        let r = |n| renderer(Format::Logfmt, LIBC, libc_budget(n));
        let path = "/api/v1/users/1234567890/orders";
        let kept = format!("hi user={path}");
        let trace = "x".repeat(100);
        for (user, text) in [
            (Value::Str(path), path),
            (Value::Display(&path), path),
            (Value::Debug(&7u8), "7"),
        ] {
            let fields = [("user", user), ("trace", Value::Str(&trace))];
            // Every limit from the whole field up to just past the room for a marker after it.
            for n in kept.len()..kept.len() + 16 {
                let (s, cut) = render(&r(n), "hi", &fields);
                assert!(cut, "{n}");
                let kept = s.strip_suffix(" [truncated]").unwrap();
                for (k, v) in decode::logfmt_line(kept).unwrap().1 {
                    let whole = if k == "user" { text } else { trace.as_str() };
                    // Whole, or the last value, cut inside its quotes.
                    let cut_quoted = kept.ends_with(&format!("{k}=\"{v}\""));
                    assert!(v == whole || cut_quoted, "{n}: {s}");
                }
            }
        }
        // The case from the report: the value stays whole or goes whole.
        let fields = [
            ("user", Value::Display(&path)),
            ("trace", Value::Str(&"x".repeat(100))),
        ];
        assert_eq!(render(&r(45), "hi", &fields).0, "hi [truncated]");
        assert_eq!(
            render(&r(kept.len() + 22), "hi", &fields).0,
            format!("{kept} trace=\"x\" [truncated]")
        );
    }

    #[test]
    fn logfmt_cut_inside_message_and_values() {
        // Header-less for short expectations: the budget is `n`.
        let r = |n| renderer(Format::Logfmt, LIBC, libc_budget(n));
        let fields = [("k", Value::Str("a b c d e f"))];
        assert_eq!(
            render(&r(20), "hello world", &fields),
            ("hello wo [truncated]".to_owned(), true)
        );
        // Inside a quoted value: the quote is closed.
        let fields = [("k", Value::Str("a b c d e f g h i j"))];
        assert_eq!(
            render(&r(25), "hi", &fields).0,
            "hi k=\"a b c \" [truncated]"
        );
        // A value too large for what is left keeps its key and is cut inside quotes, even when
        // it would be bare whole: a bare value is never cut (the rest would pass for a whole
        // value). The same for a string and a `Display` value.
        for v in [
            Value::Str("abcdefghijklmnopqrstuvwxyz"),
            Value::Display(&"abcdefghijklmnopqrstuvwxyz"),
        ] {
            assert_eq!(
                render(&r(30), "hi", &[("k", v)]).0,
                "hi k=\"abcdefghijk\" [truncated]"
            );
        }
        // A number is never split: the whole field goes.
        let fields = [("a", Value::I64(1)), ("k", Value::U64(123_456_789_012))];
        assert_eq!(render(&r(20), "hi", &fields).0, "hi a=1 [truncated]");
        // Never inside an escape: `\n` is kept whole or dropped whole.
        let msg = "abcdefghijklmnop\nqrstuvwxyz0123456789";
        assert_eq!(render(&r(29), msg, &[]).0, "abcdefghijklmnop [truncated]");
        assert_eq!(
            render(&r(30), msg, &[]).0,
            "abcdefghijklmnop\\n [truncated]"
        );
    }
}
