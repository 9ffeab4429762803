//! [`Layer`]: a `tracing_subscriber::Layer` for composed subscribers, sharing the
//! [`Subscriber`](super::Subscriber)'s field and span adapters and the one pipeline.
#![cfg(feature = "layer")]

use std::sync::Arc;

use tracing_core::span::{Attributes, Id, Record};
use tracing_core::Event;
use tracing_log::NormalizeEvent;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::{LookupSpan, Scope};

use super::fields::SpanFields;
use super::spans::MAX_DEPTH;
use super::{dispatch_event, enabled_by};
use crate::format::{Fields, NoFields, Spans};
use crate::pipeline::{Handle, Pipeline};

/// A `tracing_subscriber::Layer` that sends every event it sees to syslog, with the fields of the
/// spans it happened in.
///
/// It needs a subscriber that stores spans (`tracing_subscriber::registry()`). By default it does
/// not filter: the stack decides what it sees (an `EnvFilter`, a per-layer filter with
/// `Layer::with_filter`, a `tracing_subscriber::reload::Layer`), and `RUST_LOG` is left to the
/// `EnvFilter`. Only when the builder is given directives
/// ([`Builder::filter`](crate::Builder::filter) or `FASTSYSLOG_LOG`) does the layer apply them
/// too, per event, so [`Handle::set_filter`] changes them at once. The layer never disables a
/// callsite for the other layers.
///
/// Rendering, routing and the span chain's form are those of [`Subscriber`](crate::Subscriber):
/// an event looks the same on the wire whichever of the two sent it. Span fields are kept in the
/// registry's span extensions, copied when they are recorded, as the `Subscriber` copies them.
///
/// # Examples
///
/// Beside other layers (an `EnvFilter`, a `fmt` layer, OpenTelemetry), as the global default:
///
/// ```no_run
/// use tracing_subscriber::prelude::*;
///
/// let (layer, _guard) = fastsyslog::Builder::from_env().build_layer().expect("syslog layer");
/// tracing_subscriber::registry()
///     .with(tracing_subscriber::EnvFilter::from_default_env())
///     .with(layer)
///     .init();
/// tracing::info!(target: "access", status = 200, "GET /");
/// ```
///
/// Scoped to a closure, with what reached the socket checked:
///
/// ```
/// use fastsyslog::{Builder, Mode};
/// use tracing_subscriber::prelude::*;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("log.sock");
/// # let rx = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
///
/// let (layer, guard) = Builder::new().socket(&path).mode(Mode::Sync).build_layer().unwrap();
/// let subscriber = tracing_subscriber::registry().with(layer);
/// tracing::subscriber::with_default(subscriber, || {
///     let _span = tracing::info_span!("req", method = "GET").entered();
///     tracing::info!(status = 200, "done");
/// });
/// assert_eq!(guard.stats().written, 1);
/// # let mut buf = [0; 256];
/// # let n = rx.recv(&mut buf).unwrap();
/// # assert!(std::str::from_utf8(&buf[..n]).unwrap().contains("done"));
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "layer")))]
#[derive(Debug)]
pub struct Layer {
    pub(super) pipeline: Arc<Pipeline>,
    /// Whether the builder's directives apply (they were asked for); else the stack decides.
    pub(super) filters: bool,
}

// === impl Layer ===

impl Layer {
    /// A [`Handle`] for this layer's stats and flush. Dropping it stops nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Mode};
    /// let (layer, _guard) = Builder::new().mode(Mode::Sync).build_layer().unwrap();
    /// assert_eq!(layer.handle().stats().written, 0);
    /// ```
    pub fn handle(&self) -> Handle {
        Handle::new(Arc::clone(&self.pipeline))
    }
}

impl<S> tracing_subscriber::Layer<S> for Layer
where
    S: tracing_core::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        // Formatted before the extensions lock is taken: a `Debug` impl may touch spans.
        let fields = SpanFields::capture(self.pipeline.renderer.max_len, |r| attrs.record(r));
        // `replace` rather than `insert`, which panics when a value is already there.
        span.extensions_mut().replace(fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let update = SpanFields::capture(self.pipeline.renderer.max_len, |r| values.record(r));
        let mut extensions = span.extensions_mut();
        match extensions.get_mut::<SpanFields>() {
            Some(fields) => fields.merge(update),
            None => {
                extensions.replace(update);
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        // The builder's directives, if asked for, before any span lookup. Records from `log` carry
        // tracing-log's placeholder target here; `dispatch_event` checks them by their original
        // target (a layer without directives has a gate that passes everything).
        if self.filters && !event.is_log() && !enabled_by(&self.pipeline, event.metadata()) {
            return;
        }
        let in_span = if event.is_contextual() {
            ctx.current_span().id().is_some()
        } else {
            event.parent().is_some()
        };
        if !in_span {
            dispatch_event(&self.pipeline, event, None);
            return;
        }
        let chain = ScopeChain { ctx: &ctx, event };
        dispatch_event(&self.pipeline, event, Some(&chain));
    }
}

/// An event's span scope in the registry, as the renderer's [`Spans`].
struct ScopeChain<'a, S> {
    ctx: &'a Context<'a, S>,
    event: &'a Event<'a>,
}

