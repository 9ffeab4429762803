//! The `tracing` adapter's costs.
//!
//! - `disabled`: a disabled `debug!` with tracing's no-subscriber baseline first (measured before
//!   any subscriber exists, as the first benchmark of the binary), then with a fastsyslog
//!   [`Subscriber`](fastsyslog::Subscriber) whose directives disable it by level, and by target
//!   (the level passes `max_level_hint`, the callsite's `Interest::never` stops it), and the same
//!   per-target case with tracing-subscriber's `EnvFilter` for comparison.
//! - `enabled`: one event with 3 fields inside 2 spans (one field each), next to the same record
//!   (same message, same 5 key-values, same bytes on the wire) through the `log` path; and 3 fields
//!   with no span next to 3 key-values through `log`; and a bare message through both.
//!
//! Enabled records are rendered and sent in sync mode: group `enabled` to the in-process sink, a
//! `UnixDatagram` in a temp dir that a thread drains (the numbers include the `send(2)` and the
//! wake-up of the reader both paths pay); group `enabled_no_daemon` to a path nobody listens on, where each send fails at
//! once and is counted as dropped (the adapter and rendering cost, plus one failing syscall).
//!
//! ```text
//! cargo bench -p fastsyslog-benches --bench tracing
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use fastsyslog::{Builder, Mode};
use support::Sink;
use tracing::dispatcher::{self, Dispatch};

/// A sync-mode builder to `sink` with `filter`.
fn builder(sink: &Sink, filter: &str) -> Builder {
    Builder::new()
        .socket(sink.path())
        .mode(Mode::Sync)
        .ident("bench")
        .filter(filter)
}

fn disabled(c: &mut Criterion) {
    let mut group = c.benchmark_group("disabled");
    // First: no subscriber has ever been set in this process.
    group.bench_function("no_subscriber", |b| {
        b.iter(|| tracing::debug!(target: "app::web", n = black_box(1), "disabled"))
    });

    let sink = Sink::new();
    let (by_level, _by_level_guard) = builder(&sink, "info").build_subscriber().unwrap();
    let by_level = Dispatch::new(by_level);
    group.bench_function("fastsyslog_by_level", |b| {
        let _default = dispatcher::set_default(&by_level);
        b.iter(|| tracing::debug!(target: "app::web", n = black_box(1), "disabled"))
    });

    let (by_target, _by_target_guard) = builder(&sink, "info,app::db=debug")
        .build_subscriber()
        .unwrap();
    let by_target = Dispatch::new(by_target);
    group.bench_function("fastsyslog_by_target", |b| {
        let _default = dispatcher::set_default(&by_target);
        b.iter(|| tracing::debug!(target: "app::web", n = black_box(1), "disabled"))
    });

    // The same per-target case with tracing-subscriber's `EnvFilter`: what any subscriber pays once
    // a directive enables DEBUG somewhere (the macro's level check passes, the callsite's cached
    // interest stops it).
    let env_filter = {
        use tracing_subscriber::prelude::*;
        Dispatch::new(
            tracing_subscriber::registry()
                .with(tracing_subscriber::EnvFilter::new("info,app::db=debug")),
        )
    };
    group.bench_function("env_filter_by_target", |b| {
        let _default = dispatcher::set_default(&env_filter);
        b.iter(|| tracing::debug!(target: "app::web", n = black_box(1), "disabled"))
    });
    group.finish();
}

fn enabled(c: &mut Criterion) {
    let sink = Sink::new();
    enabled_group(c, "enabled", |filter| builder(&sink, filter));
    // A socket path nobody listens on: each send fails at once (ENOTCONN, reconnects rate-limited)
    // and is counted as dropped, so this is the adapter and rendering cost plus one cheap syscall.
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.sock");
    enabled_group(c, "enabled_no_daemon", |filter| {
        Builder::new()
            .socket(&missing)
            .mode(Mode::Sync)
            .ident("bench")
            .filter(filter)
    });
}

fn enabled_group(c: &mut Criterion, name: &str, builder: impl Fn(&str) -> Builder) {
    let mut group = c.benchmark_group(name);

    let (subscriber, _guard) = builder("info").build_subscriber().unwrap();
    let subscriber = Dispatch::new(subscriber);
    group.bench_function("tracing_3_fields_2_spans", |b| {
        let _default = dispatcher::set_default(&subscriber);
        let req = tracing::info_span!("req", method = "GET");
        let _req = req.enter();
        let db = tracing::info_span!("db", table = "users");
        let _db = db.enter();
        b.iter(|| {
            tracing::info!(
                status = black_box(200u64),
                path = "/users/42",
                ok = true,
                "request done"
            )
        })
    });
    group.bench_function("tracing_0_fields", |b| {
        let _default = dispatcher::set_default(&subscriber);
        b.iter(|| tracing::info!("{}", black_box("request done")))
    });
    group.bench_function("tracing_3_fields", |b| {
        let _default = dispatcher::set_default(&subscriber);
        b.iter(|| {
            tracing::info!(
                status = black_box(200u64),
                path = "/users/42",
                ok = true,
                "request done"
            )
        })
    });

    {
        use log::kv::Value;
        use log::Log;

        let (logger, _logger_guard) = builder("info").build().unwrap();
        let log_record = |logger: &fastsyslog::Logger, kvs: &[(&str, Value<'_>)]| {
            logger.log(
                &log::Record::builder()
                    .level(log::Level::Info)
                    .target("app")
                    .key_values(&kvs)
                    .args(format_args!("request done"))
                    .build(),
            )
        };
        group.bench_function("log_5_kv_same_bytes", |b| {
            b.iter(|| {
                log_record(
                    &logger,
                    &[
                        ("req.method", Value::from("GET")),
                        ("db.table", Value::from("users")),
                        ("status", Value::from(black_box(200u64))),
                        ("path", Value::from("/users/42")),
                        ("ok", Value::from(true)),
                    ],
                )
            })
        });
        group.bench_function("log_0_kv", |b| {
            b.iter(|| {
                logger.log(
                    &log::Record::builder()
                        .level(log::Level::Info)
                        .target("app")
                        .args(format_args!("{}", black_box("request done")))
                        .build(),
                )
            })
        });
        group.bench_function("log_3_kv", |b| {
            b.iter(|| {
                log_record(
                    &logger,
                    &[
                        ("status", Value::from(black_box(200u64))),
                        ("path", Value::from("/users/42")),
                        ("ok", Value::from(true)),
                    ],
                )
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = disabled, enabled
}
criterion_main!(benches);
