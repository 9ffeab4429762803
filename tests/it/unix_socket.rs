//! The unix datagram transport against a real rsyslogd.
