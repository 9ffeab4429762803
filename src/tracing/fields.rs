//! Tracing's field values as the renderer's: an event's fields read in place, a span's fields
//! copied when they are recorded, and the event's `message` field found and lent to the renderer.

use std::error::Error as StdError;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use tracing_core::field::{Field, Visit};

use crate::format::{Fields, Value};

/// Calls `f` once with the event's `message` field (empty when there is none).
pub(super) fn with_message(event: &tracing_core::Event<'_>, f: &mut dyn FnMut(&dyn fmt::Display)) {
    struct Finder<'f> {
        f: &'f mut dyn FnMut(&dyn fmt::Display),
        done: bool,
    }
    impl Finder<'_> {
        fn found(&mut self, field: &Field, message: &dyn fmt::Display) {
            if !self.done && field.name() == "message" {
                self.done = true;
                (self.f)(message);
            }
        }
    }
    impl Visit for Finder<'_> {
        fn record_str(&mut self, field: &Field, value: &str) {
            self.found(field, &value);
        }
        fn record_error(&mut self, field: &Field, value: &(dyn StdError + 'static)) {
            self.found(field, &ErrorDisplay(value));
        }
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            // `format_args!` (what `info!("…")` records) prints the same with Debug and Display.
            self.found(field, &DebugDisplay(value));
        }
    }
    let mut finder = Finder { f, done: false };
    event.record(&mut finder);
    if !finder.done {
        (finder.f)(&"");
    }
}

/// Shows a `Debug` value where a `Display` is expected.
struct DebugDisplay<'a>(&'a dyn fmt::Debug);

impl fmt::Display for DebugDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An error's `Display` (tracing records `&dyn Error` fields separately from `Debug` ones).
struct ErrorDisplay<'a>(&'a (dyn StdError + 'static));

impl fmt::Display for ErrorDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.0, f)
    }
}

/// A tracing event's fields as the renderer's [`Fields`], without `message` (the record's message)
/// and, for records from `log`, without tracing-log's `log.*` fields.
pub(super) struct EventFields<'a> {
    pub(super) event: &'a tracing_core::Event<'a>,
    pub(super) from_log: bool,
}

impl Fields for EventFields<'_> {
    fn visit(&self, visitor: &mut dyn FnMut(&str, Value<'_>)) {
        let mut adapter = FieldVisitor {
            visitor,
            from_log: self.from_log,
        };
        self.event.record(&mut adapter);
    }
}

/// Maps tracing's `Visit` calls onto [`Value`]s.
struct FieldVisitor<'v> {
    visitor: &'v mut dyn FnMut(&str, Value<'_>),
    from_log: bool,
}

impl FieldVisitor<'_> {
    fn emit(&mut self, field: &Field, value: Value<'_>) {
        let name = field.name();
        if name == "message" || (self.from_log && name.starts_with("log.")) {
            return;
        }
        (self.visitor)(name, value);
    }
}

