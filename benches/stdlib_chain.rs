//! The stdlib-style handler chain (`support/stdlib_chain.rs`, a model of Python's `logging`): a
//! disabled record, and an enabled one through `SysLogHandler` over UDP and over a unix socket, and
//! through a line-flushed `FileHandler`.

use criterion::{criterion_group, criterion_main, Criterion};
use support::stdlib_chain::{
    log_access, log_disabled, service, Emitter, FileHandler, SysLogAddress, SysLogHandler,
    FILE_FORMAT, SYSLOG_FORMAT,
};

fn chain(c: &mut Criterion) {
    let udp = support::UdpSink::new();
    let target = support::Target::from_env(None);
    let dir = support::temp_dir();
    let mut g = c.benchmark_group("stdlib_chain");

    let handler = SysLogHandler::new(SysLogAddress::Udp(udp.addr())).expect("udp handler");
    let (_m, access, _h) = service(Emitter::SysLog(handler), SYSLOG_FORMAT);
    g.bench_function("stdlib_chain_disabled", |b| {
        b.iter(|| log_disabled(&access))
    });
    g.bench_function("stdlib_chain_syslog_udp", |b| {
        b.iter(|| log_access(&access))
    });

    let handler =
        SysLogHandler::new(SysLogAddress::Unix(target.path().to_owned())).expect("unix handler");
    let (_m, access, _h) = service(Emitter::SysLog(handler), SYSLOG_FORMAT);
    g.bench_function("stdlib_chain_syslog_unix", |b| {
        b.iter(|| log_access(&access))
    });

    let handler = FileHandler::new(&dir.path().join("app.log")).expect("file handler");
    let (_m, access, _h) = service(Emitter::File(handler), FILE_FORMAT);
    g.bench_function("stdlib_chain_file", |b| b.iter(|| log_access(&access)));
    g.finish();
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = chain
}
criterion_main!(benches);
