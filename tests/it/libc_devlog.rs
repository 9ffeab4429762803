//! The libc `syslog(3)` transport through `/dev/log` in a private mount namespace.