impl Visit for FieldVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.emit(field, Value::F64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.emit(field, Value::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.emit(field, Value::U64(value));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.emit(field, Value::I128(value));
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        self.emit(field, Value::U128(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.emit(field, Value::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.emit(field, Value::Str(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn StdError + 'static)) {
        self.emit(field, Value::Display(&ErrorDisplay(value)));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.emit(field, Value::Debug(value));
    }
}

/// A span field value, owned: spans outlive the call that recorded them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OwnedValue {
    /// Strings, and `Debug`/`Display`/error values formatted when recorded.
    Str(String),
    Bool(bool),
    I64(i64),
    U64(u64),
    I128(i128),
    U128(u128),
    F64(f64),
}

impl OwnedValue {
    fn as_value(&self) -> Value<'_> {
        match self {
            OwnedValue::Str(s) => Value::Str(s),
            OwnedValue::Bool(v) => Value::Bool(*v),
            OwnedValue::I64(v) => Value::I64(*v),
            OwnedValue::U64(v) => Value::U64(*v),
            OwnedValue::I128(v) => Value::I128(*v),
            OwnedValue::U128(v) => Value::U128(*v),
            OwnedValue::F64(v) => Value::F64(*v),
        }
    }
}

/// One span's recorded fields, in the order first recorded; recording a field again replaces its
/// value in place.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct SpanFields(Vec<(&'static str, OwnedValue)>);

impl SpanFields {
    /// The fields `record` passes to its visitor, each text value kept to at most `cap` bytes
    /// (cut on a character boundary): a record is never longer than the maximum message size, so
    /// nothing past it could ever be rendered, and a span's memory stays bounded however large
    /// its values. A `Debug` impl that panics loses its own field and the ones after it, never the
    /// span, and the panic does not reach the caller.
    pub(crate) fn capture(cap: usize, record: impl FnOnce(&mut Recorder<'_>)) -> SpanFields {
        let mut fields = SpanFields::default();
        // The fields recorded before the panic are complete entries: `set` runs only after the
        // value was formatted. Nothing else to report (the subscriber never logs about itself).
        let _ = catch_unwind(AssertUnwindSafe(|| {
            record(&mut Recorder {
                fields: &mut fields,
                cap,
            })
        }));
        fields
    }

    fn set(&mut self, name: &'static str, value: OwnedValue) {
        match self.0.iter_mut().find(|(k, _)| *k == name) {
            Some(entry) => entry.1 = value,
            None => self.0.push((name, value)),
        }
    }

    /// Applies the values of a later `record` call.
    pub(crate) fn merge(&mut self, update: SpanFields) {
        for (name, value) in update.0 {
            self.set(name, value);
        }
    }
}

impl Fields for SpanFields {
    fn visit(&self, visitor: &mut dyn FnMut(&str, Value<'_>)) {
        for (name, value) in &self.0 {
            visitor(name, value.as_value());
        }
    }
}

/// Records tracing values into [`SpanFields`], text cut to `cap` bytes.
pub(crate) struct Recorder<'a> {
    fields: &'a mut SpanFields,
    cap: usize,
}

impl Recorder<'_> {
    fn set(&mut self, field: &Field, value: OwnedValue) {
        self.fields.set(field.name(), value);
    }

    /// `value` formatted into a string of at most `cap` bytes: formatting stops once the cap is
    /// reached, so a huge `Debug` output is never held in memory whole.
    fn text(&self, value: fmt::Arguments<'_>) -> OwnedValue {
        let mut out = Capped {
            text: String::new(),
            cap: self.cap,
        };
        // An error only means the cap was reached (or the impl failed): keep what was written.
        let _ = fmt::write(&mut out, value);
        OwnedValue::Str(out.text)
    }
}

/// A `fmt::Write` that keeps at most `cap` bytes, cut on a character boundary, then fails so the
/// formatting stops.
struct Capped {
    text: String,
    cap: usize,
}

impl fmt::Write for Capped {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.cap.saturating_sub(self.text.len());
        if s.len() <= room {
            self.text.push_str(s);
            return Ok(());
        }
        let mut end = room;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.text.push_str(&s[..end]);
        Err(fmt::Error)
    }
}

impl Visit for Recorder<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.set(field, OwnedValue::F64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.set(field, OwnedValue::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.set(field, OwnedValue::U64(value));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.set(field, OwnedValue::I128(value));
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        self.set(field, OwnedValue::U128(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.set(field, OwnedValue::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let value = self.text(format_args!("{value}"));
        self.set(field, value);
    }
    fn record_error(&mut self, field: &Field, value: &(dyn StdError + 'static)) {
        let value = self.text(format_args!("{value}"));
        self.set(field, value);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let value = self.text(format_args!("{value:?}"));
        self.set(field, value);
    }
}

#[cfg(test)]
mod tests {
    use crate::tracing::tests::{body, current_chain, kv, with_sub, Sink};
    use std::fmt;
    use tracing::dispatcher;

    #[test]
    fn event_carries_message_and_fields() {
        let sink = Sink::new();
        dispatcher::with_default(&sink.dispatch("info"), || {
            tracing::info!(status = 200u16, path = "/a", "GET {}", "/a");
        });
        let got = sink.recv();
        assert!(got.starts_with("<142>"), "local1.info: {got}");
        assert_eq!(body(&got), "GET /a status=200 path=/a");
    }

    #[test]
    fn span_field_values_are_capped_at_the_message_size() {
        struct Endless;
        impl fmt::Debug for Endless {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // 10 MiB in pieces, as a large collection's `Debug` writes it.
                for _ in 0..(10 << 20) / 8 {
                    f.write_str("éééé")?;
                }
                Ok(())
            }
        }
        let sink = Sink::new();
        dispatcher::with_default(&sink.dispatch("info"), || {
            let big = "é".repeat(1 << 20);
            let span = tracing::info_span!("s", big = big.as_str(), endless = ?Endless);
            let _e = span.enter();
            let max = with_sub(|sub| sub.pipeline.renderer.max_len);
            let chain = current_chain();
            assert_eq!(chain[0].1.len(), 2);
            for (key, value) in &chain[0].1 {
                assert!(
                    value.len() <= max && value.len() + 8 > max,
                    "{key}: {} bytes kept, max {max}",
                    value.len()
                );
            }
            tracing::info!("capped");
        });
        assert!(sink.recv().contains("[truncated]"));
    }

    #[test]
    fn panicking_span_field_loses_the_field_not_the_span() {
        struct Boom;
        impl fmt::Debug for Boom {
            fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
                panic!("boom")
            }
        }
        let sink = Sink::new();
        dispatcher::with_default(&sink.dispatch("info"), || {
            let span = tracing::info_span!("s", a = 1, bad = ?Boom, c = 3);
            let _e = span.enter();
            span.record("c", tracing::field::debug(Boom));
            assert_eq!(current_chain(), vec![("s".to_owned(), kv(&[("a", "1")]))]);
        });
    }
}
