//! Integration tests: one binary (see Cargo.toml `[[test]]`), so the crate is linked once.
//!
//! Tests that need a syslog daemon start their own rsyslogd (`fastsyslog_testkit::rsyslogd`); they fail at
//! once with an install hint when rsyslogd is missing, and never touch the machine's `/dev/log`.
//! The modules below drive the crate through its `log` adapter, so they need the `log` feature
//! (`cargo hack test --feature-powerset` builds this binary without it too).

// Shared helpers: a private rsyslogd per test, tokens, `retry()`, child processes and the private
// `/dev/log` namespace.
// Most modules that use the helpers need the `log` and `background` features; a build without them
// (a feature-powerset run) still compiles the helpers, partly unused.
#[cfg_attr(
    not(all(feature = "log", feature = "background")),
    allow(unused_imports, dead_code)
)]
mod support;
// The layout rules, read from the source: no import circle, unsafe only in src/sys/, no hooks.
mod layout;
// The unix datagram transport against rsyslogd: both headers, every body format, routing, severity.
#[cfg(feature = "log")]
mod unix_socket;
// The libc `syslog(3)` transport through `/dev/log` inside a private mount namespace.
#[cfg(feature = "log")]
mod libc_devlog;
// End to end hygiene: records at the size limit through `/dev/log`, idents in rsyslog and
// syslog-ng.
#[cfg(feature = "log")]
mod hygiene;
// The `log` adapter: directives, `set_max_level`, key-values, message hygiene, truncation.
#[cfg(feature = "log")]
mod log_adapter;
// Generated rsyslog/syslog-ng configs in the real daemons (syslog-ng fetched from the Debian
// archive into the target dir); the shipped example configs; `access_and_errors` against rsyslogd.
#[cfg(feature = "log")]
mod daemon_config;
// The operator's side: two apps' /dev/log snippets and a foreign sender on one daemon (rsyslog and
// syslog-ng), the deployment variables moving records, the daemons' measured size limits.
#[cfg(feature = "log")]
mod operating;
// The two-tier RELP setup: local rsyslogd -> omrelp (disk-assisted queue) -> central rsyslogd,
// with the central tier killed and restarted under 100k records.
#[cfg(feature = "log")]
mod fleet;
// The background writer: lossless and drop policies against a stopped daemon, the dropped-records
// summary, flush/shutdown bounds, forked children, and no allocation per record on the caller.
#[cfg(all(feature = "log", feature = "background"))]
mod worker;
// The stream transport at rsyslogd's imptcp and syslog-ng's unix-stream(): batches in order, a
// line break, a cut record, a daemon restart in background and sync mode.
#[cfg(all(feature = "log", feature = "background"))]
mod stream;
// The writer at a real rsyslogd: program order across lanes, no loss while the daemon is absent
// or restarting, a hung daemon (stuck, one timeout per batch), impossible capacities.
#[cfg(all(feature = "log", feature = "background"))]
mod writer_faults;
// Fault tolerance and hostile input: daemon absent, restarting or hung; bad sockets; oversize and
// malformed input; reentrancy; concurrency; fork; foreign openlog; renderer property tests.
#[cfg(all(feature = "log", feature = "background"))]
mod fault;
// Fork safety: children forked while other threads hold glibc's time-zone lock or the span table
// log without hanging (200 forks per test, each child under a timeout); the emergency path from
// signal handlers while threads log.
#[cfg(any(feature = "log", feature = "tracing"))]
mod fork_safety;
// Drop-in without surprises: one guard and cloneable handles, flush at exit (forked workers too),
// the layer leaving filtering to the stack, lenient directives, runtime reload, failure on stderr,
// the stderr copy, and per-test capture.
#[cfg(all(
    feature = "log",
    feature = "layer",
    feature = "background",
    feature = "testing"
))]
mod dropin;
// The `tracing` subscriber and layer: span fields per format, routing, tracing-log, init.
#[cfg(feature = "tracing")]
mod tracing_adapter;
#[cfg(feature = "log")]
mod volume;
// The stats file across processes: fork, clean exit, a killed process read as dead.
#[cfg(feature = "log")]
mod stats_file;
// The stats reader `fastsyslog-stats` against the prefork example with a stats dir and rsyslogd:
// live and killed workers, totals, --clean, --watch, promtool on --prometheus, exit codes.
#[cfg(all(feature = "log", feature = "background"))]
mod stats_tool;
