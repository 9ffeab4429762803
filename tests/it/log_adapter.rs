//! The `log` adapter against a real rsyslogd.
