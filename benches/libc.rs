//! The glibc rows: raw `syslog(pri, "%s", msg)`, fastsyslog's libc transport, and syslog-tracing
//! (which also calls `syslog(3)`), all into the in-process sink through `/dev/log`.
//!
//! glibc only ever connects to `/dev/log`, so this bench re-runs itself inside a private mount
//! namespace where `/dev/log` is a symlink to the sink (see `support/devlog.rs`). Where that is not
//! possible it prints why and measures nothing. The machine's `/dev/log` is never used.

use std::ffi::CString;

use criterion::Criterion;

fn libc_rows(c: &mut Criterion, devlog: &std::path::Path) {
    let target = support::Target::from_env(Some(devlog));
    let mut g = c.benchmark_group("sync");
    let ident: &'static std::ffi::CStr = Box::leak(
        CString::new(support::IDENT)
            .expect("no NUL")
            .into_boxed_c_str(),
    );
    fastsyslog_testkit::syslog::openlog(ident, true, libc::LOG_LOCAL0);
    let msg = CString::new(support::rendered_body()).expect("no NUL");
    let pri = libc::LOG_LOCAL0 | libc::LOG_INFO;
    g.bench_function("raw_libc_syslog", |b| {
        b.iter(|| fastsyslog_testkit::syslog::syslog(pri, &msg))
    });
    let (logger, _guard) = fastsyslog::Builder::new()
        .ident(support::IDENT)
        .mode(fastsyslog::Mode::Sync)
        .build()
        .expect("build");
    log::set_max_level(log::LevelFilter::Info);
    g.bench_function("libc_sync", |b| b.iter(|| support::access_record!(&logger)));
    g.finish();
    println!("sink received {:?} datagrams", target.received());
}

fn syslog_tracing_row(c: &mut Criterion) {
    let ident: &'static std::ffi::CStr = Box::leak(
        CString::new("syslog-tracing-bench")
            .expect("no NUL")
            .into_boxed_c_str(),
    );
    let Some(syslog) = syslog_tracing::Syslog::new(
        ident,
        syslog_tracing::Options::LOG_PID | syslog_tracing::Options::LOG_NDELAY,
        syslog_tracing::Facility::Local0,
    ) else {
        println!("syslog_tracing: skipped, a syslog-tracing logger already exists");
        return;
    };
    let subscriber = tracing_subscriber::fmt()
        .with_writer(syslog)
        .with_ansi(false)
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    c.benchmark_group("peers")
        .bench_function("syslog_tracing", |b| b.iter(|| support::access_event!()));
}

fn main() {
    let Some(devlog) = support::devlog::inside() else {
        let reason = support::devlog::reexec_or_reason();
        println!("libc benches skipped: {reason}");
        return;
    };
    let mut c = support::criterion().configure_from_args();
    libc_rows(&mut c, &devlog);
    syslog_tracing_row(&mut c);
    c.final_summary();
}
