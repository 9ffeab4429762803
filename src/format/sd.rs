//! The RFC 5424 body: the key-values as STRUCTURED-DATA, then the message.

use super::escape::{message, scalar, text, Esc, PARAM_NAME};
use super::out::{Out, TAIL_SD_ELEMENT, TAIL_SD_NONE, TAIL_SD_VALUE, TAIL_START, TAIL_TEXT};
use super::record::{Record, Value};

/// The RFC 5612 documentation enterprise number used in SD-IDs.
pub(super) const SD_ENTERPRISE: &str = "@32473";

/// Longest RFC 5424 PARAM-NAME.
pub(super) const MAX_PARAM_NAME: usize = 32;

// === RFC 5424 STRUCTURED-DATA ===

/// `[span1@32473 name="req" k="v"][fields@32473 key="value"] MESSAGE`, or `- MESSAGE`.
pub(super) fn sd_body(o: &mut Out<'_>, rec: &Record<'_>) {
    let start = o.buf.len();
    if let Some(spans) = rec.spans {
        let mut n = 0u32;
        spans.visit(&mut |name, fields| {
            if o.full {
                return;
            }
            n += 1;
            o.safe(if n == 1 { TAIL_SD_NONE } else { TAIL_TEXT });
            o.push(b"[span");
            o.u64(u64::from(n));
            o.push(SD_ENTERPRISE.as_bytes());
            o.push(b" name=\"");
            text(o, Value::Str(name), Esc::Sd, None);
            o.push(b"\"");
            fields.visit(&mut |key, value| {
                let key = if key == "name" { "_name" } else { key };
                sd_param(o, key, value);
            });
            o.push(b"]");
        });
    }
    let mut open = false;
    rec.fields.visit(&mut |key, value| {
        if o.full {
            return;
        }
        if !open {
            o.safe(if o.buf.len() == start {
                TAIL_SD_NONE
            } else {
                TAIL_TEXT
            });
            o.push(b"[fields");
            o.push(SD_ENTERPRISE.as_bytes());
            open = true;
        }
        sd_param(o, key, value);
    });
    if open {
        o.push(b"]");
    }
    if o.buf.len() == start {
        o.push(b"-");
    }
    let space = o.buf.len();
    o.push(b" ");
    o.safe(TAIL_START);
    message(o, rec.message, Esc::Msg, TAIL_TEXT);
    if !o.full && o.buf.len() == space + 1 {
        // ` MSG` is omitted when the message is empty.
        o.buf.truncate(space);
    }
}

/// ` name="value"`.
pub(super) fn sd_param(o: &mut Out<'_>, key: &str, value: Value<'_>) {
    if o.full {
        return;
    }
    o.safe(TAIL_SD_ELEMENT);
    o.push(b" ");
    o.sanitized(key, &PARAM_NAME, MAX_PARAM_NAME);
    o.push(b"=\"");
    match value {
        Value::Str(_) | Value::Display(_) | Value::Debug(_) => {
            text(o, value, Esc::Sd, Some(TAIL_SD_VALUE));
        }
        _ => scalar(o, value),
    }
    o.push(b"\"");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::decode;
    use crate::format::out::TRUNCATION_MARKER;
    use crate::format::tests::*;
    use crate::format::*;

    // === RFC 5424 SD ===

    #[test]
    fn sd_params_escape_and_sanitize() {
        let r = renderer(Format::Rfc5424, H5424, 8192);
        let long = "k".repeat(40);
        let fields = [
            ("q", Value::Str("a\"b\\c]d")),
            ("ctl", Value::Str("x\ny\0\u{2028}")),
            ("bad key=]\"é", Value::I64(1)),
            (long.as_str(), Value::I64(2)),
            ("", Value::Str("")),
            ("f", Value::F64(f64::NAN)),
            ("u", Value::U128(u128::MAX)),
        ];
        let (s, _) = render(&r, "%s%n", &fields);
        assert_eq!(
            s.split_once(" - ").unwrap().1,
            format!(
                "[fields@32473 q=\"a\\\"b\\\\c\\]d\" ctl=\"x\\ny\\u0000\\u2028\" bad_key____=\"1\" {}=\"2\" _=\"\" f=\"NaN\" u=\"340282366920938463463374607431768211455\"] %s%n",
                "k".repeat(32)
            )
        );
    }

    #[test]
    fn spans_in_rfc5424() {
        let spans = spans_fixture();
        let r = renderer(Format::Rfc5424, H5424, 8192);
        let (s, _) = render_full(
            &r,
            &"q",
            &[("ok", Value::Bool(true))],
            Some(&TestSpans(&spans)),
            &now(),
        );
        assert_eq!(
            s.split_once(" 4242 - ").unwrap().1,
            "[span1@32473 name=\"req\" method=\"GET\" _name=\"n 1\"][span2@32473 name=\"empty\"][span3@32473 name=\"db\" rows=\"3\"][fields@32473 ok=\"true\"] q"
        );
        let (s, _) = render_full(&r, &"", &[], Some(&TestSpans(&spans[1..2])), &now());
        assert!(s.ends_with(" 4242 - [span1@32473 name=\"empty\"]"), "{s}");
    }

    #[test]
    fn rfc5424_cut_keeps_sd_valid() {
        let spans = spans_fixture();
        let fields = [("ok", Value::Str("y\"es]"))];
        let r = renderer(Format::Rfc5424, H5424, 1 << 20);
        let (full, _) = render_full(&r, &"msg text", &fields, Some(&TestSpans(&spans)), &now());
        let header = full.find(" 4242 - ").unwrap() + " 4242 - ".len();
        for n in header + TAIL_SD_NONE.len()..full.len() {
            let r = renderer(Format::Rfc5424, H5424, n);
            let (s, cut) = render_full(&r, &"msg text", &fields, Some(&TestSpans(&spans)), &now());
            assert!(cut, "{n}");
            let (sd, msg) =
                decode::structured_data(&s[header..]).unwrap_or_else(|e| panic!("{n}: {e}: {s}"));
            assert!(msg.ends_with(TRUNCATION_MARKER), "{n}: {s}");
            for element in sd {
                for (_, v) in element.params {
                    assert!(!v.contains('\u{fffd}'));
                }
            }
        }
    }
}
