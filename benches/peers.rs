//! Peer crates writing the same access record: the `syslog` crate (its unix socket API, to the same
//! sink), tracing-appender `non_blocking` to a file, and env_logger to a file. syslog-tracing goes
//! through glibc's `/dev/log`, so it lives in `libc.rs`.

use criterion::{criterion_group, criterion_main, Criterion};

fn peers(c: &mut Criterion) {
    let target = support::Target::from_env(None);
    let dir = support::temp_dir();
    log::set_max_level(log::LevelFilter::Info);
    let mut g = c.benchmark_group("peers");

    let formatter = syslog::Formatter3164 {
        facility: syslog::Facility::LOG_LOCAL0,
        hostname: None,
        process: support::IDENT.into(),
        pid: std::process::id(),
    };
    let syslog_logger =
        syslog::BasicLogger::new(syslog::unix_custom(formatter, target.path()).expect("connect"));
    g.bench_function("syslog_crate", |b| {
        b.iter(|| support::access_record_text!(&syslog_logger))
    });

    let file = std::fs::File::create(dir.path().join("appender.log")).expect("create");
    let (writer, appender_guard) = tracing_appender::non_blocking(file);
    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .finish();
    {
        let _default = tracing::subscriber::set_default(subscriber);
        g.bench_function("tracing_appender", |b| b.iter(|| support::access_event!()));
    }
    drop(appender_guard);

    let file = std::fs::File::create(dir.path().join("env_logger.log")).expect("create");
    let env_logger = env_logger::Builder::new()
        .target(env_logger::Target::Pipe(Box::new(file)))
        .filter_level(log::LevelFilter::Info)
        .write_style(env_logger::WriteStyle::Never)
        .build();
    g.bench_function("env_logger_file", |b| {
        b.iter(|| support::access_record_text!(&env_logger))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = peers
}
criterion_main!(benches);
