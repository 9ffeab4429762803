//! Disabled records: what a `debug!` costs when the level is off, next to the no-logger baseline.
//!
//! `no_logger` runs before any logger is installed (`log`'s default: max level `Off`);
//! `noop_logger` sends the record to a logger that does nothing, at the max level `info` that
//! installing fastsyslog set;
//! `disabled_log` after fastsyslog is installed at `info` (the macro's `max_level()` check stops
//! it); `disabled_by_directive` with `warn,db=debug`, so `max_level()` is `Debug` and the record is
//! turned away by the per-target directives inside `Log::log`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn disabled(c: &mut Criterion) {
    let sink = support::Sink::new();
    let mut g = c.benchmark_group("disabled");
    g.bench_function("no_logger", |b| {
        b.iter(|| log::debug!(target: "app", "{} {}", black_box(1), 2))
    });
    let _guard = fastsyslog::Builder::new()
        .ident(support::IDENT)
        .socket(sink.path())
        .mode(fastsyslog::Mode::Sync)
        .filter("info")
        .try_init()
        .expect("install fastsyslog");
    g.bench_function("disabled_log", |b| {
        b.iter(|| log::debug!(target: "app", "{} {}", black_box(1), 2))
    });
    g.bench_function("noop_logger", |b| {
        b.iter(|| log::debug!(logger: &Noop, target: "app", "{} {}", black_box(1), 2))
    });
    let (directive, _guard) = fastsyslog::Builder::new()
        .ident(support::IDENT)
        .socket(sink.path())
        .mode(fastsyslog::Mode::Sync)
        .filter("warn,db=debug")
        .build()
        .expect("build");
    log::set_max_level(log::LevelFilter::Debug);
    g.bench_function("disabled_by_directive", |b| {
        b.iter(|| log::debug!(logger: &directive, target: "app", "{} {}", black_box(1), 2))
    });
    g.finish();
    assert_eq!(sink.received(), 0, "a disabled record reached the sink");
}

/// A logger that keeps nothing: the baseline a disabled record is compared with.
struct Noop;

impl log::Log for Noop {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        false
    }

    fn log(&self, _: &log::Record<'_>) {
        // Nothing: this is the baseline that does no work.
    }

    fn flush(&self) {
        // Nothing is buffered.
    }
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = disabled
}
criterion_main!(benches);