impl<S> Spans for ScopeChain<'_, S>
where
    S: tracing_core::Subscriber + for<'l> LookupSpan<'l>,
{
    fn visit(&self, visitor: &mut dyn FnMut(&str, &dyn Fields)) {
        if let Some(scope) = self.ctx.event_scope(self.event) {
            visit_from_root(scope, 0, visitor);
        }
    }
}

/// Visits `scope` (innermost first) outermost first, by recursion: `Scope::from_root` would collect
/// the spans into a `Vec` on every event.
fn visit_from_root<'a, S: LookupSpan<'a>>(
    mut scope: Scope<'a, S>,
    depth: usize,
    visitor: &mut dyn FnMut(&str, &dyn Fields),
) {
    let Some(span) = scope.next() else {
        return;
    };
    if depth < MAX_DEPTH {
        visit_from_root(scope, depth + 1, visitor);
    }
    let extensions = span.extensions();
    match extensions.get::<SpanFields>() {
        Some(fields) => visitor(span.name(), fields),
        None => visitor(span.name(), &NoFields),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracing::tests::{body, collect, kv, nested_event, FnSpans, Sink, SpanVisitor};
    use crate::Format;
    use tracing::dispatcher::{self, Dispatch};
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::Registry;

    fn dispatch(sink: &Sink, filter: &str, format: Format) -> Dispatch {
        let (layer, _guard) = sink.builder(filter).format(format).build_layer().unwrap();
        Dispatch::new(tracing_subscriber::registry().with(layer))
    }

    #[test]
    fn layer_renders_like_the_subscriber() {
        let sink = Sink::new();
        dispatcher::with_default(&dispatch(&sink, "info", Format::Logfmt), nested_event);
        assert_eq!(
            body(&sink.recv()),
            r#"done req.method=GET req.path="/a b" db.name=users db.rows=3 status=200 ok=true"#
        );
        dispatcher::with_default(&dispatch(&sink, "info", Format::Json), nested_event);
        assert_eq!(
            body(&sink.recv()),
            r#"@cee: {"msg":"done","spans":[{"name":"req","method":"GET","path":"/a b"},{"name":"db","_name":"users","rows":3}],"status":200,"ok":true}"#
        );
    }

    #[test]
    fn layer_keeps_recorded_span_fields_in_extensions() {
        let sink = Sink::new();
        dispatcher::with_default(&dispatch(&sink, "info", Format::Logfmt), || {
            let outer = tracing::info_span!("outer", a = 1, b = tracing::field::Empty);
            outer.record("b", "x");
            outer.record("a", 2);
            let inner = tracing::info_span!(parent: &outer, "inner", c = ?vec![1]);
            dispatcher::get_default(|d| {
                let registry = d.downcast_ref::<Registry>().expect("registry");
                let leaf = registry.span(&inner.id().unwrap()).unwrap();
                let spans = FnSpans(&|v: SpanVisitor<'_>| visit_from_root(leaf.scope(), 0, v));
                assert_eq!(
                    collect(&spans),
                    vec![
                        ("outer".to_owned(), kv(&[("a", "2"), ("b", "x")])),
                        ("inner".to_owned(), kv(&[("c", "[1]")])),
                    ]
                );
            });
        });
    }

    #[test]
    fn layer_applies_the_builder_directives_and_routes() {
        let sink = Sink::new();
        let (layer, guard) = sink
            .builder("warn,app=debug")
            .route(
                crate::Match::Field("access".into()),
                crate::Facility::Local0,
            )
            .build_layer()
            .unwrap();
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "other", "filtered");
            tracing::debug!(target: "app", "kept");
            tracing::info!(target: "app", access = true, "access");
            // `log` records are gated by their own target, not tracing-log's placeholder.
            for (target, level) in [("app", log::Level::Debug), ("other", log::Level::Info)] {
                tracing_log::format_trace(
                    &log::Record::builder()
                        .args(format_args!("from log"))
                        .level(level)
                        .target(target)
                        .build(),
                )
                .unwrap();
            }
        });
        assert_eq!(body(&sink.recv()), "kept");
        let access = sink.recv();
        assert!(access.starts_with("<134>"), "{access}");
        let from_log = sink.recv();
        assert!(from_log.starts_with("<143>"), "{from_log}");
        assert_eq!(body(&from_log), "from log");
        sink.assert_empty();
        assert_eq!(guard.stats().written, 3);
    }
}
