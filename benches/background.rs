//! Background mode, caller side: back-to-back records and sparse ones (one every 100 µs), with
//! per-call p50/p99 collected inside `iter_custom` and printed after each benchmark.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use support::measure::Samples;

fn background(c: &mut Criterion) {
    let target = support::Target::from_env(None);
    let (logger, guard) = fastsyslog::Builder::new()
        .ident(support::IDENT)
        .socket(target.path())
        .mode(fastsyslog::Mode::Background)
        .build()
        .expect("build");
    log::set_max_level(log::LevelFilter::Info);
    let mut g = c.benchmark_group("background");
    let mut samples = Samples::default();
    g.bench_function("back_to_back", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| samples.time(|| support::access_record!(&logger)))
                .sum()
        })
    });
    samples.report("background back_to_back");
    guard.flush();
    g.bench_function("sparse_100us", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    std::thread::sleep(Duration::from_micros(100));
                    samples.time(|| support::access_record!(&logger))
                })
                .sum()
        })
    });
    samples.report("background sparse_100us");
    g.finish();
    guard.flush();
    let stats = guard.stats();
    println!(
        "background: enqueued {} written {} dropped {} (sink received {:?})",
        stats.enqueued,
        stats.written,
        stats.dropped_total(),
        target.received()
    );
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = background
}
criterion_main!(benches);
