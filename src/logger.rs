//! The `log` adapter: [`Logger`] implements [`log::Log`].
#![cfg(feature = "log")]

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::error::{Error, ErrorKind};
use crate::format::{Fields, Message, Value};
use crate::pipeline::{Event, Handle, Pipeline, WorkerGuard};
use crate::Builder;

/// A `log` logger that sends every enabled record to syslog.
///
/// Usually installed with [`init()`](crate::init) or [`Builder::init`]; build one directly with
/// [`Builder::build`] to use it without installing it (tests, or composing with other loggers).
///
/// The gate is two steps, both decided from data precomputed at build time: the `log` macros compare
/// the level with `log::max_level()` (one atomic load), then [`Log::log`](log::Log::log) checks the
/// per-target directives. A disabled record takes no lock, allocates nothing and formats nothing.
///
/// # Examples
///
/// ```
/// use log::Log;
/// use fastsyslog::{Builder, Mode};
///
/// let (logger, _guard) = Builder::new().filter("warn").mode(Mode::Sync).build().unwrap();
/// let info = log::Metadata::builder().level(log::Level::Info).target("app").build();
/// assert!(!logger.enabled(&info));
/// ```
#[derive(Debug)]
pub struct Logger {
    pipeline: Arc<Pipeline>,
}

// === impl Logger ===

impl Logger {
    /// The most verbose level any directive enables now; [`Builder::init`] passes it to
    /// [`log::set_max_level`], as [`Handle::set_filter`] does after a reload.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Mode};
    /// let (logger, _guard) = Builder::new().filter("warn,db=trace").mode(Mode::Sync).build().unwrap();
    /// assert_eq!(logger.max_level(), log::LevelFilter::Trace);
    /// ```
    pub fn max_level(&self) -> log::LevelFilter {
        self.pipeline.max_level()
    }

    /// A [`Handle`] for this logger's stats, flush and directives. Dropping it stops nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Mode};
    /// let (logger, _guard) = Builder::new().mode(Mode::Sync).build().unwrap();
    /// assert_eq!(logger.handle().stats().written, 0);
    /// ```
    pub fn handle(&self) -> Handle {
        Handle::new(Arc::clone(&self.pipeline))
    }
}

impl log::Log for Logger {
    #[inline]
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        self.pipeline.enabled(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        // `enabled` is not necessarily called before `log`, so the gate is repeated here.
        if !self.pipeline.enabled(record.metadata()) {
            return;
        }
        let fields = KvFields(record.key_values());
        self.pipeline.dispatch(&Event {
            level: record.level(),
            target: record.target(),
            message: Message::Args(record.args()),
            fields: &fields,
            spans: None,
            location: record.file().zip(record.line()),
        });
    }

    fn flush(&self) {
        // A flush that times out has nothing more useful to do here: `Log::flush` returns nothing,
        // and what stays queued is reported by the guard and counted in `stats()`.
        let _ = self.pipeline.flush();
    }
}

/// `log`'s key-values as the renderer's [`Fields`].
struct KvFields<'a>(&'a dyn log::kv::Source);

