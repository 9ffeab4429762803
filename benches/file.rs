//! Plain file logging: line-flushed (one `write(2)` per record, what Python's `FileHandler` does)
//! and buffered (64 KiB `BufWriter`).

use criterion::{criterion_group, criterion_main, Criterion};
use support::file_logger::FileLogger;

fn file(c: &mut Criterion) {
    let dir = support::temp_dir();
    log::set_max_level(log::LevelFilter::Info);
    let mut g = c.benchmark_group("file");
    let flushed = FileLogger::line_flushed(&dir.path().join("flushed.log"));
    g.bench_function("file_line_flushed", |b| {
        b.iter(|| support::access_record!(&flushed))
    });
    let buffered = FileLogger::buffered(&dir.path().join("buffered.log"));
    g.bench_function("file_buffered", |b| {
        b.iter(|| support::access_record!(&buffered))
    });
    log::Log::flush(&buffered);
    g.finish();
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = file
}
criterion_main!(benches);
