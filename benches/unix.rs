//! Sync sending over the unix transport to the in-process sink, next to the raw `send(2)` floor
//! (one pre-rendered datagram on a connected `UnixDatagram`).

use criterion::{criterion_group, criterion_main, Criterion};

fn unix(c: &mut Criterion) {
    let target = support::Target::from_env(None);
    let mut g = c.benchmark_group("sync");
    let sock = std::os::unix::net::UnixDatagram::unbound().expect("socket");
    sock.connect(target.path()).expect("connect to the sink");
    let datagram = support::rendered_datagram();
    g.bench_function("raw_send", |b| {
        b.iter(|| {
            // A failed send shows in the sink's count, checked by the overhead example.
            let _ = sock.send(&datagram);
        })
    });
    let (logger, _guard) = fastsyslog::Builder::new()
        .ident(support::IDENT)
        .socket(target.path())
        .mode(fastsyslog::Mode::Sync)
        .build()
        .expect("build");
    log::set_max_level(log::LevelFilter::Info);
    g.bench_function("unix_sync", |b| b.iter(|| support::access_record!(&logger)));
    g.finish();
    let stats = logger.handle().stats();
    println!(
        "unix_sync: written {} dropped {}",
        stats.written,
        stats.dropped_total()
    );
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = unix
}
criterion_main!(benches);