impl Fields for KvFields<'_> {
    fn visit(&self, visitor: &mut dyn FnMut(&str, Value<'_>)) {
        /// Hands each pair on as the renderer's [`Value`], by the type `log` captured it with.
        struct Pairs<'v>(&'v mut dyn FnMut(&str, Value<'_>));
        impl<'kvs> log::kv::VisitSource<'kvs> for Pairs<'_> {
            fn visit_pair(
                &mut self,
                key: log::kv::Key<'kvs>,
                value: log::kv::Value<'kvs>,
            ) -> Result<(), log::kv::Error> {
                value.visit(Pair(&mut *self.0, key.as_str()))
            }
        }
        /// `VisitValue` methods that hand their value on as one `Value` variant.
        macro_rules! pass {
            ($($method:ident($ty:ty) => $variant:ident),* $(,)?) => {$(
                fn $method(&mut self, v: $ty) -> Result<(), log::kv::Error> {
                    (self.0)(self.1, Value::$variant(v));
                    Ok(())
                }
            )*};
        }
        /// One value: one dispatch on its captured type, no trial conversions.
        struct Pair<'v, 'k>(&'v mut dyn FnMut(&str, Value<'_>), &'k str);
        impl<'kvs> log::kv::VisitValue<'kvs> for Pair<'_, '_> {
            /// Anything without a more specific method (`Display`, `Debug`, errors, chars, null).
            fn visit_any(&mut self, value: log::kv::Value<'_>) -> Result<(), log::kv::Error> {
                (self.0)(self.1, Value::Display(&value));
                Ok(())
            }
            pass! {
                visit_u64(u64) => U64,
                visit_i64(i64) => I64,
                visit_u128(u128) => U128,
                visit_i128(i128) => I128,
                visit_f64(f64) => F64,
                visit_bool(bool) => Bool,
                visit_str(&str) => Str,
                visit_borrowed_str(&'kvs str) => Str,
            }
        }
        // A visitor that never fails cannot make `visit` fail; there is nothing to report.
        let _ = self.0.visit(&mut Pairs(visitor));
    }
}

// === impl Builder (log) ===

impl Builder {
    /// Builds a [`Logger`] without installing it, and the [`WorkerGuard`] that keeps its background
    /// writer alive (the only one this logger has: keep it for as long as the logger is used).
    ///
    /// # Errors
    ///
    /// See [`ErrorKind`]: an invalid setting or environment value, an invalid ident, strict start-up
    /// with an unreachable socket, or a writer thread that could not be spawned.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Builder, Mode};
    /// let (logger, guard) = Builder::new().mode(Mode::Sync).build().unwrap();
    /// assert_eq!(logger.max_level(), log::LevelFilter::Info);
    /// assert_eq!(guard.stats().written, 0);
    /// ```
    pub fn build(self) -> Result<(Logger, WorkerGuard), Error> {
        let pipeline = self.build_pipeline(false)?;
        Ok((
            Logger {
                pipeline: Arc::clone(&pipeline),
            },
            WorkerGuard::new(pipeline),
        ))
    }

    /// Builds the logger, installs it as the global `log` logger, and sets `log::max_level` from
    /// the directives.
    ///
    /// # Errors
    ///
    /// As [`build`](Builder::build), and [`ErrorKind::AlreadyInitialized`] when a global logger is
    /// already set.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let _guard = fastsyslog::Builder::from_env().try_init().expect("logger");
    /// log::info!(target: "access", "GET / 200");
    /// ```
    pub fn try_init(self) -> Result<WorkerGuard, Error> {
        let (logger, guard) = self.build()?;
        let pipeline = Arc::clone(&logger.pipeline);
        log::set_boxed_logger(Box::new(logger)).map_err(|_| {
            Error::new(
                ErrorKind::AlreadyInitialized,
                "a global `log` logger is already installed",
            )
        })?;
        // Set before reading the level, so a concurrent reload either sees the flag or is seen.
        pipeline.is_global_log.store(true, Ordering::Release);
        log::set_max_level(pipeline.max_level());
        crate::pipeline::set_global(&pipeline, true);
        Ok(guard)
    }

    /// As [`try_init`](Builder::try_init), panicking on error.
    ///
    /// # Panics
    ///
    /// When [`try_init`](Builder::try_init) returns an error; the message is the error's.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let _guard = fastsyslog::Builder::from_env().ident("web").init();
    /// ```
    pub fn init(self) -> WorkerGuard {
        match self.try_init() {
            Ok(guard) => guard,
            Err(e) => panic!("fastsyslog: {e}"),
        }
    }
}

/// Installs a logger configured from the environment (see [`Builder::from_env`]) as the global `log`
/// logger.
///
/// # Errors
///
/// As [`Builder::try_init`].
///
/// # Examples
///
/// ```no_run
/// let _guard = fastsyslog::try_init().expect("logger");
/// log::warn!("disk almost full");
/// ```
pub fn try_init() -> Result<WorkerGuard, Error> {
    Builder::from_env().try_init()
}

/// Installs a logger configured from the environment as the global `log` logger, panicking on error.
///
/// # Panics
///
/// When [`try_init()`] returns an error.
///
/// # Examples
///
/// ```no_run
/// let _guard = fastsyslog::init();
/// log::info!(target: "access", "GET /index.html 200");
/// log::error!("database unreachable");
/// ```
pub fn init() -> WorkerGuard {
    Builder::from_env().init()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_reach_the_renderer_with_their_captured_types() {
        let peer = std::net::Ipv4Addr::LOCALHOST;
        let kvs: [(&str, log::kv::Value<'_>); 10] = [
            ("u", 7u64.into()),
            ("small", 7u8.into()),
            ("i", (-7i64).into()),
            ("big", u128::MAX.into()),
            ("neg", i128::MIN.into()),
            ("f", 1.5f64.into()),
            ("b", true.into()),
            ("s", "x y".into()),
            ("c", 'c'.into()),
            ("peer", log::kv::Value::from_display(&peer)),
        ];
        let mut seen = Vec::new();
        let slice = &kvs[..];
        KvFields(&slice).visit(&mut |k, v| seen.push(format!("{k}={v:?}")));
        assert_eq!(
            seen,
            [
                "u=U64(7)",
                "small=U64(7)",
                "i=I64(-7)",
                &format!("big=U128({})", u128::MAX),
                &format!("neg=I128({})", i128::MIN),
                "f=F64(1.5)",
                "b=Bool(true)",
                "s=Str(\"x y\")",
                "c=Str(\"c\")",
                "peer=Display(127.0.0.1)",
            ]
        );
    }
}
