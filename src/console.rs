//! The developer's copy on stderr: one human-readable line per record, like `openlog`'s
//! `LOG_PERROR` ([`Builder::stderr`](crate::Builder::stderr), `FASTSYSLOG_STDERR=1`).
//!
//! Off by default, and then free: the pipeline holds `None` and checks it once per enabled record.

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::format::{Event, Fields, Message};

/// Writes each record to stderr as `2026-01-02 03:04:05.678 WARN  target: message key=value`.
#[derive(Debug, Default)]
pub(crate) struct Console;

// === impl Console ===

impl Console {
    /// Writes one line for `event`. A panicking `Display` impl writes nothing here (the pipeline
    /// counts it); a failed write to stderr is ignored, as `LOG_PERROR` ignores it.
    pub(crate) fn write(&self, event: &Event<'_>) {
        let Ok(line) = catch_unwind(AssertUnwindSafe(|| line(event))) else {
            return;
        };
        // One `write_all` under the stderr lock, so lines from several threads never interleave.
        let _ = io::stderr().lock().write_all(line.as_bytes());
    }
}

/// The line for `event`, newline included.
pub(crate) fn line(event: &Event<'_>) -> String {
    let t = crate::clock::now();
    let mut out = String::with_capacity(128);
    // Writing to a `String` cannot fail.
    let _ = write!(
        out,
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03} {:<5} {}: ",
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
        t.micros / 1000,
        event.level,
        event.target
    );
    let _ = match event.message {
        Message::Args(args) => write!(out, "{args}"),
        Message::Str(s) => out.write_str(s),
        Message::Display(d) => write!(out, "{d}"),
    };
    if let Some(spans) = event.spans {
        spans.visit(&mut |name, fields| push_fields(&mut out, Some(name), fields));
    }
    push_fields(&mut out, None, event.fields);
    // One record, one line: a newline inside the message must not look like a second record.
    let mut line: String = out
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    line.push('\n');
    line
}

fn push_fields(out: &mut String, prefix: Option<&str>, fields: &dyn Fields) {
    fields.visit(&mut |key, value| {
        out.push(' ');
        if let Some(prefix) = prefix {
            out.push_str(prefix);
            out.push('.');
        }
        out.push_str(key);
        out.push('=');
        let text = value.to_string();
        if text.is_empty() || text.contains([' ', '"', '=']) {
            let _ = write!(out, "{text:?}");
        } else {
            out.push_str(&text);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Value;

    #[test]
    fn a_line_has_time_level_target_message_and_fields() {
        let fields: [(&str, Value<'_>); 3] = [
            ("status", Value::U64(200)),
            ("path", Value::Str("/a b")),
            ("ok", Value::Bool(true)),
        ];
        let event = Event {
            level: log::Level::Warn,
            target: "app::web",
            message: Message::Display(&"slow\nrequest"),
            fields: &&fields[..],
            spans: None,
            location: None,
        };
        let line = line(&event);
        let (time, rest) = line.split_at(23);
        assert_eq!(time.len(), 23, "{line}");
        assert_eq!(&time[4..5], "-", "{line}");
        assert_eq!(
            rest,
            " WARN  app::web: slow request status=200 path=\"/a b\" ok=true\n"
        );
    }
}
