//! Each body format (logfmt, JSON, RFC 5424), caller side in background mode: what rendering the
//! access record costs before it is queued.

use criterion::{criterion_group, criterion_main, Criterion};
use fastsyslog::Format;

fn formats(c: &mut Criterion) {
    let target = support::Target::from_env(None);
    log::set_max_level(log::LevelFilter::Info);
    let mut g = c.benchmark_group("format");
    for (name, format) in [
        ("logfmt", Format::Logfmt),
        ("json", Format::Json),
        ("rfc5424", Format::Rfc5424),
    ] {
        let (logger, _guard) = fastsyslog::Builder::new()
            .ident(support::IDENT)
            .socket(target.path())
            .format(format)
            .mode(fastsyslog::Mode::Background)
            .build()
            .expect("build");
        g.bench_function(name, |b| b.iter(|| support::access_record!(&logger)));
        logger.handle().flush();
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = formats
}
criterion_main!(benches);
