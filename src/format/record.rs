//! What the renderer reads from one record: the message, the key-values and the spans.

use std::fmt;

use crate::severity::Priority;

/// One record as the adapters hand it over to the pipeline (and the stderr copy).
pub(crate) struct Event<'a> {
    pub(crate) level: log::Level,
    pub(crate) target: &'a str,
    pub(crate) message: Message<'a>,
    pub(crate) fields: &'a dyn Fields,
    pub(crate) spans: Option<&'a dyn Spans>,
    /// The call site's file and line, when the adapter knows them (rate limits key on it).
    pub(crate) location: Option<(&'a str, u32)>,
}

/// One structured value.
#[derive(Clone, Copy)]
pub(crate) enum Value<'a> {
    Str(&'a str),
    Bool(bool),
    I64(i64),
    U64(u64),
    I128(i128),
    U128(u128),
    F64(f64),
    Display(&'a dyn fmt::Display),
    // Built by the tracing adapter (`record_debug`); `log`'s key-values never need it.
    #[cfg_attr(not(test), allow(dead_code))]
    Debug(&'a dyn fmt::Debug),
}

/// The value as plain text, unquoted and unescaped (for the stderr copy and routing by field).
impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            Value::Bool(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::U64(v) => write!(f, "{v}"),
            Value::I128(v) => write!(f, "{v}"),
            Value::U128(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::Display(v) => write!(f, "{v}"),
            Value::Debug(v) => write!(f, "{v:?}"),
        }
    }
}

impl fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => write!(f, "Str({s:?})"),
            Value::Bool(v) => write!(f, "Bool({v})"),
            Value::I64(v) => write!(f, "I64({v})"),
            Value::U64(v) => write!(f, "U64({v})"),
            Value::I128(v) => write!(f, "I128({v})"),
            Value::U128(v) => write!(f, "U128({v})"),
            Value::F64(v) => write!(f, "F64({v})"),
            Value::Display(v) => write!(f, "Display({v})"),
            Value::Debug(v) => write!(f, "Debug({v:?})"),
        }
    }
}

/// A source of key-values: `log`'s kv source, a tracing event's fields, or a span's recorded fields.
pub(crate) trait Fields {
    /// Calls `visitor` once per key-value, in order.
    fn visit(&self, visitor: &mut dyn FnMut(&str, Value<'_>));
}

/// No key-values.
#[derive(Debug)]
#[cfg_attr(not(test), allow(dead_code))] // For adapters with nothing to add (tracing span-less paths).
pub(crate) struct NoFields;

impl Fields for NoFields {
    fn visit(&self, _visitor: &mut dyn FnMut(&str, Value<'_>)) {
        // Nothing to visit: this is the empty source.
    }
}

impl Fields for &[(&str, Value<'_>)] {
    fn visit(&self, visitor: &mut dyn FnMut(&str, Value<'_>)) {
        for (k, v) in self.iter() {
            visitor(k, *v);
        }
    }
}

/// The chain of spans an event happened in (tracing), outermost first.
pub(crate) trait Spans {
    /// Calls `visitor(span_name, span_fields)` for each span, outermost first.
    fn visit(&self, visitor: &mut dyn FnMut(&str, &dyn Fields));
}

/// A record's message as an adapter hands it over.
#[derive(Clone, Copy)]
pub(crate) enum Message<'a> {
    /// `log`'s format arguments: formatted without a `Display` level around them, and copied as
    /// they are when they are a plain string literal.
    #[cfg_attr(not(feature = "log"), allow(dead_code))] // Only the `log` adapter builds it.
    Args(&'a fmt::Arguments<'a>),
    /// Text rendered exactly as a literal `Args` is (the background writer's copy of one).
    #[cfg_attr(not(feature = "background"), allow(dead_code))]
    Str(&'a str),
    /// Anything else that displays (`tracing`'s `message` field, the writer's own records).
    // Built by the tracing adapter and the background writer only.
    #[cfg_attr(
        not(any(feature = "tracing", feature = "background")),
        allow(dead_code)
    )]
    Display(&'a dyn fmt::Display),
}

/// What the renderer needs from one record.
pub(crate) struct Record<'a> {
    pub(crate) priority: Priority,
    pub(crate) message: Message<'a>,
    pub(crate) fields: &'a dyn Fields,
    pub(crate) spans: Option<&'a dyn Spans>,
}
