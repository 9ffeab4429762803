//! Integration tests: one binary (see Cargo.toml `[[test]]`).
// Generated rsyslog/syslog-ng configs in the real daemons; the shipped example configs; the
// access_and_errors example against rsyslogd. Also the daemon harness fleet.rs uses.
mod daemon_config;
// The two-tier RELP setup: local rsyslogd -> omrelp (disk-assisted queue) -> central rsyslogd.
mod fleet;
